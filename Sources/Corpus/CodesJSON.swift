import Foundation

/// The one-line JSON object `codes` prints, keys in a fixed order:
/// {"path", "sample_rate", "num_samples", "duration", "codes"}.
public enum CodesJSON {
    public static func line(path: String, sampleRate: Int, numSamples: Int, duration: Double, codes: [Int32]) -> String {
        var out = "{\"path\":\(quoted(path)),\"sample_rate\":\(sampleRate),\"num_samples\":\(numSamples),"
        out += "\"duration\":\(duration),\"codes\":["
        out += codes.map(String.init).joined(separator: ",")
        out += "]}"
        return out
    }

    /// A JSON string literal.
    public static func quoted(_ s: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try! encoder.encode(s)
        return String(decoding: data, as: UTF8.self)
    }

    /// The `codes` array of a JSON object such as `codes` prints.
    public static func codes(from data: Data, source: String) throws -> [Int] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CodesJSONError.notAnObject(source)
        }
        guard let codes = object["codes"] as? [Int] else { throw CodesJSONError.noCodes(source) }
        return codes
    }
}

public enum CodesJSONError: Error, CustomStringConvertible {
    case notAnObject(String), noCodes(String)
    public var description: String {
        switch self {
        case let .notAnObject(source): return "\(source): not a JSON object"
        case let .noCodes(source): return "\(source): no \"codes\" array of integers"
        }
    }
}
