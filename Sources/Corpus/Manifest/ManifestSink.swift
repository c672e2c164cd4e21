import Foundation

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
