import Foundation

/// Codes as a BLOB of little-endian uint16 (the codebook has 65536 entries).
public enum CodeBlob {
    public static func encode(_ codes: [Int32]) -> Data {
        var data = Data(count: codes.count * 2)
        data.withUnsafeMutableBytes { raw in
            for (i, code) in codes.enumerated() {
                raw.storeBytes(of: UInt16(truncatingIfNeeded: code).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        }
        return data
    }

    public static func decode(_ data: Data) -> [Int32] {
        data.withUnsafeBytes { raw in
            (0..<(data.count / 2)).map { Int32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        }
    }
}
