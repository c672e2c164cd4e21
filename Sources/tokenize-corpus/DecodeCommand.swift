import ArgumentParser
import Codec
import Corpus
import Foundation
import Store

struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Turn codes back into 16 kHz audio.",
        discussion: "Reads the JSON object `codes` prints (only its \"codes\" array is used) and writes a mono WAV."
    )

    @OptionGroup var model: ModelOption

    @Option(help: "JSON with a \"codes\" array, as `tokenize-corpus codes` prints; - for stdin.")
    var codes: String?

    @Option(help: "A store to take the codes from (with --id).")
    var store: String?

    @Option(help: "The utterance id in --store.")
    var id: String?

    @Option(help: "Output WAV file.")
    var out: String

    @Flag(help: "16-bit PCM instead of 32-bit float.")
    var pcm16 = false

    func validate() throws {
        guard (codes != nil) != (store != nil) else { throw ValidationError("give either --codes or --store with --id") }
        guard (store == nil) == (id == nil) else { throw ValidationError("--store and --id go together") }
    }

    func loadCodes() throws -> [Int32] {
        if let store, let id {
            guard let stored = try Store(path: store, access: .read).codes(for: id) else {
                throw CommandFailure("\(store): no done utterance with id \(id)")
            }
            return stored
        }
        let source = codes ?? "-"
        let data: Data
        if source == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: source) else { throw CommandFailure("\(source): no such file") }
            data = contents
        }
        return try CodesJSON.codes(from: data, source: source)
    }

    func run() throws {
        let values = try loadCodes()
        let codec = try model.load(.decoder)
        let audio = try codec.decode(values, workspace: Workspace())
        try AudioWriter.write(audio, sampleRate: codec.sampleRate, to: out, sample: pcm16 ? .pcm16 : .float32)
        FileHandle.standardError.write(
            Data(
                "\(out): \(values.count) codes decoded, \(String(format: "%.2f", Double(audio.count) / Double(codec.sampleRate))) s\n".utf8
            ))
    }
}

struct RoundtripCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roundtrip",
        abstract: "Encode an audio file and decode its codes again, to listen to what the tokens keep."
    )

    @Argument(help: "Any file libsndfile reads.")
    var audio: String

    @OptionGroup var model: ModelOption

    @Option(help: "Output WAV file (16 kHz mono).")
    var out: String

    @Flag(help: "16-bit PCM instead of 32-bit float.")
    var pcm16 = false

    func run() throws {
        let codec = try model.load(.all)
        let decoded = try AudioFile.read(audio, targetRate: codec.sampleRate)
        let workspace = Workspace(threads: ProcessInfo.processInfo.activeProcessorCount)
        let codes = try codec.encode(decoded.samples, workspace: workspace)
        var output = try codec.decode(codes, workspace: workspace)
        // The decoder returns whole frames; trim the extractor's padding back to the input length.
        if output.count > decoded.samples.count { output.removeSubrange(decoded.samples.count...) }
        try AudioWriter.write(output, sampleRate: codec.sampleRate, to: out, sample: pcm16 ? .pcm16 : .float32)
        FileHandle.standardError.write(
            Data("\(audio): \(codes.count) codes, \(String(format: "%.2f", decoded.duration)) s -> \(out)\n".utf8))
    }
}
