import Codec
import Foundation

/// Which checkpoint made a corpus's codes: the model as it was named, the Hub snapshot revision when it came from the
/// Hugging Face cache, the layout its tensors are stored in and its fingerprint. Stores and exports record it.
public struct ModelProvenance: Sendable, Codable, Equatable {
    public var id: String
    public var revision: String?
    public var layout: String
    public var fingerprint: String
    /// The fingerprint earlier versions gave the same folder, when it differs (`ModelFingerprint.former`).
    public var formerFingerprint: String?

    enum CodingKeys: String, CodingKey {
        case id, revision, layout, fingerprint
    }

    public init(id: String, revision: String?, layout: String, fingerprint: String, formerFingerprint: String? = nil) {
        self.id = id
        self.revision = revision
        self.layout = layout
        self.fingerprint = fingerprint
        self.formerFingerprint = formerFingerprint
    }

    /// The provenance of `model` (as given to --model) resolved to `directory`; reads only the weights' headers.
    public static func of(model: String, directory: URL) throws -> ModelProvenance {
        let checkpoint = try Checkpoint(directory: directory)
        return ModelProvenance(
            id: model, revision: hubRevision(of: directory), layout: checkpoint.layout.name,
            fingerprint: try ModelFingerprint.of(directory: directory),
            formerFingerprint: try ModelFingerprint.former(directory: directory))
    }

    /// REV of a Hub cache snapshot folder (`models--ORG--NAME/snapshots/REV`), else nil.
    public static func hubRevision(of directory: URL) -> String? {
        let parts = directory.standardizedFileURL.pathComponents
        guard parts.count >= 3, parts[parts.count - 2] == "snapshots", parts[parts.count - 3].hasPrefix("models--") else { return nil }
        return parts[parts.count - 1]
    }

    /// One line for logs: `model ID (revision REV, LAYOUT layout, fingerprint F)`.
    public var description: String {
        let revision = self.revision.map { "revision \($0), " } ?? ""
        return "model \(id) (\(revision)\(layout) layout, fingerprint \(fingerprint))"
    }
}
