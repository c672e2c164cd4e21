import Codec
import Corpus
import Foundation
import XCTest

/// The OpenBLAS core: a generic pick is replaced by the best one the CPU supports, a user's OPENBLAS_CORETYPE is
/// kept, and the chosen kernels give the reference codes.
final class BLASCoreTests: XCTestCase {
    func testCPUFeaturesMapToCores() {
        let avx2: Set<String> = ["sse4_2", "avx", "avx2", "fma"]
        let avx512 = avx2.union(["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"])
        XCTAssertEqual(BLASCore.preferred(cpuFlags: avx512.union(["avx512_bf16", "amx_tile"]), vendor: "GenuineIntel"), "Cooperlake")
        XCTAssertEqual(BLASCore.preferred(cpuFlags: avx512, vendor: "GenuineIntel"), "SkylakeX")
        XCTAssertEqual(BLASCore.preferred(cpuFlags: avx512, vendor: "AuthenticAMD"), "SkylakeX", "Zen 4: AVX-512")
        XCTAssertEqual(BLASCore.preferred(cpuFlags: avx2, vendor: "GenuineIntel"), "Haswell")
        XCTAssertEqual(BLASCore.preferred(cpuFlags: avx2, vendor: "AuthenticAMD"), "Zen")
        // Never a core whose instructions are missing: AVX-512F alone is not SkylakeX, AVX2 without FMA is not Haswell.
        XCTAssertEqual(BLASCore.preferred(cpuFlags: avx2.union(["avx512f"]), vendor: "GenuineIntel"), "Haswell")
        XCTAssertNil(BLASCore.preferred(cpuFlags: ["sse4_2", "avx", "avx2"], vendor: "GenuineIntel"))
        XCTAssertNil(BLASCore.preferred(cpuFlags: ["sse3"], vendor: "GenuineIntel"))
        XCTAssertTrue(BLASCore.isGeneric("Prescott") && !BLASCore.isGeneric("Haswell"))
    }

    func core(environment: [String: String]) throws -> String {
        let result = try TestEnv.run(
            ["bench", "--decode-only", "--model", TestEnv.tinyModel, "--seconds", "0.2", "--runs", "1", "--json"], environment: environment
        )
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (report?["machine"] as? [String: Any])?["blas_core"] as? String ?? "?"
    }

    func testAGenericCoreIsReplacedAndAUserChoiceKept() throws {
        let environment = ProcessInfo.processInfo.environment
        let cpu = BLASCore.cpu()
        if let set = environment["OPENBLAS_CORETYPE"] {
            // This machine sets it (older OpenBLAS builds misbehave on some CPUs): it must be kept as it is.
            XCTAssertEqual(try core(environment: environment).lowercased(), set.lowercased())
            return
        }
        let chosen = try core(environment: environment)
        if BLASCore.preferred(cpuFlags: cpu.flags, vendor: cpu.vendor) != nil {
            XCTAssertFalse(BLASCore.isGeneric(chosen), "\(cpu.model) runs the generic core \(chosen)")
        }
        var mine = environment
        mine["OPENBLAS_CORETYPE"] = "Prescott"
        XCTAssertEqual(try core(environment: mine), "Prescott", "the user's OPENBLAS_CORETYPE was overridden")
    }

    /// `codes` (a process of its own, so with the core chosen for this CPU) gives the reference codes.
    func testTheChosenCoreGivesTheReferenceCodes() throws {
        let fixtures = TestEnv.repo.appendingPathComponent("Tests/CodecTests/Fixtures")
        for model in ["tiny-a", "tiny-b"] {
            for clip in ["speech0", "speech2"] {
                let result = try TestEnv.run([
                    "codes", fixtures.appendingPathComponent("clips/\(clip).wav").path,
                    "--model", fixtures.appendingPathComponent("models/\(model)").path,
                ])
                XCTAssertEqual(result.status, 0, result.stderr)
                let codes = (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["codes"] as? [Int]
                let expected = try SafeTensorsFile(url: fixtures.appendingPathComponent("expected/\(model)/\(clip).safetensors"))
                XCTAssertEqual(codes, expected.floats("codes")?.map { Int($0) }, "\(model)/\(clip)")
            }
        }
    }

    /// `bench` gives the decode per stage: seconds, and FLOPs counted from the config (checked by hand here).
    func testBenchGivesTheDecodeItsStagesAndFLOPs() throws {
        let result = try TestEnv.run(["bench", "--model", TestEnv.tinyModel, "--seconds", "1", "--runs", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let stages = try XCTUnwrap(report["decode_stages"] as? [String: Double])
        let flops = try XCTUnwrap(report["decode_flops"] as? [String: Double])
        XCTAssertEqual(Set(stages.keys), ["quantizer", "prior_net", "transformer", "post_net", "head"])
        XCTAssertEqual(Set(flops.keys), Set(stages.keys))
        XCTAssertGreaterThan(report["decode_gflops_per_second"] as? Double ?? 0, 0)
        let configURL = URL(fileURLWithPath: TestEnv.tinyModel).appendingPathComponent("config.json")
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        func value(_ key: String) -> Double { (config[key] as? NSNumber)?.doubleValue ?? .nan }
        // 1 s of synthetic speech is 51 frames after the extractor's padding (16001 samples -> 16320 / 320).
        let t = 51.0, h = value("hidden_size"), heads = value("num_attention_heads"), kv = value("num_key_value_heads")
        let hd = value("head_dim"), inter = value("intermediate_size"), layers = value("num_hidden_layers")
        let perLayer = 4 * t * h * heads * hd + 4 * t * h * kv * hd + 4 * t * t * hd * heads + 4 * t * h * inter
        XCTAssertEqual(flops["transformer"] ?? 0, layers * perLayer, accuracy: 1)
        XCTAssertEqual(flops["post_net"] ?? 0, 2 * 2 * (2 * t * h * h * 3), accuracy: 1)
    }
}
