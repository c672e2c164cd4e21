import ArgumentParser
import Codec
import Corpus
import Foundation
import Tokenizer

/// `--model`: a Transformers-layout folder or a Hub id in the local cache.
struct ModelOption: ParsableArguments {
    @Option(
        name: .long,
        help: """
            Model folder (config.json and model.safetensors, in the Transformers layout or the original one) or a Hub id \
            such as hf-audio/xcodec2 or HKUSTAudio/xcodec2, taken from the Hugging Face cache or fetched into it.
            """
    )
    var model: String

    /// The one way every command finds its model: a folder as it is, a Hub id from the cache, fetched into the
    /// cache when it is not there yet (unless HF_HUB_OFFLINE=1), with progress on stderr.
    func directory() throws -> URL {
        try ModelLocator.resolve(model, download: true, log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
    }

    func load(_ parts: Xcodec2Model.Parts) throws -> Xcodec2Model {
        let codec = try Xcodec2Model(directory: directory(), parts: parts)
        Self.sayLayout(of: codec, model: model)
        return codec
    }

    /// One line on stderr when the weights are not in the Transformers layout, so that a user sees which was read.
    static func sayLayout(of codec: Xcodec2Model, model: String) {
        guard codec.layout != .transformers else { return }
        FileHandle.standardError.write(Data("model \(model): \(codec.layout)\n".utf8))
    }
}

/// Errors that are already one clear line.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `--tokenizer`: a folder or file, or a Hub id fetched (tokenizer files only) into the Hugging Face cache.
struct TokenizerOption: ParsableArguments {
    @Option(
        name: .long,
        help: """
            tokenizer.json or tiktoken tokenizer.model, a folder holding one (and maybe tokenizer_config.json for the EOS), \
            or a Hub id such as meta-llama/Llama-3.2-1B-Instruct or HKUSTAudio/Llasa-1B (HF_TOKEN for gated ones).
            """)
    var tokenizer: String

    func load() throws -> TextTokenizer { try Self.load(tokenizer) }

    /// The name an export records: a Hub id as it is, a local file or folder by its last component.
    var publishedName: String {
        ModelLocator.isHubID(tokenizer)
            ? tokenizer : (tokenizer as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? tokenizer
    }

    static func load(_ tokenizer: String) throws -> TextTokenizer {
        try TextTokenizer.load(ModelLocator.resolveTokenizer(tokenizer, log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }))
    }
}
