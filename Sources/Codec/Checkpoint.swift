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
    case pickle(String)

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
        case let .pickle(path):
            return
                "\(path) is a pickle (torch.save), which is not read: unpickling runs code from the file; save its weights "
                + "as model.safetensors (safetensors.torch.save_file of the state_dict) beside config.json"
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

/// A model folder's weights: `model.safetensors` (or a sharded `model.safetensors.index.json`) in the Transformers
/// layout, or in the original X-Codec2 layout, which is served under the Transformers names (`OriginalLayout`).
public final class Checkpoint: @unchecked Sendable {
    public let directory: URL
    public let layout: CheckpointLayout
    private var files: [SafeTensorsFile] = []
    /// The tensors as stored.
    private var index: [String: (file: SafeTensorsFile, entry: SafeTensorsFile.Entry)] = [:]
    /// Transformers name -> stored tensor(s), for the original layouts.
    private var sources: [String: OriginalSource] = [:]
    /// Transformers names handed out.
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
        } else if let pickle = Self.pickle(in: directory) {
            throw CheckpointError.pickle(pickle.path)
        } else {
            throw CheckpointError.notFound(directory.path, "no model.safetensors or model.safetensors.index.json in the model folder")
        }
        for file in files {
            for (key, entry) in file.entries { index[key] = (file, entry) }
        }
        layout = OriginalLayout.detect(Set(index.keys)) ?? .transformers
        if layout != .transformers {
            sources = try OriginalLayout.sources(names: Set(index.keys), path: files.map(\.url.path).joined(separator: ", "))
        }
    }

    deinit { for buffer in widened { buffer.deallocate() } }

    /// A pickled checkpoint in the folder (Lightning `.ckpt`, `pytorch_model.bin`, `.pt`): never unpickled.
    static func pickle(in directory: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let pickled = names.sorted().first { name in
            name == "pytorch_model.bin" || [".ckpt", ".pt", ".pth"].contains { name.hasSuffix($0) }
        }
        return pickled.map { directory.appendingPathComponent($0) }
    }

    /// The Transformers names this checkpoint serves.
    public var keys: [String] { layout == .transformers ? index.keys.sorted() : sources.keys.sorted() }

    public func has(_ key: String) -> Bool { shape(of: key) != nil }

    /// The shape of the tensor served as `key`.
    public func shape(of key: String) -> [Int]? {
        guard layout != .transformers else { return index[key]?.entry.shape }
        switch sources[key] {
        case .tensor(let name)?: return index[name]?.entry.shape
        case .weightNorm(_, let direction)?: return index[direction]?.entry.shape
        case .attention(let fused, _, _)?:
            guard let shape = index[fused]?.entry.shape, shape.count == 2 else { return nil }
            return [shape[0] / 3, shape[1]]
        case nil: return nil
        }
    }

    /// The tensor `key`, which must have exactly `shape`.
    public func weight(_ key: String, _ shape: [Int]) throws -> Weight {
        guard let found = self.shape(of: key) else { throw CheckpointError.missingTensor(key, expected: shape) }
        guard found == shape else { throw CheckpointError.shapeMismatch(storedName(key), expected: shape, found: found) }
        consumed.insert(key)
        guard layout != .transformers, let source = sources[key] else { return try stored(key) }
        switch source {
        case .tensor(let name):
            return try stored(name)
        case .weightNorm(let magnitudeName, let directionName):
            // Folded a block of rows at a time, each block's direction released once read: the fold holds no more
            // memory than the converted model's mapped weight. The folded values are checked instead of the inputs
            // (a NaN or Inf in either reaches them).
            let direction = try stored(directionName, checked: false)
            let magnitude = try stored(magnitudeName)
            let rows = shape[0], rowLength = direction.count / max(1, rows)
            guard magnitude.count == rows else {
                throw CheckpointError.shapeMismatch(magnitudeName, expected: [rows, 1, 1], found: magnitude.shape)
            }
            let folded = allocate(direction.count)
            let block = max(1, (1 << 20) / max(1, 4 * rowLength))
            for first in stride(from: 0, to: rows, by: block) {
                let count = min(block, rows - first)
                OriginalLayout.foldWeightNorm(
                    magnitude: magnitude.pointer + first, direction: direction.pointer + first * rowLength, rows: count,
                    rowLength: rowLength, into: folded.baseAddress! + first * rowLength)
                release(directionName, bytes: (4 * first * rowLength)..<(4 * (first + count) * rowLength))
            }
            release(directionName)
            return try finite(Weight(shape: shape, data: UnsafeBufferPointer(folded)), "\(directionName) (weight-norm fold)")
        case .attention(let fusedName, let part, let rope):
            // Each of the three parts is checked once, not the whole fused tensor three times.
            let fused = try stored(fusedName, checked: false)
            let rows = shape[0], cols = shape[1]
            guard !rope || rows % OriginalLayout.decoderHeadDim == 0 else {
                throw CheckpointError.malformed(fusedName, "\(rows) rows are not whole heads of \(OriginalLayout.decoderHeadDim)")
            }
            let out = allocate(rows * cols)
            OriginalLayout.attentionRows(
                fused: fused.pointer, part: part, rows: rows, cols: cols,
                ropeHeads: rope ? rows / OriginalLayout.decoderHeadDim : nil, into: out.baseAddress!)
            if part == 2 { release(fusedName) }
            return try finite(Weight(shape: shape, data: UnsafeBufferPointer(out)), "\(fusedName) (part \(part) of q, k, v)")
        }
    }

    /// The stored name behind a served one, for messages.
    private func storedName(_ key: String) -> String {
        switch sources[key] {
        case .tensor(let name)?: return name
        case .weightNorm(_, let direction)?: return direction
        case .attention(let fused, _, _)?: return fused
        case nil: return key
        }
    }

    private func allocate(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        widened.append(buffer)
        return buffer
    }

    /// A stored tensor as F32: the mapping itself when it is aligned F32, else a widened copy; `checked`: refused
    /// when it holds a NaN or Inf.
    private func stored(_ name: String, checked: Bool = true) throws -> Weight {
        guard let (file, entry) = index[name] else { throw CheckpointError.missingTensor(name, expected: []) }
        let count = entry.shape.reduce(1, *)
        let raw = file.bytes(of: entry)
        if entry.dtype == .f32, Int(bitPattern: raw) % MemoryLayout<Float>.alignment == 0 {
            let weight = Weight(
                shape: entry.shape, data: UnsafeBufferPointer(start: raw.assumingMemoryBound(to: Float.self), count: count))
            return checked ? try finite(weight, name) : weight
        }
        let buffer = allocate(count)
        switch entry.dtype {
        case .f32:
            for i in 0..<count { buffer[i] = raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .f16:
            for i in 0..<count { buffer[i] = HalfConversion.f16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count { buffer[i] = HalfConversion.bf16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        }
        let weight = Weight(shape: entry.shape, data: UnsafeBufferPointer(buffer))
        return checked ? try finite(weight, name) : weight
    }

    /// A NaN or Inf weight makes every code the same garbage; refuse the model instead.
    private func finite(_ weight: Weight, _ name: String) throws -> Weight {
        if let bad = Self.firstNonFinite(weight.data) { throw CheckpointError.nonFinite(name, index: bad) }
        return weight
    }

    /// Drops a tensor that was only an input to a copy from memory (its pages are read again from the file if needed):
    /// the original layout's folds must not cost more memory than the converted model's mapped weights.
    private func release(_ name: String, bytes: Range<Int>? = nil) {
        guard let (file, entry) = index[name] else { return }
        file.release(entry, bytes: bytes)
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

    /// Gives back the memory of every stored tensor that is not served as it is: inputs of a fold or split and tensors
    /// no component read (the unused w2v-BERT layers, the decoder of an encoder-only load), whose pages the kernel
    /// maps along with their neighbours'. Then the original layout costs no more than the converted model.
    public func releaseUnservedTensors() {
        var served = Set<String>()
        for key in consumed {
            switch layout == .transformers ? .tensor(key) : sources[key] {
            case .tensor(let name)?: served.insert(name)
            case .weightNorm(let magnitude, _)?: served.insert(magnitude)
            case .attention?, nil: break
            }
        }
        for (name, (file, entry)) in index where !served.contains(name) { file.release(entry) }
    }

    /// Keys under `prefixes` that no component asked for: a checkpoint for another architecture.
    public func unconsumedKeys(under prefixes: [String]) -> [String] {
        keys.filter { key in !consumed.contains(key) && prefixes.contains { key.hasPrefix($0) } }.map(storedName)
    }
}
