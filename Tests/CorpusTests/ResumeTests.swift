import Corpus
import Foundation
import Store
import XCTest

/// A run killed with SIGKILL and resumed ends equal to an uninterrupted run.
final class ResumeTests: XCTestCase {
    func testKilledRunResumesToTheSameStore() throws {
        let dir = TestEnv.temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 240)
        let reference = dir.appendingPathComponent("reference.db").path
        let killed = dir.appendingPathComponent("killed.db").path

        let uninterrupted = try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", reference])
        XCTAssertEqual(uninterrupted.status, 0, uninterrupted.stderr)

        // Kill as soon as some results are committed but not all.
        let process = try TestEnv.start(
            ["run", manifest, "--model", TestEnv.tinyModel, "--store", killed, "--commit-interval", "0.1"], quiet: true)
        var doneAtKill = 0
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            if FileManager.default.fileExists(atPath: killed), let status = try? Store(path: killed, access: .read).status(),
                status.done > 0
            {
                doneAtKill = status.done
                break
            }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "the run finished before it could be killed")
        XCTAssertGreaterThan(doneAtKill, 0)
        let afterKill = try Store(path: killed, access: .read).status()
        XCTAssertLessThan(afterKill.done, 240, "the kill came too late to test anything")

        let resumed = try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", killed])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)

        let expected = try TestEnv.run(["dump", "--store", reference]).stdout
        let actual = try TestEnv.run(["dump", "--store", killed]).stdout
        let expectedLines = expected.split(separator: "\n").sorted(), actualLines = actual.split(separator: "\n").sorted()
        XCTAssertEqual(actualLines.count, 240)
        XCTAssertEqual(Set(actualLines.map { TestEnv.jsonLines(String($0)).first?["id"] as? String ?? "" }).count, 240, "duplicate ids")
        XCTAssertEqual(actualLines, expectedLines)

        // A rerun with nothing to do changes nothing.
        let start = Date()
        let rerun = try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", killed])
        XCTAssertEqual(rerun.status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        XCTAssertTrue(rerun.stderr.contains("0 to encode"), rerun.stderr)
        XCTAssertEqual(try TestEnv.run(["dump", "--store", killed]).stdout, actual)
    }

    func testInterruptCommitsAndExitsThenResumes() throws {
        let dir = TestEnv.temporaryDirectory("interrupt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 240)
        let store = dir.appendingPathComponent("s.db").path
        let process = try TestEnv.start(
            ["run", manifest, "--model", TestEnv.tinyModel, "--store", store, "--commit-interval", "0.1"], quiet: true)
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline {
            if FileManager.default.fileExists(atPath: store), let status = try? Store(path: store, access: .read).status(), status.done > 0
            {
                break
            }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 128 + SIGINT, "interrupted runs exit 130")
        let afterInterrupt = try Store(path: store, access: .read).status()
        XCTAssertGreaterThan(afterInterrupt.done, 0)
        XCTAssertEqual(afterInterrupt.done + afterInterrupt.pending, 240)
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store]).status, 0)
        XCTAssertEqual(try Store(path: store, access: .read).status().done, 240)
    }
}
