import Corpus
import Foundation
import XCTest

/// Paths and helpers shared by the corpus tests.
enum TestEnv {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tinyModel = repo.appendingPathComponent("Tests/CodecTests/Fixtures/models/tiny-a").path

    /// The `tokenize-corpus` built beside the test bundle.
    static var binary: String {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDir, bundleDir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("tokenize-corpus").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return repo.appendingPathComponent(".build/release/tokenize-corpus").path
    }

    /// A new folder for one test, inside this test process's own folder, which is removed when the tests finish.
    static func temporaryDirectory(_ name: String) -> URL {
        let url = TemporaryRoot.shared.url.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs the CLI to completion.
    @discardableResult
    static func run(
        _ arguments: [String], stdin: String? = nil, in directory: URL? = nil, executable: String? = nil,
        environment: [String: String]? = nil
    ) throws -> Result {
        let input = Pipe()
        let process = try start(
            arguments, stdin: stdin == nil ? nil : input, in: directory, executable: executable, environment: environment)
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        let out = process.standardOutput as! Pipe, err = process.standardError as! Pipe
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// `executable` runs another program (a wrapper such as setpriv) instead of the CLI; `environment` replaces this
    /// process's environment.
    static func start(
        _ arguments: [String], quiet: Bool = false, stdin: Pipe? = nil, in directory: URL? = nil,
        executable: String? = nil, environment: [String: String]? = nil
    ) throws -> Process {
        let process = Process()
        if let environment { process.environment = environment }
        if let stdin { process.standardInput = stdin }
        if let directory { process.currentDirectoryURL = directory }
        process.executableURL = URL(fileURLWithPath: executable ?? binary)
        process.arguments = arguments
        if quiet {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        } else {
            process.standardOutput = Pipe()
            process.standardError = Pipe()
        }
        try process.run()
        return process
    }

    /// A TSV manifest over `count` synthetic speech clips of 1-2 s in `directory`.
    static func syntheticCorpus(in directory: URL, count: Int) throws -> String {
        var tsv = "id\tpath\ttext\tspeaker\n"
        for i in 0..<count {
            let seconds = 1.0 + Double(i % 5) * 0.25
            let audio = SyntheticSpeech.generate(seconds: seconds, seed: UInt64(i + 1))
            let name = String(format: "utt%04d.wav", i)
            try AudioWriter.write(audio, sampleRate: 16000, to: directory.appendingPathComponent(name).path, sample: .pcm16)
            tsv += "utt\(i)\t\(name)\tsentence number \(i)\tspk\(i % 3)\n"
        }
        let manifest = directory.appendingPathComponent("corpus.tsv").path
        try tsv.write(toFile: manifest, atomically: true, encoding: .utf8)
        return manifest
    }

    /// A synthetic corpus of `count` clips in `directory` run into `store` there with the tiny model: (manifest, store).
    static func encodedCorpus(in directory: URL, count: Int, store name: String = "s.db") throws -> (manifest: String, store: String) {
        let manifest = try syntheticCorpus(in: directory, count: count)
        let store = directory.appendingPathComponent(name).path
        let result = try run(["run", manifest, "--model", tinyModel, "--store", store])
        XCTAssertEqual(result.status, 0, result.stderr)
        return (manifest, store)
    }

    static func jsonLines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

extension TestEnv {
    /// Runs a shell command; throws with its stderr when it fails.
    static func shell(_ command: String) throws {
        let result = try run(["-c", command], executable: "/bin/bash")
        if result.status != 0 {
            throw NSError(domain: "shell", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: "\(command): \(result.stderr)"])
        }
    }

    /// Codes of every done utterance of a store, by id.
    static func codesByID(store: String) throws -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for row in jsonLines(try run(["dump", "--store", store]).stdout) { result[row["id"] as! String] = row["codes"] as? [Int] }
        return result
    }
}

/// The folder of this test process's temporary folders: made on first use, removed with everything in it when the
/// test bundle finishes, so that runs leave nothing in the temporary directory.
final class TemporaryRoot: NSObject, XCTestObservation, @unchecked Sendable {
    static let shared = TemporaryRoot()
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "tokenize-corpus-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")

    private override init() {
        super.init()
        XCTestObservationCenter.shared.addTestObserver(self)
    }

    func testBundleDidFinish(_ testBundle: Bundle) { try? FileManager.default.removeItem(at: url) }
}
