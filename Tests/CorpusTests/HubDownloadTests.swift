import Corpus
import Foundation
import Tokenizer
import XCTest

/// `--model ORG/NAME` downloads into the standard cache layout from `HF_ENDPOINT`, resuming partial
/// files; `HF_HUB_OFFLINE=1` forbids it. Served by a loopback stand-in for the Hub.
final class HubDownloadTests: XCTestCase {
    var server: Process?
    var port = 0
    var dir: URL!
    var requestLog: String { dir.appendingPathComponent("requests.log").path }
    let repoID = "test-org/tiny-xcodec2"
    let model = TestEnv.repo.appendingPathComponent("Tests/CodecTests/Fixtures/models/tiny-b")

    override func setUpWithError() throws {
        dir = TestEnv.temporaryDirectory("hub")
        (server, port) = try Self.startFakeHub(serving: model, repoID: repoID, log: requestLog)
    }

    /// fake_hub.py serving the files of `folder` as repository `repoID`; returns the process and its port.
    static func startFakeHub(serving folder: URL, repoID: String, log: String) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", TestEnv.repo.appendingPathComponent("Tests/CorpusTests/fake_hub.py").path, folder.path, repoID, log,
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableDataLine(), as: UTF8.self)
        let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(port, 0, "fake hub did not start")
        return (process, port)
    }

    /// `--tokenizer ORG/NAME` fetches only the tokenizer files into the same cache layout.
    func testTokenizerHubIDDownloadsTokenizerFiles() throws {
        let folder = TokenizerTests.fixtures.appendingPathComponent("small-llama3")
        let (hub, hubPort) = try Self.startFakeHub(serving: folder, repoID: "test-org/tiny-tokenizer", log: requestLog)
        defer { hub.terminate(); hub.waitUntilExit() }
        let cache = dir.appendingPathComponent("tokenizer-cache")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnv.binary)
        process.arguments = ["text-tokens", "--tokenizer", "test-org/tiny-tokenizer"]
        var environment = ProcessInfo.processInfo.environment
        environment["HF_ENDPOINT"] = "http://127.0.0.1:\(hubPort)"
        environment["HF_HUB_CACHE"] = cache.path
        environment["HF_HUB_OFFLINE"] = nil
        process.environment = environment
        let input = Pipe(), out = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data("hello  world\n".utf8))
        try input.fileHandleForWriting.close()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let expected = try TextTokenizer.load(folder.path).encode("hello  world")
        XCTAssertEqual(printed, "[" + expected.map(String.init).joined(separator: ",") + "]\n")
        let snapshots = cache.appendingPathComponent("models--test-org--tiny-tokenizer/snapshots")
        let revision = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: snapshots.path).first)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: snapshots.appendingPathComponent(revision).path).sorted(),
            ["tokenizer.json", "tokenizer_config.json"])
    }

    override func tearDown() {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    func runWith(cache: URL, extra: [String: String] = [:]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnv.binary)
        process.arguments = [
            "run", TestEnv.repo.appendingPathComponent("manifests/sample/LibriSpeech").path,
            "--model", repoID, "--store", dir.appendingPathComponent(UUID().uuidString + ".db").path,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["HF_ENDPOINT"] = "http://127.0.0.1:\(port)"
        environment["HF_HUB_CACHE"] = cache.path
        environment["HF_HUB_OFFLINE"] = nil
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    func testDownloadsIntoTheCacheLayoutAndRuns() throws {
        let cache = dir.appendingPathComponent("cache")
        let (status, stderr) = try runWith(cache: cache)
        XCTAssertEqual(status, 0, stderr)
        let repo = cache.appendingPathComponent("models--test-org--tiny-xcodec2")
        let sha = try String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8)
        let snapshot = repo.appendingPathComponent("snapshots/\(sha)")
        for name in ["config.json", "preprocessor_config.json", "model.safetensors"] {
            let link = snapshot.appendingPathComponent(name).path
            let destination = try FileManager.default.destinationOfSymbolicLink(atPath: link)
            XCTAssertTrue(destination.hasPrefix("../../blobs/"), destination)
            XCTAssertEqual(
                FileManager.default.contents(atPath: link), FileManager.default.contents(atPath: model.appendingPathComponent(name).path))
        }
        // Now cached: a second run asks the Hub nothing.
        let before = try String(contentsOfFile: requestLog, encoding: .utf8)
        XCTAssertEqual(try runWith(cache: cache).0, 0)
        XCTAssertEqual(try String(contentsOfFile: requestLog, encoding: .utf8), before)
    }

    func testResumesAPartialBlob() throws {
        let cache = dir.appendingPathComponent("cache")
        let weights = try Data(contentsOf: model.appendingPathComponent("model.safetensors"))
        let digest = try sha256(model.appendingPathComponent("model.safetensors").path)
        let blobs = cache.appendingPathComponent("models--test-org--tiny-xcodec2/blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        let half = weights.count / 2
        try weights.prefix(half).write(to: blobs.appendingPathComponent("\(digest).incomplete"))
        let (status, stderr) = try runWith(cache: cache)
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stderr.contains("resuming at \(half) bytes"), stderr)
        XCTAssertTrue(try String(contentsOfFile: requestLog, encoding: .utf8).contains("range=bytes=\(half)-"))
        XCTAssertEqual(try Data(contentsOf: blobs.appendingPathComponent(digest)), weights)
    }

    func testOfflineFailsWithOneClearLine() throws {
        let (status, stderr) = try runWith(cache: dir.appendingPathComponent("empty"), extra: ["HF_HUB_OFFLINE": "1"])
        XCTAssertNotEqual(status, 0)
        let lines = stderr.split(separator: "\n").filter { $0.contains("Error") }
        XCTAssertEqual(lines.count, 1, stderr)
        XCTAssertTrue(stderr.contains("HF_HUB_OFFLINE=1") && stderr.contains("pass a local folder"), stderr)
    }

    func sha256(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        process.waitUntilExit()
        return String(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))
    }

    /// A missing folder is not sent to `huggingface-cli download`; a tokenizer is called a tokenizer; HF_TOKEN is named.
    func testMessagesTellAPathFromAHubIdAndNameTheKind() throws {
        let missing = try TestEnv.run(["codes", "x.wav", "--model", "/data/no/such/model"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "Error: --model /data/no/such/model: no such file or folder\n")
        var environment = ProcessInfo.processInfo.environment
        environment["HF_HUB_OFFLINE"] = "1"
        environment["HF_HUB_CACHE"] = TestEnv.temporaryDirectory("empty-cache").path
        let tokenizer = try TestEnv.run(
            ["export", "--store", "none.db", "--tokenizer", "org/gated-tokenizer", "--out", "x", "--format", "jsonl"],
            environment: environment)
        XCTAssertEqual(tokenizer.status, 1)
        XCTAssertTrue(
            tokenizer.stderr.hasPrefix("Error: tokenizer org/gated-tokenizer is not in the Hugging Face cache"), tokenizer.stderr)
        XCTAssertTrue(tokenizer.stderr.contains("(HF_TOKEN for a gated one)"), tokenizer.stderr)
    }
}

extension FileHandle {
    /// Bytes up to the first newline (blocking).
    func availableDataLine() -> Data {
        var line = Data()
        while true {
            let byte = readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { return line }
            line.append(byte)
        }
    }
}
