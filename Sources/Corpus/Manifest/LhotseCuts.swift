import Foundation

/// Lhotse cut manifests (`cuts*.jsonl[.gz]`, as LibriHeavy, GigaSpeech and the LibriTTS-R recipes ship them): each
/// line a MonoCut, a segment (`start`, `duration`) of an inline recording, with its supervisions.
///
/// - The cut id is the utterance id. Start and duration become samples as Lhotse's `compute_num_samples` does.
/// - The recording must have file sources and no transforms; the cut's channel (or channels, averaged) must
///   come from one source.
/// - Text: the supervisions' `text`, or for LibriHeavy (which has none) `custom.texts[0]` (the book text) or
///   `[1]` (the ASR text, `--lhotse-text asr`). Several supervisions are joined in time order with a space; a
///   cut without a supervision, or whose supervisions name several speakers, is a problem (not TTS material).
/// - Speaker and language come from the supervisions; `language`, `gender` and scalar `custom` fields of the
///   cut and its supervisions are kept as extra fields.
enum LhotseCuts {
    /// The first parseable lines of a JSONL file are Lhotse manifest lines of some kind.
    static func looksLikeLhotse(_ path: String) throws -> Bool {
        try kind(ofFirstLinesOf: path) != nil
    }

    /// How many parseable lines decide a file's kind: one broken first line must not decide it.
    static let linesToDetect = 20

    /// "MonoCut" (any cut), "RecordingSet", "SupervisionSet" or "FeatureSet" from the first JSON objects of the file
    /// (lines that are not one are passed over); nil for other JSON. Lines of several kinds are an error naming them.
    static func kind(ofFirstLinesOf path: String) throws -> String? {
        var kinds: [(line: Int, kind: String?)] = []
        try? LineStream.forEach(path) { number, line in
            guard let text = line.text, !text.isBlankLine else { return true }
            if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
                kinds.append((number, Self.kind(of: object)))
            }
            return kinds.count < linesToDetect
        }
        guard let first = kinds.first else { return nil }
        if let other = kinds.first(where: { $0.kind != first.kind }) {
            let name = { (kind: String?) in kind.map { "a Lhotse \($0) line" } ?? "a JSON line that is not Lhotse" }
            throw ManifestError.mixedLines(
                path, "line \(first.line) is \(name(first.kind)) but line \(other.line) is \(name(other.kind))")
        }
        return first.kind
    }

    static func kind(of object: [String: Any]) -> String? {
        if let type = object["type"] as? String, type.hasSuffix("Cut") { return "MonoCut" }
        if object["recording"] is [String: Any], object["start"] != nil, object["duration"] != nil { return "MonoCut" }
        if object["sources"] is [Any], object["sampling_rate"] != nil { return "RecordingSet" }
        if object["recording_id"] != nil, object["start"] != nil, object["duration"] != nil {
            return object["num_frames"] != nil || object["storage_type"] != nil ? "FeatureSet" : "SupervisionSet"
        }
        return nil
    }

    static func read(_ path: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        if let kind = try kind(ofFirstLinesOf: path), kind != "MonoCut" { throw ManifestError.notCuts(path, kind) }
        try Manifest.forEachParsedLine(path, sink) { number, line in
            let source = "\(path):\(number)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return .failure(ManifestProblem(source: source, reason: "not a JSON object"))
            }
            return cut(object, source: source, manifest: path, options: options)
        }
    }

    static func cut(_ cut: [String: Any], source: String, manifest: String, options: ManifestOptions) -> Result<
        ManifestEntry, ManifestProblem
    > {
        func problem(_ reason: String) -> Result<ManifestEntry, ManifestProblem> {
            .failure(ManifestProblem(source: source, reason: reason))
        }
        let type = cut["type"] as? String ?? "MonoCut"
        guard type == "MonoCut" else { return problem("a \(type): only MonoCuts (one segment of one recording) are read") }
        guard let id = cut["id"].flatMap(FieldMap.identifier) else { return problem("no cut `id`") }
        guard let start = (cut["start"] as? NSNumber)?.doubleValue, let duration = (cut["duration"] as? NSNumber)?.doubleValue,
            start >= 0, duration > 0, start.isFinite, duration.isFinite
        else { return problem("`start` and `duration` must be seconds, start >= 0 and duration > 0") }
        // Beyond this no recording exists, and sample counts at any rate would overflow.
        guard start + duration <= Self.maxSeconds else {
            return problem(
                "`start` + `duration` is \(start + duration) s, past the \(Int(Self.maxSeconds)) s (115 days) a recording may last")
        }
        guard let recording = cut["recording"] as? [String: Any] else {
            return problem("no inline `recording` (a cut of a lazily joined manifest?)")
        }
        if let transforms = recording["transforms"] as? [Any], !transforms.isEmpty {
            return problem("the recording has transforms (speed or volume perturbation, resampling): not supported")
        }
        let sources = (recording["sources"] as? [[String: Any]]) ?? []
        guard !sources.isEmpty else { return problem("the recording has no `sources`") }
        let wanted: [Int]
        switch cut["channel"] {
        case nil, is NSNull: wanted = [0]
        case let value?:
            let values = (value as? [Any]) ?? [value]
            let channels = values.compactMap(Self.channelNumber)
            guard !values.isEmpty, channels.count == values.count else {
                return problem("`channel` must be a channel number or a list of them, not \(Self.json(value))")
            }
            wanted = channels
        }
        // The source holding the cut's channels, and their places in that file.
        var picked: (path: String, channels: [Int], count: Int)?
        for audio in sources {
            let channels = (audio["channels"] as? [Int]) ?? [0]
            guard wanted.allSatisfy(channels.contains) else { continue }
            guard (audio["type"] as? String ?? "file") == "file", let path = audio["source"] as? String, !path.isEmpty else {
                return problem("recording source of type `\(audio["type"] as? String ?? "?")`: only `file` sources are read")
            }
            picked = (
                Manifest.resolve(path, against: manifest, root: options.audioRoot),
                wanted.map { channels.firstIndex(of: $0)! }, channels.count
            )
            break
        }
        guard let picked else { return problem("channel(s) \(wanted) are not all in one of the recording's file sources") }

        let supervisions = ((cut["supervisions"] as? [[String: Any]]) ?? []).sorted {
            (($0["start"] as? NSNumber)?.doubleValue ?? 0) < (($1["start"] as? NSNumber)?.doubleValue ?? 0)
        }
        guard !supervisions.isEmpty else { return problem("no supervision, so no transcript") }
        var texts: [String] = []
        for supervision in supervisions {
            guard let text = self.text(of: supervision, options.lhotseText) else {
                return problem(
                    "a supervision has no `text` and no `custom.texts[\(options.lhotseText == .book ? 0 : 1)]` "
                        + "(--lhotse-text \(options.lhotseText.rawValue))")
            }
            texts.append(text)
        }
        let speakers = Set(supervisions.compactMap { $0["speaker"].flatMap(FieldMap.identifier) })
        guard speakers.count <= 1 else { return problem("supervisions by \(speakers.count) speakers: not one voice") }

        var fields: [String: Any] = [:]
        for holder in [cut["custom"] as? [String: Any] ?? [:]] + supervisions.map({ $0["custom"] as? [String: Any] ?? [:] }) {
            for (key, value) in holder where value is String || value is NSNumber { fields[key] = fields[key] ?? value }
        }
        for key in ["language", "gender"] {
            if let value = supervisions.lazy.compactMap({ $0[key] as? String }).first { fields[key] = value }
        }
        var entry = ManifestEntry(
            id: id, source: source,
            location: AudioLocation(
                path: picked.path, segment: AudioSegment(start: start, duration: duration),
                channels: picked.count == 1 ? nil : picked.channels),
            text: texts.joined(separator: " "), speaker: speakers.first, fields: FieldMap.json(fields))
        entry.declaredDuration = duration
        return .success(entry)
    }

    /// A JSON value as it was written, for messages.
    static func json(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed]),
            let text = String(data: data, encoding: .utf8)
        else { return "\(value)" }
        return String(text.dropFirst().dropLast())
    }

    /// Seconds no cut reaches: 10^7 (115 days).
    static let maxSeconds = 1e7

    /// A JSON channel number: a whole number from 0 to 1023 (not a string, a fraction or a boolean).
    static func channelNumber(_ value: Any) -> Int? {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }  // "c": a JSON boolean
        let double = number.doubleValue
        guard double.rounded() == double, (0...1023).contains(double) else { return nil }
        return Int(double)
    }

    static func text(of supervision: [String: Any], _ choice: LhotseText) -> String? {
        if let text = supervision["text"] as? String, !text.isEmpty { return text }
        guard let texts = (supervision["custom"] as? [String: Any])?["texts"] as? [Any] else { return nil }
        let index = choice == .book ? 0 : 1
        guard index < texts.count, let text = texts[index] as? String, !text.isEmpty else { return nil }
        return text
    }
}
