import Foundation

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
}
