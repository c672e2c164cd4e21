import Concurrency
import Foundation
import Synchronization

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

/// Where a reader sends what it reads: entries (a NUL anywhere makes one a problem) and problems.
struct ManifestSink {
    let entry: (ManifestEntry) throws -> Void
    let problem: (ManifestProblem) throws -> Void

    /// No field of a real corpus comes near this; SQLite refuses a value of 1 GB and with it the whole ingest.
    static let maxFieldBytes = 1 << 20

    func add(_ e: ManifestEntry) throws {
        if let reason = Self.refusal(of: e) {
            try problem(ManifestProblem(source: e.source, reason: reason))
        } else {
            try entry(e)
        }
    }

    /// Why an entry cannot be stored as it is, the same for every format.
    static func refusal(of e: ManifestEntry) -> String? {
        let fields: [(String, String?)] = [
            ("id", e.id), ("transcript", e.text), ("speaker", e.speaker), ("audio path", e.location.path),
            ("audio member", e.location.member), ("fields", e.fields),
        ]
        for case let (name, value?) in fields {
            if value.utf8.count > maxFieldBytes {
                return "the \(name) has \(value.utf8.count) bytes, over the \(maxFieldBytes >> 20) MiB a field may have"
            }
            // SQLite's C-string binding would cut such a field at the NUL, silently; it is corruption anyway.
            if value.utf8.contains(0) { return "contains a NUL character (in the \(name))" }
        }
        // Llasa cannot learn speech from an empty text.
        if e.text.allSatisfy(\.isWhitespace) { return "empty transcript" }
        return nil
    }

    func skip(_ source: String, _ reason: String) throws { try problem(ManifestProblem(source: source, reason: reason)) }

    /// What a line parser made of a line: an entry, or why not.
    func take(_ result: Result<ManifestEntry, ManifestProblem>) throws {
        switch result {
        case let .success(entry): try add(entry)
        case let .failure(problem): try self.problem(problem)
        }
    }
}

extension String {
    /// Only spaces and tabs (or nothing): such manifest lines are skipped. Not `trimmingCharacters`: through
    /// NSString it cost a quarter of a cuts file's ingest.
    var isBlankLine: Bool { !utf8.contains(where: { $0 != 0x20 && $0 != 0x09 }) }
}

/// A result buffer each thread writes its own indices of.
struct UncheckedBuffer<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T>
    init(_ buffer: UnsafeMutableBufferPointer<T>) { self.buffer = buffer }
}

/// Recently resolved audio paths: the cuts of one recording repeat its path on every line, and `standardizingPath`
/// is slow.
enum ResolvedPaths {
    struct Key: Hashable {
        var audio: String, manifest: String, root: String?
    }
    static let cache = Mutex<[Key: String]>([:])
}

/// Reads manifests: LibriSpeech folders (`*.trans.txt`), TSV with a header, JSONL (NeMo, Emilia or mapped with
/// `FieldMap`), LJSpeech, Lhotse cuts and tar shards. Streamed: a manifest of millions of lines is never held in
/// memory. Relative audio paths resolve against `--audio-root` or the manifest's folder.
public enum Manifest {
    public static func detect(_ path: String) throws -> ManifestFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ManifestError.unreadable(path, "no such file or folder")
        }
        if isDirectory.boolValue {
            if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("metadata.csv")) { return .ljspeech }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            if names.contains(where: TarShards.isShardName) { return .tar }
            return .librispeech
        }
        let name = (path as NSString).lastPathComponent.lowercased()
        if TarShards.isShardName(name) { return .tar }
        if name.hasSuffix(".tsv") { return .tsv }
        if name == "metadata.csv" { return .ljspeech }
        if name.hasSuffix(".txt") && TarShards.isShardList(path) { return .tar }
        let stem = LineStream.compressedSuffixes.first(where: name.hasSuffix).map { String(name.dropLast($0.count)) } ?? name
        if stem.hasSuffix(".jsonl") || stem.hasSuffix(".json") { return try LhotseCuts.looksLikeLhotse(path) ? .lhotse : .jsonl }
        throw ManifestError.unknownFormat(path)
    }

    /// Every entry and problem of the manifests, in order, without holding them: `entry` and `problem` get them as
    /// they are read. Ids must be unique across all of them (a clash throws, naming both sources). A path with
    /// `*`, `?` or `[` that names no file is a glob.
    public static func scan(
        _ paths: [String], options: ManifestOptions = ManifestOptions(), entry: (ManifestEntry) throws -> Void,
        problem: (ManifestProblem) throws -> Void
    ) throws {
        try withoutActuallyEscaping(entry) { entry in
            try withoutActuallyEscaping(problem) { problem in
                try scan(manifests: try paths.flatMap(expand), options: options, entry: entry, problem: problem)
            }
        }
    }

    private static func scan(
        manifests: [String], options: ManifestOptions, entry: @escaping (ManifestEntry) throws -> Void,
        problem: @escaping (ManifestProblem) throws -> Void
    ) throws {
        // Hashes, not ids: 8 bytes an utterance, for corpora of millions. A repeated hash is checked against the ids.
        var seen = Set<UInt64>()
        let sink = ManifestSink(
            entry: { e in
                if !seen.insert(Shard.hash(e.id)).inserted, let first = try firstSource(of: e.id, in: manifests, options: options),
                    first != e.source
                {
                    throw ManifestError.duplicateID(e.id, first: first, second: e.source)
                }
                try entry(e)
            }, problem: problem)
        for path in manifests { try read(path, options: options, into: sink) }
    }

    /// Where `id` first appears: read again only when a duplicate is suspected, so the error names both lines.
    static func firstSource(of id: String, in paths: [String], options: ManifestOptions) throws -> String? {
        struct Found: Error { var source: String }
        do {
            let sink = ManifestSink(entry: { if $0.id == id { throw Found(source: $0.source) } }, problem: { _ in })
            for path in paths { try read(path, options: options, into: sink) }
        } catch let found as Found {
            return found.source
        }
        return nil
    }

    static func read(_ path: String, options: ManifestOptions, into sink: ManifestSink) throws {
        switch try options.format ?? detect(path) {
        case .librispeech: try readLibriSpeech(path, sink)
        case .tsv: try readTSV(path, options, sink)
        case .jsonl: try readJSONL(path, options, sink)
        case .ljspeech: try readLJSpeech(path, options, sink)
        case .lhotse: try LhotseCuts.read(path, options, sink)
        case .tar: try TarShards.read(path, options, sink)
        }
    }

    /// Entries and problems of one manifest, collected (for small manifests and tests).
    public static func read(_ path: String, format: ManifestFormat? = nil) throws -> (
        entries: [ManifestEntry], problems: [ManifestProblem]
    ) {
        try readAll([path], options: ManifestOptions(format: format))
    }

    /// All entries of several manifests, collected, ids checked for uniqueness.
    public static func readAll(_ paths: [String], options: ManifestOptions = ManifestOptions()) throws -> (
        entries: [ManifestEntry], problems: [ManifestProblem]
    ) {
        var entries: [ManifestEntry] = [], problems: [ManifestProblem] = []
        try scan(paths, options: options, entry: { entries.append($0) }, problem: { problems.append($0) })
        return (entries, problems)
    }

    /// A path as given (absolute), or the files a glob pattern matches, sorted.
    static func expand(_ path: String) throws -> [String] {
        let full = absolute(path)
        guard path.contains(where: { "*?[".contains($0) }), !FileManager.default.fileExists(atPath: full) else { return [full] }
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(full, 0, nil, &matches) == 0, matches.gl_pathc > 0 else { throw ManifestError.noMatch(path) }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    /// Each line of `path` with its number; a line that is not UTF-8 becomes a problem, an empty one is skipped.
    static func forEachLine(_ path: String, _ sink: ManifestSink, _ body: (Int, String) throws -> Void) throws {
        try LineStream.forEach(path) { number, line in
            switch line {
            case .text(let text): if !text.isBlankLine { try body(number, text) }
            case .notUTF8, .tooLong, .damaged: try sink.skip("\(path):\(number)", line.problem!)
            }
            return true
        }
    }

    /// Each line parsed by `parse` on every core, in batches, and handed to the sink in order, while another thread
    /// reads (and decompresses) the next batch: JSON parsing is most of the time a cuts file of millions of lines
    /// takes, and reading is most of the rest.
    static func forEachParsedLine(
        _ path: String, _ sink: ManifestSink, parse: @escaping @Sendable (Int, String) -> Result<ManifestEntry, ManifestProblem>
    ) throws {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let batches = BoundedQueue<[(number: Int, line: LineStream.Line)]>(capacity: 4)
        let readError = Mutex<Error?>(nil)
        let reader = WorkerThread(name: "tc-manifest") {
            do {
                var batch: [(number: Int, line: LineStream.Line)] = []
                batch.reserveCapacity(4096)
                try LineStream.forEach(path) { number, line in
                    // Blank lines are skipped, as everywhere.
                    if let text = line.text, text.isBlankLine { return true }
                    batch.append((number, line))
                    if batch.count < 4096 { return true }
                    defer { batch.removeAll(keepingCapacity: true) }
                    return batches.push(batch)
                }
                if !batch.isEmpty { _ = batches.push(batch) }
            } catch {
                readError.withLock { $0 = error }
            }
            batches.close()
        }
        defer {
            batches.close()  // a sink that throws stops the reader
            reader.join()
        }
        while let batch = batches.pop() {
            var results = [Result<ManifestEntry, ManifestProblem>?](repeating: nil, count: batch.count)
            results.withUnsafeMutableBufferPointer { out in
                let out = UncheckedBuffer(out)
                Parallel.run(min(threads, batch.count)) { part in
                    for i in Swift.stride(from: part, to: batch.count, by: threads) {
                        let (number, line) = batch[i]
                        out.buffer[i] =
                            line.text.map { parse(number, $0) }
                            ?? .failure(ManifestProblem(source: "\(path):\(number)", reason: line.problem!))
                    }
                }
            }
            for result in results { try sink.take(result!) }
        }
        if let error = readError.withLock({ $0 }) { throw error }
    }

    /// An absolute, standardised path: a store resumed from another working directory must find the same files.
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (full as NSString).standardizingPath
    }

    /// An audio path from `manifest`: absolute as it is, relative against `--audio-root` or the manifest's folder.
    static func resolve(_ audio: String, against manifest: String, root: String? = nil) -> String {
        let key = ResolvedPaths.Key(audio: audio, manifest: manifest, root: root)
        if let known = ResolvedPaths.cache.withLock({ $0[key] }) { return known }
        let resolved = resolveUncached(audio, against: manifest, root: root)
        ResolvedPaths.cache.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[key] = resolved
        }
        return resolved
    }

    private static func resolveUncached(_ audio: String, against manifest: String, root: String?) -> String {
        if audio.hasPrefix("/") { return absolute(audio) }
        let base = root.map(absolute) ?? (manifest as NSString).deletingLastPathComponent
        return absolute((base as NSString).appendingPathComponent(audio))
    }

    static func defaultID(for audio: String) -> String { (audio as NSString).deletingPathExtension }

    /// LibriSpeech: every `SPEAKER-CHAPTER.trans.txt` under the folder; lines `UTTID TRANSCRIPT`, audio
    /// `UTTID.flac` beside it; speaker and chapter from the folder names.
    static func readLibriSpeech(_ root: String, _ sink: ManifestSink) throws {
        guard let walker = FileManager.default.enumerator(atPath: root) else { throw ManifestError.unreadable(root, "cannot list") }
        var transcripts: [String] = []
        for case let relative as String in walker where relative.hasSuffix(".trans.txt") { transcripts.append(relative) }
        // A folder is read as LibriSpeech unless it is something else: one without transcripts holds no manifest at all.
        guard !transcripts.isEmpty else { throw ManifestError.noManifest(root) }
        transcripts.sort()
        for relative in transcripts {
            let file = (root as NSString).appendingPathComponent(relative)
            let folder = (file as NSString).deletingLastPathComponent
            let parts = relative.split(separator: "/")
            let speaker = parts.count >= 3 ? String(parts[parts.count - 3]) : nil
            try forEachLine(file, sink) { number, line in
                let source = "\(file):\(number)"
                let fields = line.split(separator: " ", maxSplits: 1)
                guard fields.count == 2, !fields[1].trimmingCharacters(in: .whitespaces).isEmpty else {
                    return try sink.skip(source, "expected `UTTERANCE-ID TRANSCRIPT`")
                }
                let id = String(fields[0])
                try sink.add(
                    ManifestEntry(
                        id: id, source: source, audioPath: (folder as NSString).appendingPathComponent(id + ".flac"),
                        text: String(fields[1]), speaker: speaker ?? String(id.split(separator: "-").first ?? "")))
            }
        }
    }

    /// TSV with a header naming an audio column and a text column (`path` and `text` by default, see `FieldMap`);
    /// optional `id`, `speaker`, `duration`; other columns are kept as fields.
    static func readTSV(_ path: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        var columns: [String]?
        try forEachLine(path, sink) { number, line in
            let source = "\(path):\(number)"
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let header = columns else {
                let names = cells.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                guard let missing = options.fields.missingRole(in: Set(names)) else {
                    columns = names
                    return
                }
                // Without them no line can be read: one problem for the header, and the manifest is skipped.
                try sink.skip(source, "the header names no \(missing) column (\(options.fields.describe(missing)))")
                columns = []
                return
            }
            guard !header.isEmpty else { return }
            guard cells.count == header.count else {
                return try sink.skip(source, "\(cells.count) tab-separated fields, the header has \(header.count)")
            }
            var object: [String: Any] = [:]
            for (name, cell) in zip(header, cells) where !cell.isEmpty { object[name] = cell }
            try sink.take(options.fields.entry(object, source: source, manifest: path, options: options, textual: true))
        }
    }

    /// JSONL, one object a line: NeMo (`audio_filepath`, `text`), Emilia (`wav`, `text`, `speaker`, `language`,
    /// `dnsmos`), or any names mapped with `--field`.
    static func readJSONL(_ path: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        try forEachParsedLine(path, sink) { number, line in
            let source = "\(path):\(number)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return .failure(ManifestProblem(source: source, reason: "not a JSON object"))
            }
            return options.fields.entry(object, source: source, manifest: path, options: options)
        }
    }

    /// LJSpeech: `metadata.csv` lines `ID|transcript|normalized transcript`, audio `wavs/ID.wav`. The raw transcript
    /// is read unless `--text-column normalized` (which falls back to the raw one where the third column is empty).
    static func readLJSpeech(_ path: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        let metadata = path.hasSuffix(".csv") ? path : (path as NSString).appendingPathComponent("metadata.csv")
        let folder = (metadata as NSString).deletingLastPathComponent
        try forEachLine(metadata, sink) { number, line in
            let source = "\(metadata):\(number)"
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 2, !fields[0].isEmpty else {
                return try sink.skip(source, "expected `ID|transcript[|normalized transcript]`")
            }
            let normalized = fields.count >= 3 && !fields[2].isEmpty ? fields[2] : nil
            let text = options.ljspeechText == .normalized ? normalized ?? fields[1] : fields[1]
            try sink.add(
                ManifestEntry(
                    id: fields[0], source: source,
                    audioPath: ((folder as NSString).appendingPathComponent("wavs") as NSString).appendingPathComponent(
                        fields[0] + ".wav"),
                    text: text, speaker: nil))
        }
    }
}
