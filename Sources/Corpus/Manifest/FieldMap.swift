import Foundation

/// Which field of a JSONL line (or TSV column, or tar member's JSON) holds what. Each role has default names,
/// tried in order; `--field audio=wav` replaces a role's names with one. Fields no role names are kept as the
/// utterance's extra fields.
public struct FieldMap: Sendable, Equatable {
    public enum Role: String, CaseIterable, Sendable {
        case id, audio, text, speaker, duration
    }

    /// NeMo's `audio_filepath` first (the previous only name), Emilia's `wav`, then common other spellings.
    public static let defaultNames: [Role: [String]] = [
        .id: ["id", "key", "utt_id"],
        .audio: ["audio_filepath", "path", "wav", "audio", "file", "file_name"],
        .text: ["text", "sentence", "transcript", "transcription", "normalized_text"],
        .speaker: ["speaker", "speaker_id", "spk"],
        .duration: ["duration"],
    ]

    public private(set) var names: [Role: [String]] = Self.defaultNames

    public init(_ overrides: [Role: String] = [:]) {
        for (role, name) in overrides { names[role] = [name] }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// `--field ROLE=NAME` values.
    public static func parse(_ specs: [String]) throws -> FieldMap {
        var overrides: [Role: String] = [:]
        for spec in specs {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let role = Role(rawValue: parts[0]), !parts[1].isEmpty else {
                throw ParseError(
                    description: "--field \(spec): expected ROLE=NAME with ROLE one of "
                        + Role.allCases.map(\.rawValue).joined(separator: ", "))
            }
            overrides[role] = parts[1]
        }
        return FieldMap(overrides)
    }

    /// "`a`, `b` or `c`; --field ROLE=NAME for another", for messages.
    func describe(_ role: Role) -> String {
        let list = names[role]!.map { "`\($0)`" }
        let joined = list.count > 1 ? list.dropLast().joined(separator: ", ") + " or " + list.last! : list[0]
        return "\(joined); --field \(role.rawValue)=NAME names another"
    }

    /// The first role among audio and text whose names none of `columns` has.
    func missingRole(in columns: Set<String>) -> Role? {
        [Role.audio, .text].first { role in !names[role]!.contains(where: columns.contains) }
    }

    func value(_ role: Role, in object: [String: Any]) -> Any? {
        for name in names[role]! { if let value = object[name], !(value is NSNull) { return value } }
        return nil
    }

    /// Every name some role may take: those are not extra fields.
    var roleNames: Set<String> { Set(names.values.joined()).union(Self.defaultNames.values.joined()) }

    /// The entry a JSON object (or a TSV line, `textual`) describes. `audio` is given for a tar member, whose
    /// audio is its sibling member rather than a path field.
    func entry(
        _ object: [String: Any], source: String, manifest: String, options: ManifestOptions, audio: AudioLocation? = nil,
        defaultID: String? = nil, textual: Bool = false
    ) -> Result<ManifestEntry, ManifestProblem> {
        func problem(_ reason: String) -> Result<ManifestEntry, ManifestProblem> {
            .failure(ManifestProblem(source: source, reason: reason))
        }
        var location = audio
        if location == nil {
            // A Hub `datasets` export writes audio as {"path": ..., "bytes": ...}.
            let raw = value(.audio, in: object)
            guard let path = (raw as? String) ?? ((raw as? [String: Any])?["path"] as? String), !path.isEmpty else {
                return problem("no audio path (\(describe(.audio)))")
            }
            location = AudioLocation(path: Manifest.resolve(path, against: manifest, root: options.audioRoot))
        }
        guard let text = value(.text, in: object) as? String else { return problem("no transcript string (\(describe(.text)))") }
        var identifiers: [Role: String] = [:]
        for role in [Role.id, .speaker] {
            guard let raw = value(role, in: object) else { continue }
            guard let value = Self.identifier(raw) else { return problem("`\(role.rawValue)` must be a non-empty string or an integer") }
            identifiers[role] = value
        }
        let id =
            identifiers[.id] ?? defaultID
            ?? Manifest.defaultID(for: (value(.audio, in: object) as? String) ?? location!.path)
        var extra: [String: Any] = [:]
        let taken = roleNames
        for (key, value) in object where !taken.contains(key) && !(value is NSNull) {
            extra[key] = textual ? Self.scalar(fromText: value as! String) : value
        }
        var entry = ManifestEntry(
            id: id, source: source, location: location!, text: text, speaker: identifiers[.speaker], fields: Self.json(extra))
        let duration = value(.duration, in: object)
        entry.declaredDuration = (duration as? NSNumber)?.doubleValue ?? (duration as? String).flatMap(Double.init)
        return .success(entry)
    }

    /// A JSON id or speaker: a non-empty string, or an integer (not a boolean, which bridges to 0 and 1).
    static func identifier(_ value: Any) -> String? {
        if let string = value as? String { return string.isEmpty ? nil : string }
        guard let number = value as? NSNumber, !"cdf".contains(String(cString: number.objCType)) else { return nil }
        return number.stringValue
    }

    /// A TSV cell as JSON would hold it: a number when it reads as a finite one (so `--where "dnsmos > 3"`
    /// compares numbers) without a leading zero, else the text.
    static func scalar(fromText text: String) -> Any {
        // "007" is a code, not seven.
        let digits = text.drop { $0 == "-" || $0 == "+" }
        if digits.count > 1 && digits.first == "0" && digits.dropFirst().first?.isNumber == true { return text }
        if let integer = Int(text) { return integer }
        if let number = Double(text), number.isFinite { return number }
        return text
    }

    /// Extra fields as stored: a JSON object with sorted keys, or nil when there are none (or none JSON can write).
    static func json(_ fields: [String: Any]) -> String? {
        guard !fields.isEmpty else { return nil }
        // Strings and numbers, the usual case, written here: JSONSerialization cost a quarter of a cuts ingest.
        var text = "{"
        for (index, key) in fields.keys.sorted().enumerated() {
            guard let value = scalarJSON(fields[key]!) else { return serialized(fields) }
            text += (index > 0 ? "," : "") + CodesJSON.quoted(key) + ":" + value
        }
        return text + "}"
    }

    /// A string or a finite number as JSON; nil for anything else.
    static func scalarJSON(_ value: Any) -> String? {
        if let string = value as? String { return CodesJSON.quoted(string) }
        guard let number = value as? NSNumber else { return nil }
        switch String(cString: number.objCType) {
        case "c": return nil  // a boolean
        case "f", "d":
            let double = number.doubleValue
            guard double.isFinite else { return nil }
            return double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) : "\(double)"
        default: return number.stringValue
        }
    }

    private static func serialized(_ fields: [String: Any]) -> String? {
        guard JSONSerialization.isValidJSONObject(fields),
            let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
