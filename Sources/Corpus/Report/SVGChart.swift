import Foundation

/// A chart as inline SVG: two axes (linear or log10), ticks, labels and marks. No script: the page draws and
/// prints as it is. `marks` counts what was drawn, which the browser test reads back as `data-marks`.
struct SVGChart {
    struct Axis {
        var low: Double, high: Double
        var log = false
        var label: String

        func fraction(_ value: Double) -> Double {
            guard high > low else { return 0.5 }
            if log {
                return (Foundation.log10(Swift.max(value, low)) - Foundation.log10(low)) / (Foundation.log10(high) - Foundation.log10(low))
            }
            return (value - low) / (high - low)
        }

        /// Round values inside the range: 1-2-5 steps, or powers of ten on a log axis.
        var ticks: [Double] {
            if log {
                let first = Int(Foundation.log10(low).rounded(.up)), last = Int(Foundation.log10(high).rounded(.down))
                return first <= last ? (first...last).map { pow(10, Double($0)) } : [low, high]
            }
            guard high > low else { return [low] }
            let raw = (high - low) / 5, power = pow(10, Foundation.log10(raw).rounded(.down))
            let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
            var value = (low / step).rounded(.up) * step, result: [Double] = []
            while value <= high + step * 1e-9 {
                result.append(value)
                value += step
            }
            return result
        }
    }

    let width = 640.0, height = 300.0
    let left = 64.0, right = 20.0, top = 16.0, bottom = 48.0
    var x: Axis, y: Axis
    private(set) var body = ""
    private(set) var marks = 0

    init(x: Axis, y: Axis) {
        self.x = x
        self.y = y
    }

    func px(_ value: Double) -> Double { left + x.fraction(value) * (width - left - right) }
    func py(_ value: Double) -> Double { height - bottom - y.fraction(value) * (height - top - bottom) }

    mutating func bar(from x0: Double, to x1: Double, height value: Double) {
        let yTop = py(value), yBase = py(y.low)
        body += "<rect class=\"bar\" x=\"\(f(px(x0)))\" y=\"\(f(yTop))\" width=\"\(f(Swift.max(0.5, px(x1) - px(x0) - 0.5)))\" "
        body += "height=\"\(f(Swift.max(0, yBase - yTop)))\"/>"
        marks += 1
    }

    mutating func point(_ px0: Double, _ py0: Double, highlighted: Bool = false, radius: Double = 1.6, title: String? = nil) {
        body +=
            "<circle class=\"\(highlighted ? "dot outlier" : "dot")\" cx=\"\(f(px(px0)))\" cy=\"\(f(py(py0)))\" r=\"\(highlighted ? max(3, radius) : radius)\">"
        if let title { body += "<title>\(HTML.escape(title))</title>" }
        body += "</circle>"
        marks += 1
    }

    mutating func line(_ points: [(Double, Double)]) {
        body += "<polyline class=\"curve\" points=\"" + points.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ") + "\"/>"
        marks += points.count
    }

    mutating func verticalRule(at value: Double, label: String) {
        let xv = px(value)
        body += "<line class=\"rule\" x1=\"\(f(xv))\" x2=\"\(f(xv))\" y1=\"\(f(top))\" y2=\"\(f(height - bottom))\"/>"
        body += "<text class=\"rule-label\" x=\"\(f(xv - 4))\" y=\"\(f(top + 12))\" text-anchor=\"end\">\(HTML.escape(label))</text>"
    }

    mutating func horizontalRule(at value: Double, label: String) {
        let yv = py(value)
        body += "<line class=\"rule\" x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(yv))\" y2=\"\(f(yv))\"/>"
        body +=
            "<text class=\"rule-label\" x=\"\(f(width - right - 4))\" y=\"\(f(yv - 4))\" text-anchor=\"end\">\(HTML.escape(label))</text>"
    }

    func svg(id: String, title: String) -> String {
        var out = "<svg class=\"chart\" id=\"\(id)\" data-marks=\"\(marks)\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\">"
        out += "<title>\(HTML.escape(title))</title>"
        for tick in x.ticks {
            let xv = px(tick)
            out += "<line class=\"grid\" x1=\"\(f(xv))\" x2=\"\(f(xv))\" y1=\"\(f(top))\" y2=\"\(f(height - bottom))\"/>"
            out +=
                "<text class=\"tick\" x=\"\(f(xv))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\">\(Self.format(tick))</text>"
        }
        for tick in y.ticks {
            let yv = py(tick)
            out += "<line class=\"grid\" x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(yv))\" y2=\"\(f(yv))\"/>"
            out += "<text class=\"tick\" x=\"\(f(left - 6))\" y=\"\(f(yv + 4))\" text-anchor=\"end\">\(Self.format(tick))</text>"
        }
        out +=
            "<line class=\"axis\" x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(height - bottom))\" y2=\"\(f(height - bottom))\"/>"
        out += "<line class=\"axis\" x1=\"\(f(left))\" x2=\"\(f(left))\" y1=\"\(f(top))\" y2=\"\(f(height - bottom))\"/>"
        out += body
        out += "<text class=\"label\" x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">"
        out += "\(HTML.escape(x.label))</text>"
        out += "<text class=\"label\" transform=\"translate(14 \(f((top + height - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">"
        out += "\(HTML.escape(y.label))</text></svg>"
        return out
    }

    /// Tick text: integers as integers, large values with k/M, small ones with up to two decimals.
    static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 1_000_000 { return trimmed(value / 1_000_000) + "M" }
        if magnitude >= 10_000 { return trimmed(value / 1000) + "k" }
        return trimmed(value)
    }

    private static func trimmed(_ value: Double) -> String {
        if value == value.rounded() { return String(Int(value)) }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// A horizontal bar per category (the report's hours per speaker).
struct SVGBarList {
    var label: String
    var rows: [(name: String, value: Double)]

    func svg(id: String, title: String) -> String {
        let rowHeight = 16.0, left = 140.0, right = 60.0, width = 640.0, top = 8.0
        let height = top + rowHeight * Double(rows.count) + 32
        let maxValue = rows.map(\.value).max() ?? 1
        var out = "<svg class=\"chart\" id=\"\(id)\" data-marks=\"\(rows.count)\" viewBox=\"0 0 640 \(Int(height))\" role=\"img\">"
        out += "<title>\(HTML.escape(title))</title>"
        for (i, row) in rows.enumerated() {
            let y = top + Double(i) * rowHeight
            let w = maxValue > 0 ? (width - left - right) * row.value / maxValue : 0
            out += "<text class=\"tick\" x=\"\(left - 6)\" y=\"\(String(format: "%.1f", y + 12))\" text-anchor=\"end\">"
            out += "\(HTML.escape(String(row.name.prefix(20))))</text>"
            out +=
                "<rect class=\"bar\" x=\"\(left)\" y=\"\(String(format: "%.1f", y + 2))\" width=\"\(String(format: "%.1f", Swift.max(0.5, w)))\" "
            out += "height=\"\(rowHeight - 4)\"/>"
            out += "<text class=\"tick\" x=\"\(String(format: "%.1f", left + w + 4))\" y=\"\(String(format: "%.1f", y + 12))\">"
            out += "\(SVGChart.format((row.value * 100).rounded() / 100))</text>"
        }
        out += "<text class=\"label\" x=\"\((left + width - right) / 2)\" y=\"\(Int(height) - 8)\" text-anchor=\"middle\">"
        out += "\(HTML.escape(label))</text></svg>"
        return out
    }
}

enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab and newline are not allowed in HTML text.
                if scalar.value < 0x20 && scalar != "\t" && scalar != "\n" { out += "\u{FFFD}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
