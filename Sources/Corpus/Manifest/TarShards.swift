import Foundation

/// Tar shards in the WebDataset layout (Emilia's, and the Hub's `webdataset` datasets): members `KEY.ext` grouped
/// by key (the member's name up to the first dot of its base name), one audio member (`flac`, `wav`, `mp3`,
/// `ogg`, `opus`) and a `KEY.json` (fields as for JSONL) and/or `KEY.txt` (the transcript) each. A manifest is a
/// shard, a folder of shards, or a `.txt` listing them. Read with libarchive, streamed; nothing is extracted.
enum TarShards {
    static let shardSuffixes = [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar.zst"]
    static let audioExtensions: Set<String> = ["flac", "wav", "mp3", "ogg", "opus", "aiff", "aif", "au"]

    static func isShardName(_ name: String) -> Bool { shardSuffixes.contains { name.lowercased().hasSuffix($0) } }

    /// A text file whose first lines all name tar shards.
    static func isShardList(_ path: String) -> Bool {
        var names: [String] = []
        try? LineStream.forEach(path) { _, line in
            if let line = line.text, !line.trimmingCharacters(in: .whitespaces).isEmpty {
                names.append(line.trimmingCharacters(in: .whitespaces))
            }
            return names.count < 3
        }
        return !names.isEmpty && names.allSatisfy(isShardName)
    }

    /// `dir/KEY.flac` -> (`dir/KEY`, `flac`), as WebDataset splits member names.
    static func split(_ member: String) -> (key: String, ext: String)? {
        let slash = member.lastIndex(of: "/").map { member.index(after: $0) } ?? member.startIndex
        guard let dot = member[slash...].firstIndex(of: "."), dot > slash else { return nil }
        return (String(member[..<dot]), String(member[member.index(after: dot)...]).lowercased())
    }

    /// The shards a manifest path names, absolute.
    static func shards(_ path: String, _ sink: ManifestSink) throws -> [String] {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path).filter(isShardName).sorted()
            return names.map { (path as NSString).appendingPathComponent($0) }
        }
        if isShardName(path) { return [path] }
        var list: [String] = []
        try Manifest.forEachLine(path, sink) { _, line in
            list.append(Manifest.resolve(line.trimmingCharacters(in: .whitespaces), against: path))
        }
        return list
    }

    static func read(_ path: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        for shard in try shards(path, sink) { try list(shard, options, sink) }
    }

    /// The members of one key as the listing finds them.
    struct Key {
        var audio: String?
        var json: Data?
        var jsonMember: String?
        var text: String?
        /// Why the key cannot be read, found while listing.
        var problem: String?
    }

    /// The .json and .txt members of a shard are read whole; the largest a real one has is a few KiB.
    static let maxTextMemberBytes = 16 << 20

    /// Lists one shard: audio members are skipped (seeked over), the JSON and text members read. A damaged or
    /// cut-off shard gives the keys read before the damage and one problem naming where it stopped.
    static func list(_ shard: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        var keys: [String: Key] = [:]
        var order: [String] = []
        var last: String?
        do {
            let reader = try ArchiveReader(path: shard, kind: .tar)
            while let (member, size) = try reader.nextFile() {
                guard let (key, ext) = split(member) else { continue }
                if keys[key] == nil { order.append(key) }
                var parts = keys[key] ?? Key()
                switch ext {
                case _ where (ext == "json" || ext == "txt") && size > maxTextMemberBytes:
                    // Passed over unread: a transcript or fields of that size is damage, and SQLite would refuse it.
                    parts.problem = "\(member) has \(size) bytes, over the \(maxTextMemberBytes >> 20) MiB a .json or .txt member may have"
                case "json":
                    parts.json = try reader.data(sizeHint: size)!
                    parts.jsonMember = member
                case "txt":
                    guard let text = String(validating: try reader.data(sizeHint: size)!, as: UTF8.self) else {
                        parts.problem = "\(member) is not UTF-8 text"
                        break
                    }
                    parts.text = text
                case _ where audioExtensions.contains(ext): parts.audio = parts.audio ?? member
                default: break
                }
                keys[key] = parts
                last = member
            }
        } catch {
            let reason = last.map { "damaged or cut off after member \($0): \(error)" } ?? "cannot read as a tar shard: \(error)"
            try sink.skip(shard, reason)
        }
        for key in order {
            let parts = keys[key]!
            let source = "\(shard):\(key)"
            if let problem = parts.problem {
                try sink.skip(source, problem)
                continue
            }
            guard let audio = parts.audio else {
                try sink.skip(source, "no audio member (\(audioExtensions.sorted().joined(separator: ", ")))")
                continue
            }
            var object: [String: Any] = [:]
            if let json = parts.json {
                guard let parsed = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
                    try sink.skip("\(shard):\(parts.jsonMember!)", "not a JSON object")
                    continue
                }
                object = parsed
            }
            if let text = parts.text, options.fields.value(.text, in: object) == nil {
                object[options.fields.names[.text]![0]] = text.trimmingCharacters(in: .newlines)
            }
            guard parts.json != nil || parts.text != nil else {
                try sink.skip(source, "no \(key).json or \(key).txt with the transcript")
                continue
            }
            let location = AudioLocation(path: shard, member: audio)
            try sink.take(options.fields.entry(object, source: source, manifest: shard, options: options, audio: location, defaultID: key))
        }
    }

    /// Streams `shard` once and hands each wanted member's bytes (or why they could not be read) to `body`, which
    /// returns false to stop. Unwanted members are skipped by seeking. Members never reached are not reported
    /// here: the caller knows which it asked for.
    static func forEachMember(
        _ shard: String, wanted: Set<String>, maxBytes: Int = .max, _ body: (String, Result<Data, Error>) -> Bool
    ) throws {
        let reader = try ArchiveReader(path: shard, kind: .tar)
        var left = wanted
        while !left.isEmpty, let (member, size) = try reader.nextFile() {
            guard left.remove(member) != nil else { continue }
            // A member larger than any audio that passes --max-duration is refused before it is held in memory.
            if size > maxBytes {
                if !body(member, .failure(MemberTooLarge(bytes: size))) { return }
                continue
            }
            do {
                guard let data = try reader.data(sizeHint: size, limit: maxBytes) else {
                    if !body(member, .failure(MemberTooLarge(bytes: maxBytes))) { return }
                    continue
                }
                if !body(member, .success(data)) { return }
            } catch {
                _ = body(member, .failure(error))
                throw error  // nothing after a member that could not be read is trusted
            }
        }
    }

    /// A member over the byte limit of `forEachMember`; `bytes` is its size, or the limit it passed.
    struct MemberTooLarge: Error {
        let bytes: Int
    }

    /// One member's bytes (reads the shard up to it).
    static func memberData(shard: String, member: String) throws -> Data {
        var found: Result<Data, Error>?
        do {
            try forEachMember(shard, wanted: [member]) { _, data in
                found = data
                return false
            }
        } catch {
            throw AudioError.unreadable("\(shard):\(member)", "\(error)")
        }
        switch found {
        case let .success(data): return data
        case let .failure(error): throw AudioError.unreadable("\(shard):\(member)", "\(error)")
        case nil: throw AudioError.missing("\(shard):\(member)")
        }
    }
}
