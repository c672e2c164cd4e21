/// 64-bit FNV-1a: a fast, stable, non-cryptographic hash, the same on every machine. It spreads the tokenizer's byte
/// strings over its tables, and (from `Corpus`) partitions shards and fingerprints models; it lives here because this
/// target depends on nothing. `@inlinable`: hashing a model's weights from another module stays specialised.
public struct FNV1a {
    public var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    @inlinable @inline(__always)
    public mutating func mix<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }
    }

    @inlinable @inline(__always)
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hasher = FNV1a()
        hasher.mix(bytes)
        return hasher.value
    }
}
