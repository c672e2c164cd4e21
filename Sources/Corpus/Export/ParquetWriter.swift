import CZstd
import Foundation

/// Apache Parquet, as much as an export's columns need: flat required/optional strings and doubles, and required
/// lists of int32 (the 3-level LIST layout). One data page (v1, PLAIN values, RLE levels, ZSTD) per column chunk;
/// row groups of `rowsPerGroup` rows; a new file every `rowsPerFile` rows. Checked against pyarrow and `datasets`
/// by scripts/reference/check_exports.py.
final class ParquetFileWriter {
    enum Column {
        case string(String, optional: Bool)
        case double(String)
        case int32List(String)

        var name: String {
            switch self {
            case let .string(name, _), let .double(name), let .int32List(name): return name
            }
        }
    }

    enum Value {
        case string(String?)
        case double(Double)
        case int32s(ArraySlice<Int32>)
    }

    let columns: [Column]
    private let file: ExportFile
    private var rowGroups: [(rows: Int, chunks: [ChunkInfo], bytes: Int)] = []
    private var buffers: [ColumnBuffer]
    private var rowsInGroup = 0
    private let compressor = try! ZstdStream()
    private(set) var rows = 0
    let rowsPerGroup: Int

    struct ChunkInfo {
        var offset: Int, values: Int, compressed: Int, uncompressed: Int
    }

    init(path: String, columns: [Column], rowsPerGroup: Int = 2000) throws {
        self.columns = columns
        self.rowsPerGroup = rowsPerGroup
        file = try ExportFile(path)
        buffers = columns.map { ColumnBuffer(column: $0) }
        try file.append(Array("PAR1".utf8))
    }

    func append(_ values: [Value]) throws {
        for (buffer, value) in zip(buffers, values) { buffer.add(value) }
        rowsInGroup += 1
        rows += 1
        if rowsInGroup == rowsPerGroup { try flushGroup() }
    }

    private func flushGroup() throws {
        guard rowsInGroup > 0 else { return }
        var chunks: [ChunkInfo] = [], bytes = 0
        for buffer in buffers {
            let prefix = buffer.levelsPrefix()
            let pageSize = prefix.count + buffer.valueBytes.count
            let compressed = try compressor.compress(prefix, buffer.valueBytes)
            var header = ThriftCompact()
            header.struct {
                $0.i32(1, 0)  // DATA_PAGE
                $0.i32(2, Int32(pageSize))
                $0.i32(3, Int32(compressed.count))
                $0.structField(5) {
                    $0.i32(1, Int32(buffer.levelCount))
                    $0.i32(2, 0)  // PLAIN
                    $0.i32(3, 3)  // RLE
                    $0.i32(4, 3)  // RLE
                }
            }
            let offset = file.bytesAppended
            try file.append(header.bytes)
            try file.append(compressed)
            chunks.append(
                ChunkInfo(
                    offset: offset, values: buffer.levelCount, compressed: header.bytes.count + compressed.count,
                    uncompressed: header.bytes.count + pageSize))
            bytes += header.bytes.count + pageSize
            buffer.reset()
        }
        rowGroups.append((rowsInGroup, chunks, bytes))
        rowsInGroup = 0
    }

    func finish() throws {
        try flushGroup()
        var meta = ThriftCompact()
        meta.struct { m in
            m.i32(1, 1)
            m.list(2, count: 1 + columns.map(\.schemaElements).reduce(0, +)) { l in
                l.struct {
                    $0.binary(4, "schema")
                    $0.i32(5, Int32(columns.count))
                }
                for column in columns { Self.schema(column, &l) }
            }
            m.i64(3, Int64(rows))
            m.list(4, count: rowGroups.count) { l in
                for group in rowGroups {
                    l.struct { g in
                        g.list(1, count: columns.count) { cl in
                            for (column, chunk) in zip(columns, group.chunks) {
                                cl.struct { c in
                                    c.i64(2, Int64(chunk.offset))
                                    c.structField(3) { md in
                                        md.i32(1, column.physicalType)
                                        md.list(2, count: 2, i32s: [0, 3])
                                        md.list(3, strings: column.path)
                                        md.i32(4, 6)  // ZSTD
                                        md.i64(5, Int64(chunk.values))
                                        md.i64(6, Int64(chunk.uncompressed))
                                        md.i64(7, Int64(chunk.compressed))
                                        md.i64(9, Int64(chunk.offset))
                                    }
                                }
                            }
                        }
                        g.i64(2, Int64(group.bytes))
                        g.i64(3, Int64(group.rows))
                    }
                }
            }
            m.binary(6, "tokenize-corpus")
        }
        try file.append(meta.bytes)
        var length = UInt32(meta.bytes.count).littleEndian
        try file.append(withUnsafeBytes(of: &length) { Array($0) })
        try file.append(Array("PAR1".utf8))
        try file.finish()
    }

    /// The schema elements of one column: a leaf, or for a list the group, its repeated `list` and `element`.
    private static func schema(_ column: Column, _ l: inout ThriftCompact) {
        switch column {
        case let .string(name, optional):
            l.struct {
                $0.i32(1, 6)  // BYTE_ARRAY
                $0.i32(3, optional ? 1 : 0)
                $0.binary(4, name)
                $0.i32(6, 0)  // UTF8
                $0.structField(10) { $0.structField(1) { _ in } }  // LogicalType STRING
            }
        case let .double(name):
            l.struct {
                $0.i32(1, 5)
                $0.i32(3, 0)
                $0.binary(4, name)
            }
        case let .int32List(name):
            l.struct {
                $0.i32(3, 0)
                $0.binary(4, name)
                $0.i32(5, 1)
                $0.i32(6, 3)  // LIST
                $0.structField(10) { $0.structField(3) { _ in } }  // LogicalType LIST
            }
            l.struct {
                $0.i32(3, 2)  // REPEATED
                $0.binary(4, "list")
                $0.i32(5, 1)
            }
            l.struct {
                $0.i32(1, 1)  // INT32
                $0.i32(3, 0)
                $0.binary(4, "element")
            }
        }
    }

}

/// ZSTD at level 1 (on these pages of random-looking int32 ids GZIP took 10 times as long and level 3 twice, for
/// the same size: 797 against 793 MB for 300 000 rows), one frame per
/// page fed from its two parts, so the levels and the values are never copied into one buffer.
final class ZstdStream {
    private let context: OpaquePointer
    private var output: [UInt8] = []

    init() throws {
        guard let context = ZSTD_createCCtx() else { throw ExportError("zstd: cannot create a context") }
        self.context = context
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    func compress(_ first: [UInt8], _ second: [UInt8]) throws -> [UInt8] {
        output.removeAll(keepingCapacity: true)
        var chunk = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        for (part, last) in [(first, false), (second, true)] {
            try part.withUnsafeBytes { source in
                var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
                var finished = false
                while !finished {
                    let remaining = try chunk.withUnsafeMutableBytes { target -> Int in
                        var out = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                        let left = ZSTD_compressStream2(context, &out, &input, last ? ZSTD_e_end : ZSTD_e_continue)
                        guard ZSTD_isError(left) == 0 else { throw ExportError("zstd: \(String(cString: ZSTD_getErrorName(left)))") }
                        output.append(contentsOf: target[0..<out.pos])
                        return left
                    }
                    finished = last ? remaining == 0 : input.pos == input.size
                }
            }
        }
        return output
    }
}

extension ParquetFileWriter.Column {
    /// Schema elements it takes: a list is a group, its repeated `list` and its `element`.
    var schemaElements: Int {
        if case .int32List = self { return 3 }
        return 1
    }

    var physicalType: Int32 {
        switch self {
        case .string: return 6
        case .double: return 5
        case .int32List: return 1
        }
    }

    var path: [String] {
        switch self {
        case let .int32List(name): return [name, "list", "element"]
        default: return [name]
        }
    }
}

/// One column's values and levels for the current row group.
final class ColumnBuffer {
    let column: ParquetFileWriter.Column
    private var values: [UInt8] = []
    /// Levels as runs (value, count): RLE runs are what the page stores.
    private var repetition: [(UInt8, Int)] = []
    private var definition: [(UInt8, Int)] = []
    private(set) var levelCount = 0

    init(column: ParquetFileWriter.Column) { self.column = column }

    private static func push(_ runs: inout [(UInt8, Int)], _ value: UInt8, _ count: Int = 1) {
        guard count > 0 else { return }
        if let last = runs.last, last.0 == value { runs[runs.count - 1].1 += count } else { runs.append((value, count)) }
    }

    func add(_ value: ParquetFileWriter.Value) {
        switch (column, value) {
        case let (.string(_, optional), .string(text)):
            if optional { Self.push(&definition, text == nil ? 0 : 1) }
            if let text { appendBytes(Array(text.utf8)) }
            levelCount += 1
        case let (.double, .double(number)):
            var bits = number.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { values.append(contentsOf: $0) }
            levelCount += 1
        case let (.int32List, .int32s(list)):
            if list.isEmpty {
                Self.push(&repetition, 0)
                Self.push(&definition, 0)
                levelCount += 1
            } else {
                Self.push(&repetition, 0)
                Self.push(&repetition, 1, list.count - 1)
                Self.push(&definition, 1, list.count)
                levelCount += list.count
                // PLAIN int32 is little-endian, as every machine this builds for.
                list.withUnsafeBytes { values.append(contentsOf: $0) }
            }
        default:
            preconditionFailure("a \(value) for column \(column.name)")
        }
    }

    private func appendBytes(_ bytes: [UInt8]) {
        let n = UInt32(bytes.count)
        values += [
            UInt8(truncatingIfNeeded: n), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n >> 16),
            UInt8(truncatingIfNeeded: n >> 24),
        ]
        values += bytes
    }

    /// The page before its values: repetition levels and definition levels, each a 4-byte length and RLE runs of
    /// bit width 1 (only those the column has).
    func levelsPrefix() -> [UInt8] {
        var prefix: [UInt8] = []
        func levels(_ runs: [(UInt8, Int)]) {
            var encoded: [UInt8] = []
            for (value, count) in runs {
                ThriftCompact.varint(UInt64(count) << 1, into: &encoded)
                encoded.append(value)
            }
            withUnsafeBytes(of: UInt32(encoded.count).littleEndian) { prefix.append(contentsOf: $0) }
            prefix += encoded
        }
        switch column {
        case .int32List:
            levels(repetition)
            levels(definition)
        case .string(_, optional: true): levels(definition)
        default: break
        }
        return prefix
    }

    var valueBytes: [UInt8] { values }

    func reset() {
        values.removeAll(keepingCapacity: true)
        repetition.removeAll(keepingCapacity: true)
        definition.removeAll(keepingCapacity: true)
        levelCount = 0
    }
}

/// Thrift's compact protocol, the encoding of Parquet's page headers and footer: only what they use.
struct ThriftCompact {
    private(set) var bytes: [UInt8] = []
    private var lastField: [Int16] = [0]

    static func varint(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    private mutating func header(_ id: Int16, _ type: UInt8) {
        let delta = id - lastField[lastField.count - 1]
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type)
        } else {
            bytes.append(type)
            Self.varint(UInt64(UInt16(bitPattern: (id << 1) ^ (id >> 15))), into: &bytes)
        }
        lastField[lastField.count - 1] = id
    }

    private mutating func zigzag(_ value: Int64) { Self.varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)), into: &bytes) }

    mutating func i32(_ id: Int16, _ value: Int32) {
        header(id, 5)
        zigzag(Int64(value))
    }

    mutating func i64(_ id: Int16, _ value: Int64) {
        header(id, 6)
        zigzag(value)
    }

    mutating func binary(_ id: Int16, _ value: String) {
        header(id, 8)
        Self.varint(UInt64(value.utf8.count), into: &bytes)
        bytes += value.utf8
    }

    /// A struct value (top level or a list element): its fields, then the stop byte.
    mutating func `struct`(_ body: (inout ThriftCompact) -> Void) {
        lastField.append(0)
        body(&self)
        bytes.append(0)
        lastField.removeLast()
    }

    mutating func structField(_ id: Int16, _ body: (inout ThriftCompact) -> Void) {
        header(id, 12)
        self.struct(body)
    }

    private mutating func listHeader(_ id: Int16, count: Int, type: UInt8) {
        header(id, 9)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type)
        } else {
            bytes.append(0xF0 | type)
            Self.varint(UInt64(count), into: &bytes)
        }
    }

    /// A list of structs; `body` writes each with `struct`.
    mutating func list(_ id: Int16, count: Int, _ body: (inout ThriftCompact) -> Void) {
        listHeader(id, count: count, type: 12)
        body(&self)
    }

    mutating func list(_ id: Int16, count: Int, i32s: [Int32]) {
        listHeader(id, count: i32s.count, type: 5)
        for value in i32s { zigzag(Int64(value)) }
    }

    mutating func list(_ id: Int16, strings: [String]) {
        listHeader(id, count: strings.count, type: 8)
        for value in strings {
            Self.varint(UInt64(value.utf8.count), into: &bytes)
            bytes += value.utf8
        }
    }
}

/// `{split}-00000.parquet`, `{split}-00001.parquet`, ...: one split's rows as the Hub's `datasets` reads them, a
/// new part every `rowsPerFile` rows so that no file grows without bound.
final class ParquetRowsWriter: SplitWriter {
    static let rowsPerFile = 50_000
    private let folder: ExportFolder
    private let split: Split
    private let columns: [ParquetFileWriter.Column]
    private var current: ParquetFileWriter?
    private(set) var names: [String] = []

    init(folder: ExportFolder, split: Split, withPrompt: Bool) throws {
        self.folder = folder
        self.split = split
        columns =
            [
                .string("id", optional: false), .string("text", optional: false), .string("speaker", optional: true), .double("duration"),
                .int32List("codes"), .int32List("input_ids"),
            ] + (withPrompt ? [.string("prompt_id", optional: true)] : [])
    }

    func write(_ row: ExportRow, position: Int) throws {
        if current == nil || current!.rows == Self.rowsPerFile {
            try current?.finish()
            let name = String(format: "%@-%05d.parquet", split.rawValue, names.count)
            names.append(name)
            current = try ParquetFileWriter(path: folder.path(name), columns: columns)
        }
        var values: [ParquetFileWriter.Value] = [
            .string(row.id), .string(row.text), .string(row.speaker), .double(row.duration), .int32s(row.codes[...]),
            .int32s(row.inputIDs),
        ]
        if columns.count > 6 { values.append(.string(row.promptID)) }
        try current!.append(values)
    }

    func finish() throws { try current?.finish() }
}
