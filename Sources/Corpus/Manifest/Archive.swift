import CArchive
import Foundation

/// A libarchive reader, streamed front to back: a tar shard (plain or compressed) member by member, or a
/// compressed text file as one raw stream. Nothing is extracted to disk.
final class ArchiveReader {
    let path: String
    private let archive: OpaquePointer

    enum Kind { case tar, compressedStream }

    /// Why the archive cannot be read; callers name the file.
    struct ArchiveError: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String, kind: Kind) throws {
        self.path = path
        // A local until it is open: once `self.archive` is set, a throw runs deinit, which would free it twice.
        guard let archive = archive_read_new() else { throw ArchiveError(description: "libarchive: out of memory") }
        // Only the compressions corpora ship in: detection among every filter libarchive has would take a text
        // file that starts like a uuencoded one for one.
        for support in [archive_read_support_filter_gzip, archive_read_support_filter_bzip2, archive_read_support_filter_xz] {
            _ = support(archive)
        }
        _ = archive_read_support_filter_zstd(archive)
        switch kind {
        case .tar: archive_read_support_format_tar(archive)
        case .compressedStream: archive_read_support_format_raw(archive)
        }
        var status = stat()
        guard stat(path, &status) == 0 else {
            archive_read_free(archive)
            throw ArchiveError(description: "\(errno == ENOENT ? "no such file" : String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            archive_read_free(archive)
            throw ArchiveError(description: "not a regular file (\(AudioFile.fileKind(status.st_mode)))")
        }
        // Opened by file name, libarchive skips an unwanted member by seeking instead of reading it.
        guard archive_read_open_filename(archive, path, 1 << 20) == ARCHIVE_OK else {
            let message = Self.lastError(archive)
            archive_read_free(archive)
            throw ArchiveError(description: "cannot read: \(message)")
        }
        self.archive = archive
    }

    deinit { archive_read_free(archive) }

    var lastError: String { Self.lastError(archive) }

    static func lastError(_ archive: OpaquePointer?) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }

    /// The next regular file's name and size, or nil at the end; throws on a damaged or cut-off archive.
    func nextFile() throws -> (name: String, size: Int)? {
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(archive, &entry)
            if status == ARCHIVE_EOF { return nil }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else { throw ArchiveError(description: lastError) }
            guard archive_entry_filetype(entry) == UInt32(S_IFREG) || archive_entry_filetype(entry) == 0 else { continue }
            let name =
                archive_entry_pathname_utf8(entry).map { String(cString: $0) }
                ?? archive_entry_pathname(entry).map {
                    String(cString: $0)
                }
            guard let name else { continue }
            return (name, archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : -1)
        }
    }

    /// The current member's bytes, all of them or an error (a member cut off by the end of the archive); nil once
    /// they pass `limit` (the rest is skipped by the next `nextFile`).
    func data(sizeHint: Int, limit: Int = .max) throws -> Data? {
        var data = Data(capacity: max(0, min(sizeHint, limit, 1 << 28)))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw ArchiveError(description: lastError) }
            if data.count + n > limit { return nil }
            data.append(buffer, count: n)
        }
        return data
    }

    /// Reads the next block of the current member (a raw stream): nil at its end.
    func block(into buffer: inout [UInt8]) throws -> Int? {
        let n = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
        if n == 0 { return nil }
        guard n > 0 else { throw ArchiveError(description: lastError) }
        return n
    }
}

/// Lines of a text file, streamed: LF or CRLF, a leading UTF-8 BOM dropped, and `.gz`, `.bz2`, `.xz` or `.zst`
/// decompressed on the way. A line that is not valid UTF-8, or longer than `maxLineBytes` (whose bytes are passed
/// over, never held), comes as such, for the caller to report by number. Linear in the input, however long a line.
enum LineStream {
    static let compressedSuffixes = [".gz", ".bz2", ".xz", ".zst"]
    /// No manifest line of any format comes near this (a Lhotse cut with its recording is a few KiB).
    static let maxLineBytes = 16 << 20

    enum Line {
        case text(String)
        case notUTF8
        case tooLong(bytes: Int)
        /// The compressed stream is damaged or cut off here: the lines before it were read, nothing after it is.
        case damaged(String)

        /// The text, or nil for a line that is not one.
        var text: String? {
            if case .text(let text) = self { return text }
            return nil
        }

        /// Why it is not a line of text.
        var problem: String? {
            switch self {
            case .text: return nil
            case .notUTF8: return "not UTF-8 text"
            case .tooLong(let bytes): return "a line of \(bytes) bytes, over the \(maxLineBytes >> 20) MiB a manifest line may have"
            case .damaged(let why): return "damaged or cut off here (\(why)); the lines before it are read"
            }
        }
    }

    static func isCompressed(_ path: String) -> Bool { compressedSuffixes.contains { path.lowercased().hasSuffix($0) } }

    /// `body` gets each line with its 1-based number; returning false stops the reading.
    static func forEach(_ path: String, _ body: (Int, Line) throws -> Bool) throws {
        var pending: [UInt8] = []
        var scanned = 0  // pending[..<scanned] holds no newline
        var overflow = 0  // bytes of the current line passed over once it was too long
        var number = 0
        var first = true
        func emit(_ line: ArraySlice<UInt8>) throws -> Bool {
            number += 1
            if overflow > 0 {
                defer { overflow = 0 }
                return try body(number, .tooLong(bytes: overflow + line.count))
            }
            var line = line
            if first {
                first = false
                if line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }
            }
            if line.last == 0x0D { line = line.dropLast() }
            return try body(number, String(validating: line, as: UTF8.self).map(Line.text) ?? .notUTF8)
        }
        /// Emits the complete lines of `pending`, keeping the unfinished tail (or counting it, once too long).
        func drain() throws -> Bool {
            var start = pending.startIndex
            while let newline = pending[max(start, scanned)...].firstIndex(of: 0x0A) {
                if try !emit(pending[start..<newline]) { return false }
                first = false
                start = newline + 1
            }
            pending.removeSubrange(..<start)
            scanned = pending.count
            if pending.count > maxLineBytes {
                overflow += pending.count
                pending.removeAll(keepingCapacity: true)
                scanned = 0
            }
            return true
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        if isCompressed(path) {
            let reader: ArchiveReader
            do { reader = try ArchiveReader(path: path, kind: .compressedStream) } catch {
                throw ManifestError.unreadable(path, "\(error)")
            }
            do {
                guard try reader.nextFile() != nil else { return }
                while let n = try reader.block(into: &buffer) {
                    pending.append(contentsOf: buffer[0..<n])
                    if try !drain() { return }
                }
            } catch let error as ArchiveReader.ArchiveError {
                // As a cut-off tar shard: what came before is kept, and the damage is one problem.
                _ = try body(number + 1, .damaged(error.description))
                return
            }
        } else {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw ManifestError.unreadable(path, "cannot open") }
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: buffer.count), !chunk.isEmpty {
                pending.append(contentsOf: chunk)
                if try !drain() { return }
            }
        }
        // The last line when the file does not end with a newline (an empty one when it does is not a line).
        if !pending.isEmpty || overflow > 0 { _ = try emit(pending[...]) }
    }
}
