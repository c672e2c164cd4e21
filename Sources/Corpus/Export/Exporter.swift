import Foundation
import Store
import Tokenizer

/// A seeded pseudo-random permutation of 0..<count in O(1) memory: a 4-round Feistel network over the
/// smallest even number of bits that covers `count`, cycle-walking values that fall outside.
struct RowPermutation {
    let count: Int
    private let halfBits: Int
    private let keys: [UInt64]

    init(count: Int, seed: UInt64) {
        self.count = count
        var bits = 2
        while (1 << bits) < count { bits += 2 }
        halfBits = bits / 2
        var generator = SplitMix64(seed: seed)
        keys = (0..<4).map { _ in generator.next() }
    }

    func callAsFunction(_ index: Int) -> Int {
        var value = UInt64(index)
        repeat { value = encrypt(value) } while value >= UInt64(count)
        return Int(value)
    }

    private func encrypt(_ value: UInt64) -> UInt64 {
        let mask = (UInt64(1) << UInt64(halfBits)) - 1
        var left = value >> UInt64(halfBits), right = value & mask
        for key in keys {
            var mixed = (right ^ key) &* 0xFF51_AFD7_ED55_8CCD
            mixed ^= mixed >> 33
            (left, right) = (right, left ^ (mixed & mask))
        }
        return left << UInt64(halfBits) | right
    }
}

/// SplitMix64, a small seeded generator: the same numbers for the same seed on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

public enum ExportFormat: String, CaseIterable, Sendable, Codable {
    case llasa, jsonl, megatron, parquet
}

public struct ExportOptions: Sendable {
    public var format: ExportFormat
    public var maxLength = 2048
    /// nil: 1000, capped at 5% of the rows, at least 1 (when there are two rows or more).
    public var valSize: Int?
    public var seed: UInt64 = 0
    public var padId: Int32?
    /// Write into a folder that holds files an export did not write (they are left alone).
    public var force = false
    /// How the export names its tokenizer (a Hub id, or a local path's last component: a card is published, the
    /// machine's paths are not); nil: the tokenizer's source as loaded.
    public var tokenizerName: String?
    public var filters = ExportFilters()
    /// `drop` by default: a cut row loses its end token, and the model then learns never to stop.
    public var overflow = OverflowPolicy.drop
    /// nil: no prompt.
    public var prompt: PromptOptions?
    /// A trainer's file layout, pad id and length budget (llasa format only); nil: the reference rows.
    public var trainer: TrainerPreset?
    /// The trainer's chat template as tokenized, when `trainer` is set: its ids count against --max-length.
    public var trainerTemplate: TrainerTemplate?
    /// `llasa-multigpu`: train rows spread over this many rank files.
    public var ranks = 2

    /// The longest row written: --max-length less what the trainer's chat template adds before the end token.
    var rowLimit: Int { maxLength - (trainerTemplate?.overheadBeforeEnd ?? 0) }

    /// Llama 3's context; longer rows would be mostly padding, and the memmap is rows x max-length x 4 bytes.
    public static let maxLengthLimit = 131_072

    public init(format: ExportFormat) { self.format = format }
}

public struct ExportSummary: Codable, Sendable {
    public var format: ExportFormat
    public var store: String
    public var model: String?
    /// The Hub snapshot, checkpoint layout and fingerprint of the model, as the store recorded them.
    public var modelRevision: String?
    public var modelLayout: String?
    public var modelFingerprint: String?
    public var tokenizer: String
    public var seed: UInt64
    public var maxLength: Int
    public var rows = PerSplit(repeating: 0)
    public var textTokens = 0
    public var speechTokens = 0
    /// Ids written, padding excluded, after truncation.
    public var tokens = 0
    public var truncatedRows = 0
    /// Done utterances in the store, before the filters.
    public var doneRows = 0
    /// Utterances of the store not in the export because they are not encoded: still pending, or failed.
    public var pendingRows = 0
    public var failedRows = 0
    /// What each filter removed, in the order they apply.
    public var filters: [FilterCount] = []
    public var overflow = OverflowPolicy.drop
    /// Rows left out for being longer than --max-length (`--overflow drop`).
    public var droppedRows = 0
    public var prompt: PromptOptions?
    /// The trainer preset, and the ids its chat template adds to each row before the end token (counted against
    /// max_length).
    public var trainer: TrainerPreset?
    public var trainerTemplateTokens: Int?
    /// Rows whose transcript was cut to fit (`cut-text`, the unsloth preset).
    public var textCutRows = 0
    public var rowsWithPrompt = 0
    /// Rows whose speaker has no other utterance in the prompt range within their split (or no speaker).
    public var rowsWithoutPrompt = 0
    /// Rows whose transcript alone fills --max-length, so that <|SPEECH_GENERATION_START|> is cut off: LLaSA_training's
    /// TTSDataset fails on such a row.
    public var rowsWithoutSpeech = 0
    /// Pad ids over all ids written (llasa only; the other formats are unpadded).
    public var paddingFraction = 0.0
    public var vocabulary: LlasaVocabulary
    public var files: [String] = []
    /// Utterance ids of each split in row order (the memmap's row order for llasa).
    public var ids = PerSplit<[String]>(repeating: [])

    enum CodingKeys: String, CodingKey {
        case format, store, model, tokenizer, seed, rows, tokens, files, vocabulary, ids
        case modelRevision = "model_revision", modelLayout = "model_layout", modelFingerprint = "model_fingerprint"
        case maxLength = "max_length", textTokens = "text_tokens", speechTokens = "speech_tokens"
        case truncatedRows = "truncated_rows", paddingFraction = "padding_fraction", rowsWithoutSpeech = "rows_without_speech"
        case doneRows = "done_rows", filters, overflow, droppedRows = "dropped_rows", prompt
        case pendingRows = "pending_rows", failedRows = "failed_rows"
        case rowsWithPrompt = "rows_with_prompt", rowsWithoutPrompt = "rows_without_prompt"
        case trainer, trainerTemplateTokens = "trainer_template_tokens", textCutRows = "text_cut_rows"
    }
}

/// Turns a store's done utterances into training sequences. One read transaction, rows streamed: memory
/// does not grow with the corpus. Rows are split by a seeded permutation: permuted position p < train
/// count goes to train, the rest to val. llasa rows are written at their permuted position (shuffled, as
/// the reference shuffles); jsonl and megatron keep store order within each split (their trainers shuffle).
public struct Exporter {
    public static func defaultValSize(rows: Int) -> Int {
        rows < 2 ? 0 : max(1, min(1000, rows * 5 / 100))
    }

    public static func export(store: Store, tokenizer: TextTokenizer, options: ExportOptions, to directory: String) throws -> ExportSummary
    {
        guard (1...ExportOptions.maxLengthLimit).contains(options.maxLength) else {
            throw ExportError("--max-length \(options.maxLength) is outside 1...\(ExportOptions.maxLengthLimit)")
        }
        if let trainer = options.trainer {
            guard options.format == .llasa else {
                throw ExportError("--trainer \(trainer.rawValue) writes llasa memmaps; drop --format \(options.format.rawValue)")
            }
            guard options.trainerTemplate != nil else {
                throw ExportError("--trainer \(trainer.rawValue): the trainer's chat template is not loaded")
            }
            guard options.rowLimit >= 8 else {
                throw ExportError(
                    "--max-length \(options.maxLength) leaves no room: the trainer's chat template alone adds \(options.trainerTemplate!.overheadBeforeEnd) ids"
                )
            }
            if !trainer.hasEvalSplit && (options.valSize ?? 0) > 0 {
                throw ExportError("--trainer \(trainer.rawValue): \(trainer.summary) has no eval split; drop --val-size")
            }
            guard options.ranks >= 1 else { throw ExportError("--ranks must be at least 1") }
        }
        let vocabulary = try LlasaVocabulary(tokenizer: tokenizer, padId: options.padId)
        let folder = try ExportFolder(out: directory, force: options.force)
        do {
            var summary = try write(store: store, tokenizer: tokenizer, vocabulary: vocabulary, options: options, into: folder)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            summary.files.append("README.md")
            try DatasetCard.text(summary).write(toFile: folder.path("README.md"), atomically: false, encoding: .utf8)
            summary.files.append("export_info.json")
            try encoder.encode(summary).write(to: URL(fileURLWithPath: folder.path("export_info.json")))
            try folder.publish()
            return summary
        } catch {
            folder.discard()
            throw error
        }
    }

    /// Why no row is left for the train split, counted by what removed them.
    static func emptyTrainReason(_ summary: ExportSummary, options: ExportOptions) -> String {
        var removed = summary.filters.filter { $0.removed > 0 }.map { "\($0.removed) by \($0.filter)" }
        if summary.droppedRows > 0 {
            removed.append("\(summary.droppedRows) by --overflow drop (longer than --max-length \(options.maxLength))")
        }
        let valRows = summary.rows.val
        if valRows > 0 { removed.append("\(valRows) to the val split") }
        return "no rows left for the train split, so nothing is written: \(summary.doneRows) done utterance(s) in the store"
            + (removed.isEmpty ? "" : "; " + removed.joined(separator: ", "))
    }

    private static func write(
        store: Store, tokenizer: TextTokenizer, vocabulary: LlasaVocabulary, options: ExportOptions,
        into folder: ExportFolder
    ) throws -> ExportSummary {
        var summary = ExportSummary(
            format: options.format, store: store.path, model: try store.info(.modelID),
            tokenizer: options.tokenizerName ?? tokenizer.source,
            seed: options.seed, maxLength: options.maxLength, vocabulary: vocabulary)
        let status = try store.status()
        (summary.pendingRows, summary.failedRows) = (status.pending, status.failed)
        summary.modelRevision = try store.info(.modelRevision)
        summary.modelLayout = try store.info(.modelLayout)
        summary.modelFingerprint = try store.info(.modelFingerprint)
        summary.overflow = options.overflow
        summary.prompt = options.prompt
        summary.trainer = options.trainer
        summary.trainerTemplateTokens = options.trainerTemplate?.overheadBeforeEnd
        var builder = LlasaSequenceBuilder(tokenizer: tokenizer, vocabulary: vocabulary)
        // One read transaction: the rows decided are the rows written.
        try store.read { snapshot in
            let selection = try ExportSelection.make(snapshot, options: options, builder: &builder)
            let trainCount = selection.trainCount - selection.droppedPositions.train.count
            let valCount = selection.valCount - selection.droppedPositions.val.count
            summary.rows = PerSplit(train: trainCount, val: valCount)
            summary.doneRows = selection.doneRows
            summary.filters = selection.filterCounts
            summary.droppedRows = selection.dropped
            // Every trainer stops on a missing train file, later and less clearly: say here what removed the rows.
            if trainCount == 0 { throw ExportError(Self.emptyTrainReason(summary, options: options)) }
            if options.prompt != nil { summary.rowsWithoutPrompt = selection.rowsWithoutPrompt }
            let sink = try ExportSink(
                format: options.format, folder: folder, rows: summary.rows, maxLength: options.maxLength,
                padId: vocabulary.padId, withPrompt: options.prompt != nil, trainer: options.trainer, ranks: options.ranks)
            var ids = PerSplit<[String]>(repeating: [])
            if options.format == .llasa { ids = summary.rows.map { Array(repeating: "", count: $0) } }
            let byRowid = try snapshot.recordsByRowid()
            var index = 0
            try snapshot.forEachRecord(selection.query) { row in
                defer { index += 1 }
                guard let (split, position) = selection.place(index) else { return }
                var exported = ExportRow(id: row.id, text: row.text, speaker: row.speaker, duration: row.duration, codes: row.codes)
                var text = exported.text, codes = exported.codes
                if selection.prompts[index] >= 0, let prompt = try byRowid.record(selection.rowids[Int(selection.prompts[index])]) {
                    // Joined as the Llasa model cards join a speech prompt's transcript to the target's.
                    exported.promptID = prompt.id
                    text = prompt.text + " " + text
                    codes = prompt.codes + codes
                    summary.rowsWithPrompt += 1
                }
                builder.build(text: text, codes: codes)
                if options.overflow == .cutText && builder.ids.count > options.rowLimit {
                    builder.cutText(by: builder.ids.count - options.rowLimit)
                    summary.textCutRows += 1
                }
                exported.inputIDs = builder.ids.prefix(options.maxLength)
                exported.truncated = builder.ids.count > exported.inputIDs.count
                exported.textTokens = builder.textTokens
                exported.speechTokens = codes.count
                if exported.truncated {
                    summary.truncatedRows += 1
                    if builder.textTokens + 2 >= options.maxLength { summary.rowsWithoutSpeech += 1 }
                }
                summary.textTokens += builder.textTokens
                summary.speechTokens += codes.count
                summary.tokens += exported.inputIDs.count
                if options.format == .llasa { ids[split][position] = exported.id } else { ids[split].append(exported.id) }
                try sink.write(exported, split: split, position: position)
            }
            summary.files = try sink.finish()
            summary.ids = ids
        }
        let slots = (summary.rows.train + summary.rows.val) * options.maxLength
        if options.format == .llasa && slots > 0 { summary.paddingFraction = Double(slots - summary.tokens) / Double(slots) }
        return summary
    }
}

/// One exported row: the utterance, and the ids made of it (and of its prompt).
struct ExportRow {
    var id: String
    var text: String
    var speaker: String?
    var duration: Double
    var codes: [Int32]
    var promptID: String?
    var inputIDs: ArraySlice<Int32> = []
    /// The transcript's tokens and the codes (prompt included) before any cut.
    var textTokens = 0
    var speechTokens = 0
    var truncated = false

    init(id: String, text: String, speaker: String?, duration: Double, codes: [Int32]) {
        self.id = id
        self.text = text
        self.speaker = speaker
        self.duration = duration
        self.codes = codes
    }
}

/// What one split of an export is written to.
protocol SplitWriter: AnyObject {
    /// `position` is the row's place in the split (used by formats that shuffle).
    func write(_ row: ExportRow, position: Int) throws
    func finish() throws
}

/// LLaSA_training's `{split}_input_ids.memmap` (int32 [rows, maxLength], padded) and `_shape.npy`.
final class LlasaRowsWriter: SplitWriter {
    private let memmap: ExportFile
    private let shapePath: String
    private let rows: Int
    private let padId: Int32
    private var row: [Int32]

    convenience init(prefix: String, rows: Int, maxLength: Int, padId: Int32) throws {
        try self.init(
            memmapPath: prefix + "_input_ids.memmap", shapePath: prefix + "_input_ids_shape.npy", rows: rows, maxLength: maxLength,
            padId: padId)
    }

    init(memmapPath: String, shapePath: String, rows: Int, maxLength: Int, padId: Int32) throws {
        memmap = try ExportFile(memmapPath)
        try memmap.resize(to: rows * maxLength * 4)
        self.shapePath = shapePath
        self.rows = rows
        self.padId = padId
        row = [Int32](repeating: padId, count: maxLength)
    }

    func write(_ exported: ExportRow, position: Int) throws {
        let ids = exported.inputIDs
        row.replaceSubrange(0..<ids.count, with: ids)
        for i in ids.count..<row.count { row[i] = padId }
        try row.withUnsafeBufferPointer { try memmap.write($0, at: position * row.count * 4) }
    }

    func finish() throws {
        try memmap.finish()
        let shape = try ExportFile(shapePath)
        try shape.append(NpyFile.int64Vector([Int64(rows), Int64(row.count)]))
        try shape.finish()
    }
}

/// `{split}.jsonl`: one object per utterance, unpadded.
final class JSONLinesWriter: SplitWriter {
    private let file: ExportFile
    private var line: [UInt8] = []
    init(path: String) throws { file = try ExportFile(path) }

    func write(_ row: ExportRow, position: Int) throws {
        // A local buffer: appending to the class's own property byte by byte pays an exclusivity check each time.
        var line = self.line
        line.removeAll(keepingCapacity: true)
        line += "{\"id\":\(CodesJSON.quoted(row.id)),\"input_ids\":[".utf8
        for (i, id) in row.inputIDs.enumerated() {
            if i > 0 { line.append(UInt8(ascii: ",")) }
            Self.appendDecimal(id, to: &line)
        }
        line += "],\"text_tokens\":\(row.textTokens),\"speech_tokens\":\(row.speechTokens),\"truncated\":\(row.truncated)".utf8
        if let prompt = row.promptID { line += ",\"prompt_id\":\(CodesJSON.quoted(prompt))".utf8 }
        line += "}\n".utf8
        try file.append(line)
        self.line = line
    }

    /// Digits without a String per number: the ids are most of a JSONL export.
    static func appendDecimal(_ value: Int32, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        var magnitude = value.magnitude
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        var (i, j) = (start, bytes.count - 1)
        while i < j {
            bytes.swapAt(i, j)
            (i, j) = (i + 1, j - 1)
        }
    }

    func finish() throws { try file.finish() }
}

extension IndexedDatasetWriter: SplitWriter {
    func write(_ row: ExportRow, position: Int) throws { try add(row.inputIDs) }
}

/// The files of one export format: train and val, none for a split without rows (LLaSA_training's trainer
/// evaluates only when val_input_ids.memmap exists, and numpy cannot map an empty file).
final class ExportSink {
    /// nil for a split without rows.
    private var writers = PerSplit<SplitWriter?>(repeating: nil)
    private(set) var names: [String] = []

    static func fileNames(_ format: ExportFormat, split: Split) -> [String] {
        switch format {
        case .llasa: return [split.rawValue + "_input_ids.memmap", split.rawValue + "_input_ids_shape.npy"]
        case .jsonl: return [split.rawValue + ".jsonl"]
        case .megatron: return [split.rawValue + ".bin", split.rawValue + ".idx"]
        case .parquet: return []  // numbered parts, see ParquetRowsWriter
        }
    }

    init(
        format: ExportFormat, folder: ExportFolder, rows perSplit: PerSplit<Int>, maxLength: Int, padId: Int32, withPrompt: Bool = false,
        trainer: TrainerPreset? = nil, ranks: Int = 1
    ) throws {
        for split in Split.allCases {
            let rows = perSplit[split]
            guard rows > 0 else { continue }
            if let trainer, trainer != .llasaTraining {
                let writer = try TrainerRowsWriter(
                    trainer: trainer, split: split, folder: folder, rows: rows, maxLength: maxLength, padId: padId, ranks: ranks)
                names += writer.names
                writers[split] = writer
                continue
            }
            let prefix = folder.path(split.rawValue)
            names += Self.fileNames(format, split: split)
            switch format {
            case .llasa: writers[split] = try LlasaRowsWriter(prefix: prefix, rows: rows, maxLength: maxLength, padId: padId)
            case .jsonl: writers[split] = try JSONLinesWriter(path: prefix + ".jsonl")
            case .megatron: writers[split] = try IndexedDatasetWriter(prefix: prefix)
            case .parquet: writers[split] = try ParquetRowsWriter(folder: folder, split: split, withPrompt: withPrompt)
            }
        }
    }

    func write(_ row: ExportRow, split: Split, position: Int) throws { try writers[split]!.write(row, position: position) }

    /// Completes every file; returns their names.
    func finish() throws -> [String] {
        let written = [writers.train, writers.val].compactMap { $0 }
        for writer in written { try writer.finish() }
        return names + written.compactMap { ($0 as? ParquetRowsWriter)?.names }.joined()
    }
}
