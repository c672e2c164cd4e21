import ArgumentParser
import Codec
import Corpus
import Foundation

struct CodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codes",
        abstract: "Encode one audio file and print its codes as JSON."
    )

    @Argument(help: "Any file libsndfile reads (WAV, FLAC, OGG, ...); resampled to 16 kHz mono.")
    var audio: String

    @OptionGroup var model: ModelOption

    @Option(
        name: .customLong("max-duration"),
        help: "Longer audio is refused (seconds), as `run` refuses it: a whole file is held in memory while it is encoded.")
    var maxDuration: Double = 60

    func validate() throws {
        guard maxDuration > 0 else { throw ValidationError("--max-duration must be positive") }
    }

    func run() throws {
        let codec = try model.load(.encoder)
        let decoded = try AudioFile.read(audio, targetRate: codec.sampleRate, maxSeconds: maxDuration)
        let workspace = Workspace(threads: ProcessInfo.processInfo.activeProcessorCount)
        let codes = try codec.encode(decoded.samples, workspace: workspace)
        print(
            CodesJSON.line(
                path: audio, sampleRate: decoded.sourceRate, numSamples: decoded.samples.count,
                duration: decoded.duration, codes: codes))
    }
}
