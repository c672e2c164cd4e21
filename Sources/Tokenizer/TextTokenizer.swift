import Foundation

public struct TokenizerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A byte-level BPE text tokenizer that gives the ids Hugging Face `tokenizers` gives, loaded from a
/// `tokenizer.json` or a tiktoken `tokenizer.model` (see TokenizerFiles.swift). `encode` is what
/// `tokenizer.encode(text, add_special_tokens=False)` returns: added tokens in the text are recognised,
/// nothing is prepended. Not thread-safe: it owns scratch buffers and a word cache.
public final class TextTokenizer {
    /// Where it was loaded from, for messages.
    public let source: String
    /// The end-of-sequence token named by `tokenizer_config.json`, or the Llama 3 default; nil if unknown.
    public let eosToken: String?
    /// One more than the largest id, i.e. `len(tokenizer)` of a contiguous vocabulary.
    public private(set) var vocabularySize: Int
    /// `bos_token`, `eos_token`, `pad_token`, `unk_token` of `tokenizer_config.json`, by those names.
    public var specialTokens: [String: String] = [:]
    /// The Jinja chat template (`chat_template.jinja`, or `chat_template` of `tokenizer_config.json`), and its file.
    public var chatTemplate: String?
    public var chatTemplateSource: String?

    private var tokenIds: [String: Int32]
    private var addedTokens: AddedTokenMatcher
    private var preTokenizer: PreTokenizer
    private let encoder: BytePairEncoder
    private var textBytes: [UInt8] = []

    init(
        source: String, model: BytePairModel, tokenIds: [String: Int32], addedTokens: [AddedToken],
        preTokenizer: PreTokenizer, eosToken: String?
    ) {
        self.source = source
        self.encoder = BytePairEncoder(model: model)
        var ids = tokenIds
        for token in addedTokens { ids[token.content] = token.id }
        self.tokenIds = ids
        self.addedTokens = AddedTokenMatcher(addedTokens)
        self.preTokenizer = preTokenizer
        self.eosToken = eosToken
        self.vocabularySize = Int(ids.values.max() ?? -1) + 1
    }

    /// The id of a token given as its vocabulary string (added tokens by their content), like
    /// `convert_tokens_to_ids`; nil when the tokenizer has no such token.
    public func id(of token: String) -> Int32? { tokenIds[token] }

    public var eosId: Int32? { eosToken.flatMap(id(of:)) }

    /// Adds tokens the way `tokenizer.add_tokens` does: recognised in text from now on (as non-special tokens
    /// that go through normalization). Contents already known keep their ids.
    public func addTokens(_ tokens: [(content: String, id: Int32)]) {
        var all = addedTokens.tokens
        for token in tokens where tokenIds[token.content] == nil {
            all.append(AddedToken(id: token.id, content: token.content, normalized: true, special: false))
            tokenIds[token.content] = token.id
            vocabularySize = max(vocabularySize, Int(token.id) + 1)
        }
        addedTokens = AddedTokenMatcher(all)
    }

    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        encode(text, into: &ids)
        return ids
    }

    /// Appends the ids of `text` to `ids`.
    public func encode(_ text: String, into ids: inout [Int32]) {
        textBytes.removeAll(keepingCapacity: true)
        textBytes.append(contentsOf: text.utf8)
        textBytes.withUnsafeBufferPointer { bytes in
            if addedTokens.isEmpty { return encodePlain(bytes, into: &ids) }
            for segment in addedTokens.segments(bytes) {
                switch segment {
                case let .token(id): ids.append(id)
                case let .text(range): encodePlain(UnsafeBufferPointer(rebasing: bytes[range]), into: &ids)
                }
            }
        }
    }

    private func encodePlain(_ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        let encoder = self.encoder
        preTokenizer.forEachPiece(text) { encoder.encode($0, into: &ids) }
    }
}
