import Foundation

/// One utterance a manifest names.
public struct ManifestEntry: Sendable, Equatable {
    public var id: String
    /// `file:line` (or the transcript file for LibriSpeech, `shard.tar:KEY` for a tar member) it came from.
    public var source: String
    public var location: AudioLocation
    public var text: String
    public var speaker: String?
    public var declaredDuration: Double?
    /// The manifest's other fields (language, dnsmos, ...) as a JSON object with sorted keys; nil when none.
    public var fields: String?

    public var audioPath: String { location.path }

    public init(
        id: String, source: String, audioPath: String, text: String, speaker: String? = nil, declaredDuration: Double? = nil,
        fields: String? = nil
    ) {
        self.init(id: id, source: source, location: AudioLocation(path: audioPath), text: text, speaker: speaker, fields: fields)
        self.declaredDuration = declaredDuration
    }

    public init(id: String, source: String, location: AudioLocation, text: String, speaker: String? = nil, fields: String? = nil) {
        self.id = id
        self.source = source
        self.location = location
        self.text = text
        self.speaker = speaker
        self.fields = fields
    }
}

/// A manifest line that could not be used, reported as `file:line: reason`.
public struct ManifestProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var reason: String
    public var description: String { "\(source): \(reason)" }
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
}

public enum ManifestFormat: String, CaseIterable, Sendable {
    case librispeech, tsv, jsonl, ljspeech, lhotse, tar
}

/// How manifests are read, beyond their format.
public struct ManifestOptions: Sendable, Equatable {
    /// nil: detected per manifest from its path and content.
    public var format: ManifestFormat?
    public var fields = FieldMap()
    /// Relative audio paths resolve against this folder; nil: each manifest's own folder.
    public var audioRoot: String?
    /// Which of LibriHeavy's two transcripts (`custom.texts`) a Lhotse supervision without `text` gives.
    public var lhotseText = LhotseText.book
    /// Which transcript column of an LJSpeech `metadata.csv` is read.
    public var ljspeechText = LJSpeechText.raw

    public init(format: ManifestFormat? = nil) { self.format = format }
}

public enum LhotseText: String, CaseIterable, Sendable {
    /// `custom.texts[0]`: the book's text, cased and punctuated.
    case book
    /// `custom.texts[1]`: the upper-case ASR transcript.
    case asr
}

public enum LJSpeechText: String, CaseIterable, Sendable {
    /// The second column, as read: what LLaSA_training's LJSpeech script uses.
    case raw
    /// The third column: numbers and abbreviations written out.
    case normalized
}

public enum ManifestError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case unknownFormat(String)
    case duplicateID(String, first: String, second: String)
    case notCuts(String, String)
    case noMatch(String)
    case mixedLines(String, String)
    case noManifest(String)

    public var description: String {
        switch self {
        case let .unreadable(path, why): return "\(path): cannot read manifest: \(why)"
        case let .unknownFormat(path):
            return
                "\(path): cannot tell the manifest format (a LibriSpeech folder, .tsv, .jsonl[.gz], Lhotse cuts, tar "
                + "shards or a list of them, or an LJSpeech folder / metadata.csv); use --manifest-format"
        case let .duplicateID(id, first, second): return "utterance id \(id) appears twice: \(first) and \(second)"
        case let .notCuts(path, kind):
            return "\(path): a Lhotse \(kind) manifest, not cuts: pass the cuts (cuts*.jsonl.gz), which hold recordings and supervisions"
        case let .noMatch(pattern): return "\(pattern): no file matches"
        case let .mixedLines(path, what): return "\(path): \(what); name the format with --manifest-format"
        case let .noManifest(path):
            return
                "\(path): no manifest in this folder: looked for LibriSpeech transcripts (*.trans.txt) below it, an LJSpeech "
                + "metadata.csv and tar shards; for a folder of audio files, write a TSV (path, text) or JSONL manifest"
        }
    }
}

/// Lines of text as every input of this tool reads them.
public enum TextLines {
    /// Split on LF with a trailing CR dropped (so LF and CRLF both work), a leading UTF-8 BOM removed. Split as
    /// bytes: as a Swift `Character`, "\r\n" never equals "\n". A line that is not valid UTF-8 is nil, for the
    /// caller to report with its number.
    public static func split(_ data: Data) -> [String?] {
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        return bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(validating: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
    }
}
