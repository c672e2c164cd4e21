import ArgumentParser
import Codec
import Concurrency
import Corpus
import Foundation
import Store

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Encode every utterance of the manifests into the store; rerun to resume.",
        discussion: """
            Ingests the manifests (utterances already in the store keep their results), then encodes everything \
            still pending. Interrupt with Ctrl-C or SIGTERM: in-flight work is finished or left pending, results \
            are committed, and the same command resumes. A kill -9 loses at most the last uncommitted batch.
            """
    )

    @OptionGroup var manifests: ManifestList

    @OptionGroup var model: ModelOption

    @Option(help: "The SQLite store to create or resume.")
    var store: String

    @Option(help: "Encoder workers (default: one per core, each with one BLAS thread).")
    var workers: Int?

    @Option(
        help: ArgumentHelp(
            "Only the utterances of shard i of N (hash of the id), or `auto` inside a Slurm array job.", valueName: "i/N|auto"))
    var shard: String?

    @OptionGroup var options: RunOptions

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
    }

    func run() throws {
        let shard = try self.shard.map { try Shard.parse($0) }
        // Inside a Slurm allocation, its CPUs rather than the node's.
        let cores =
            ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
        let workerCount = workers ?? cores
        let threadsPerWorker = max(1, cores / workerCount)
        BLAS.setThreads(threadsPerWorker)
        let log = ProgressLog()
        log.line(BLASCoreChoice.describe(threads: "\(workerCount) worker(s) x \(threadsPerWorker) BLAS thread(s)"))

        let directory = try model.directory()
        let provenance = try ModelProvenance.of(model: model.model, directory: directory)
        log.line(provenance.description)
        let store = try Store(path: self.store)
        // Closed here, on the main thread, before the process exits, whichever way run() ends.
        defer { do { try store.close() } catch { log.line("closing \(store.path): \(error)") } }
        try store.bindModel(provenance)
        let problems = ProblemLog(log)
        let ingested = try store.ingest(
            manifests: manifests.all, options: options.manifest.options, shard: shard, problem: problems.add)
        problems.finish(store: self.store)
        log.line(Self.describe(ingested))
        let pending = try store.pending(retryFailed: options.retryFailed, wanted: ingested.wanted)
        log.line(
            "\(ingested.entries) utterances\(shard.map { " in shard \($0)" } ?? "") (\(ingested.counts.added) new), "
                + "\(pending.count) to encode, \(workerCount) worker(s)"
        )
        guard !pending.isEmpty else {
            try printSummary(store: store, log: log)
            return
        }
        let codec = try Xcodec2Model(directory: directory, parts: .encoder)
        StopSignal.install()
        let runner = CorpusRunner(
            model: codec, store: store, workers: workerCount, threadsPerWorker: threadsPerWorker,
            maxDuration: options.maxDuration, minDuration: options.minDuration)
        let summary = try runner.run(pending, commitEvery: options.commitInterval) { log.progress($0) }
        log.finish(summary.progress)
        if summary.interrupted {
            log.line("interrupted: results so far are committed; run the same command to resume")
            throw ExitCode(128 + StopSignal.received)
        }
        try printSummary(store: store, log: log)
    }

    /// What an ingest changed, beyond the new ids.
    static func describe(_ result: Store.ManifestIngestResult) -> String {
        var parts = ["\(result.entries) utterances read, \(result.counts.added) new"]
        if result.counts.updated > 0 {
            parts.append("\(result.counts.updated) with another transcript, speaker, fields or audio path: updated (codes kept)")
        }
        if result.counts.resegmented > 0 {
            parts.append("\(result.counts.resegmented) with another segment or channel: to encode again")
        }
        if result.problems > 0 { parts.append("\(result.problems) manifest line(s) skipped") }
        return parts.joined(separator: "; ")
    }

    func printSummary(store: Store, log: ProgressLog) throws {
        let status = try store.status()
        log.line(
            String(
                format: "store %@: %d done (%@, %d frames), %d failed, %d pending, %d manifest lines skipped",
                store.path, status.done, ProgressLog.audio(status.audioSecondsDone), status.frames, status.failed, status.pending,
                status.manifestProblems))
        if status.failed > 0 {
            var byStage: [String: Int] = [:]
            try store.forEachFailure { if $0.stage != .manifest { byStage[$0.stage.rawValue, default: 0] += 1 } }
            log.line(
                "failures by stage: " + byStage.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                    + " (tokenize-corpus failures --store \(store.path))")
        }
    }
}

/// The options of `run` that shape what it does to a store; `slurm` takes the same and passes every one to its jobs.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("max-duration"), help: "Longer utterances are recorded as failures (seconds).")
    var maxDuration: Double = 60

    @Option(name: .customLong("min-duration"), help: "Shorter utterances are recorded as failures (seconds): too short to be speech.")
    var minDuration: Double = 0.1

    @Option(name: .customLong("commit-interval"), help: "Seconds between commits: the most a kill -9 can lose.")
    var commitInterval: Double = 2

    @Flag(name: .customLong("retry-failed"), help: "Try failed utterances again.")
    var retryFailed = false

    @OptionGroup var manifest: ManifestArguments

    func validate() throws {
        guard maxDuration > 0 else { throw ValidationError("--max-duration must be positive") }
        guard minDuration >= 0 else { throw ValidationError("--min-duration must not be negative") }
        guard commitInterval > 0 else { throw ValidationError("--commit-interval must be positive") }
    }

    /// The same options as `run` arguments, every one spelled out.
    var arguments: [String] {
        var result = ["--max-duration", "\(maxDuration)", "--min-duration", "\(minDuration)", "--commit-interval", "\(commitInterval)"]
        if retryFailed { result.append("--retry-failed") }
        result += manifest.arguments
        return result
    }
}

/// Progress on stderr: a live line on a terminal, a line every few seconds otherwise.
final class ProgressLog {
    let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastLine = Date.distantPast
    private var drewBar = false

    func line(_ text: String) {
        if drewBar { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); drewBar = false }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func describe(_ p: RunProgress) -> String {
        let finished = p.done + p.failed
        let eta = finished > 0 && finished < p.total ? p.elapsed / Double(finished) * Double(p.total - finished) : 0
        // No speed before any audio is encoded (the first results may be failures).
        let speed =
            p.audioSeconds > 0
            ? String(format: "RTF %.2f (%.1fx real time)", p.elapsed / p.audioSeconds, p.speed) : "RTF - (no audio encoded yet)"
        return String(
            format: "%d/%d utterances (%d failed), %@ audio, %@, eta %@", finished, p.total, p.failed, audio(p.audioSeconds), speed,
            duration(eta))
    }

    /// Seconds of audio in the unit that shows them: seconds, minutes, then hours.
    static func audio(_ seconds: Double) -> String {
        seconds < 60
            ? String(format: "%.1f s", seconds)
            : seconds < 3600 ? String(format: "%.1f min", seconds / 60) : String(format: "%.2f h", seconds / 3600)
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }

    func progress(_ p: RunProgress) {
        let now = Date()
        if isTerminal {
            guard now.timeIntervalSince(lastLine) >= 0.2 else { return }
            let finished = p.done + p.failed
            let width = 24
            let filled = p.total > 0 ? width * finished / p.total : width
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(Self.describe(p))".utf8))
            drewBar = true
        } else {
            guard now.timeIntervalSince(lastLine) >= 5 else { return }
            FileHandle.standardError.write(Data((Self.describe(p) + "\n").utf8))
        }
        lastLine = now
    }

    func finish(_ p: RunProgress) {
        line(Self.describe(p))
    }
}
