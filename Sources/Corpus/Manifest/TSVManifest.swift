import Foundation

extension Manifest {
    /// TSV with a header naming an audio column and a text column (`path` and `text` by default, see `FieldMap`);
    /// optional `id`, `speaker`, `duration`; other columns are kept as fields.
    static func readTSV(_ path: String, _ options: ManifestOptions, _ sink: ManifestSink) throws {
        var columns: [String]?
        try forEachLine(path, sink) { number, line in
            let source = "\(path):\(number)"
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let header = columns else {
                let names = cells.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                guard let missing = options.fields.missingRole(in: Set(names)) else {
                    columns = names
                    return
                }
                // Without them no line can be read: one problem for the header, and the manifest is skipped.
                try sink.skip(source, "the header names no \(missing) column (\(options.fields.describe(missing)))")
                columns = []
                return
            }
            guard !header.isEmpty else { return }
            guard cells.count == header.count else {
                return try sink.skip(source, "\(cells.count) tab-separated fields, the header has \(header.count)")
            }
            var object: [String: Any] = [:]
            for (name, cell) in zip(header, cells) where !cell.isEmpty { object[name] = cell }
            try sink.take(options.fields.entry(object, source: source, manifest: path, options: options, textual: true))
        }
    }
}
