import Foundation

/// A read-only `.safetensors` file, memory-mapped. F32 tensors are served straight from the
/// mapping; F16 and BF16 are widened to F32 once, on first use.
public final class SafeTensorsFile: @unchecked Sendable {
    public enum DType: String, Sendable { case f32 = "F32", f16 = "F16", bf16 = "BF16" }

    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        let byteOffset: Int
        let byteCount: Int
    }

    public let url: URL
    public let entries: [String: Entry]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    /// Bytes before the first tensor: the 8-byte length and the JSON header (checked to lie inside the file).
    public let dataStart: Int

    public init(url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw CheckpointError.unreadable(url.path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CheckpointError.unreadable(url.path, "cannot stat") }
        let length = Int(st.st_size)
        guard length >= 8 else { throw CheckpointError.malformed(url.path, "file is \(length) bytes, too short for a safetensors header") }
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw CheckpointError.unreadable(url.path, "mmap failed: \(String(cString: strerror(errno)))")
        }
        let raw = UnsafeRawPointer(mapped)
        let declaredHeaderLength = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        let headerLength = Int(truncatingIfNeeded: declaredHeaderLength)
        guard declaredHeaderLength > 0, declaredHeaderLength <= UInt64(length - 8) else {
            munmap(mapped, length)
            throw CheckpointError.malformed(url.path, "header length \(declaredHeaderLength) does not fit in \(length) bytes")
        }
        let headerData = Data(bytes: raw + 8, count: headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            munmap(mapped, length)
            throw CheckpointError.malformed(url.path, "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        var entries: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any],
                let dtypeName = info["dtype"] as? String,
                let shape = info["shape"] as? [Int],
                let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else {
                munmap(mapped, length)
                throw CheckpointError.malformed(url.path, "bad header entry for \(name)")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                munmap(mapped, length)
                throw CheckpointError.malformed(url.path, "tensor \(name) has unsupported dtype \(dtypeName) (F32, F16, BF16 are)")
            }
            let elementSize = dtype == .f32 ? 4 : 2
            // Every number comes from the file: checked for sign and overflow before any pointer arithmetic.
            var count: Int? = shape.allSatisfy { $0 >= 0 } ? 1 : nil
            for dimension in shape {
                count = count.flatMap { $0.multipliedReportingOverflow(by: dimension) }.flatMap { $0.overflow ? nil : $0.partialValue }
            }
            let byteCount = count.flatMap { $0.multipliedReportingOverflow(by: elementSize) }.flatMap {
                $0.overflow ? nil : $0.partialValue
            }
            guard let byteCount, offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] - offsets[0] == byteCount,
                offsets[1] <= length - dataStart
            else {
                munmap(mapped, length)
                throw CheckpointError.malformed(
                    url.path, "tensor \(name) data range \(offsets) does not match shape \(shape) in a file of \(length) bytes")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, byteOffset: dataStart + offsets[0], byteCount: offsets[1] - offsets[0])
        }
        self.entries = entries
        self.base = raw
        self.mappedLength = length
        self.dataStart = dataStart
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }

    /// A tensor widened to F32, copied out (for tests and tools, not the hot path).
    public func floats(_ name: String) -> [Float]? {
        guard let entry = entries[name] else { return nil }
        let raw = bytes(of: entry)
        let count = entry.shape.reduce(1, *)
        switch entry.dtype {
        case .f32: return (0..<count).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        case .f16: return (0..<count).map { HalfConversion.f16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        case .bf16: return (0..<count).map { HalfConversion.bf16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        }
    }

    /// Gives back the memory of the whole pages inside `bytes` of a tensor (all of it by default): the mapping is
    /// private and never written, so a later read faults them in again from the file.
    func release(_ entry: Entry, bytes: Range<Int>? = nil) {
        let range = bytes ?? 0..<entry.byteCount
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (entry.byteOffset + range.lowerBound + page - 1) / page * page
        let end = (entry.byteOffset + range.upperBound) / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// The raw bytes of a tensor inside the mapping.
    func bytes(of entry: Entry) -> UnsafeRawPointer { base + entry.byteOffset }
}

/// Widening conversions for half-precision storage.
enum HalfConversion {
    static func bf16ToFloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    static func f16ToFloat(_ bits: UInt16) -> Float {
        #if arch(x86_64) || arch(arm64)
            return Float(Float16(bitPattern: bits))
        #else
            fatalError("Float16 unsupported on this architecture")
        #endif
    }
}
