import Foundation

/// `report`'s one self-contained HTML page: the figures of `CorpusStats` as tables and inline SVG charts, and the
/// listening samples as data: URIs. No script and no fetch: a Content-Security-Policy forbids every source but
/// the page itself, so a page that would need the network shows it as an error in the browser's console.
public struct ReportPage {
    public var stats: CorpusStats
    public var samples: [ReportSample]
    public var title: String
    public var generatedAt = Date()
    /// Set when the samples were decoded by a model that is not a trained X-Codec2 (a test model): said above them.
    public var samplesNote: String?

    /// The ids of the charts every report of a store with done utterances holds (the token-length chart needs a
    /// tokenizer); the browser test checks each is drawn.
    public static let chartIDs = ["duration-histogram", "speaker-hours", "chars-per-second", "token-lengths", "codebook-rank-frequency"]

    public init(stats: CorpusStats, samples: [ReportSample], title: String) {
        self.stats = stats
        self.samples = samples
        self.title = title
    }

    public var html: String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title))</title>
            <style>\(Self.style)</style></head><body>
            <h1>\(HTML.escape(title))</h1>
            <p class="meta">Store <code>\(HTML.escape(stats.store))</code>, model <code>\(HTML.escape(stats.model ?? "-"))</code>; \
            made by tokenize-corpus report on \(ISO8601DateFormatter().string(from: generatedAt)).</p>

            """
        page += summary()
        if stats.duration != nil {
            page += durationSection() + speakerSection() + charsPerSecondSection() + tokenSection() + codebookSection()
        } else {
            page += "<p class=\"note\">No utterance is encoded yet: nothing to draw.</p>"
        }
        page += failureSection() + sampleSection()
        page += "</body></html>\n"
        return page
    }

    private func summary() -> String {
        var rows: [(String, String)] = [
            ("Done", "\(stats.done.utterances) utterances, \(hours(stats.done.hours))"),
            ("Failed", "\(stats.failed.utterances) utterances (\(hours(stats.failed.hours)) of known duration)"),
            ("Pending", "\(stats.pending.utterances) utterances"),
            ("Skipped manifest lines", "\(stats.manifestProblems)"),
            (
                "Speakers",
                "\(stats.speakers.count); the largest holds \(percent(stats.speakers.largestShare)) of the hours; "
                    + "\(stats.speakers.utterancesWithoutSpeaker) utterances have none"
            ),
            ("Languages", stats.languages.map { $0.map { "\($0.key): \($0.value)" }.sorted().joined(separator: ", ") } ?? "not recorded"),
        ]
        if let d = stats.duration { rows.append(("Duration (s)", distribution(d, digits: 2))) }
        if let c = stats.charsPerSecond { rows.append(("Characters per second", distribution(c.distribution, digits: 1))) }
        if let s = stats.sequenceLengths { rows.append(("Sequence length (tokens)", distribution(s.distribution, digits: 0))) }
        let book = stats.codebook
        rows.append(
            (
                "Codebook",
                "\(book.used) of \(book.size) codes used; entropy \(fixed(book.entropyBits, 2)) bits (perplexity "
                    + "\(fixed(book.perplexity, 0))); the 100 most frequent codes are \(percent(book.top100Share)) of \(book.codes)"
            ))
        return "<section id=\"summary\"><h2>Summary</h2><table class=\"figures\">"
            + rows.map { "<tr><th>\(HTML.escape($0.0))</th><td>\(HTML.escape($0.1))</td></tr>" }.joined() + "</table></section>\n"
    }

    private func durationSection() -> String {
        let histogram = stats.durationHistogram!
        var chart = SVGChart(
            x: .init(
                low: histogram.start, high: histogram.start + histogram.width * Double(histogram.counts.count), label: "duration (s)"),
            y: .init(low: 0, high: Double(histogram.counts.max() ?? 1), label: "utterances"))
        drawHistogram(histogram, on: &chart)
        return figure(
            "Durations", chart.svg(id: Self.chartIDs[0], title: "Duration histogram"),
            "Done utterances by duration, bins of \(SVGChart.format(histogram.width)) s.")
    }

    private func speakerSection() -> String {
        let top = stats.speakers.top
        guard !top.isEmpty else { return figure("Speakers", "<p class=\"note\">No utterance names a speaker.</p>", "") }
        // A small corpus reads better in minutes than as hours that round to 0.
        let inMinutes = (top.map(\.hours).max() ?? 0) < 1
        let bars = SVGBarList(label: inMinutes ? "minutes" : "hours", rows: top.map { ($0.speaker, inMinutes ? $0.hours * 60 : $0.hours) })
        return figure(
            inMinutes ? "Minutes per speaker" : "Hours per speaker",
            bars.svg(id: Self.chartIDs[1], title: inMinutes ? "Minutes per speaker" : "Hours per speaker"),
            "The \(top.count) speakers with the most hours of \(stats.speakers.count).")
    }

    private func charsPerSecondSection() -> String {
        let cps = stats.charsPerSecond!
        let highest = (cps.sample.map { $0[1] } + cps.outlierRows.map(\.charsPerSecond) + [cps.high]).max() ?? 1
        let longest = (cps.sample.map { $0[0] } + cps.outlierRows.map(\.duration)).max() ?? 1
        var chart = SVGChart(
            x: .init(low: 0, high: longest * 1.02, label: "duration (s)"),
            y: .init(low: 0, high: highest * 1.05, label: "characters per second"))
        chart.horizontalRule(at: cps.high, label: "median + \(fixed(cps.k, 1)) sd")
        if cps.low > 0 { chart.horizontalRule(at: cps.low, label: "median - \(fixed(cps.k, 1)) sd") }
        let radius = cps.sample.count < 300 ? 3.0 : 1.6
        for point in cps.sample { chart.point(point[0], point[1], highlighted: point[2] != 0, radius: radius) }
        for row in cps.outlierRows {
            chart.point(row.duration, row.charsPerSecond, highlighted: true, title: "\(row.id): \(row.transcript)")
        }
        var html = figure(
            "Characters per second",
            chart.svg(id: Self.chartIDs[2], title: "Characters per second against duration"),
            "A sample of \(cps.sample.count) utterances and the \(cps.outlierRows.count) outliers farthest from the median "
                + "\(fixed(cps.distribution.median, 1)), outliers in red (\(cps.outliers) beyond \(fixed(cps.low, 1))...\(fixed(cps.high, 1)) in all): "
                + "a transcript far off the speaking rate usually does not belong to its audio.")
        if !cps.outlierRows.isEmpty {
            html += "<table class=\"rows\" id=\"outliers\"><tr><th>id</th><th>duration (s)</th><th>chars/s</th><th>transcript</th></tr>"
            for (index, row) in cps.outlierRows.enumerated() {
                // The first rows stay in view (and in print); the rest fold away.
                if index == 20 {
                    html += "</table><details><summary>\(cps.outlierRows.count - 20) more</summary><table class=\"rows\">"
                }
                html += "<tr><td>\(HTML.escape(row.id))</td><td>\(fixed(row.duration, 2))</td><td>\(fixed(row.charsPerSecond, 1))</td>"
                html += "<td>\(HTML.escape(row.transcript))</td></tr>"
            }
            html += cps.outlierRows.count > 20 ? "</table></details>\n" : "</table>\n"
        }
        return html
    }

    private func tokenSection() -> String {
        guard let lengths = stats.sequenceLengths else {
            return figure("Sequence lengths", "<p class=\"note\">Give <code>--tokenizer</code> to see the sequence lengths.</p>", "")
        }
        let histogram = lengths.histogram
        var chart = SVGChart(
            x: .init(
                low: 0, high: max(histogram.width * Double(histogram.counts.count), Double(lengths.maxLength) * 1.05), label: "tokens"),
            y: .init(low: 0, high: Double(histogram.counts.max() ?? 1), label: "utterances"))
        drawHistogram(histogram, on: &chart)
        chart.verticalRule(at: Double(lengths.maxLength), label: "--max-length \(lengths.maxLength)")
        return figure(
            "Sequence lengths", chart.svg(id: Self.chartIDs[3], title: "Sequence length histogram"),
            "Export sequences in tokens of \(lengths.tokenizer), before any cut; \(lengths.overMaxLength) rows are longer "
                + "than --max-length \(lengths.maxLength).")
    }

    private func codebookSection() -> String {
        let book = stats.codebook
        guard let first = book.rankFrequency.first else { return "" }
        var chart = SVGChart(
            x: .init(low: 1, high: Double(max(10, book.rankFrequency.last![0])), log: true, label: "rank"),
            y: .init(low: 1, high: Double(max(10, first[1])), log: true, label: "occurrences"))
        chart.line(book.rankFrequency.map { (Double($0[0]), Double($0[1])) })
        return figure(
            "Codebook use", chart.svg(id: Self.chartIDs[4], title: "Codebook rank-frequency"),
            "Occurrences of each used code against its rank, log-log: \(book.used) of \(book.size) codes used, perplexity "
                + "\(fixed(book.perplexity, 0)).")
    }

    private func failureSection() -> String {
        var html = "<section id=\"failures\"><h2>Failures</h2>"
        if stats.failures.isEmpty { return html + "<p class=\"note\">None.</p></section>\n" }
        html += "<table class=\"rows\"><tr><th>stage</th><th>utterances</th><th>most common causes</th></tr>"
        for group in stats.failures {
            let reasons = group.reasons.map { "\($0.count) &times; \(HTML.escape($0.reason))" }.joined(separator: "<br>")
            html += "<tr><td>\(HTML.escape(group.stage))</td><td>\(group.count)</td><td>\(reasons)</td></tr>"
        }
        return html + "</table><p class=\"note\"><code>tokenize-corpus failures --store</code> lists every one.</p></section>\n"
    }

    private func sampleSection() -> String {
        guard !samples.isEmpty else { return "" }
        var html = "<section id=\"samples\"><h2>Listen</h2><p class=\"note\">Source audio at 16 kHz and the audio decoded from "
        html += "its stored codes; log-mel spectrograms on one colour scale (\(Int(ReportSample.dynamicRange)) dB); LSD is the "
        html += "log-spectral distance between them in dB.</p>"
        if let samplesNote { html += "<p class=\"note\"><strong>\(HTML.escape(samplesNote))</strong></p>" }
        for sample in samples {
            html += "<div class=\"sample\"><h3>\(HTML.escape(sample.id))</h3><p>\(HTML.escape(sample.speaker ?? "no speaker")), "
            html +=
                "\(fixed(sample.duration, 2)) s, \(sample.sourceProblem == nil ? "LSD \(fixed(sample.logSpectralDistance, 2)) dB" : "no source"): \(HTML.escape(sample.transcript))</p>"
            html += "<div class=\"pair\">"
            for (label, wav, image) in [
                ("source", sample.sourceWAV, sample.sourceSpectrogram), ("decoded", sample.decodedWAV, sample.decodedSpectrogram),
            ] {
                if label == "source", let problem = sample.sourceProblem {
                    html += "<figure><figcaption>source</figcaption><p class=\"note\">\(HTML.escape(problem))</p></figure>"
                    continue
                }
                html += "<figure><figcaption>\(label)</figcaption>"
                html += "<img class=\"spectrogram\" alt=\"\(label) log-mel spectrogram\" src=\"data:image/png;base64,"
                html += image.base64EncodedString() + "\">"
                html += "<audio controls preload=\"none\" src=\"data:audio/wav;base64,\(wav.base64EncodedString())\"></audio></figure>"
            }
            html += "</div></div>"
        }
        return html + "</section>\n"
    }

    private func drawHistogram(_ histogram: CorpusStats.Histogram, on chart: inout SVGChart) {
        for (i, count) in histogram.counts.enumerated() where count > 0 {
            let low = histogram.start + Double(i) * histogram.width
            chart.bar(from: low, to: low + histogram.width, height: Double(count))
        }
    }

    private func figure(_ heading: String, _ content: String, _ caption: String) -> String {
        let id = heading.lowercased().replacingOccurrences(of: " ", with: "-")
        return "<section id=\"section-\(id)\"><h2>\(HTML.escape(heading))</h2><figure>\(content)"
            + (caption.isEmpty ? "" : "<figcaption>\(HTML.escape(caption))</figcaption>") + "</figure></section>\n"
    }

    private func distribution(_ d: CorpusStats.Distribution, digits: Int) -> String {
        StatsFormat.distribution(
            d, digits: digits, names: ["min", "1%", "5%", "25%", "median", "75%", "95%", "99%", "max"], separator: ", ")
    }

    private func fixed(_ value: Double, _ digits: Int) -> String { StatsFormat.fixed(value, digits) }
    private func percent(_ share: Double) -> String { StatsFormat.percent(share) }
    private func hours(_ h: Double) -> String { StatsFormat.hours(h) }

    static let style = """
        body { font: 14px/1.45 system-ui, sans-serif; color: #222; max-width: 1100px; margin: 24px auto; padding: 0 16px; }
        h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
        .meta, .note, figcaption { color: #555; font-size: 13px; }
        table { border-collapse: collapse; margin: 8px 0; } th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
        table.rows td, table.rows th { border-bottom: 1px solid #eee; } table.rows { font-size: 13px; }
        figure { margin: 0; } svg.chart { width: 100%; max-width: 720px; height: auto; display: block; }
        .bar { fill: #3b6ea5; } .dot { fill: #3b6ea5; fill-opacity: 0.45; } .dot.outlier { fill: #c0392b; fill-opacity: 1; }
        .curve { fill: none; stroke: #3b6ea5; stroke-width: 2; } .grid { stroke: #eee; } .axis { stroke: #888; }
        .rule { stroke: #c0392b; stroke-dasharray: 5 4; } .rule-label { fill: #c0392b; font-size: 11px; }
        .tick { font-size: 11px; fill: #444; } .label { font-size: 12px; fill: #222; }
        .sample { margin: 14px 0; } .pair { display: flex; gap: 16px; flex-wrap: wrap; } .pair figure { flex: 1 1 420px; }
        img.spectrogram { width: 100%; height: 160px; image-rendering: pixelated; display: block; } audio { width: 100%; }
        @media print { section, .sample { break-inside: avoid; } audio { display: none; } body { margin: 0; } }
        """
}
