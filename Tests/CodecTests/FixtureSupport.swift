import Codec
import Foundation
import XCTest

/// Paths into the committed fixtures (see scripts/reference/make_codec_fixtures.py).
enum Fixtures {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let models = ["tiny-a", "tiny-b"]
    static let clips = ["speech0", "speech1", "speech2", "short"]

    static func modelDirectory(_ name: String) -> URL { root.appendingPathComponent("models/\(name)") }
    static func clip(_ name: String) -> String { root.appendingPathComponent("clips/\(name).wav").path }
    static func expected(_ model: String, _ clip: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: root.appendingPathComponent("expected/\(model)/\(clip).safetensors"))
    }

    nonisolated(unsafe) private static var loaded: [String: Xcodec2Model] = [:]
    static func model(_ name: String) throws -> Xcodec2Model {
        if let model = loaded[name] { return model }
        let model = try Xcodec2Model(directory: modelDirectory(name))
        loaded[name] = model
        return model
    }
}

/// Largest absolute difference relative to the largest reference magnitude.
func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    precondition(actual.count == expected.count)
    var maxDiff: Float = 0, maxRef: Float = 0
    for i in 0..<actual.count {
        maxDiff = max(maxDiff, abs(actual[i] - expected[i]))
        maxRef = max(maxRef, abs(expected[i]))
    }
    return maxDiff / max(maxRef, 1e-12)
}

/// The 99th percentile of |actual - expected| over the largest reference magnitude.
func typicalRelativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    let maxRef = max(expected.map(abs).max() ?? 0, 1e-12)
    let diffs = zip(actual, expected).map { abs($0 - $1) / maxRef }.sorted()
    return diffs.isEmpty ? 0 : diffs[min(diffs.count - 1, diffs.count * 99 / 100)]
}

/// Checks both the worst element (`tolerance`) and, on tensors of 1000 values or more, the 99th
/// percentile (`typical`), so a few ill-conditioned values may deviate more than the bulk, but a
/// systematic error cannot hide.
func assertClose(
    _ actual: [Float], _ expected: [Float]?, tolerance: Float, typical: Float = 5e-5, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    guard let expected else { return XCTFail("\(what): no reference tensor", file: file, line: line) }
    XCTAssertEqual(actual.count, expected.count, "\(what): length", file: file, line: line)
    guard actual.count == expected.count else { return }
    let error = relativeError(actual, expected)
    XCTAssertLessThanOrEqual(error, tolerance, "\(what): relative error \(error)", file: file, line: line)
    guard actual.count >= 1000 else { return }
    let p99 = typicalRelativeError(actual, expected)
    XCTAssertLessThanOrEqual(p99, typical, "\(what): 99th percentile relative error \(p99)", file: file, line: line)
}

/// [rows, cols] -> [cols, rows].
func transposed(_ x: [Float], rows: Int, cols: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = x[r * cols + c] } }
    return out
}

/// A safetensors file from (name, dtype, shape, raw little-endian bytes).
func writeSafetensors(_ tensors: [(String, String, [Int], Data)], to url: URL) throws {
    var header: [String: Any] = [:]
    var data = Data(), offset = 0
    for (name, dtype, shape, bytes) in tensors {
        header[name] = ["dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes.count]]
        data.append(bytes)
        offset += bytes.count
    }
    var json = try JSONSerialization.data(withJSONObject: header)
    while json.count % 8 != 0 { json.append(0x20) }
    var file = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(json)
    file.append(data)
    try file.write(to: url)
}
