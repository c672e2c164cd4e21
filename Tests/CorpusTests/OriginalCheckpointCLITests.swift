import Codec
import Corpus
import Foundation
import Store
import XCTest

/// `--model HKUSTAudio/xcodec2` from an offline Hugging Face cache holding the original layout, laid out as the Hub
/// client lays it out (blobs, snapshot symlinks, refs/main): every command that loads the model, and the provenance
/// stores and exports record.
final class OriginalCheckpointCLITests: XCTestCase {
    static let fixtures = TestEnv.repo.appendingPathComponent("Tests/CodecTests/Fixtures")
    static let revision = "0123456789abcdef0123456789abcdef01234567"

    /// A Hub cache with `folder` as the snapshot of `HKUSTAudio/xcodec2`; `edit` may change the weights' bytes.
    func hubCache(_ folder: String, edit: ((inout Data) -> Void)? = nil) throws -> URL {
        let cache = TestEnv.temporaryDirectory("hub")
        let repo = cache.appendingPathComponent("models--HKUSTAudio--xcodec2")
        let snapshot = repo.appendingPathComponent("snapshots/\(Self.revision)")
        let fm = FileManager.default
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try fm.createDirectory(at: repo.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try fm.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Self.revision.write(to: repo.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
        for (index, name) in ["config.json", "model.safetensors"].enumerated() {
            var data = try Data(contentsOf: Self.fixtures.appendingPathComponent("models/\(folder)/\(name)"))
            if name == "model.safetensors" { edit?(&data) }
            let blob = "blob\(index)"
            try data.write(to: repo.appendingPathComponent("blobs/\(blob)"))
            try fm.createSymbolicLink(atPath: snapshot.appendingPathComponent(name).path, withDestinationPath: "../../blobs/\(blob)")
        }
        return cache
    }

    func environment(_ cache: URL) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["HF_HUB_CACHE"] = cache.path
        environment["HF_HUB_OFFLINE"] = "1"
        return environment
    }

    func testEveryModelCommandWorksFromAnOfflineCacheWithTheOriginalLayout() throws {
        let cache = try hubCache("tiny-original-hub")
        let env = environment(cache)
        let directory = TestEnv.temporaryDirectory("original-cli")
        let clip = Self.fixtures.appendingPathComponent("clips/speech0.wav").path
        let expected = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("expected/tiny-original/speech0.safetensors")).floats(
            "codes")

        let codes = try TestEnv.run(["codes", clip, "--model", "HKUSTAudio/xcodec2"], environment: env)
        XCTAssertEqual(codes.status, 0, codes.stderr)
        XCTAssertEqual(codes.stderr, "model HKUSTAudio/xcodec2: original xcodec2 layout (weight_g/weight_v, act.beta)\n")
        let line = try XCTUnwrap(TestEnv.jsonLines(codes.stdout).first)
        XCTAssertEqual((line["codes"] as? [Int])?.map(Float.init), expected)

        let codesFile = directory.appendingPathComponent("codes.json")
        try Data(codes.stdout.utf8).write(to: codesFile)
        let wav = directory.appendingPathComponent("decoded.wav").path
        let decode = try TestEnv.run(
            ["decode", "--model", "HKUSTAudio/xcodec2", "--codes", codesFile.path, "--out", wav], environment: env)
        XCTAssertEqual(decode.status, 0, decode.stderr)
        XCTAssertTrue(decode.stderr.hasSuffix("\(wav): 259 codes decoded, 5.18 s\n"), decode.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: wav))

        let manifest = try TestEnv.syntheticCorpus(in: directory, count: 3)
        let store = directory.appendingPathComponent("corpus.db").path
        let run = try TestEnv.run(["run", manifest, "--model", "HKUSTAudio/xcodec2", "--store", store], environment: env)
        XCTAssertEqual(run.status, 0, run.stderr)
        let fingerprint = try ModelFingerprint.of(
            directory: cache.appendingPathComponent("models--HKUSTAudio--xcodec2/snapshots/\(Self.revision)"))
        XCTAssertTrue(
            (run.stdout + run.stderr).contains(
                "model HKUSTAudio/xcodec2 (revision \(Self.revision), original layout, fingerprint \(fingerprint))"), run.stderr)
        XCTAssertEqual(try TestEnv.run(["failures", "--store", store]).stderr, "\(store): no failures\n")
        let status = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(TestEnv.run(["status", "--store", store, "--json"]).stdout.utf8)) as? [String: Any]
        )
        XCTAssertEqual(status["done"] as? Int, 3)
        XCTAssertEqual(status["model_revision"] as? String, Self.revision)
        XCTAssertEqual(status["model_layout"] as? String, "original")
        XCTAssertEqual(status["model_fingerprint"] as? String, fingerprint)

        let report = try TestEnv.run(
            [
                "report", "--store", store, "--out", directory.appendingPathComponent("report.html").path, "--model", "HKUSTAudio/xcodec2",
                "--samples", "1",
            ], environment: env)
        XCTAssertEqual(report.status, 0, report.stderr)

        let out = directory.appendingPathComponent("export")
        let export = try TestEnv.run(
            [
                "export", "--store", store, "--tokenizer", try TokenizerTests.tokenizerFolder("small-llama3"), "--format", "jsonl",
                "--out", out.path,
            ])
        XCTAssertEqual(export.status, 0, export.stderr)
        let info = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("export_info.json"))) as? [String: Any])
        XCTAssertEqual(info["model"] as? String, "HKUSTAudio/xcodec2")
        XCTAssertEqual(info["model_revision"] as? String, Self.revision)
        XCTAssertEqual(info["model_layout"] as? String, "original")
        XCTAssertEqual(info["model_fingerprint"] as? String, fingerprint)
        // A local tokenizer is named by its folder, never by this machine's path (cards get published).
        XCTAssertEqual(info["tokenizer"] as? String, "small-llama3")
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(card.contains("`HKUSTAudio/xcodec2` (revision `\(Self.revision)`, original layout, fingerprint `\(fingerprint)`)"))
        XCTAssertTrue(card.contains("text tokenized with `small-llama3`"), card)
        XCTAssertFalse(card.contains(TestEnv.repo.path), card)
    }

    /// Tensor data counts in the fingerprint of a Hub cache too (its files are symlinks, whose own size used to stand in
    /// for the file's, so no tensor was sampled); a store bound with that former fingerprint is still accepted.
    func testHubCacheFingerprintsSampleTheWeightsAndFormerOnesAreAccepted() throws {
        let first = try hubCache("tiny-original-hub")
        // The same header, one byte of the first tensor's data changed (the fingerprint samples 4 KiB every 16 MiB).
        let second = try hubCache("tiny-original-hub") { data in
            let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
            data[8 + headerLength + 100] ^= 0x5A
        }
        let snapshot = { (cache: URL) in cache.appendingPathComponent("models--HKUSTAudio--xcodec2/snapshots/\(Self.revision)") }
        XCTAssertNotEqual(try ModelFingerprint.of(directory: snapshot(first)), try ModelFingerprint.of(directory: snapshot(second)))
        let former = try XCTUnwrap(try ModelFingerprint.former(directory: snapshot(first)))
        XCTAssertEqual(former, try ModelFingerprint.former(directory: snapshot(second)), "the former fingerprint missed the data")

        let directory = TestEnv.temporaryDirectory("former-fingerprint")
        let manifest = try TestEnv.syntheticCorpus(in: directory, count: 1)
        let path = directory.appendingPathComponent("old.db").path
        do {
            let store = try Store(path: path)
            try store.bindModel(id: "HKUSTAudio/xcodec2", fingerprint: former)
            try store.close()
        }
        let run = try TestEnv.run(["run", manifest, "--model", "HKUSTAudio/xcodec2", "--store", path], environment: environment(first))
        XCTAssertEqual(run.status, 0, run.stderr)
        let store = try Store(path: path, access: .read)
        XCTAssertEqual(try store.info(.modelFingerprint), try ModelFingerprint.of(directory: snapshot(first)))
        let other = try TestEnv.run(["run", manifest, "--model", "HKUSTAudio/xcodec2", "--store", path], environment: environment(second))
        XCTAssertEqual(other.status, 1, "another model's weights must be refused")
    }
}
