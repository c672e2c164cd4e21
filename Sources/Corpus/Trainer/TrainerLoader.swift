/// What a trainer's dataset `__getitem__` makes of one memmap row, rebuilt from its code (transformers < 5,
/// where `apply_chat_template(…, tokenize=True)` returns a list): the wrapped ids, which of them are labels, and
/// the verdicts `check-export` reports.
public struct LoadedRow: Equatable, Sendable {
    /// The loader's input ids after its cut, unpadded.
    public var ids: [Int32] = []
    /// Per id: trained on (its label is the id) or not (-100).
    public var trained: [Bool] = []
    /// The row has no `<|SPEECH_GENERATION_START|>`: LLaSA_training's loader raises IndexError on it.
    public var fails = false
    /// The loader fell back to the raw row, without the template (unsloth's `except Exception`).
    public var raw = false
    /// `<|SPEECH_GENERATION_END|>` is among the trained ids.
    public var keepsEnd = false
    /// Trained ids that are neither speech, nor the end token, nor the template's own closing ids: padding, mostly.
    public var trainedPadding = 0
    /// Ids between the speech markers outside the speech range.
    public var speechOutOfRange = 0
}

public struct TrainerLoader {
    public let preset: TrainerPreset
    public let template: TrainerTemplate
    public let vocabulary: LlasaVocabulary
    /// The id the trainer masks out of the labels (its `pad_token_id`).
    public let trainerPad: Int32
    public let length: Int
    private let textStart: Int32, textEnd: Int32, speechStart: Int32, speechEnd: Int32
    /// The ids of the 65536 speech codes.
    private let speechRange: Range<Int32>

    public init(preset: TrainerPreset, template: TrainerTemplate, vocabulary: LlasaVocabulary, trainerPad: Int32, length: Int) {
        self.preset = preset
        self.template = template
        self.vocabulary = vocabulary
        self.trainerPad = trainerPad
        self.length = length
        textStart = vocabulary.taskTokenIds["<|TEXT_UNDERSTANDING_START|>"]!
        textEnd = vocabulary.taskTokenIds["<|TEXT_UNDERSTANDING_END|>"]!
        speechStart = vocabulary.taskTokenIds["<|SPEECH_GENERATION_START|>"]!
        speechEnd = vocabulary.taskTokenIds["<|SPEECH_GENERATION_END|>"]!
        speechRange = vocabulary.speechBase..<(vocabulary.speechBase + Int32(LlasaVocabulary.codebookSize))
    }

    public func load(_ row: ArraySlice<Int32>) -> LoadedRow {
        var result = LoadedRow()
        let r = row.startIndex
        guard let sgs = row.firstIndex(of: speechStart) else {
            result.fails = preset != .unsloth
            if preset == .unsloth { finish(&result, wrapped: Array(row), raw: true) }
            return result
        }
        let ends = row.indices.filter { row[$0] == speechEnd }
        var speechEndIndex: Int
        switch preset {
        case .llasaTraining, .llasaMultigpu:
            // `.nonzero()[0].item()` raises unless exactly one end token; the except branch takes 2048.
            speechEndIndex = ends.count == 1 ? ends[0] : r + 2048
        case .unsloth:
            // text start < text end < speech start < speech end, else the raw row.
            let pad = row.firstIndex(of: trainerPad)
            speechEndIndex = ends.first ?? (pad.map { $0 - 1 } ?? row.endIndex - 1)
            guard let ts = row.firstIndex(of: textStart), let te = row.firstIndex(of: textEnd),
                ts < te, te < sgs, sgs < speechEndIndex, speechEndIndex < row.endIndex
            else {
                finish(&result, wrapped: Array(row), raw: true)
                countSpeech(&result, row, from: sgs)
                return result
            }
        }
        let text = row[r..<sgs]
        let speech = row[sgs..<min(speechEndIndex + 1, row.endIndex)]
        finish(&result, wrapped: template.wrap(text: text, speech: speech), raw: false)
        countSpeech(&result, row, from: sgs)
        return result
    }

    /// Labels from the first `<|SPEECH_GENERATION_START|>` on, the pad id masked, everything cut to the length.
    private func finish(_ result: inout LoadedRow, wrapped: [Int32], raw: Bool) {
        result.raw = raw
        let starts = wrapped.indices.filter { wrapped[$0] == speechStart }
        // LLaSA_training's `.item()` raises unless there is one start, and its except branch labels every id.
        let labelFrom: Int? = preset == .unsloth ? starts.first : (starts.count == 1 ? starts[0] : 0)
        let kept = Array(wrapped.prefix(length))
        result.ids = kept
        result.trained = kept.indices.map { i in (labelFrom.map { i >= $0 } ?? false) && kept[i] != trainerPad }
        // The template's closing ids follow the speech part; they are the trainer's design, not padding.
        let suffixStart = raw ? wrapped.count : wrapped.count - template.suffix.count
        for i in kept.indices where result.trained[i] {
            let id = kept[i]
            if id == speechEnd { result.keepsEnd = true }
            if let from = labelFrom, i > from, i < suffixStart, id != speechEnd, id != speechStart, !speechRange.contains(id) {
                result.trainedPadding += 1
            }
        }
    }

    /// Ids between the speech start and end (or the row's trailing run of one non-speech id) outside the codes.
    private func countSpeech(_ result: inout LoadedRow, _ row: ArraySlice<Int32>, from sgs: Int) {
        var end = row[(sgs + 1)...].firstIndex(of: speechEnd) ?? row.endIndex
        if end == row.endIndex, let last = row.last, !speechRange.contains(last) {
            while end > sgs + 1 && row[end - 1] == last { end -= 1 }
        }
        result.speechOutOfRange = row[(sgs + 1)..<end].filter { !speechRange.contains($0) }.count
    }
}
