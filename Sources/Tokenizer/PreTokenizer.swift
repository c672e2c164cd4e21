import Foundation

/// The pre-tokenizer of a byte-level BPE tokenizer: cuts text into the pieces that BPE then encodes one by
/// one. Steps mirror `tokenizers`' `pre_tokenizer` section; the Llama 3 (and cl100k) split pattern runs on a
/// hand-written matcher, any other pattern on Swift `Regex` over Unicode scalars.
struct PreTokenizer {
    enum Step {
        /// `Split` with the Llama 3 pattern, behaviour `Isolated`.
        case llama3Split
        /// `Split` with any other pattern; `isolated` keeps the matches as pieces, otherwise they are removed.
        case regexSplit(Regex<AnyRegexOutput>, isolated: Bool, invert: Bool)
        /// `ByteLevel(add_prefix_space: true)`: a space before every piece that lacks one.
        case prefixSpace
    }

    static let llama3Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// GPT-2's pattern, which `ByteLevel(use_regex: true)` applies.
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    var steps: [Step]
    private var matcher = Llama3SplitMatcher()
    /// Reused for the pieces of the Llama 3 split, so that encoding a text allocates nothing once warm.
    private var pieceBuffer: [Range<Int>] = []

    init(steps: [Step]) { self.steps = steps }

    static func split(pattern: String, isolated: Bool, invert: Bool) throws -> Step {
        if pattern == llama3Pattern && isolated && !invert { return .llama3Split }
        let regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
        return .regexSplit(regex, isolated: isolated, invert: invert)
    }

    /// Calls `body` with each piece of `text` (valid UTF-8), in order.
    mutating func forEachPiece(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        apply(stepIndex: 0, text, body)
    }

    private mutating func apply(stepIndex: Int, _ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard stepIndex < steps.count else { return body(text) }
        switch steps[stepIndex] {
        case .llama3Split:
            var pieces = pieceBuffer
            pieceBuffer = []  // a later step may split again; it then gets a buffer of its own
            pieces.removeAll(keepingCapacity: true)
            matcher.split(text) { pieces.append($0) }
            for piece in pieces { apply(stepIndex: stepIndex + 1, UnsafeBufferPointer(rebasing: text[piece]), body) }
            pieceBuffer = pieces
        case let .regexSplit(regex, isolated, invert):
            for piece in Self.regexPieces(text, regex, isolated: isolated, invert: invert) {
                apply(stepIndex: stepIndex + 1, UnsafeBufferPointer(rebasing: text[piece]), body)
            }
        case .prefixSpace:
            if text.first == UInt8(ascii: " ") { return apply(stepIndex: stepIndex + 1, text, body) }
            let prefixed = [UInt8(ascii: " ")] + Array(text)
            prefixed.withUnsafeBufferPointer { apply(stepIndex: stepIndex + 1, $0, body) }
        }
    }

    /// `tokenizers`' split as byte ranges. The matches are the delimiters (with `invert`, the text between them
    /// is): `Isolated` keeps delimiters as pieces of their own, `Removed` drops them.
    private static func regexPieces(
        _ text: UnsafeBufferPointer<UInt8>, _ regex: Regex<AnyRegexOutput>,
        isolated: Bool, invert: Bool
    ) -> [Range<Int>] {
        let string = String(decoding: text, as: UTF8.self)
        let utf8 = string.utf8
        let keepMatches = isolated || invert, keepGaps = isolated || !invert
        var pieces: [Range<Int>] = [], last = 0
        for match in string.matches(of: regex) {
            let start = utf8.distance(from: utf8.startIndex, to: match.range.lowerBound)
            let end = utf8.distance(from: utf8.startIndex, to: match.range.upperBound)
            guard end > start else { continue }
            if start > last && keepGaps { pieces.append(last..<start) }
            if keepMatches { pieces.append(start..<end) }
            last = end
        }
        if last < text.count && keepGaps { pieces.append(last..<text.count) }
        return pieces
    }
}

/// The Llama 3 split pattern as code, alternative by alternative in the regex's order, over Unicode scalars:
///   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} | ` ?[^\s\p{L}\p{N}]+[\r\n]*`
///   | \s*[\r\n]+ | \s+(?!\S) | \s+
/// Every scalar is a letter, a number, white space or other, so some alternative always matches.
struct Llama3SplitMatcher {
    enum Kind: UInt8 { case letter, number, space, newline, other }

    private var kinds: [Kind] = []
    private var scalars: [UInt32] = []
    private var offsets: [Int] = []  // byte offset of each scalar, then the text's length

    private static let asciiKinds: [Kind] = (0..<128).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"): return .newline
        case UInt8(ascii: " "), 0x09, 0x0B, 0x0C: return .space
        default: return .other
        }
    }

    static func kind(_ scalar: Unicode.Scalar) -> Kind {
        if scalar.isASCII { return asciiKinds[Int(scalar.value)] }
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    mutating func split(_ text: UnsafeBufferPointer<UInt8>, _ emit: (Range<Int>) -> Void) {
        kinds.removeAll(keepingCapacity: true)
        scalars.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        var iterator = text.makeIterator(), decoder = UTF8(), offset = 0
        while case let .scalarValue(scalar) = decoder.decode(&iterator) {
            offsets.append(offset)
            scalars.append(scalar.value)
            kinds.append(Self.kind(scalar))
            offset += UTF8.width(scalar)
        }
        offsets.append(offset)
        var i = 0
        while i < kinds.count {
            let length = matchLength(at: i)
            emit(offsets[i]..<offsets[i + length])
            i += length
        }
    }

    /// Case-insensitive ASCII letter test as Oniguruma folds it (U+017F LONG S folds to "s").
    @inline(__always)
    private func isLetter(_ index: Int, _ lower: UInt8) -> Bool {
        guard index < scalars.count else { return false }
        let value = scalars[index]
        if value == UInt32(lower) || value == UInt32(lower - 32) { return true }
        return lower == UInt8(ascii: "s") && value == 0x17F
    }

    private func matchLength(at i: Int) -> Int {
        let n = kinds.count
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if scalars[i] == UInt32(UInt8(ascii: "'")) {
            for letter in "stmd".utf8 where isLetter(i + 1, letter) { return 2 }
            if isLetter(i + 1, UInt8(ascii: "r")) && isLetter(i + 2, UInt8(ascii: "e")) { return 3 }
            if isLetter(i + 1, UInt8(ascii: "v")) && isLetter(i + 2, UInt8(ascii: "e")) { return 3 }
            if isLetter(i + 1, UInt8(ascii: "l")) && isLetter(i + 2, UInt8(ascii: "l")) { return 3 }
        }
        let kind = kinds[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var lettersFrom = -1
        if kind == .letter {
            lettersFrom = i
        } else if kind != .newline && kind != .number && i + 1 < n && kinds[i + 1] == .letter {
            lettersFrom = i + 1
        }
        if lettersFrom >= 0 {
            var j = lettersFrom + 1
            while j < n && kinds[j] == .letter { j += 1 }
            return j - i
        }
        // \p{N}{1,3}
        if kind == .number {
            var j = i + 1
            while j < n && j < i + 3 && kinds[j] == .number { j += 1 }
            return j - i
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var othersFrom = -1
        if kind == .other { othersFrom = i } else if scalars[i] == 0x20 && i + 1 < n && kinds[i + 1] == .other { othersFrom = i + 1 }
        if othersFrom >= 0 {
            var j = othersFrom + 1
            while j < n && kinds[j] == .other { j += 1 }
            while j < n && kinds[j] == .newline { j += 1 }
            return j - i
        }
        // White space from here on: \s*[\r\n]+ ends after the run's last newline.
        var runEnd = i, lastNewline = -1
        while runEnd < n && (kinds[runEnd] == .space || kinds[runEnd] == .newline) {
            if kinds[runEnd] == .newline { lastNewline = runEnd }
            runEnd += 1
        }
        if lastNewline >= 0 { return lastNewline + 1 - i }
        // \s+(?!\S) leaves the last space to the word that follows; \s+ takes a lone one.
        if runEnd < n && runEnd - i >= 2 { return runEnd - 1 - i }
        return runEnd - i
    }
}
