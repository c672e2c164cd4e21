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
    /// The first line of a JSONL file is a Lhotse manifest line of some kind.
    static func looksLikeLhotse(_ path: String) -> Bool {
        kind(ofFirstLineOf: path) != nil
    }

    /// "MonoCut" (any cut), "RecordingSet", "SupervisionSet" or "FeatureSet"; nil for other JSON.
    static func kind(ofFirstLineOf path: String) -> String? {
        var kind: String?
        try? LineStream.forEach(path) { _, line in
            guard let line, !line.isBlankLine else { return true }
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                kind = Self.kind(of: object)
            }
            return false
        }
        return kind
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
        if let kind = kind(ofFirstLineOf: path), kind != "MonoCut" { throw ManifestError.notCuts(path, kind) }
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
        guard let recording = cut["recording"] as? [String: Any] else {
            return problem("no inline `recording` (a cut of a lazily joined manifest?)")
        }
        if let transforms = recording["transforms"] as? [Any], !transforms.isEmpty {
            return problem("the recording has transforms (speed or volume perturbation, resampling): not supported")
        }
        let sources = (recording["sources"] as? [[String: Any]]) ?? []
        guard !sources.isEmpty else { return problem("the recording has no `sources`") }
        let wanted: [Int]
        if let one = cut["channel"] as? Int {
            wanted = [one]
        } else if let several = cut["channel"] as? [Int], !several.isEmpty {
            wanted = several
        } else {
            wanted = [0]
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

    static func text(of supervision: [String: Any], _ choice: LhotseText) -> String? {
        if let text = supervision["text"] as? String, !text.isEmpty { return text }
        guard let texts = (supervision["custom"] as? [String: Any])?["texts"] as? [Any] else { return nil }
        let index = choice == .book ? 0 : 1
        guard index < texts.count, let text = texts[index] as? String, !text.isEmpty else { return nil }
        return text
    }
}
