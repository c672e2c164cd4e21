import Tokenizer
/// The ids a Llasa training sequence is made of, resolved against a text tokenizer the way LLaSA_training's
/// `get_memmap_from_token.py` does: the 8 task tokens are the tokenizer's own when it has them, otherwise they
/// follow its vocabulary in the reference's order; speech code c is `base + c`, where base is the id of
/// `<|s_0|>` in a Llasa tokenizer and otherwise the id after the task tokens (`len(tokenizer)`).
public struct LlasaVocabulary: Sendable, Codable, Equatable {
    /// In the order the reference adds them.
    public static let taskTokens = [
        "<|TEXT_GENERATION_START|>", "<|TEXT_GENERATION_END|>",
        "<|TEXT_UNDERSTANDING_START|>", "<|TEXT_UNDERSTANDING_END|>",
        "<|SPEECH_GENERATION_START|>", "<|SPEECH_GENERATION_END|>",
        "<|SPEECH_UNDERSTANDING_START|>", "<|SPEECH_UNDERSTANDING_END|>",
    ]
    public static let codebookSize = 65536

    public var taskTokenIds: [String: Int32]
    public var speechBase: Int32
    public var padId: Int32
    /// Whether the speech tokens are the tokenizer's own `<|s_i|>` (a Llasa tokenizer).
    public var speechTokensInTokenizer: Bool

    enum CodingKeys: String, CodingKey {
        case taskTokenIds = "task_token_ids", speechBase = "speech_base", padId = "pad_id"
        case speechTokensInTokenizer = "speech_tokens_in_tokenizer"
    }

    public init(tokenizer: TextTokenizer, padId: Int32?) throws {
        var next = Int32(tokenizer.vocabularySize)
        var ids: [String: Int32] = [:]
        for token in Self.taskTokens {
            if let id = tokenizer.id(of: token) { ids[token] = id } else { ids[token] = next; next += 1 }
        }
        taskTokenIds = ids
        if let first = tokenizer.id(of: "<|s_0|>") {
            let last = Self.codebookSize - 1
            guard tokenizer.id(of: "<|s_\(last)|>") == first + Int32(last) else {
                throw TokenizerError("\(tokenizer.source): <|s_0|>..<|s_\(last)|> are not consecutive ids; cannot map codes to them")
            }
            speechBase = first
            speechTokensInTokenizer = true
        } else {
            speechBase = next
            speechTokensInTokenizer = false
        }
        guard let pad = padId ?? tokenizer.eosId else {
            throw TokenizerError("\(tokenizer.source): no EOS token known (no tokenizer_config.json eos_token); pass --pad-id")
        }
        // The pad id must be a token of the vocabulary the export uses (the tokenizer and the task tokens it adds).
        let vocabularyEnd = max(next, Int32(tokenizer.vocabularySize))
        guard pad >= 0 && pad < vocabularyEnd else {
            throw ExportError("--pad-id \(pad) is not an id of the tokenizer (0..<\(vocabularyEnd), \(tokenizer.source))")
        }
        self.padId = pad
    }

    /// The vocabulary, with the task tokens the tokenizer lacks added to it (as the trainers' `add_tokens` does), so
    /// that text holding them (a chat template) reads them as single tokens.
    public static func installed(on tokenizer: TextTokenizer, padId: Int32?) throws -> LlasaVocabulary {
        let vocabulary = try LlasaVocabulary(tokenizer: tokenizer, padId: padId)
        tokenizer.addTokens(taskTokens.map { ($0, vocabulary.id($0)) })
        return vocabulary
    }

    /// Ids the model's embedding table must hold: the largest id used plus one.
    public var requiredVocabularySize: Int { Int(speechBase) + Self.codebookSize }

    func id(_ token: String) -> Int32 { taskTokenIds[token]! }
}

/// Builds the unpadded id sequence of one utterance into a reused buffer.
struct LlasaSequenceBuilder {
    let tokenizer: TextTokenizer
    let vocabulary: LlasaVocabulary
    private let textStart: Int32, textEnd: Int32, speechStart: Int32, speechEnd: Int32
    private(set) var ids: [Int32] = []
    private(set) var textTokens = 0

    /// Adds the task tokens the tokenizer lacks to it, as the reference's `add_tokens` does before encoding: a
    /// transcript that spells one then reads as that token there and here.
    init(tokenizer: TextTokenizer, vocabulary: LlasaVocabulary) {
        tokenizer.addTokens(LlasaVocabulary.taskTokens.map { ($0, vocabulary.id($0)) })  // as `installed(on:)`
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        textStart = vocabulary.id("<|TEXT_UNDERSTANDING_START|>")
        textEnd = vocabulary.id("<|TEXT_UNDERSTANDING_END|>")
        speechStart = vocabulary.id("<|SPEECH_GENERATION_START|>")
        speechEnd = vocabulary.id("<|SPEECH_GENERATION_END|>")
    }

    /// `<|TEXT_UNDERSTANDING_START|>` transcript `<|TEXT_UNDERSTANDING_END|><|SPEECH_GENERATION_START|>` codes
    /// `<|SPEECH_GENERATION_END|>`; the transcript is encoded on its own, as the reference's encoding of the
    /// whole string splits at the added tokens first.
    mutating func build(text: String, codes: [Int32]) {
        ids.removeAll(keepingCapacity: true)
        ids.append(textStart)
        tokenizer.encode(text, into: &ids)
        textTokens = ids.count - 1
        ids.append(textEnd)
        ids.append(speechStart)
        let base = vocabulary.speechBase
        for code in codes { ids.append(base + code) }
        ids.append(speechEnd)
    }

    /// Removes the transcript's last `count` tokens, keeping at least one, and the task tokens around it
    /// (`textTokens` keeps the count before the cut, as the summary reports it).
    mutating func cutText(by count: Int) {
        let removed = min(count, textTokens - 1)
        guard removed > 0 else { return }
        ids.removeSubrange((1 + textTokens - removed)..<(1 + textTokens))
    }
}
