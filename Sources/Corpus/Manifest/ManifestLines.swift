import Concurrency
import Foundation

// Reading a manifest line by line: each line in order, or parsed on every core in batches.

extension Manifest {
    /// Each line of `path` with its number; a line that is not UTF-8 becomes a problem, an empty one is skipped.
    static func forEachLine(_ path: String, _ sink: ManifestSink, _ body: (Int, String) throws -> Void) throws {
        try LineStream.forEach(path) { number, line in
            switch line {
            case .text(let text): if !text.isBlankLine { try body(number, text) }
            case .notUTF8, .tooLong, .damaged: try sink.skip("\(path):\(number)", line.problem!)
            }
            return true
        }
    }

    /// Each line parsed by `parse` on every core, in batches, and handed to the sink in order, while another thread
    /// reads (and decompresses) the next batch: JSON parsing is most of the time a cuts file of millions of lines
    /// takes, and reading is most of the rest.
    static func forEachParsedLine(
        _ path: String, _ sink: ManifestSink, parse: @escaping @Sendable (Int, String) -> Result<ManifestEntry, ManifestProblem>
    ) throws {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let batches = BoundedQueue<[(number: Int, line: LineStream.Line)]>(capacity: 4)
        let readError = Locked<Error?>(nil)
        let reader = WorkerThread(name: "tc-manifest") {
            do {
                var batch: [(number: Int, line: LineStream.Line)] = []
                batch.reserveCapacity(4096)
                try LineStream.forEach(path) { number, line in
                    // Blank lines are skipped, as everywhere.
                    if let text = line.text, text.isBlankLine { return true }
                    batch.append((number, line))
                    if batch.count < 4096 { return true }
                    defer { batch.removeAll(keepingCapacity: true) }
                    return batches.push(batch)
                }
                if !batch.isEmpty { _ = batches.push(batch) }
            } catch {
                readError.withLock { $0 = error }
            }
            batches.close()
        }
        defer {
            batches.close()  // a sink that throws stops the reader
            reader.join()
        }
        while let batch = batches.pop() {
            var results = [Result<ManifestEntry, ManifestProblem>?](repeating: nil, count: batch.count)
            results.withUnsafeMutableBufferPointer { out in
                let out = UncheckedBuffer(out)
                Parallel.run(min(threads, batch.count)) { part in
                    for i in Swift.stride(from: part, to: batch.count, by: threads) {
                        let (number, line) = batch[i]
                        out.buffer[i] =
                            line.text.map { parse(number, $0) }
                            ?? .failure(ManifestProblem(source: "\(path):\(number)", reason: line.problem!))
                    }
                }
            }
            for result in results { try sink.take(result!) }
        }
        if let error = readError.withLock({ $0 }) { throw error }
    }
}

/// A result buffer each thread writes its own indices of.
struct UncheckedBuffer<T>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<T>
    init(_ buffer: UnsafeMutableBufferPointer<T>) { self.buffer = buffer }
}
