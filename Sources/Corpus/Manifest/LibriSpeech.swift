import Foundation

extension Manifest {
    /// LibriSpeech: every `SPEAKER-CHAPTER.trans.txt` under the folder; lines `UTTID TRANSCRIPT`, audio
    /// `UTTID.flac` beside it; speaker and chapter from the folder names.
    static func readLibriSpeech(_ root: String, _ sink: ManifestSink) throws {
        guard let walker = FileManager.default.enumerator(atPath: root) else { throw ManifestError.unreadable(root, "cannot list") }
        var transcripts: [String] = []
        for case let relative as String in walker where relative.hasSuffix(".trans.txt") { transcripts.append(relative) }
        // A folder is read as LibriSpeech unless it is something else: one without transcripts holds no manifest at all.
        guard !transcripts.isEmpty else { throw ManifestError.noManifest(root) }
        transcripts.sort()
        for relative in transcripts {
            let file = (root as NSString).appendingPathComponent(relative)
            let folder = (file as NSString).deletingLastPathComponent
            let parts = relative.split(separator: "/")
            let speaker = parts.count >= 3 ? String(parts[parts.count - 3]) : nil
            try forEachLine(file, sink) { number, line in
                let source = "\(file):\(number)"
                let fields = line.split(separator: " ", maxSplits: 1)
                guard fields.count == 2, !fields[1].trimmingCharacters(in: .whitespaces).isEmpty else {
                    return try sink.skip(source, "expected `UTTERANCE-ID TRANSCRIPT`")
                }
                let id = String(fields[0])
                try sink.add(
                    ManifestEntry(
                        id: id, source: source, audioPath: (folder as NSString).appendingPathComponent(id + ".flac"),
                        text: String(fields[1]), speaker: speaker ?? String(id.split(separator: "-").first ?? "")))
            }
        }
    }
}
