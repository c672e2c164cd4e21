import Codec
import Concurrency
import Foundation
import Store

/// Progress of a run, as the writer sees it.
public struct RunProgress: Sendable {
    public var total = 0, done = 0, failed = 0
    public var audioSeconds = 0.0
    public var elapsed = 0.0
    /// Audio seconds per wall second: how much faster than real time the run is.
    public var speed: Double { elapsed > 0 ? audioSeconds / elapsed : 0 }
}

public struct RunSummary: Sendable {
    public var progress: RunProgress
    public var interrupted: Bool
    public var failures: [FailureStage: Int]
}

/// The batch pipeline: decoder threads read and resample audio ahead of the encoder workers through
/// a bounded queue; workers (own workspace, shared weights) encode; the calling thread is the single
/// writer and commits results in batches.
public final class CorpusRunner: @unchecked Sendable {
    let model: Xcodec2Model
    let store: Store
    let workers: Int
    let maxDuration: Double
    let minDuration: Double
    let decoders: Int
    /// Threads each worker uses for BLAS and its own loops.
    let threadsPerWorker: Int

    public init(model: Xcodec2Model, store: Store, workers: Int, threadsPerWorker: Int, maxDuration: Double, minDuration: Double) {
        self.threadsPerWorker = max(1, threadsPerWorker)
        self.model = model
        self.store = store
        self.workers = max(1, workers)
        self.maxDuration = maxDuration
        self.minDuration = minDuration
        decoders = min(2, self.workers)
    }

    /// Runs of items with the same file, in order (`Store.pending` sorts them so).
    static func groups(_ items: [PendingUtterance]) -> [Range<Int>] {
        var groups: [Range<Int>] = []
        var start = 0
        for index in items.indices.dropFirst() where items[index].location.path != items[index - 1].location.path {
            groups.append(start..<index)
            start = index
        }
        if !items.isEmpty { groups.append(start..<items.count) }
        return groups
    }

    public func run(_ items: [PendingUtterance], commitEvery: TimeInterval = 2, progress: (RunProgress) -> Void) throws -> RunSummary {
        let work = BoundedQueue<DecodedItem>(capacity: 2 * workers)
        let results = BoundedQueue<UtteranceResult>(capacity: 4 * workers + 64)
        let next = ManagedCounter()
        let rate = model.sampleRate
        let maxSamples = Int(maxDuration * Double(rate))
        let minSamples = Int(minDuration * Double(rate))
        var threads: [WorkerThread] = []

        // Decoders: read, mix down, resample; failures go straight to the writer. Each takes a whole file (all the
        // cuts of one recording, all the pending members of one shard) so that it opens each file once.
        let groups = Self.groups(items)
        let decodersLeft = ManagedCounter(value: decoders)
        for _ in 0..<decoders {
            threads.append(
                WorkerThread(name: "tc-decoder") { [self] in
                    let reader = GroupReader(
                        items: items, targetRate: rate, maxDuration: maxDuration, minDuration: minDuration, minSamples: minSamples,
                        maxSamples: maxSamples,
                        work: work, results: results)
                    while !StopSignal.requested, let group = next.take(below: groups.count) {
                        let range = groups[group]
                        let more = items[range.lowerBound].location.member == nil ? reader.readFile(range) : reader.readShard(range)
                        if !more { break }
                    }
                    if decodersLeft.decrement() == 0 { work.close() }
                })
        }
        // Encoders.
        let encodersLeft = ManagedCounter(value: workers)
        for _ in 0..<workers {
            threads.append(
                WorkerThread(name: "tc-encoder") { [self] in
                    let workspace = Workspace(threads: threadsPerWorker)
                    // Only a lone worker may change OpenBLAS's process-wide thread count.
                    workspace.ownsBLASThreads = workers == 1
                    while let item = work.pop() {
                        if StopSignal.requested { continue }  // drop queued work: it stays pending
                        do {
                            let codes = try model.encode(item.audio.samples, workspace: workspace)
                            results.push(
                                UtteranceResult(
                                    id: item.id,
                                    outcome: .done(codes: codes, duration: item.audio.duration, sampleRate: item.audio.sourceRate)))
                        } catch {
                            results.push(
                                UtteranceResult(
                                    id: item.id,
                                    outcome: .failed(
                                        stage: .encode, error: "\(error)",
                                        duration: item.audio.duration, sampleRate: item.audio.sourceRate)))
                        }
                    }
                    if encodersLeft.decrement() == 0 { results.close() }
                })
        }

        // The writer.
        var state = RunProgress(total: items.count)
        var failures: [FailureStage: Int] = [:]
        var batch: [UtteranceResult] = []
        let start = Date()
        var lastCommit = Date()
        var writeError: Error?
        while true {
            let result = results.pop(timeout: 0.5)
            if let result {
                batch.append(result)
                switch result.outcome {
                case let .done(_, duration, _): state.done += 1; state.audioSeconds += duration
                case let .failed(stage, _, _, _): state.failed += 1; failures[stage, default: 0] += 1
                }
            }
            let finished = result == nil && results.isClosedAndEmpty
            if finished || Date().timeIntervalSince(lastCommit) >= commitEvery || StopSignal.requested {
                do { try store.commit(batch) } catch { writeError = error; StopSignal.request(SIGTERM) }
                batch.removeAll(keepingCapacity: true)
                lastCommit = Date()
            }
            state.elapsed = Date().timeIntervalSince(start)
            progress(state)
            if finished { break }
        }
        // Joined, not just signalled: a thread that is still unwinding holds the runner and with it the
        // store, and releasing that store while the process exits crashed it (double free in exit()).
        for thread in threads { thread.join() }
        if let writeError { throw writeError }
        return RunSummary(progress: state, interrupted: StopSignal.requested, failures: failures)
    }
}

/// A lock-protected counter shared by threads.
final class ManagedCounter: @unchecked Sendable {
    private var value: Int
    private let lock = NSLock()
    init(value: Int = 0) { self.value = value }

    /// The next index below `limit`, or nil when they are all taken.
    func take(below limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard value < limit else { return nil }
        defer { value += 1 }
        return value
    }

    func decrement() -> Int {
        lock.lock(); defer { lock.unlock() }
        value -= 1
        return value
    }
}
