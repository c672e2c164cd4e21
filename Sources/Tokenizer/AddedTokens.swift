/// An entry of `tokenizer.json`'s `added_tokens` (or a tiktoken special token): matched in the raw text
/// before pre-tokenization and never split.
public struct AddedToken: Codable, Sendable, Equatable {
    public var id: Int32
    public var content: String
    public var singleWord: Bool
    public var lstrip: Bool
    public var rstrip: Bool
    public var normalized: Bool
    public var special: Bool

    enum CodingKeys: String, CodingKey {
        case id, content, lstrip, rstrip, normalized, special
        case singleWord = "single_word"
    }

    public init(
        id: Int32, content: String, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false,
        normalized: Bool = false, special: Bool = true
    ) {
        self.id = id
        self.content = content
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.special = special
    }
}

/// Finds added tokens in text the way `tokenizers`' AddedVocabulary does: leftmost-longest matches, first of
/// the tokens that skip normalization, then of the others in the text left between; `lstrip`/`rstrip` take
/// the white space beside a match with it, `single_word` drops matches inside a word.
struct AddedTokenMatcher {
    /// A byte trie: `children` holds (byte, child) edges per node; `terminal` the token index ending there.
    private struct Trie {
        var edges: [[(byte: UInt8, child: Int32)]] = [[]]
        var terminal: [Int32] = [-1]

        mutating func insert(_ bytes: [UInt8], token: Int32) {
            var node = 0
            for byte in bytes {
                if let edge = edges[node].first(where: { $0.byte == byte }) {
                    node = Int(edge.child)
                } else {
                    edges.append([])
                    terminal.append(-1)
                    edges[node].append((byte, Int32(edges.count - 1)))
                    node = edges.count - 1
                }
            }
            terminal[node] = token
        }

        /// The longest token starting at `start`: (token index, end).
        func longest(_ text: UnsafeBufferPointer<UInt8>, from start: Int, to limit: Int) -> (Int, Int)? {
            var node = 0, best: (Int, Int)?
            var i = start
            while i < limit, let edge = edges[node].first(where: { $0.byte == text[i] }) {
                node = Int(edge.child)
                i += 1
                if terminal[node] >= 0 { best = (Int(terminal[node]), i) }
            }
            return best
        }

        var isEmpty: Bool { edges[0].isEmpty }
    }

    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    let tokens: [AddedToken]
    private var unnormalized = Trie()
    private var normalized = Trie()

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        for (index, token) in tokens.enumerated() where !token.content.isEmpty {
            if token.normalized {
                normalized.insert(Array(token.content.utf8), token: Int32(index))
            } else {
                unnormalized.insert(Array(token.content.utf8), token: Int32(index))
            }
        }
    }

    var isEmpty: Bool { unnormalized.isEmpty && normalized.isEmpty }

    /// The text cut into plain stretches and added tokens, in order.
    func segments(_ text: UnsafeBufferPointer<UInt8>) -> [Segment] {
        var result: [Segment] = []
        for segment in split(text, 0..<text.count, unnormalized) {
            if case let .text(range) = segment { result += split(text, range, normalized) } else { result.append(segment) }
        }
        return result
    }

    private func split(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ trie: Trie) -> [Segment] {
        guard !trie.isEmpty else { return range.isEmpty ? [] : [.text(range)] }
        var result: [Segment] = []
        var textStart = range.lowerBound, i = range.lowerBound
        while i < range.upperBound {
            guard let (index, end) = trie.longest(text, from: i, to: range.upperBound) else { i += 1; continue }
            let token = tokens[index]
            if token.singleWord
                && (Self.isWordByte(text, before: i, from: range.lowerBound) || Self.isWordByte(text, at: end, to: range.upperBound))
            {
                i += 1
                continue
            }
            var matchStart = i, matchEnd = end
            if token.lstrip { while matchStart > textStart && Self.isSpace(text[matchStart - 1]) { matchStart -= 1 } }
            if token.rstrip { while matchEnd < range.upperBound && Self.isSpace(text[matchEnd]) { matchEnd += 1 } }
            if matchStart > textStart { result.append(.text(textStart..<matchStart)) }
            result.append(.token(token.id))
            textStart = matchEnd
            i = matchEnd
        }
        if textStart < range.upperBound { result.append(.text(textStart..<range.upperBound)) }
        return result
    }

    // ASCII white space and word bytes; any non-ASCII byte counts as part of a word.
    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    private static func isWordByte(_ text: UnsafeBufferPointer<UInt8>, before index: Int, from start: Int) -> Bool {
        index > start && isWordByte(text[index - 1])
    }

    private static func isWordByte(_ text: UnsafeBufferPointer<UInt8>, at index: Int, to end: Int) -> Bool {
        index < end && isWordByte(text[index])
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || byte == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
