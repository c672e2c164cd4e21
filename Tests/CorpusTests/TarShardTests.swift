import Corpus
import Foundation
import Store
import XCTest

/// Tar shards (Emilia, WebDataset): the codes of the members as files, resume after kill -9 inside a shard, and
/// damaged shards recorded rather than fatal.
final class TarShardTests: XCTestCase {
    static let sample = TestEnv.repo.appendingPathComponent("manifests/sample").path

    /// A shard of FLAC + JSON, WAV + TXT and MP3 + JSON members gives the codes of the same members extracted with
    /// `tar` and encoded as files; a folder of shards, a list of them and a glob read the same.
    func testAShardGivesTheCodesOfItsMembersExtracted() throws {
        let dir = TestEnv.temporaryDirectory("tar")
        defer { try? FileManager.default.removeItem(at: dir) }
        let members = dir.appendingPathComponent("members").path
        let flacs = "\(Self.sample)/LibriSpeech/dev-sample/1001/2001"
        try TestEnv.shell(
            """
            mkdir -p \(members)/sub && cd \(members) && \
            cp \(flacs)/1001-2001-0000.flac k0.flac && echo '{"text": "the birch canoe", "speaker": "s1", "dnsmos": 3.4}' > k0.json && \
            sox -D \(flacs)/1001-2001-0001.flac -r 22050 sub/k1.wav && printf 'glue the sheet\\n' > sub/k1.txt && \
            tar -xOf \(Self.sample)/emilia/EN_B00000.tar EN_B00000_S1001_W000002.mp3 > k2.mp3 && \
            echo '{"id": "emilia-k2", "text": "it is easy", "language": "en"}' > k2.json && \
            mkdir -p ../shards && tar -cf ../shards/a.tar k0.flac k0.json sub/k1.wav sub/k1.txt k2.mp3 k2.json && \
            printf 'shards/a.tar\\n' > ../list.txt && mkdir -p ../gz && gzip -c ../shards/a.tar > ../gz/a.tar.gz
            """)
        let shardStore = dir.appendingPathComponent("shard.db").path
        let run = try TestEnv.run(["run", dir.path + "/shards/a.tar", "--model", TestEnv.tinyModel, "--store", shardStore])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = TestEnv.jsonLines(try TestEnv.run(["dump", "--store", shardStore]).stdout)
        XCTAssertEqual(Set(rows.map { $0["id"] as! String }), ["k0", "sub/k1", "emilia-k2"])
        let k0 = rows.first { $0["id"] as? String == "k0" }!
        XCTAssertEqual(k0["speaker"] as? String, "s1")
        XCTAssertEqual(k0["fields"] as? [String: Double], ["dnsmos": 3.4])

        // The same members extracted and read as files.
        try TestEnv.shell("mkdir -p \(dir.path)/x && tar -xf \(dir.path)/shards/a.tar -C \(dir.path)/x")
        try "id\tpath\ttext\nk0\tx/k0.flac\ta\nsub/k1\tx/sub/k1.wav\tb\nemilia-k2\tx/k2.mp3\tc\n".write(
            toFile: dir.path + "/files.tsv", atomically: true, encoding: .utf8)
        let fileStore = dir.appendingPathComponent("files.db").path
        XCTAssertEqual(try TestEnv.run(["run", dir.path + "/files.tsv", "--model", TestEnv.tinyModel, "--store", fileStore]).status, 0)
        let fromShard = try TestEnv.codesByID(store: shardStore)
        XCTAssertEqual(fromShard, try TestEnv.codesByID(store: fileStore))

        for manifest in [dir.path + "/shards", dir.path + "/list.txt", dir.path + "/shards/*.tar", dir.path + "/gz/a.tar.gz"] {
            let store = dir.appendingPathComponent("\(UUID().uuidString).db").path
            XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store]).status, 0, manifest)
            XCTAssertEqual(try TestEnv.codesByID(store: store), fromShard, manifest)
        }
    }

    /// Killed with SIGKILL in the middle of a shard and resumed: the store of an uninterrupted run, and the
    /// resumed run reads only the members still pending.
    func testAKilledRunResumesInsideAShard() throws {
        let dir = TestEnv.temporaryDirectory("tar-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TestEnv.syntheticCorpus(in: dir, count: 240)
        try TestEnv.shell(
            "cd \(dir.path) && for i in $(seq 0 239); do printf 'sentence number %d\\n' $i > $(printf utt%04d $i).txt; done && "
                + "tar -cf corpus.tar $(ls utt*.wav utt*.txt | sort)")
        let shard = dir.path + "/corpus.tar"
        let reference = dir.appendingPathComponent("reference.db").path, killed = dir.appendingPathComponent("killed.db").path
        XCTAssertEqual(try TestEnv.run(["run", shard, "--model", TestEnv.tinyModel, "--store", reference]).status, 0)

        let process = try TestEnv.start(
            ["run", shard, "--model", TestEnv.tinyModel, "--store", killed, "--commit-interval", "0.1"], quiet: true)
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            if FileManager.default.fileExists(atPath: killed), let status = try? Store(path: killed, access: .read).status(),
                status.done > 0
            {
                break
            }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the run finished before it could be killed")
        let doneAtKill = try Store(path: killed, access: .read).status().done
        XCTAssertGreaterThan(doneAtKill, 0)
        XCTAssertLessThan(doneAtKill, 240, "the kill came too late to test anything")

        let resumed = try TestEnv.run(["run", shard, "--model", TestEnv.tinyModel, "--store", killed])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("\(240 - doneAtKill) to encode"), resumed.stderr)
        let expected = try TestEnv.run(["dump", "--store", reference]).stdout.split(separator: "\n").sorted()
        let actual = try TestEnv.run(["dump", "--store", killed]).stdout.split(separator: "\n").sorted()
        XCTAssertEqual(actual.count, 240)
        XCTAssertEqual(actual, expected)
    }

    /// A corrupt member and a shard cut off in the middle of a member are recorded, naming `shard.tar:member`;
    /// everything else is encoded and the run exits 0.
    func testDamagedShardsAreRecordedAndTheRestCompletes() throws {
        let dir = TestEnv.temporaryDirectory("tar-damaged")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TestEnv.syntheticCorpus(in: dir, count: 6)
        try TestEnv.shell(
            """
            cd \(dir.path) && for i in 0 1 2 3 4 5; do echo "text $i" > utt000$i.txt; done && \
            head -c 3000 /dev/urandom > utt0001.wav && \
            tar -cf good.tar utt0000.wav utt0000.txt utt0001.wav utt0001.txt utt0002.wav utt0002.txt && \
            tar -cf whole.tar utt0003.txt utt0003.wav utt0004.txt utt0004.wav utt0005.txt utt0005.wav && \
            size=$(( ($(stat -c %s utt0003.wav) + 511) / 512 * 512 )) && head -c $((1024 + 512 + size + 1024 + 512 + 20000)) whole.tar > cut.tar && \
            mkdir folder.tar && printf 'missing.tar\\nfolder.tar\\n' > gone.txt
            """)
        let store = dir.appendingPathComponent("s.db").path
        // gone.txt lists a shard that is not there and one that is a folder: each was freed twice (a crash).
        let run = try TestEnv.run(
            ["run", dir.path + "/good.tar", dir.path + "/cut.tar", dir.path + "/gone.txt", "--model", TestEnv.tinyModel, "--store", store])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(Set(try TestEnv.codesByID(store: store).keys), ["utt0000", "utt0002", "utt0003"])
        let failures = TestEnv.jsonLines(try TestEnv.run(["failures", "--store", store]).stdout)
        let byID = Dictionary(uniqueKeysWithValues: failures.map { ($0["id"] as! String, $0["error"] as! String) })
        XCTAssertTrue(byID["utt0001"]?.hasPrefix("\(dir.path)/good.tar:utt0001.wav: not readable as audio") ?? false, "\(byID)")
        // The listing reached utt0004.wav's header (after its text) before the cut: its audio fails, the cut itself
        // is a skipped manifest line, and utt0005, never reached, is not in the store.
        XCTAssertTrue(byID["utt0004"]?.hasPrefix("\(dir.path)/cut.tar:utt0004.wav: ") ?? false, "\(byID)")
        XCTAssertTrue(byID["\(dir.path)/cut.tar"]?.contains("damaged or cut off after member utt0004.wav") ?? false, "\(byID)")
        XCTAssertEqual(byID["\(dir.path)/missing.tar"], "\(dir.path)/missing.tar: cannot read as a tar shard: no such file")
        XCTAssertEqual(
            byID["\(dir.path)/folder.tar"], "\(dir.path)/folder.tar: cannot read as a tar shard: not a regular file (a folder)")
        XCTAssertEqual(byID.count, 5, "\(byID)")
    }
}
