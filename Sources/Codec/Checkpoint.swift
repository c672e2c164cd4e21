import Foundation

public enum CheckpointError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case malformed(String, String)
    case missingTensor(String, expected: [Int])
    case shapeMismatch(String, expected: [Int], found: [Int])
    case unexpectedTensors([String])
    case badConfig(String, String)
    case notFound(String, String)
    case nonFinite(String, index: Int)

    public var description: String {
        switch self {
        case let .unreadable(path, why): return "\(path): cannot read: \(why)"
        case let .malformed(path, why): return "\(path): malformed checkpoint: \(why)"
        case let .missingTensor(key, expected): return "checkpoint has no tensor \(key) (expected shape \(expected))"
        case let .shapeMismatch(key, expected, found): return "tensor \(key) has shape \(found), expected \(expected)"
        case let .unexpectedTensors(keys):
            let shown = keys.prefix(5).joined(separator: ", ")
            return "checkpoint has \(keys.count) unexpected tensor(s): \(shown)\(keys.count > 5 ? ", ..." : "")"
        case let .badConfig(path, why): return "\(path): bad config: \(why)"
        case let .notFound(what, why): return "\(what): \(why)"
        case let .nonFinite(key, index):
            return "tensor \(key) holds a non-finite value (NaN or Inf) at element \(index); refusing the checkpoint"
        }
    }
}

/// A weight tensor: contiguous row-major F32 values plus their shape. The storage belongs to the
/// `Checkpoint` (a memory mapping or a widened copy), which must outlive it.
public struct Weight: @unchecked Sendable {
    public let shape: [Int]
    let data: UnsafeBufferPointer<Float>
    var pointer: UnsafePointer<Float> { data.baseAddress! }
    public var count: Int { data.count }
    /// A copy of the values (for tests and tools, not the hot path).
    public var values: [Float] { Array(data) }
}

/// A model folder in the Transformers layout: `config.json`, `preprocessor_config.json` and
/// `model.safetensors` (or a sharded `model.safetensors.index.json`).
public final class Checkpoint: @unchecked Sendable {
    public let directory: URL
    private var files: [SafeTensorsFile] = []
    private var index: [String: (file: SafeTensorsFile, entry: SafeTensorsFile.Entry)] = [:]
    private var consumed: Set<String> = []
    private var widened: [UnsafeMutableBufferPointer<Float>] = []

    public init(directory: URL) throws {
        self.directory = directory
        let fm = FileManager.default
        let single = directory.appendingPathComponent("model.safetensors")
        let sharded = directory.appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: single.path) {
            files = [try SafeTensorsFile(url: single)]
        } else if fm.fileExists(atPath: sharded.path) {
            let data = try Data(contentsOf: sharded)
            guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let weightMap = json["weight_map"] as? [String: String]
            else {
                throw CheckpointError.malformed(sharded.path, "no weight_map")
            }
            for name in Set(weightMap.values).sorted() {
                files.append(try SafeTensorsFile(url: directory.appendingPathComponent(name)))
            }
        } else {
            throw CheckpointError.notFound(directory.path, "no model.safetensors or model.safetensors.index.json in the model folder")
        }
        for file in files {
            for (key, entry) in file.entries { index[key] = (file, entry) }
        }
    }

    deinit { for buffer in widened { buffer.deallocate() } }

    public var keys: [String] { index.keys.sorted() }

    public func has(_ key: String) -> Bool { index[key] != nil }

    /// The tensor `key`, which must have exactly `shape`.
    public func weight(_ key: String, _ shape: [Int]) throws -> Weight {
        guard let (file, entry) = index[key] else { throw CheckpointError.missingTensor(key, expected: shape) }
        guard entry.shape == shape else { throw CheckpointError.shapeMismatch(key, expected: shape, found: entry.shape) }
        consumed.insert(key)
        let count = shape.reduce(1, *)
        let raw = file.bytes(of: entry)
        let weight: Weight
        if entry.dtype == .f32, Int(bitPattern: raw) % MemoryLayout<Float>.alignment == 0 {
            weight = Weight(shape: shape, data: UnsafeBufferPointer(start: raw.assumingMemoryBound(to: Float.self), count: count))
        } else {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            widened.append(buffer)
            switch entry.dtype {
            case .f32:
                for i in 0..<count { buffer[i] = raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
            case .f16:
                for i in 0..<count { buffer[i] = HalfConversion.f16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .bf16:
                for i in 0..<count { buffer[i] = HalfConversion.bf16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            }
            weight = Weight(shape: shape, data: UnsafeBufferPointer(buffer))
        }
        // A NaN or Inf weight makes every code the same garbage; refuse the model instead.
        if let bad = Self.firstNonFinite(weight.data) { throw CheckpointError.nonFinite(key, index: bad) }
        return weight
    }

    /// Index of the first NaN or Inf. x * 0 is 0 for every finite x and NaN otherwise, so one vector
    /// accumulation (memory-bound) screens a block, and only a bad block is searched element by element.
    static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
        typealias V = SIMD16<Float>
        let block = 4096
        var start = 0
        while start < values.count {
            let end = min(values.count, start + block)
            var accumulator = V()
            var i = start
            while i + 16 <= end {
                accumulator += V(values[i..<(i + 16)]) * 0
                i += 16
            }
            var tail: Float = 0
            while i < end { tail += values[i] * 0; i += 1 }
            if accumulator.sum() + tail != 0 {
                return (start..<end).first { !values[$0].isFinite }
            }
            start = end
        }
        return nil
    }

    /// Keys under `prefixes` that no component asked for: a checkpoint for another architecture.
    public func unconsumedKeys(under prefixes: [String]) -> [String] {
        index.keys.filter { key in !consumed.contains(key) && prefixes.contains { key.hasPrefix($0) } }.sorted()
    }
}
