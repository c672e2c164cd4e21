import Foundation

/// A file of an export, written inside the export's staging folder (`ExportFolder`), buffered.
final class ExportFile {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var bytesAppended = 0

    init(_ path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ExportError("\(path): cannot create (\(String(cString: strerror(errno))))") }
    }

    deinit { close(fd) }

    func append<T>(_ values: UnsafeBufferPointer<T>) throws {
        buffer.append(contentsOf: UnsafeRawBufferPointer(values))
        bytesAppended += values.count * MemoryLayout<T>.stride
        if buffer.count >= 1 << 20 { try flush() }
    }

    func append(_ string: String) throws {
        buffer.append(contentsOf: string.utf8)
        bytesAppended += string.utf8.count
        if buffer.count >= 1 << 20 { try flush() }
    }

    func append<T>(_ values: [T]) throws { try values.withUnsafeBufferPointer { try append($0) } }
    func append<T>(_ values: ArraySlice<T>) throws { try values.withUnsafeBufferPointer { try append($0) } }

    /// Writes at a byte offset, outside the append stream (rows of a preallocated memmap).
    func write<T>(_ values: UnsafeBufferPointer<T>, at offset: Int) throws {
        let bytes = UnsafeRawBufferPointer(values)
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            guard n > 0 else { throw ExportError("\(path): write failed (\(String(cString: strerror(errno))))") }
            done += n
        }
    }

    /// Sizes the file (sparse), for rows written with `write(_:at:)`.
    func resize(to bytes: Int) throws {
        guard ftruncate(fd, off_t(bytes)) == 0 else { throw ExportError("\(path): cannot size to \(bytes) bytes") }
    }

    func flush() throws {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, $0.count - done) }
            guard n > 0 else { throw ExportError("\(path): write failed (\(String(cString: strerror(errno))))") }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and syncs: the folder is published only after every file is on disk.
    func finish() throws {
        try flush()
        guard fsync(fd) == 0 else { throw ExportError("\(path): cannot sync (\(String(cString: strerror(errno))))") }
    }

    /// A handle reading back what was appended so far (for files assembled from parts).
    func reopenForReading() throws -> FileHandle {
        try flush()
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ExportError("\(path): cannot reopen") }
        return handle
    }

    func discard() { unlink(path) }
}

/// A NumPy `.npy` file (format 1.0) holding a 1-D int64 array, as `np.save(path, array.shape)` writes a shape.
enum NpyFile {
    static func int64Vector(_ values: [Int64]) -> [UInt8] {
        let shape = values.count == 1 ? "(1,)" : "(\(values.count),)"
        var header = "{'descr': '<i8', 'fortran_order': False, 'shape': \(shape), }"
        // Magic (6) + version (2) + header length (2) + header, padded with spaces and a newline to 64 bytes.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        bytes += [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        for value in values { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        return bytes
    }
}

/// Megatron-LM / NeMo's indexed dataset (`MMIDIDX`, version 1): tokens concatenated in `.bin`; in `.idx` the
/// dtype, the sequence lengths (int32), their byte offsets (int64) and the document boundaries (int64). One
/// sequence per document here. Lengths go to a side file while streaming, so memory stays flat.
final class IndexedDatasetWriter {
    private static let header: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
    private static let int32Code: UInt8 = 4

    private let data: ExportFile
    private let lengths: ExportFile
    private let indexPath: String
    private(set) var documents = 0

    init(prefix: String) throws {
        data = try ExportFile(prefix + ".bin")
        lengths = try ExportFile(prefix + ".lengths")
        indexPath = prefix + ".idx"
    }

    func add(_ document: ArraySlice<Int32>) throws {
        try data.append(document)
        try lengths.append([Int32(document.count)])
        documents += 1
    }

    func finish() throws {
        let index = try ExportFile(indexPath)
        try index.append(Self.header)
        try index.append([UInt64(1).littleEndian])
        try index.append([Self.int32Code])
        try index.append([UInt64(documents).littleEndian, UInt64(documents + 1).littleEndian])
        let reader = try lengths.reopenForReading()
        defer { try? reader.close() }
        var pointers: [Int64] = [], offset: Int64 = 0
        // Pass 1: lengths as they are; pass 2: byte offsets from them.
        for pass in 0..<2 {
            try reader.seek(toOffset: 0)
            while let chunk = try reader.read(upToCount: 1 << 20), !chunk.isEmpty {
                let counts = chunk.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
                if pass == 0 { try index.append(counts); continue }
                pointers.removeAll(keepingCapacity: true)
                for count in counts {
                    pointers.append(offset)
                    offset += Int64(count) * 4
                }
                try index.append(pointers)
            }
        }
        var boundaries: [Int64] = []
        for document in 0...documents {
            boundaries.append(Int64(document))
            if boundaries.count == 1 << 16 { try index.append(boundaries); boundaries.removeAll(keepingCapacity: true) }
        }
        try index.append(boundaries)
        try data.finish()
        try index.finish()
        lengths.discard()
    }
}
