import Foundation

extension Manifest {
    /// LJSpeech: `metadata.csv` lines `ID|transcript|normalized transcript`, audio `wavs/ID.wav`. The raw transcript
    /// is read unless `--text-column normalized` (which falls back to the raw one where the third column is empty).
    static func readLJSpeech(_ path: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        let metadata = path.hasSuffix(".csv") ? path : (path as NSString).appendingPathComponent("metadata.csv")
        let folder = (metadata as NSString).deletingLastPathComponent
        try forEachLine(metadata, sink) { number, line in
            let source = "\(metadata):\(number)"
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 2, !fields[0].isEmpty else {
                return try sink.skip(source, "expected `ID|transcript[|normalized transcript]`")
            }
            let normalized = fields.count >= 3 && !fields[2].isEmpty ? fields[2] : nil
            let text = options.ljspeechText == .normalized ? normalized ?? fields[1] : fields[1]
            try sink.add(
                ManifestEntry(
                    id: fields[0], source: source,
                    audioPath: ((folder as NSString).appendingPathComponent("wavs") as NSString).appendingPathComponent(
                        fields[0] + ".wav"),
                    text: text, speaker: nil))
        }
    }
}
