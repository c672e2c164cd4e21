/// 64-bit FNV-1a: a fast, stable, non-cryptographic hash, the same on every machine. It partitions shards, fingerprints
/// models and spreads the tokenizer's byte strings over its tables.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    mutating func mix<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }
    }

    @inline(__always)
    static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hasher = FNV1a()
        hasher.mix(bytes)
        return hasher.value
    }
}
