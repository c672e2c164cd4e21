import Codec
import Corpus
import Foundation
import Store
import XCTest

/// Issue 16, items 1, 4, 9 and 14: deterministic shutdown, absolute paths, read-only readers, one writer.
final class ShutdownAndStoreTests: XCTestCase {
    /// Threads of this process whose name starts with `prefix`, from /proc (the runner names its own `tc-...`).
    static func threads(named prefix: String) -> Int { threadNames().filter { $0.hasPrefix(prefix) }.count }

    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8) }
    }

    /// When `run` returns, every thread it started has ended and released the store: the crash at exit was a
    /// store released on a worker thread while the main thread ran exit().
    func testRunJoinsItsThreadsAndReleasesTheStore() throws {
        let dir = TestEnv.temporaryDirectory("join")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 3)
        let model = try Xcodec2Model(directory: URL(fileURLWithPath: TestEnv.tinyModel), parts: .encoder)
        let entries = try Manifest.read(manifest).entries
        // OpenBLAS's pool, started here: a thread inherits its creator's name, so a pool an earlier test ended and a
        // runner thread's first product restarted would count as a runner thread that outlived the run.
        BLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        _ = BLAS.measuredPeakGFLOPS(size: 128, tries: 1)  // above OpenBLAS's threshold for threads
        for round in 0..<6 {
            weak var released: Store?
            do {
                let store = try Store(path: dir.appendingPathComponent("s\(round).db").path)
                released = store
                try store.ingest(entries, problems: [])
                let runner = CorpusRunner(
                    model: model, store: store, workers: 1 + round % 2, threadsPerWorker: 1,
                    maxDuration: 60, minDuration: 0.1)
                var seenWhileRunning = 0
                let summary = try runner.run(try store.pending(retryFailed: false)) { _ in
                    seenWhileRunning = max(seenWhileRunning, Self.threads(named: "tc-"))
                }
                XCTAssertEqual(summary.progress.done, 3)
                XCTAssertGreaterThan(seenWhileRunning, 0, "round \(round): the runner's threads were not seen")
                XCTAssertEqual(Self.threads(named: "tc-"), 0, "round \(round): a runner thread outlived run(): \(Self.threadNames())")
                try store.close()
            }
            XCTAssertNil(released, "round \(round): something still holds the store after run() returned")
        }
    }

    /// A finished run leaves one file (the WAL folded in), so copying the store alone loses nothing.
    func testAFinishedRunLeavesTheStoreAsOneFile() throws {
        let dir = TestEnv.temporaryDirectory("onefile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 3)
        let store = dir.appendingPathComponent("s.db").path
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store, "--workers", "1"]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store + "-wal"))
        let copy = dir.appendingPathComponent("copy.db").path
        try FileManager.default.copyItem(atPath: store, toPath: copy)
        XCTAssertEqual(try Store(path: copy, access: .read).status().done, 3)
    }

    /// Audio paths are stored absolute, so a run resumed from another working directory finds the files.
    func testRelativeManifestResumesFromAnotherDirectory() throws {
        let dir = TestEnv.temporaryDirectory("cwd")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TestEnv.syntheticCorpus(in: dir, count: 3)
        let store = dir.appendingPathComponent("s.db").path
        // First run from the corpus folder with a relative manifest; every clip is refused as too short.
        let first = try TestEnv.run(
            ["run", "./corpus.tsv", "--model", TestEnv.tinyModel, "--store", "s.db", "--min-duration", "100"],
            in: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        let paths = TestEnv.jsonLines(try TestEnv.run(["failures", "--store", store]).stdout).compactMap { $0["path"] as? String }
        XCTAssertEqual(paths.sorted(), (0..<3).map { dir.appendingPathComponent(String(format: "utt%04d.wav", $0)).path })
        // Resumed from elsewhere, with the manifest named another way: all found.
        let other = TestEnv.temporaryDirectory("elsewhere")
        defer { try? FileManager.default.removeItem(at: other) }
        let resumed = try TestEnv.run(
            [
                "run", "../" + dir.lastPathComponent + "/corpus.tsv", "--model", TestEnv.tinyModel, "--store", store,
                "--retry-failed",
            ], in: other)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Store(path: store, access: .read).status().done, 3)
    }

    /// An edited transcript is taken on rerun (codes kept) and said so.
    func testAnEditedTranscriptIsUpdatedOnRerun() throws {
        let dir = TestEnv.temporaryDirectory("edit")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 3)
        let store = dir.appendingPathComponent("s.db").path
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store]).status, 0)
        let before = TestEnv.jsonLines(try TestEnv.run(["dump", "--store", store]).stdout)
        let edited = try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(
            of: "sentence number 1", with: "Sentence one.")
        try edited.write(toFile: manifest, atomically: true, encoding: .utf8)
        let rerun = try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(
            rerun.stderr.contains("1 with another transcript, speaker, fields or audio path: updated (codes kept)"), rerun.stderr)
        let after = TestEnv.jsonLines(try TestEnv.run(["dump", "--store", store]).stdout)
        XCTAssertEqual(after.first { $0["id"] as? String == "utt1" }?["text"] as? String, "Sentence one.")
        XCTAssertEqual(after.map { $0["codes"] as? [Int] ?? [] }, before.map { $0["codes"] as? [Int] ?? [] })
    }

    /// A second writer is refused while the first holds the store; readers are not.
    func testOneWriterPerStore() throws {
        let dir = TestEnv.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.db").path
        let first = try Store(path: path)
        XCTAssertThrowsError(try Store(path: path)) { error in
            XCTAssertTrue("\(error)".contains("another process is writing to this store (pid \(getpid())"), "\(error)")
        }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 2)
        let refused = try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("another process is writing to this store"), refused.stderr)
        XCTAssertEqual(try TestEnv.run(["status", "--store", path]).status, 0)
        try first.close()
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", path]).status, 0)
    }

    /// A refused writer closes its lock file once. It used to close the descriptor a second time in `deinit`, by
    /// then often another thread's: libdispatch's epoll descriptor, and the refused `run` died of SIGILL (1 in
    /// 300 runs). Here a second thread keeps opening a descriptor, which takes the lowest free number, and checks
    /// that it is still open, while this one is refused again and again.
    func testARefusedWriterClosesOnlyItsOwnDescriptor() throws {
        let dir = TestEnv.temporaryDirectory("lock-fd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.db").path
        let first = try Store(path: path)
        defer { try? first.close() }
        let stop = LockedFlag(), lost = LockedFlag(), ended = DispatchSemaphore(value: 0)
        let watcher = Thread {
            while !stop.isSet {
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                for _ in 0..<50 where fcntl(fd, F_GETFD) == -1 { lost.set() }
                if fcntl(fd, F_GETFD) == -1 { lost.set() } else { close(fd) }
            }
            ended.signal()
        }
        watcher.start()
        for _ in 0..<3000 where !lost.isSet {
            XCTAssertThrowsError(try Store(path: path))
        }
        stop.set()
        ended.wait()
        XCTAssertFalse(lost.isSet, "a refused Store closed a descriptor that another thread had opened")
    }

    /// Reading commands work on a read-only store in a read-only folder; a database that is not a store is
    /// refused by every command and left byte for byte as it was.
    func testReadOnlyStoresAndForeignDatabases() throws {
        let dir = TestEnv.temporaryDirectory("readonly")
        defer {
            chmod(dir.appendingPathComponent("ro").path, 0o755)
            try? FileManager.default.removeItem(at: dir)
        }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 2)
        let readOnly = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
        let store = readOnly.appendingPathComponent("s.db").path
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store]).status, 0)
        try? FileManager.default.removeItem(atPath: store + ".lock")
        chmod(store, 0o444)
        chmod(readOnly.path, 0o555)
        chmod(dir.path, 0o755)
        // Root ignores permissions: run the readers as nobody, as a user without write access would.
        let asNobody = getuid() == 0 ? ["--reuid=65534", "--regid=65534", "--clear-groups", TestEnv.binary] : []
        let tokenizer = TokenizerTests.fixtures.appendingPathComponent("small-llama3").path
        let out = TestEnv.temporaryDirectory("readonly-out")
        defer { try? FileManager.default.removeItem(at: out) }
        chmod(out.path, 0o777)
        for command in [
            ["status", "--store", store], ["dump", "--store", store], ["failures", "--store", store],
            ["export", "--store", store, "--tokenizer", tokenizer, "--format", "jsonl", "--out", out.appendingPathComponent("e").path],
        ] {
            let result = try TestEnv.run(asNobody + command, executable: asNobody.isEmpty ? nil : "/usr/bin/setpriv")
            XCTAssertEqual(result.status, 0, "\(command[0]): \(result.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: readOnly.path), ["s.db"])

        let foreign = dir.appendingPathComponent("other.sqlite").path
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        setup.arguments = [
            "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table notes(x)'); c.commit()", foreign,
        ]
        try setup.run()
        setup.waitUntilExit()
        let original = try Data(contentsOf: URL(fileURLWithPath: foreign))
        for command in [
            ["status", "--store", foreign], ["dump", "--store", foreign],
            ["run", manifest, "--model", TestEnv.tinyModel, "--store", foreign],
        ] {
            let result = try TestEnv.run(command)
            XCTAssertEqual(result.status, 1, command[0])
            XCTAssertTrue(
                result.stderr.contains("not a tokenize-corpus store: an SQLite database with other tables (notes)"), result.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: foreign)), original)
        XCTAssertFalse(FileManager.default.fileExists(atPath: foreign + "-wal"))
    }
}

/// A Bool shared between threads.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
