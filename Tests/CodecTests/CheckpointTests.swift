import Codec
import Foundation
import XCTest

/// Loading: dtypes, shapes, and the one-line errors for bad model folders.
final class CheckpointTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func bytes<T>(_ values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }

    func testF32F16AndBF16TensorsLoadAsFloat() throws {
        let f32: [Float] = [1, -2, 3.5, 0, 1e-3, 65504]
        let f16: [UInt16] = [0x3C00, 0xC000, 0x3555]  // 1, -2, 0.33325195
        let bf16: [UInt16] = [0x3F80, 0xC040, 0x4049]  // 1, -3, 3.140625
        try writeSafetensors(
            [("a", "F32", [2, 3], bytes(f32)), ("h", "F16", [3], bytes(f16)), ("b", "BF16", [3], bytes(bf16))],
            to: dir.appendingPathComponent("model.safetensors"))
        let checkpoint = try Checkpoint(directory: dir)
        XCTAssertEqual((try checkpoint.weight("a", [2, 3]).values), f32)
        XCTAssertEqual((try checkpoint.weight("h", [3]).values), [1, -2, 0.33325195])
        XCTAssertEqual((try checkpoint.weight("b", [3]).values), [1, -3, 3.140625])
    }

    func testMissingAndMisShapedTensorsNameTheKeyAndShapes() throws {
        try writeSafetensors(
            [("layer.weight", "F32", [2, 3], bytes([Float](repeating: 0, count: 6)))],
            to: dir.appendingPathComponent("model.safetensors"))
        let checkpoint = try Checkpoint(directory: dir)
        XCTAssertThrowsError(try checkpoint.weight("layer.weight", [3, 2])) { error in
            XCTAssertEqual("\(error)", "tensor layer.weight has shape [2, 3], expected [3, 2]")
        }
        XCTAssertThrowsError(try checkpoint.weight("layer.bias", [3])) { error in
            XCTAssertEqual("\(error)", "checkpoint has no tensor layer.bias (expected shape [3])")
        }
    }

    /// A copy of a fixture model whose files can be edited.
    func copyOfFixture(_ name: String) throws -> URL {
        let target = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: Fixtures.modelDirectory(name), to: target)
        return target
    }

    func testUnexpectedTensorIsAnError() throws {
        let model = try copyOfFixture("tiny-a")
        try writeSafetensors(
            [("acoustic_encoder.extra.weight", "F32", [1], bytes([Float(1)]))],
            to: model.appendingPathComponent("extra.safetensors"))
        let indexURL = model.appendingPathComponent("model.safetensors.index.json")
        var index = try JSONSerialization.jsonObject(with: Data(contentsOf: indexURL)) as! [String: Any]
        var map = index["weight_map"] as! [String: String]
        map["acoustic_encoder.extra.weight"] = "extra.safetensors"
        index["weight_map"] = map
        try JSONSerialization.data(withJSONObject: index).write(to: indexURL)
        XCTAssertThrowsError(try Xcodec2Model(directory: model)) { error in
            XCTAssertEqual("\(error)", "checkpoint has 1 unexpected tensor(s): acoustic_encoder.extra.weight")
        }
    }

    func testWrongSampleRateConfigIsOneClearLine() throws {
        let model = try copyOfFixture("tiny-b")
        let configURL = model.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        config["sampling_rate"] = 24000
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        XCTAssertThrowsError(try Xcodec2Model(directory: model)) { error in
            XCTAssertEqual(
                "\(error)", "\(configURL.path): bad config: sampling_rate is 24000; X-Codec2's feature extractor works at 16000 Hz only")
        }
    }

    func testFolderWithoutAModel() throws {
        XCTAssertThrowsError(try Xcodec2Model(directory: dir)) { error in
            XCTAssertEqual("\(error)", "\(dir.path): no config.json: not an X-Codec2 model folder")
        }
        let model = try copyOfFixture("tiny-b")
        try FileManager.default.removeItem(at: model.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try Xcodec2Model(directory: model)) { error in
            XCTAssertEqual("\(error)", "\(model.path): no model.safetensors or model.safetensors.index.json in the model folder")
        }
    }

    func testTruncatedWeightsFile() throws {
        let model = try copyOfFixture("tiny-b")
        let weights = model.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
        XCTAssertThrowsError(try Xcodec2Model(directory: model)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(weights.path): malformed checkpoint: tensor "), "\(error)")
        }
    }
}
