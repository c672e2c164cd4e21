import Foundation

/// One utterance a manifest names.
public struct ManifestEntry: Sendable, Equatable {
    public var id: String
    /// `file:line` (or the transcript file for LibriSpeech) it came from.
    public var source: String
    public var audioPath: String
    public var text: String
    public var speaker: String?
    public var declaredDuration: Double?

    public init(id: String, source: String, audioPath: String, text: String, speaker: String? = nil, declaredDuration: Double? = nil) {
        self.id = id
        self.source = source
        self.audioPath = audioPath
        self.text = text
        self.speaker = speaker
        self.declaredDuration = declaredDuration
    }
}

/// A manifest line that could not be used, reported as `file:line: reason`.
public struct ManifestProblem: Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var reason: String
    public var description: String { "\(source): \(reason)" }
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
}

public enum ManifestFormat: String, CaseIterable, Sendable {
    case librispeech, tsv, jsonl, ljspeech
}

public enum ManifestError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case unknownFormat(String)
    case duplicateID(String, first: String, second: String)
    public var description: String {
        switch self {
        case let .unreadable(path, why): return "\(path): cannot read manifest: \(why)"
        case let .unknownFormat(path):
            return
                "\(path): cannot tell the manifest format (a LibriSpeech folder, .tsv, .jsonl, or an "
                + "LJSpeech folder / metadata.csv); use --manifest-format"
        case let .duplicateID(id, first, second): return "utterance id \(id) appears twice: \(first) and \(second)"
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

/// Reads manifests: LibriSpeech folders (`*.trans.txt`), TSV with a header, NeMo-style JSONL and LJSpeech.
/// Relative audio paths resolve against the manifest's folder.
public enum Manifest {
    public static func detect(_ path: String) throws -> ManifestFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ManifestError.unreadable(path, "no such file or folder")
        }
        if isDirectory.boolValue {
            if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("metadata.csv")) { return .ljspeech }
            return .librispeech
        }
        let name = (path as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".tsv") { return .tsv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".json") { return .jsonl }
        if name == "metadata.csv" { return .ljspeech }
        throw ManifestError.unknownFormat(path)
    }

    /// Entries and problems of one manifest.
    public static func read(_ path: String, format: ManifestFormat? = nil) throws -> (
        entries: [ManifestEntry], problems: [ManifestProblem]
    ) {
        let path = absolute(path)
        let (entries, problems): ([ManifestEntry], [ManifestProblem])
        switch try format ?? detect(path) {
        case .librispeech: (entries, problems) = try readLibriSpeech(path)
        case .tsv: (entries, problems) = try readTSV(path)
        case .jsonl: (entries, problems) = try readJSONL(path)
        case .ljspeech: (entries, problems) = try readLJSpeech(path)
        }
        // SQLite's C-string binding would cut such a field at the NUL, silently; it is corruption anyway.
        let hasNUL = { (entry: ManifestEntry) in (entry.id + entry.text + entry.audioPath).utf8.contains(0) }
        return (
            entries.filter { !hasNUL($0) },
            problems + entries.filter(hasNUL).map { ManifestProblem(source: $0.source, reason: "contains a NUL character") }
        )
    }

    static func lines(_ path: String) throws -> [String?] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ManifestError.unreadable(path, "cannot open") }
        return TextLines.split(data)
    }

    /// The usable lines of `path` with their 1-based numbers; a line that is not UTF-8 becomes a problem.
    static func numberedLines(_ path: String, problems: inout [ManifestProblem]) throws -> [(number: Int, text: String)] {
        var result: [(number: Int, text: String)] = []
        for (index, line) in try lines(path).enumerated() {
            guard let line else {
                problems.append(ManifestProblem(source: "\(path):\(index + 1)", reason: "not UTF-8 text"))
                continue
            }
            result.append((index + 1, line))
        }
        return result
    }

    /// An absolute, standardised path: a store resumed from another working directory must find the same files.
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (full as NSString).standardizingPath
    }

    static func resolve(_ audio: String, against manifest: String) -> String {
        if audio.hasPrefix("/") { return absolute(audio) }
        return absolute(((manifest as NSString).deletingLastPathComponent as NSString).appendingPathComponent(audio))
    }

    static func defaultID(for audio: String) -> String { (audio as NSString).deletingPathExtension }

    /// LibriSpeech: every `SPEAKER-CHAPTER.trans.txt` under the folder; lines `UTTID TRANSCRIPT`, audio
    /// `UTTID.flac` beside it; speaker and chapter from the folder names.
    static func readLibriSpeech(_ root: String) throws -> ([ManifestEntry], [ManifestProblem]) {
        guard let walker = FileManager.default.enumerator(atPath: root) else { throw ManifestError.unreadable(root, "cannot list") }
        var transcripts: [String] = []
        for case let relative as String in walker where relative.hasSuffix(".trans.txt") { transcripts.append(relative) }
        transcripts.sort()
        var entries: [ManifestEntry] = [], problems: [ManifestProblem] = []
        for relative in transcripts {
            let file = (root as NSString).appendingPathComponent(relative)
            let folder = (file as NSString).deletingLastPathComponent
            let parts = relative.split(separator: "/")
            let speaker = parts.count >= 3 ? String(parts[parts.count - 3]) : nil
            for (number, line) in try numberedLines(file, problems: &problems) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let source = "\(file):\(number)"
                let fields = line.split(separator: " ", maxSplits: 1)
                guard fields.count == 2, !fields[1].trimmingCharacters(in: .whitespaces).isEmpty else {
                    problems.append(ManifestProblem(source: source, reason: "expected `UTTERANCE-ID TRANSCRIPT`"))
                    continue
                }
                let id = String(fields[0])
                entries.append(
                    ManifestEntry(
                        id: id, source: source, audioPath: (folder as NSString).appendingPathComponent(id + ".flac"),
                        text: String(fields[1]), speaker: speaker ?? String(id.split(separator: "-").first ?? "")))
            }
        }
        return (entries, problems)
    }

    /// TSV with a header naming at least `path` and `text`; optional `id`, `speaker`, `duration`.
    static func readTSV(_ path: String) throws -> ([ManifestEntry], [ManifestProblem]) {
        var problems: [ManifestProblem] = []
        let all = try numberedLines(path, problems: &problems)
        guard let (headerNumber, header) = all.first else { return ([], problems) }
        let columns = header.split(separator: "\t", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard let pathColumn = columns.firstIndex(of: "path"), let textColumn = columns.firstIndex(of: "text") else {
            return (
                [],
                problems + [ManifestProblem(source: "\(path):\(headerNumber)", reason: "header must name the columns `path` and `text`")]
            )
        }
        let idColumn = columns.firstIndex(of: "id"), speakerColumn = columns.firstIndex(of: "speaker")
        let durationColumn = columns.firstIndex(of: "duration")
        var entries: [ManifestEntry] = []
        for (number, line) in all.dropFirst() where !line.isEmpty {
            let source = "\(path):\(number)"
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == columns.count else {
                problems.append(
                    ManifestProblem(source: source, reason: "\(fields.count) tab-separated fields, the header has \(columns.count)"))
                continue
            }
            let audio = fields[pathColumn]
            guard !audio.isEmpty else { problems.append(ManifestProblem(source: source, reason: "empty `path`")); continue }
            let id = idColumn.map { fields[$0] }.flatMap { $0.isEmpty ? nil : $0 } ?? defaultID(for: audio)
            entries.append(
                ManifestEntry(
                    id: id, source: source, audioPath: resolve(audio, against: path), text: fields[textColumn],
                    speaker: speakerColumn.map { fields[$0] }.flatMap { $0.isEmpty ? nil : $0 },
                    declaredDuration: durationColumn.flatMap { Double(fields[$0]) }))
        }
        return (entries, problems)
    }

    /// NeMo JSONL: `audio_filepath`, `text`, optional `duration`, `id`, `speaker`.
    static func readJSONL(_ path: String) throws -> ([ManifestEntry], [ManifestProblem]) {
        var entries: [ManifestEntry] = [], problems: [ManifestProblem] = []
        for (number, line) in try numberedLines(path, problems: &problems) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let source = "\(path):\(number)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                problems.append(ManifestProblem(source: source, reason: "not a JSON object"))
                continue
            }
            guard let audio = object["audio_filepath"] as? String, !audio.isEmpty else {
                problems.append(ManifestProblem(source: source, reason: "no `audio_filepath` string"))
                continue
            }
            guard let text = object["text"] as? String else {
                problems.append(ManifestProblem(source: source, reason: "no `text` string"))
                continue
            }
            var fields: [String: String] = [:]
            var badField: String?
            for key in ["id", "speaker"] where object[key] != nil && !(object[key] is NSNull) {
                guard let value = Self.identifier(object[key]!) else { badField = key; break }
                fields[key] = value
            }
            if let badField {
                problems.append(ManifestProblem(source: source, reason: "`\(badField)` must be a non-empty string or an integer"))
                continue
            }
            let id = fields["id"] ?? defaultID(for: audio)
            let speaker = fields["speaker"]
            entries.append(
                ManifestEntry(
                    id: id, source: source, audioPath: resolve(audio, against: path), text: text,
                    speaker: speaker, declaredDuration: (object["duration"] as? NSNumber)?.doubleValue))
        }
        return (entries, problems)
    }

    /// A JSON id or speaker: a non-empty string, or an integer (not a boolean, which bridges to 0 and 1).
    static func identifier(_ value: Any) -> String? {
        if let string = value as? String { return string.isEmpty ? nil : string }
        guard let number = value as? NSNumber, !"cdf".contains(String(cString: number.objCType)) else { return nil }
        return number.stringValue
    }

    /// LJSpeech: `metadata.csv` lines `ID|transcript|normalized transcript`, audio `wavs/ID.wav`. The
    /// normalised transcript is used when present.
    static func readLJSpeech(_ path: String) throws -> ([ManifestEntry], [ManifestProblem]) {
        let metadata = path.hasSuffix(".csv") ? path : (path as NSString).appendingPathComponent("metadata.csv")
        let folder = (metadata as NSString).deletingLastPathComponent
        var entries: [ManifestEntry] = [], problems: [ManifestProblem] = []
        for (number, line) in try numberedLines(metadata, problems: &problems) where !line.isEmpty {
            let source = "\(metadata):\(number)"
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 2, !fields[0].isEmpty else {
                problems.append(ManifestProblem(source: source, reason: "expected `ID|transcript[|normalized transcript]`"))
                continue
            }
            let text = fields.count >= 3 && !fields[2].isEmpty ? fields[2] : fields[1]
            entries.append(
                ManifestEntry(
                    id: fields[0], source: source,
                    audioPath: ((folder as NSString).appendingPathComponent("wavs") as NSString).appendingPathComponent(
                        fields[0] + ".wav"),
                    text: text, speaker: nil))
        }
        return (entries, problems)
    }

    /// All entries of several manifests, ids checked for uniqueness.
    public static func readAll(_ paths: [String], format: ManifestFormat? = nil) throws -> (
        entries: [ManifestEntry], problems: [ManifestProblem]
    ) {
        var entries: [ManifestEntry] = [], problems: [ManifestProblem] = []
        var seen: [String: String] = [:]
        for path in paths {
            let (e, p) = try read(path, format: format)
            problems += p
            for entry in e {
                if let first = seen[entry.id] { throw ManifestError.duplicateID(entry.id, first: first, second: entry.source) }
                seen[entry.id] = entry.source
                entries.append(entry)
            }
        }
        return (entries, problems)
    }
}
