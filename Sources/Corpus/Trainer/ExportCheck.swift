import Foundation

/// One memmap a trainer reads, with its shape.
public struct TrainerFile: Sendable {
    public var name: String
    public var eval: Bool
    public var rows: Int
    public var width: Int
}

/// What `check-export` finds: an export read back as one trainer's loader reads it.
public struct ExportCheckReport: Sendable {
    public var trainer: TrainerPreset
    public var files: [TrainerFile] = []
    /// Files the trainer needs and will not find (it stops), one line each.
    public var missing: [String] = []
    /// Memmaps in the folder the trainer never opens.
    public var ignored: [String] = []
    public var rows = 0
    /// (file, row) of rows whose `<|SPEECH_GENERATION_END|>` the loader cuts off (or never had).
    public var losingEnd: [(file: String, row: Int)] = []
    public var rowsWithSpeechOutOfRange = 0
    public var rowsTrainingPadding = 0
    public var paddingIdsTrained = 0
    /// Rows the loader raises on (no `<|SPEECH_GENERATION_START|>`).
    public var failingRows = 0
    /// Rows unsloth's loader reads raw, without the chat template.
    public var rawRows = 0
    /// The longest row (ids before padding) and the template's ids, for the message.
    public var longestRow = 0

    public var passed: Bool {
        missing.isEmpty && ignored.isEmpty && losingEnd.isEmpty && rowsWithSpeechOutOfRange == 0 && rowsTrainingPadding == 0
            && failingRows == 0 && rawRows == 0
    }
}

public enum ExportCheck {
    /// Reads every row of the files `loader.preset`'s trainer opens in `folder`, as its loader builds it.
    public static func run(folder: String, loader: TrainerLoader) throws -> ExportCheckReport {
        var report = ExportCheckReport(trainer: loader.preset)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ExportError("\(folder): no such export folder")
        }
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        let (train, eval) = stems(loader.preset, present: present, report: &report)
        var opened: Set<String> = []
        for (stem, isEval) in train.map({ ($0, false) }) + eval.map({ ($0, true) }) {
            let prefix = stem.isEmpty ? "" : stem + "_"
            let memmap = prefix + "input_ids.memmap", shape = prefix + "input_ids_shape.npy"
            opened.insert(memmap)
            guard present.contains(shape) else {
                report.missing.append("\(shape): missing, and the loader needs it to open \(memmap)")
                continue
            }
            let dims = try NpyFile.readInt64Vector(at: (folder as NSString).appendingPathComponent(shape))
            guard dims.count == 2, dims[0] >= 0, dims[1] > 0 else {
                report.missing.append("\(shape): not a 2-D shape (\(dims))")
                continue
            }
            let file = TrainerFile(name: memmap, eval: isEval, rows: Int(dims[0]), width: Int(dims[1]))
            try read(file, folder: folder, loader: loader, into: &report)
            report.files.append(file)
        }
        // The fork's multigpu branch tests for test_input_ids.memmap only to decide whether to evaluate.
        if loader.preset == .llasaMultigpu { opened.insert("test_input_ids.memmap") }
        report.ignored = present.filter { $0.hasSuffix(".memmap") && !opened.contains($0) }.sorted()
        return report
    }

    /// The stems (file name before `input_ids.memmap`) the trainer opens for training and for eval.
    private static func stems(_ preset: TrainerPreset, present: Set<String>, report: inout ExportCheckReport) -> ([String], [String]) {
        switch preset {
        case .llasaTraining:
            if !present.contains("train_input_ids.memmap") {
                report.missing.append("train_input_ids.memmap: missing; the trainer opens it")
            }
            return (present.contains("train_input_ids.memmap") ? ["train"] : [], present.contains("val_input_ids.memmap") ? ["val"] : [])
        case .unsloth:
            if !present.contains("input_ids.memmap") { report.missing.append("input_ids.memmap: missing; the notebook opens it") }
            return (present.contains("input_ids.memmap") ? [""] : [], [])
        case .llasaMultigpu:
            func ranked(_ split: String) -> [String] {
                TrainerPreset.multigpuRanksRead.flatMap { rank in
                    TrainerPreset.multigpuRanksRead.map { "\(split)_rank\(rank)_partial\($0)" }
                }.filter { present.contains($0 + "_input_ids.memmap") }
            }
            let train = ranked("train")
            if train.isEmpty {
                report.missing.append(
                    "train_rank{0,1}_partial{0,1}_input_ids.memmap: none; the multigpu branch's train_tts.py reads only these")
            }
            var eval: [String] = []
            if present.contains("test_input_ids.memmap") {
                eval = ranked("test")
                if eval.isEmpty {
                    report.missing.append(
                        "test_rank{0,1}_partial{0,1}_input_ids.memmap: none, while test_input_ids.memmap exists (the loader raises)")
                }
            }
            return (train, eval)
        }
    }

    private static func read(_ file: TrainerFile, folder: String, loader: TrainerLoader, into report: inout ExportCheckReport) throws {
        let path = (folder as NSString).appendingPathComponent(file.name)
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ExportError("\(path): cannot open") }
        defer { try? handle.close() }
        let rowBytes = file.width * 4
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size >= file.rows * rowBytes else {
            report.missing.append(
                "\(file.name): \(size) bytes, shorter than its shape (\(file.rows) x \(file.width) int32); numpy refuses to map it")
            return
        }
        var row = [Int32](repeating: 0, count: file.width)
        let rowsPerRead = max(1, (4 << 20) / rowBytes)
        var index = 0
        while index < file.rows {
            let count = min(rowsPerRead, file.rows - index)
            guard let chunk = try handle.read(upToCount: count * rowBytes), chunk.count == count * rowBytes else {
                throw ExportError("\(path): ends before row \(index)")
            }
            for r in 0..<count {
                row.withUnsafeMutableBytes { dest in
                    chunk.withUnsafeBytes { src in
                        dest.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[(r * rowBytes)..<((r + 1) * rowBytes)]))
                    }
                }
                let loaded = loader.load(row[...])
                report.rows += 1
                if loaded.fails {
                    report.failingRows += 1
                    continue
                }
                if !loaded.keepsEnd { report.losingEnd.append((file.name, index + r)) }
                if loaded.raw { report.rawRows += 1 }
                if loaded.speechOutOfRange > 0 { report.rowsWithSpeechOutOfRange += 1 }
                if loaded.trainedPadding > 0 {
                    report.rowsTrainingPadding += 1
                    report.paddingIdsTrained += loaded.trainedPadding
                }
            }
            index += count
        }
    }
}

extension NpyFile {
    /// A 1-D integer `.npy` (the shape files `np.save` writes), as Int64.
    static func readInt64Vector(at path: String) throws -> [Int64] {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 10,
            data.prefix(6) == Data([0x93] + Array("NUMPY".utf8))
        else { throw ExportError("\(path): not a .npy file") }
        let major = data[data.startIndex + 6]
        let headerStart = major == 1 ? 10 : 12
        guard data.count >= headerStart else { throw ExportError("\(path): truncated .npy header") }
        let b = Array(data.prefix(headerStart))
        let headerLength = major == 1 ? Int(b[8]) | Int(b[9]) << 8 : Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
        guard data.count >= headerStart + headerLength else { throw ExportError("\(path): truncated .npy header") }
        let header = String(
            decoding: data[(data.startIndex + headerStart)..<(data.startIndex + headerStart + headerLength)], as: UTF8.self)
        let width: Int
        if header.contains("'<i8'") {
            width = 8
        } else if header.contains("'<i4'") {
            width = 4
        } else {
            throw ExportError("\(path): not a little-endian int32/int64 array (\(header.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        let body = Array(data[(data.startIndex + headerStart + headerLength)...])
        return stride(from: 0, to: body.count - width + 1, by: width).map { offset in
            var value: Int64 = 0
            for k in (0..<width).reversed() { value = value << 8 | Int64(body[offset + k]) }
            return width == 4 ? Int64(Int32(truncatingIfNeeded: value)) : value
        }
    }
}

public enum TemplateDate {
    /// `2026-11-30`, UTC.
    public static func day(_ date: Date) -> String { TemplateFilters.strftime("%Y-%m-%d", date) }
}

/// Which transformers a trainer's Python has: LLaSA_training and unsloth's loader index
/// `apply_chat_template(…, tokenize=True)` as a list, which transformers 5 no longer returns.
public enum TransformersVersion {
    public static func verdict(python: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", "import transformers; print(transformers.__version__)"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "unknown: cannot run \(python) (--python names the trainer's Python)" }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let version = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, let major = Int(version.split(separator: ".").first ?? "") else {
            return "unknown: \(python) cannot import transformers (--python names the trainer's Python)"
        }
        if major >= 5 {
            return "\(version) in \(python): WARNING, the loaders need transformers < 5 (apply_chat_template returns a BatchEncoding "
                + "from 5 on: LLaSA_training raises on every row, unsloth's notebook trains on rows without the template)"
        }
        return "\(version) in \(python): ok (< 5)"
    }
}
