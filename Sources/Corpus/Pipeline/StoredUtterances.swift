import Foundation
import Store

// What the store's rows mean here: its location columns as an `AudioLocation`, manifest entries as the rows
// `ingest` records, the rows `pending` gives as utterances to read. No SQL: that is the Store target's.

extension AudioLocation {
    public init(_ stored: StoredLocation) {
        let start = stored.segmentStart, duration = stored.segmentDuration
        self.init(
            path: stored.path, member: stored.member,
            segment: start.flatMap { s in duration.map { AudioSegment(start: s, duration: $0) } },
            channels: Self.channels(fromText: stored.segmentChannels))
    }

    var stored: StoredLocation {
        StoredLocation(
            path: path, member: member, segmentStart: segment?.start, segmentDuration: segment?.duration, segmentChannels: channelsText)
    }
}

/// An utterance to encode.
public struct PendingUtterance: Sendable {
    public var id: String
    public var location: AudioLocation
    public var audioPath: String { location.path }
}

extension Store {
    /// Adds manifest entries and records manifest problems (`ingest(_:problems:)` of the rows).
    @discardableResult
    public func ingest(_ entries: [ManifestEntry], problems: [ManifestProblem]) throws -> IngestCounts {
        try ingest(
            entries.map {
                NewUtterance(
                    id: $0.id, source: $0.source, location: $0.location.stored, text: $0.text, speaker: $0.speaker, fields: $0.fields)
            }, problems: problems.map { ($0.source, $0.reason) })
    }

    /// Utterances to encode, grouped by file (`pendingRows`). `wanted`: only ids with these hashes (`Shard.hash`),
    /// the ones this run's manifests name.
    public func pending(retryFailed: Bool, wanted: Set<UInt64>? = nil) throws -> [PendingUtterance] {
        try pendingRows(retryFailed: retryFailed, wanted: wanted.map { hashes in { hashes.contains(Shard.hash($0)) } }) {
            PendingUtterance(id: $0.id, location: AudioLocation($0.location))
        }
    }

    /// Records `model` as `bindModel(id:fingerprint:...)` does.
    public func bindModel(_ model: ModelProvenance) throws {
        try bindModel(
            id: model.id, fingerprint: model.fingerprint, revision: model.revision, layout: model.layout,
            formerFingerprint: model.formerFingerprint)
    }
}
