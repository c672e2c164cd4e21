import Foundation

extension Manifest {
    /// JSONL, one object a line: NeMo (`audio_filepath`, `text`), Emilia (`wav`, `text`, `speaker`, `language`,
    /// `dnsmos`), or any names mapped with `--field`.
    static func readJSONL(_ path: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        try forEachParsedLine(path, sink) { number, line in
            let source = "\(path):\(number)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return .failure(ManifestProblem(source: source, reason: "not a JSON object"))
            }
            return options.fields.entry(object, source: source, manifest: path, options: options)
        }
    }
}
