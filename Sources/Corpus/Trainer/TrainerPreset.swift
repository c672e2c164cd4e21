import Foundation
import Tokenizer

/// The trainers Llasa users run, each as its loader reads an export: file names, the split layout, the pad id
/// it masks, the chat template it wraps every row in at load time, and the cut it then makes.
public enum TrainerPreset: String, CaseIterable, Sendable, Codable {
    /// zhenye234/LLaSA_training: `train_tts.py` (pretraining) and `finetune/offline_finetune/finetune_offline.py`.
    case llasaTraining = "llasa-training"
    /// SebastianBodza/LLaSA_training, branches main and multigpu: `{split}_rank{r}_partial{p}_input_ids.memmap`.
    case llasaMultigpu = "llasa-multigpu"
    /// unslothai/notebooks `Llasa_TTS_(1B)` / `(3B)`: `input_ids.memmap` without a split, no eval split.
    case unsloth

    /// The length the loader cuts every wrapped row to (`self.max_length = 2048`; unsloth's `max_seq_length`).
    public static let loaderLength = 2048

    /// The conversation each loader renders, with the two tags it then replaces by the row's text and speech.
    public static let chat: [(role: String, content: String)] = [
        ("user", "Convert the text to speech:<|TEXT_UNDERSTANDING_START|>"),
        ("assistant", "<|SPEECH_GENERATION_START|>"),
    ]

    /// The token the trainer makes its pad token, which its loader masks out of the labels: LLaSA_training sets
    /// `pad_token = eos_token`; the fork sets `pad_token_id = 128001` (`<|end_of_text|>` of Llama 3); unsloth's
    /// loader gives Llama 3 tokenizers `<|finetune_right_pad_id|>`. nil: the tokenizer's EOS.
    public var padToken: String? {
        switch self {
        case .llasaTraining: return nil
        case .llasaMultigpu: return "<|end_of_text|>"
        case .unsloth: return "<|finetune_right_pad_id|>"
        }
    }

    /// The ranks and partials the fork's multigpu `train_tts.py` reads (`ranks=[0, 1], partials=[0, 1]`).
    public static let multigpuRanksRead = 0..<2

    /// What the export does with a row the wrapped length would cut: unsloth's notebook keeps the speech whole and
    /// cuts the text ("max_text_space"); the others lose the end token, so the row is left out.
    public var cutsText: Bool { self == .unsloth }

    /// Whether the trainer evaluates on a split the export can write.
    public var hasEvalSplit: Bool { self != .unsloth }

    public var summary: String {
        switch self {
        case .llasaTraining: return "zhenye234/LLaSA_training train_tts.py and finetune_offline.py"
        case .llasaMultigpu: return "SebastianBodza/LLaSA_training train_tts.py (main and multigpu branches)"
        case .unsloth: return "unsloth's Llasa_TTS notebook (MemmapTTSDataset)"
        }
    }
}

/// A trainer's chat template, rendered for the loader's conversation and tokenized: the ids each row is
/// spliced into. The row's text part replaces the first `<|TEXT_UNDERSTANDING_START|>`, its speech part the first
/// `<|SPEECH_GENERATION_START|>` (`replace_tagged_token`).
public struct TrainerTemplate: Sendable {
    public let rendered: String
    public let ids: [Int32]
    let textSlot: Int
    let speechSlot: Int

    /// Ids the template adds to a row.
    public var overhead: Int { ids.count - 2 }
    /// Ids it adds before the row's end token: the cut may take the template's closing ids (`<|eot_id|>`), which
    /// follow the end token, and the row still ends in `<|SPEECH_GENERATION_END|>`.
    public var overheadBeforeEnd: Int { overhead - suffix.count }
    /// The template's ids after the speech slot (trained on with the speech, e.g. `<|eot_id|>`).
    var suffix: ArraySlice<Int32> { ids[(speechSlot + 1)...] }

    /// Renders the tokenizer's template for `date` and tokenizes it as `apply_chat_template(…, tokenize=True)` does:
    /// the rendered text encoded without adding special tokens. The task tokens must be known to the tokenizer.
    public init(tokenizer: TextTokenizer, vocabulary: LlasaVocabulary, template: ChatTemplate, date: Date) throws {
        rendered = try template.render(messages: TrainerPreset.chat, specialTokens: tokenizer.specialTokens, date: date)
        ids = tokenizer.encode(rendered)
        let text = vocabulary.taskTokenIds["<|TEXT_UNDERSTANDING_START|>"]!
        let speech = vocabulary.taskTokenIds["<|SPEECH_GENERATION_START|>"]!
        guard let t = ids.firstIndex(of: text), let s = ids.firstIndex(of: speech), t < s else {
            throw ExportError(
                "\(tokenizer.chatTemplateSource ?? tokenizer.source): the chat template's output lacks <|TEXT_UNDERSTANDING_START|> "
                    + "or <|SPEECH_GENERATION_START|> as single tokens, so the trainer cannot splice a row into it")
        }
        (textSlot, speechSlot) = (t, s)
    }

    /// The template's ids for every day from `date` on for `days`, keeping the longest: the loader renders
    /// today's date (`strftime_now`), so the budget holds whenever training runs in that window.
    public static func longest(
        tokenizer: TextTokenizer, vocabulary: LlasaVocabulary, template: ChatTemplate, from date: Date, days: Int
    ) throws -> TrainerTemplate {
        var longest = try TrainerTemplate(tokenizer: tokenizer, vocabulary: vocabulary, template: template, date: date)
        for day in stride(from: 1, to: days, by: 1) {
            let candidate = try TrainerTemplate(
                tokenizer: tokenizer, vocabulary: vocabulary, template: template, date: date.addingTimeInterval(Double(day) * 86400))
            if candidate.ids.count > longest.ids.count { longest = candidate }
        }
        return longest
    }

    /// `replace_tagged_token` twice: the ids the loader trains on, before its cut.
    func wrap(text: ArraySlice<Int32>, speech: ArraySlice<Int32>) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(ids.count + text.count + speech.count)
        out += ids[..<textSlot]
        out += text
        out += ids[(textSlot + 1)..<speechSlot]
        out += speech
        out += ids[(speechSlot + 1)...]
        return out
    }
}

extension TextTokenizer {
    /// The chat template a trainer's `apply_chat_template` renders, parsed; refused in one line when there is none
    /// or it is outside the supported Jinja subset.
    public func trainerChatTemplate(override path: String? = nil) throws -> ChatTemplate {
        var text = chatTemplate, source = chatTemplateSource ?? self.source
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ExportError("\(path): cannot read the chat template")
            }
            guard let read = TextTokenizer.pythonText(data) else { throw ExportError("\(path): the chat template is not UTF-8 text") }
            text = read
            source = path
        }
        guard let text else {
            throw ExportError(
                "\(self.source): the tokenizer has no chat template (chat_template in tokenizer_config.json, or chat_template.jinja), "
                    + "which the trainer wraps every row in; pass --chat-template FILE")
        }
        do { return try ChatTemplate(text) } catch { throw ExportError("\(source): \(error)") }
    }
}

extension TrainerPreset {
    /// The pad id the export writes: the one the trainer masks; nil for the tokenizer's EOS.
    public func padId(tokenizer: TextTokenizer) throws -> Int32? {
        guard let token = padToken else { return nil }
        guard let id = tokenizer.id(of: token) else {
            throw ExportError("\(tokenizer.source): no \(token), the pad id \(summary) masks; pass --pad-id")
        }
        return id
    }

    /// The memmap and shape file names of one split's part, as the trainer's loader looks for them.
    static func fileStems(_ trainer: TrainerPreset, split: Split, ranks: Int) -> [String] {
        switch trainer {
        case .llasaTraining: return [split.rawValue]
        case .unsloth: return [""]
        case .llasaMultigpu:
            // The fork evaluates on `test_rank*_partial*`, and its multigpu branch only when test_input_ids.memmap exists.
            return split == .train ? (0..<ranks).map { "train_rank\($0)_partial0" } : ["test_rank0_partial0", "test"]
        }
    }
}

/// One split in a trainer's layout: unsloth's unprefixed `input_ids.memmap`, or the fork's rank files (train rows
/// spread over `ranks` files in order; eval written as rank 0 and, hard-linked, as `test_input_ids.memmap`).
final class TrainerRowsWriter: SplitWriter {
    private var parts: [(writer: LlasaRowsWriter, start: Int, rows: Int)] = []
    private var links: [(from: String, to: String)] = []
    private(set) var names: [String] = []

    init(trainer: TrainerPreset, split: Split, folder: ExportFolder, rows: Int, maxLength: Int, padId: Int32, ranks: Int) throws {
        let stems = TrainerPreset.fileStems(trainer, split: split, ranks: ranks)
        func files(_ stem: String) -> (String, String) {
            let prefix = stem.isEmpty ? "" : stem + "_"
            return (prefix + "input_ids.memmap", prefix + "input_ids_shape.npy")
        }
        // Eval of the fork: one part, and its alias.
        let written = trainer == .llasaMultigpu && split != .train ? [stems[0]] : stems
        let perPart = (rows + written.count - 1) / written.count
        for (i, stem) in written.enumerated() {
            let start = i * perPart, count = min(perPart, rows - start)
            guard count > 0 else { continue }
            let (memmap, shape) = files(stem)
            parts.append(
                (
                    try LlasaRowsWriter(
                        memmapPath: folder.path(memmap), shapePath: folder.path(shape), rows: count, maxLength: maxLength, padId: padId),
                    start, count
                ))
            names += [memmap, shape]
        }
        if written.count < stems.count {
            let ((memmap, shape), (aliasMemmap, aliasShape)) = (files(stems[0]), files(stems[1]))
            links = [(folder.path(memmap), folder.path(aliasMemmap)), (folder.path(shape), folder.path(aliasShape))]
            names += [aliasMemmap, aliasShape]
        }
    }

    func write(_ row: ExportRow, position: Int) throws {
        let part = parts.last { $0.start <= position }!
        try part.writer.write(row, position: position - part.start)
    }

    func finish() throws {
        for part in parts { try part.writer.finish() }
        for link in links {
            unlink(link.to)
            guard Foundation.link(link.from, link.to) == 0 else {
                throw ExportError("\(link.to): cannot link to \(link.from) (\(String(cString: strerror(errno))))")
            }
        }
    }
}

extension TrainerPreset {
    /// A name a preset's export writes: `input_ids.memmap`, `test_input_ids.memmap`, `{train,test}_rankR_partialP_…`.
    static func isFileName(_ name: String) -> Bool {
        for suffix in ["input_ids.memmap", "input_ids_shape.npy"] where name.hasSuffix(suffix) {
            let stem = name.dropLast(suffix.count)
            if stem.isEmpty || stem == "test_" { return true }
            let parts = stem.dropLast().split(separator: "_")
            return stem.hasSuffix("_") && parts.count == 3 && ["train", "test"].contains(parts[0])
                && parts[1].hasPrefix("rank") && parts[1].dropFirst(4).allSatisfy(\.isNumber) && parts[1].count > 4
                && parts[2].hasPrefix("partial") && parts[2].dropFirst(7).allSatisfy(\.isNumber) && parts[2].count > 7
        }
        return false
    }
}
