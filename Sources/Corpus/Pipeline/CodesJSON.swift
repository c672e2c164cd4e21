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

    /// A JSON string literal, escaped as JSONEncoder with `.withoutEscapingSlashes` writes it (written by hand:
    /// a JSONEncoder per call is the cost of a JSONL export line).
    public static func quoted(_ s: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count + 2)
        out.append(UInt8(ascii: "\""))
        let hex = Array("0123456789abcdef".utf8)
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    /// The `codes` array of a JSON object such as `codes` prints.
    public static func codes(from data: Data, source: String) throws -> [Int32] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CodesJSONError.notAnObject(source)
        }
        guard let codes = object["codes"] as? [Int] else { throw CodesJSONError.noCodes(source) }
        // Codes are Int32 from the encoder to the decoder; a larger number is no code (the decoder names the range).
        if let index = codes.firstIndex(where: { Int32(exactly: $0) == nil }) {
            throw CodesJSONError.notACode(source, index: index, value: codes[index])
        }
        return codes.map { Int32($0) }
    }
}

public enum CodesJSONError: Error, CustomStringConvertible {
    case notAnObject(String), noCodes(String)
    case notACode(String, index: Int, value: Int)
    public var description: String {
        switch self {
        case let .notAnObject(source): return "\(source): not a JSON object"
        case let .noCodes(source): return "\(source): no \"codes\" array of integers"
        case let .notACode(source, index, value): return "\(source): code \(value) at position \(index) is not a code"
        }
    }
}
