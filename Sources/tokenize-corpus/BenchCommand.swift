import ArgumentParser
import Codec
import Corpus
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the encode of synthetic speech: real-time factor and seconds per stage (medians)."
    )

    @OptionGroup var model: ModelOption

    @Option(help: "Seconds of synthetic audio per run (or the first seconds of --audio).")
    var seconds: Double = 10

    @Option(help: "Benchmark this audio file (cut to --seconds) instead of synthetic speech.")
    var audio: String?

    @Option(help: "Timed runs after one warm-up; the medians are reported.")
    var runs: Int = 3

    @Option(help: "BLAS threads (the default is this machine's core count).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Also time decoding the codes back to audio.")
    var decode = true

    @Flag(help: "Time only the decoder, on seeded random codes (50 per second of --seconds).")
    var decodeOnly = false

    /// The machine a figure belongs to: the same in the text and the JSON.
    struct Machine: Encodable {
        let cpu = BLASCore.cpu().model
        let openblasVersion = BLASCore.version
        let blasCore = BLASCore.name
        enum CodingKeys: String, CodingKey {
            case cpu, openblasVersion = "openblas_version", blasCore = "blas_core"
        }
    }

    struct Report: Encodable {
        let machine = Machine()
        let audioSeconds: Double
        let runs: Int
        let threads: Int
        let encodeSeconds: Double
        let rtf: Double
        let stages: EncodeStages
        let flops: EncodeStages
        let gflopsPerSecond: Double
        let sgemmPeakGFLOPS: Double
        let decodeSeconds: Double?
        let decodeRTF: Double?
        let decodeStages: DecodeStages?
        let decodeFLOPs: DecodeStages?
        let decodeGFLOPSPerSecond: Double?
        enum CodingKeys: String, CodingKey {
            case machine, audioSeconds = "audio_seconds", runs, threads, encodeSeconds = "encode_seconds", rtf, stages
            case decodeSeconds = "decode_seconds", decodeRTF = "decode_rtf", flops
            case decodeStages = "decode_stages", decodeFLOPs = "decode_flops", decodeGFLOPSPerSecond = "decode_gflops_per_second"
            case gflopsPerSecond = "gflops_per_second", sgemmPeakGFLOPS = "sgemm_peak_gflops"
        }
    }

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        BLAS.setThreads(threads)
        if decodeOnly { return try benchDecoder() }
        let codec = try model.load(decode ? .all : .encoder)
        var audio: [Float]
        if let path = self.audio {
            audio = try AudioFile.read(path, targetRate: codec.sampleRate).samples
            let wanted = Int(seconds * Double(codec.sampleRate))
            guard audio.count >= wanted else {
                throw CommandFailure(
                    "\(path): \(Double(audio.count) / Double(codec.sampleRate)) s of audio, shorter than --seconds \(seconds)")
            }
            audio.removeSubrange(wanted...)
        } else {
            audio = SyntheticSpeech.generate(seconds: seconds, sampleRate: codec.sampleRate)
        }
        let workspace = Workspace(threads: threads)
        var all: [EncodeStages] = []
        var decodeTimes: [DecodeStages] = []
        var peaks: [Double] = []
        var frames = 0
        for run in 0...runs {
            var timings = EncodeStages()
            let codes = try codec.encode(audio, workspace: workspace, timings: &timings)
            frames = codes.count
            var decodeTimings = DecodeStages()
            if decode { _ = try codec.decode(codes, workspace: workspace, timings: &decodeTimings) }
            if run > 0 {  // run 0 is the warm-up
                all.append(timings)
                decodeTimes.append(decodeTimings)
                // The peak between runs: the encode and its yardstick see the same machine.
                peaks.append(BLAS.measuredPeakGFLOPS())
            }
        }
        let stages = EncodeStages.median(all, using: median)
        let encode = median(all.map(\.total))
        let flops = codec.encodeFLOPs(samples: audio.count)
        let peak = median(peaks)
        let decodeStages = DecodeStages.median(decodeTimes, using: median)
        let decodeSeconds = median(decodeTimes.map(\.total))
        let decodeFLOPs = codec.decodeFLOPs(frames: frames)
        let report = Report(
            audioSeconds: seconds, runs: runs, threads: threads, encodeSeconds: encode,
            rtf: encode / seconds, stages: stages, flops: flops, gflopsPerSecond: flops.total / encode / 1e9,
            sgemmPeakGFLOPS: peak,
            decodeSeconds: decode ? decodeSeconds : nil, decodeRTF: decode ? decodeSeconds / seconds : nil,
            decodeStages: decode ? decodeStages : nil, decodeFLOPs: decode ? decodeFLOPs : nil,
            decodeGFLOPSPerSecond: decode ? decodeFLOPs.total / decodeSeconds / 1e9 : nil)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(BLASCoreChoice.describe(threads: "\(threads) thread(s)"))
        print(String(format: "audio seconds      %8.2f   (%d runs after a warm-up, %d threads)", seconds, runs, threads))
        print(String(format: "encode seconds     %8.3f   median", encode))
        print(String(format: "real-time factor   %8.3f   (encode / audio)", encode / seconds))
        print("stage               seconds    GFLOP   GFLOP/s")
        let row = Self.stageRow
        row("features", stages.features, flops.features)
        row("semantic encoder", stages.semanticEncoder, flops.semanticEncoder)
        row("acoustic encoder", stages.acousticEncoder, flops.acousticEncoder)
        row("quantizer", stages.quantizer, flops.quantizer)
        row("total", encode, flops.total)
        print(
            String(
                format: "sgemm peak          %8.1f GFLOP/s (1024^3, %d threads, sustained); encode reaches %.0f%% of it",
                peak, threads, 100 * report.gflopsPerSecond / peak))
        if decode {
            print(String(format: "decode seconds     %8.3f   median, real-time factor %.3f", decodeSeconds, decodeSeconds / seconds))
            Self.printDecodeStages(decodeStages, flops: decodeFLOPs, total: decodeSeconds, peak: peak, threads: threads)
        }
    }

    /// One line of a stage table: seconds, GFLOP and GFLOP/s.
    static func stageRow(_ name: String, _ time: Double, _ work: Double) {
        let label = name.padding(toLength: 18, withPad: " ", startingAt: 0)
        print(label + String(format: "%9.3f %8.1f %9.1f", time, work / 1e9, time > 0 ? work / time / 1e9 : 0))
    }

    static func printDecodeStages(_ stages: DecodeStages, flops: DecodeStages, total: Double, peak: Double, threads: Int) {
        print("decode stage        seconds    GFLOP   GFLOP/s")
        let row = stageRow
        row("quantizer", stages.quantizer, flops.quantizer)
        row("prior net", stages.priorNet, flops.priorNet)
        row("transformer", stages.transformer, flops.transformer)
        row("post net", stages.postNet, flops.postNet)
        row("istft head", stages.head, flops.head)
        row("total", total, flops.total)
        print(
            String(
                format: "decode reaches %.0f%% of the sgemm peak (%.1f GFLOP/s, %d threads)", 100 * flops.total / total / 1e9 / peak, peak,
                threads))
    }

    private func benchDecoder() throws {
        let codec = try model.load(.decoder)
        var generator = SplitMix64(seed: 7)
        let codes = (0..<Int(seconds * 50)).map { _ in Int32(generator.next() % 65536) }
        let workspace = Workspace(threads: threads)
        var records: [DecodeStages] = [], peaks: [Double] = []
        for run in 0...runs {  // run 0 is the warm-up
            var timings = DecodeStages()
            _ = try codec.decode(codes, workspace: workspace, timings: &timings)
            if run > 0 {
                records.append(timings)
                peaks.append(BLAS.measuredPeakGFLOPS())
            }
        }
        let stages = DecodeStages.median(records, using: median)
        let decode = median(records.map(\.total))
        let flops = codec.decodeFLOPs(frames: codes.count)
        let peak = median(peaks)
        if json {
            struct DecodeReport: Encodable {
                let machine = Machine()
                let audioSeconds: Double, runs: Int, threads: Int, decodeSeconds: Double, decodeRTF: Double
                let decodeStages: DecodeStages, decodeFLOPs: DecodeStages, decodeGFLOPSPerSecond: Double, sgemmPeakGFLOPS: Double
                enum CodingKeys: String, CodingKey {
                    case machine, audioSeconds = "audio_seconds", runs, threads, decodeSeconds = "decode_seconds", decodeRTF = "decode_rtf"
                    case decodeStages = "decode_stages", decodeFLOPs = "decode_flops", decodeGFLOPSPerSecond = "decode_gflops_per_second"
                    case sgemmPeakGFLOPS = "sgemm_peak_gflops"
                }
            }
            let report = DecodeReport(
                audioSeconds: seconds, runs: runs, threads: threads, decodeSeconds: decode, decodeRTF: decode / seconds,
                decodeStages: stages, decodeFLOPs: flops, decodeGFLOPSPerSecond: flops.total / decode / 1e9, sgemmPeakGFLOPS: peak)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(BLASCoreChoice.describe(threads: "\(threads) thread(s)"))
            print(
                String(
                    format: "decode of %.2f s of random codes: %.3f s median of %d runs, real-time factor %.3f", seconds, decode, runs,
                    decode / seconds))
            Self.printDecodeStages(stages, flops: flops, total: decode, peak: peak, threads: threads)
        }
    }
}
