import ArgumentParser
import Codec
import Corpus
import Foundation

/// `--model`: a Transformers-layout folder or a Hub id in the local cache.
struct ModelOption: ParsableArguments {
    @Option(name: .long, help: "Model folder (config.json, model.safetensors, preprocessor_config.json) or a Hub id in the local Hugging Face cache, e.g. hf-audio/xcodec2.")
    var model: String

    func load() throws -> Xcodec2Model {
        try Xcodec2Model(directory: ModelLocator.resolve(model))
    }
}

/// Errors that are already one clear line.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
