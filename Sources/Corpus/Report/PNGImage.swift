import Foundation

/// An 8-bit palette PNG, written with stored (uncompressed) deflate blocks: enough for the report's small
/// spectrogram images, which browsers show from a data: URI without any image library here.
struct PNGImage {
    let width: Int, height: Int
    /// Palette indices, row-major, top row first.
    var pixels: [UInt8]
    /// RGB, 256 entries.
    var palette: [(UInt8, UInt8, UInt8)]

    var data: Data {
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [8, 3, 0, 0, 0])  // 8 bits, palette, deflate, no filter, no interlace
        png.appendChunk("IHDR", header)
        png.appendChunk("PLTE", Data(palette.flatMap { [$0.0, $0.1, $0.2] }))
        var raw = Data(capacity: (width + 1) * height)
        for row in 0..<height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: pixels[(row * width)..<((row + 1) * width)])
        }
        png.appendChunk("IDAT", Self.zlibStored(raw))
        png.appendChunk("IEND", Data())
        return png
    }

    /// zlib framing around stored deflate blocks of at most 65535 bytes, with the Adler-32 of the data.
    static func zlibStored(_ data: Data) -> Data {
        var out = Data([0x78, 0x01])
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            out.append(offset + length == data.count ? 1 : 0)
            out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)])
            out.append(data[(data.startIndex + offset)..<(data.startIndex + offset + length)])
            offset += length
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        out.appendBigEndian(b << 16 | a)
        return out
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// A perceptually ordered dark-to-bright palette (viridis' anchors, interpolated).
    static let viridis: [(UInt8, UInt8, UInt8)] = {
        let anchors: [(Double, Double, Double)] = [
            (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
            (31, 158, 137), (53, 183, 121), (110, 206, 88), (181, 222, 43), (253, 231, 37),
        ]
        return (0..<256).map { i in
            let t = Double(i) / 255 * Double(anchors.count - 1)
            let lo = min(anchors.count - 2, Int(t)), f = t - Double(lo)
            let (a, b) = (anchors[lo], anchors[lo + 1])
            func mix(_ x: Double, _ y: Double) -> UInt8 { UInt8((x + (y - x) * f).rounded()) }
            return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
        }
    }()
}

extension Data {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }

    mutating func appendChunk(_ type: String, _ body: Data) {
        appendBigEndian(UInt32(body.count))
        let typed = Data(type.utf8) + body
        append(typed)
        appendBigEndian(PNGImage.crc32(typed))
    }
}
