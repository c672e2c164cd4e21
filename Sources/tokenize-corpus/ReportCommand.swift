import ArgumentParser
import Codec
import Corpus
import Foundation
import Store

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "One self-contained HTML page: the figures of `stats` as charts, and audio samples to listen to.",
        discussion: """
            Charts are inline SVG, audio and spectrograms data: URIs; the page fetches nothing and runs no script. \
            With --model and --samples N, N utterances (seeded, spread over speakers) are decoded from their stored codes \
            and shown beside their source audio, with log-mel spectrograms and the log-spectral distance between them.
            """)

    @OptionGroup var options: StatsOptions
    @Option(help: "Output HTML file.") var out: String
    @Option(help: "Model to decode the samples with (the store's own model).") var model: String?
    @Option(help: "Utterances to listen to (needs --model).") var samples = 0
    @Option(help: "Page title (default: the store's file name).") var title: String?

    func validate() throws {
        guard samples >= 0 && samples <= 100 else { throw ValidationError("--samples must be within 0...100") }
        guard samples == 0 || model != nil else { throw ValidationError("--samples needs --model to decode the codes") }
    }

    func run() throws {
        let store = try Store(path: options.store, access: .read)
        let stats = try options.compute(store: store)
        var listened: [ReportSample] = []
        var decoderWidth: Int?
        if samples > 0, let model {
            let option = try ModelOption.parse(["--model", model])
            let directory = try option.directory()
            let provenance = try ModelProvenance.of(model: model, directory: directory)
            try store.requireModel(id: model, fingerprint: provenance.fingerprint, formerFingerprint: provenance.formerFingerprint)
            let codec = try Xcodec2Model(directory: directory, parts: .decoder)
            ModelOption.sayLayout(of: codec, model: model)
            decoderWidth = codec.config.hiddenSize
            let workspace = Workspace(threads: ProcessInfo.processInfo.activeProcessorCount)
            for utterance in try store.sampleUtterances(count: samples, seed: options.seed) {
                var source: [Float] = [], problem: String?
                do {
                    source = try AudioFile.read(utterance.location, targetRate: codec.sampleRate).samples
                } catch {
                    // The source may have moved since the run; the decoded codes are still worth hearing.
                    problem = "\(error)"
                    FileHandle.standardError.write(Data("report: \(utterance.id): source audio left out: \(error)\n".utf8))
                }
                var decoded = try codec.decode(utterance.codes, workspace: workspace)
                if !source.isEmpty && decoded.count > source.count { decoded.removeSubrange(source.count...) }
                var sample = ReportSample(
                    id: utterance.id, speaker: utterance.speaker, transcript: utterance.text, source: source, decoded: decoded,
                    sampleRate: codec.sampleRate, extractor: codec.featureExtractor)
                sample.sourceProblem = problem
                listened.append(sample)
            }
        }
        var page = ReportPage(
            stats: stats, samples: listened, title: title ?? "Corpus report: \(URL(fileURLWithPath: options.store).lastPathComponent)")
        if let width = decoderWidth, width != Xcodec2Config().hiddenSize {
            page.samplesNote =
                "Decoded by a model \(width) wide, not the 1024-wide X-Codec2: a test model (such as tiny-a), whose random "
                + "weights decode to noise."
        }
        let html = Data(page.html.utf8)
        do {
            try html.write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CommandFailure("\(out): cannot write the report (\(error.localizedDescription))")
        }
        print("wrote \(out) (\(html.count / 1024) KiB): \(stats.done.utterances) done utterances, \(listened.count) samples")
    }
}
