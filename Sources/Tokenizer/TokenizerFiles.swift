import Foundation

/// The parts of a Hugging Face `tokenizer.json` a byte-level BPE tokenizer needs.
struct TokenizerJSON: Decodable {
    var addedTokens: [AddedToken]
    var normalizer: Section?
    var preTokenizer: PreTokenizerSection?
    var model: BPEModelSection

    enum CodingKeys: String, CodingKey {
        case normalizer, model
        case addedTokens = "added_tokens"
        case preTokenizer = "pre_tokenizer"
    }

    /// Any typed section, by its type only.
    struct Section: Decodable { var type: String }

    struct PreTokenizerSection: Decodable {
        var type: String
        var pretokenizers: [PreTokenizerSection]?
        var pattern: Pattern?
        var behavior: String?
        var invert: Bool?
        var addPrefixSpace: Bool?
        var useRegex: Bool?

        enum CodingKeys: String, CodingKey {
            case type, pretokenizers, pattern, behavior, invert
            case addPrefixSpace = "add_prefix_space"
            case useRegex = "use_regex"
        }

        struct Pattern: Decodable {
            var regex: String?
            var string: String?
            enum CodingKeys: String, CodingKey { case regex = "Regex", string = "String" }
        }
    }

    struct BPEModelSection: Decodable {
        var type: String?
        var vocab: [String: Int32]
        var merges: [Pair]
        var ignoreMerges: Bool?
        var byteFallback: Bool?
        var continuingSubwordPrefix: String?
        var endOfWordSuffix: String?
        var dropout: Double?

        enum CodingKeys: String, CodingKey {
            case type, vocab, merges, dropout
            case ignoreMerges = "ignore_merges"
            case byteFallback = "byte_fallback"
            case continuingSubwordPrefix = "continuing_subword_prefix"
            case endOfWordSuffix = "end_of_word_suffix"
        }

        /// A merge as `"a b"` (older files) or `["a", "b"]` (tokenizers 0.20 and later).
        struct Pair: Decodable {
            var left: String, right: String
            init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let parts = try? container.decode([String].self), parts.count == 2 {
                    (left, right) = (parts[0], parts[1])
                } else {
                    let line = try container.decode(String.self)
                    let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2 else {
                        throw DecodingError.dataCorruptedError(in: container, debugDescription: "merge \"\(line)\" is not two tokens")
                    }
                    (left, right) = (String(parts[0]), String(parts[1]))
                }
            }
        }
    }
}

/// `tokenizer_config.json`: the special tokens (each a string or an AddedToken object) and the chat template
/// (a string, or a list of named templates of which "default" is the one trainers render).
struct TokenizerConfigJSON: Decodable {
    var eosToken: String?
    var specialTokens: [String: String] = [:]
    var chatTemplate: String?

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    struct TokenObject: Decodable { var content: String }
    struct NamedTemplate: Decodable { var name: String, template: String }
    static let specialTokenKeys = ["bos_token", "eos_token", "pad_token", "unk_token"]

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        for key in Self.specialTokenKeys {
            let codingKey = AnyKey(stringValue: key)
            if let name = try? container.decode(String.self, forKey: codingKey) {
                specialTokens[key] = name
            } else if let object = try? container.decode(TokenObject.self, forKey: codingKey) {
                specialTokens[key] = object.content
            }
        }
        eosToken = specialTokens["eos_token"]
        let templateKey = AnyKey(stringValue: "chat_template")
        if let template = try? container.decode(String.self, forKey: templateKey) {
            chatTemplate = template
        } else if let named = try? container.decode([NamedTemplate].self, forKey: templateKey) {
            chatTemplate = named.first { $0.name == "default" }?.template
        }
    }
}

extension TextTokenizer {
    /// Meta's Llama 3 special tokens, in the order `llama_models/llama3/tokenizer.py` appends them after the
    /// ranks of a tiktoken file; 256 in all with the reserved ones.
    static let llama3SpecialTokens: [String] = {
        let named = [
            "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
            "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eom_id|>", "<|eot_id|>", "<|python_tag|>", "<|image|>",
        ]
        return named + (0..<(256 - named.count)).map { "<|reserved_special_token_\($0 + 2)|>" }
    }()

    /// LLaSA_training pads with Llama-3.2-1B-Instruct's EOS; used when no tokenizer_config.json says otherwise.
    static let llama3InstructEOS = "<|eot_id|>"

    /// Loads `path`: a folder holding `tokenizer.json` or `tokenizer.model` (and maybe `tokenizer_config.json`),
    /// or one of those files.
    public static func load(_ path: String) throws -> TextTokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError("\(path): no such tokenizer file or folder")
        }
        let folder = isDirectory.boolValue ? URL(fileURLWithPath: path) : URL(fileURLWithPath: path).deletingLastPathComponent()
        var file = URL(fileURLWithPath: path)
        if isDirectory.boolValue {
            let candidates = ["tokenizer.json", "tokenizer.model", "original/tokenizer.model"].map { folder.appendingPathComponent($0) }
            guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                throw TokenizerError("\(path): holds neither tokenizer.json nor tokenizer.model")
            }
            file = found
        }
        var config: TokenizerConfigJSON?
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        if let data = FileManager.default.contents(atPath: configURL.path) {
            do { config = try JSONDecoder().decode(TokenizerConfigJSON.self, from: data) } catch {
                throw TokenizerError("\(configURL.path): not a readable tokenizer_config.json (\(error))")
            }
        }
        guard let data = FileManager.default.contents(atPath: file.path) else { throw TokenizerError("\(file.path): cannot read") }
        let tokenizer =
            file.pathExtension == "json"
            ? try fromTokenizerJSON(data, source: file.path, eos: config?.eosToken)
            : try fromTiktoken(data, source: file.path, eos: config?.eosToken)
        tokenizer.specialTokens = config?.specialTokens ?? [:]
        if let eos = tokenizer.eosToken { tokenizer.specialTokens["eos_token"] = eos }
        // Transformers saves the template beside the config since 4.51, and reads that file first.
        let templateURL = folder.appendingPathComponent("chat_template.jinja")
        if let template = FileManager.default.contents(atPath: templateURL.path) {
            guard let text = TextTokenizer.pythonText(template) else { throw TokenizerError("\(templateURL.path): not UTF-8 text") }
            tokenizer.chatTemplate = text
            tokenizer.chatTemplateSource = templateURL.path
        } else if let template = config?.chatTemplate {
            tokenizer.chatTemplate = template
            tokenizer.chatTemplateSource = configURL.path
        }
        return tokenizer
    }

    static func fromTokenizerJSON(_ data: Data, source: String, eos: String?) throws -> TextTokenizer {
        let json: TokenizerJSON
        do { json = try JSONDecoder().decode(TokenizerJSON.self, from: data) } catch {
            throw TokenizerError("\(source): not a byte-level BPE tokenizer.json (\(error))")
        }
        let model = json.model
        if let type = model.type, type != "BPE" { throw TokenizerError("\(source): model type \(type) is not supported, only BPE") }
        if let normalizer = json.normalizer { throw TokenizerError("\(source): normalizer \(normalizer.type) is not supported") }
        if model.byteFallback == true || model.continuingSubwordPrefix?.isEmpty == false || model.endOfWordSuffix?.isEmpty == false
            || (model.dropout ?? 0) != 0
        {
            throw TokenizerError("\(source): BPE options byte_fallback, subword prefix/suffix and dropout are not supported")
        }
        guard let section = json.preTokenizer else { throw TokenizerError("\(source): no pre_tokenizer; not a byte-level tokenizer") }
        var steps: [PreTokenizer.Step] = [], byteLevel = false
        try collectSteps(section, into: &steps, byteLevel: &byteLevel, source: source)
        guard byteLevel else { throw TokenizerError("\(source): pre_tokenizer has no ByteLevel step; only byte-level BPE is supported") }

        var vocabulary = ByteStringTable(capacity: model.vocab.count)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for (token, id) in model.vocab {
            guard let bytes = ByteLevelAlphabet.bytes(of: token) else { continue }
            vocabulary.set(bytes, id)
            if bytes.count == 1 { byteTokens[Int(bytes[0])] = id }
        }
        var merges = PairTable(capacity: model.merges.count)
        for (rank, pair) in model.merges.enumerated() {
            guard let left = model.vocab[pair.left], let right = model.vocab[pair.right],
                let merged = model.vocab[pair.left + pair.right]
            else {
                throw TokenizerError("\(source): merge \(rank) (\(pair.left) \(pair.right)) names a token missing from the vocabulary")
            }
            merges.insertIfAbsent(left, right, Merge(rank: UInt32(rank), token: merged))
        }
        let bpe = BytePairModel(vocabulary: vocabulary, merges: merges, byteTokens: byteTokens, ignoreMerges: model.ignoreMerges ?? false)
        let defaultEOS =
            model.vocab[llama3InstructEOS] != nil || json.addedTokens.contains { $0.content == llama3InstructEOS }
            ? llama3InstructEOS : nil
        return TextTokenizer(
            source: source, model: bpe, tokenIds: model.vocab, addedTokens: json.addedTokens,
            preTokenizer: PreTokenizer(steps: steps), eosToken: eos ?? defaultEOS)
    }

    private static func collectSteps(
        _ section: TokenizerJSON.PreTokenizerSection, into steps: inout [PreTokenizer.Step],
        byteLevel: inout Bool, source: String
    ) throws {
        switch section.type {
        case "Sequence":
            for inner in section.pretokenizers ?? [] { try collectSteps(inner, into: &steps, byteLevel: &byteLevel, source: source) }
        case "Split":
            let behavior = section.behavior ?? "Isolated"
            guard behavior == "Isolated" || behavior == "Removed" else {
                throw TokenizerError("\(source): Split behavior \(behavior) is not supported (Isolated, Removed)")
            }
            let pattern: String
            if let regex = section.pattern?.regex {
                pattern = regex
            } else if let literal = section.pattern?.string {
                pattern = NSRegularExpression.escapedPattern(for: literal)
            } else {
                throw TokenizerError("\(source): Split without a pattern")
            }
            do {
                steps.append(try PreTokenizer.split(pattern: pattern, isolated: behavior == "Isolated", invert: section.invert ?? false))
            } catch { throw TokenizerError("\(source): Split pattern \(pattern) does not compile (\(error))") }
        case "ByteLevel":
            byteLevel = true
            if section.addPrefixSpace == true { steps.append(.prefixSpace) }
            if section.useRegex ?? true {
                steps.append(try PreTokenizer.split(pattern: PreTokenizer.gpt2Pattern, isolated: true, invert: false))
            }
        default:
            throw TokenizerError("\(source): pre-tokenizer \(section.type) is not supported (Sequence, Split, ByteLevel)")
        }
    }

    /// A tiktoken BPE file: one `base64-token rank` per line; Meta's 256 special tokens follow the ranks.
    /// tiktoken merges any adjacent pair whose concatenation is a token, lowest rank of that token first.
    static func fromTiktoken(_ data: Data, source: String, eos: String?) throws -> TextTokenizer {
        var vocabulary = ByteStringTable(capacity: 1 << 17)
        var tokens: [(bytes: [UInt8], rank: Int32)] = []
        var tokenIds: [String: Int32] = [:]
        var byteTokens = [Int32](repeating: -1, count: 256)
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 2, let bytes = Data(base64Encoded: Data(fields[0])),
                let rank = Int32(String(decoding: fields[1], as: UTF8.self))
            else {
                throw TokenizerError("\(source):\(index + 1): not a tiktoken line (base64 token, space, rank)")
            }
            let tokenBytes = [UInt8](bytes)
            vocabulary.set(tokenBytes, rank)
            tokens.append((tokenBytes, rank))
            tokenIds[ByteLevelAlphabet.string(of: tokenBytes)] = rank
            if tokenBytes.count == 1 { byteTokens[Int(tokenBytes[0])] = rank }
        }
        guard !tokens.isEmpty else { throw TokenizerError("\(source): empty tiktoken file") }
        var merges = PairTable(capacity: tokens.count * 4)
        for (bytes, rank) in tokens where bytes.count > 1 {
            bytes.withUnsafeBufferPointer { whole in
                for cut in 1..<whole.count {
                    if let left = vocabulary.value(UnsafeBufferPointer(rebasing: whole[..<cut])),
                        let right = vocabulary.value(UnsafeBufferPointer(rebasing: whole[cut...]))
                    {
                        merges.insertIfAbsent(left, right, Merge(rank: UInt32(rank), token: rank))
                    }
                }
            }
        }
        let base = Int32(tokens.count)
        let specials = llama3SpecialTokens.enumerated().map { AddedToken(id: base + Int32($0.offset), content: $0.element) }
        let bpe = BytePairModel(vocabulary: vocabulary, merges: merges, byteTokens: byteTokens, ignoreMerges: true)
        return TextTokenizer(
            source: source, model: bpe, tokenIds: tokenIds, addedTokens: specials,
            preTokenizer: PreTokenizer(steps: [.llama3Split]), eosToken: eos ?? llama3InstructEOS)
    }
}

extension TextTokenizer {
    /// A text file as Python's text mode reads it: UTF-8, CRLF and CR become LF (universal newlines); a leading BOM is
    /// dropped. nil when it is not UTF-8.
    public static func pythonText(_ data: Data) -> String? {
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }
}
