import Concurrency
import Foundation
import Store

/// Decoded audio on its way from a reader thread to an encoder.
struct DecodedItem {
    let id: String
    let audio: DecodedAudio
}

/// A reader thread's work: the items of one file (or one tar shard), read through one open handle (or one pass
/// over the shard), checked against the duration limits, and handed to the encoders or, failed, to the writer.
struct GroupReader {
    let items: [PendingUtterance]
    let targetRate: Int
    let maxDuration: Double
    let minDuration: Double
    let minSamples: Int
    let maxSamples: Int
    let work: BoundedQueue<DecodedItem>
    let results: BoundedQueue<UtteranceResult>

    /// A file's items: one open for all of them. False when the encoders are gone.
    func readFile(_ range: Range<Int>) -> Bool {
        var file: Result<SoundFile, Error>?
        for index in range {
            if StopSignal.requested { return true }
            let item = items[index]
            do {
                if file == nil { file = Result { try SoundFile(path: item.location.path) } }
                let audio = try file!.get().read(
                    segment: item.location.segment, channels: item.location.channels, targetRate: targetRate, maxSeconds: maxDuration)
                if !deliver(item, audio) { return false }
            } catch {
                fail(item, error)
            }
        }
        return true
    }

    /// A shard's pending members, in one pass over it; members of done utterances are skipped unread.
    func readShard(_ range: Range<Int>) -> Bool {
        let shard = items[range.lowerBound].location.path
        var byMember: [String: [Int]] = [:]
        for index in range { byMember[items[index].location.member!, default: []].append(index) }
        var reached = Set<String>()
        var stopped = false
        var shardError: Error?
        do {
            try TarShards.forEachMember(shard, wanted: Set(byMember.keys), maxBytes: Self.maxMemberBytes(seconds: maxDuration)) {
                member, data in
                if StopSignal.requested { return false }
                reached.insert(member)
                for index in byMember[member]! {
                    let item = items[index]
                    do {
                        let bytes = try data.mapError { error -> Error in
                            if let large = error as? TarShards.MemberTooLarge {
                                return AudioError.tooLong(
                                    item.location.description, seconds: Double(large.bytes) / Double(Self.maxBytesPerSecond),
                                    limit: maxDuration, atLeast: true)
                            }
                            return AudioError.unreadable(item.location.description, "cannot read the member: \(error)")
                        }.get()
                        let audio = try SoundFile(data: bytes, name: item.location.description).read(
                            channels: item.location.channels, targetRate: targetRate, maxSeconds: maxDuration)
                        if !deliver(item, audio) {
                            stopped = true
                            return false
                        }
                    } catch {
                        fail(item, error)
                    }
                }
                return true
            }
        } catch {
            shardError = error
        }
        if StopSignal.requested || stopped { return !stopped }
        // What was not reached: absent from the shard, or behind the point where it cannot be read.
        for (member, indices) in byMember where !reached.contains(member) {
            for index in indices {
                let name = items[index].location.description
                fail(
                    items[index],
                    shardError.map { AudioError.unreadable(name, "the shard stops before it: \($0)") } ?? AudioError.missing(name))
            }
        }
        return true
    }

    /// The most bytes a second of audio takes in any format read here: 8 channels of 32-bit samples at 192 kHz.
    static let maxBytesPerSecond = 8 * 4 * 192_000

    /// The largest tar member that can hold audio within `seconds`: larger ones are refused unread.
    static func maxMemberBytes(seconds: Double) -> Int {
        let bytes = seconds * Double(maxBytesPerSecond) + Double(1 << 20)
        return bytes < Double(Int.max / 2) ? Int(bytes) : Int.max / 2
    }

    /// Checks the decoded length and passes the audio on; false when the encoders are gone.
    func deliver(_ item: PendingUtterance, _ audio: DecodedAudio) -> Bool {
        let name = item.location.description
        // The header check works on the file's own rate; this one on the resampled count.
        if audio.samples.count > maxSamples {
            fail(item, AudioError.tooLong(name, seconds: audio.duration, limit: maxDuration, atLeast: false))
            return true
        }
        if audio.samples.count < minSamples {
            let message =
                "\(name): too short: \(String(format: "%.3f", audio.duration)) s "
                + "is under --min-duration \(String(format: "%g", minDuration)) s"
            results.push(
                UtteranceResult(
                    id: item.id, outcome: .failed(stage: .tooShort, error: message, duration: audio.duration, sampleRate: audio.sourceRate)
                ))
            return true
        }
        return work.push(DecodedItem(id: item.id, audio: audio))
    }

    func fail(_ item: PendingUtterance, _ error: Error) {
        var (stage, duration): (FailureStage, Double?) = (.decode, nil)
        if case let AudioError.tooLong(_, seconds, _, atLeast) = error {
            (stage, duration) = (.tooLong, atLeast ? nil : seconds)
        }
        results.push(UtteranceResult(id: item.id, outcome: .failed(stage: stage, error: "\(error)", duration: duration, sampleRate: nil)))
    }
}
