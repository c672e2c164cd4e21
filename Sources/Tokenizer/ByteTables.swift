import Foundation

/// Hash tables for the tokenizer's hot path. Lookups take a byte slice or a packed id pair and never
/// allocate: a Swift `Dictionary<[UInt8], _>` would need an array per probe and SipHash per key.

/// Byte strings to an Int32 value, open addressing with linear probing. Keys live in one arena.
struct ByteStringTable {
    private var arena: [UInt8] = []
    private var slots: [Int32]  // index into `entries`, -1 when empty
    private var entries: [(offset: Int32, length: Int32, value: Int32)] = []
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { entries.count }

    /// Inserts or replaces.
    mutating func set<C: Collection>(_ key: C, _ value: Int32) where C.Element == UInt8 {
        let bytes = Array(key)
        if let slot = bytes.withUnsafeBufferPointer({ findSlot($0) }), slots[slot] >= 0 {
            entries[Int(slots[slot])].value = value
            return
        }
        if (entries.count + 1) * 2 > slots.count { grow() }
        let slot = bytes.withUnsafeBufferPointer { findSlot($0) }!
        slots[slot] = Int32(entries.count)
        entries.append((Int32(arena.count), Int32(bytes.count), value))
        arena.append(contentsOf: bytes)
    }

    func value(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        guard let slot = findSlot(key) else { return nil }
        let entry = slots[slot]
        return entry >= 0 ? entries[Int(entry)].value : nil
    }

    func value(_ key: [UInt8]) -> Int32? { key.withUnsafeBufferPointer { value($0) } }

    /// The slot holding `key`, or the empty slot where it would go.
    private func findSlot(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Int(truncatingIfNeeded: FNV1a.hash(key)) & mask
        return arena.withUnsafeBufferPointer { arena in
            while true {
                let entry = slots[slot]
                if entry < 0 { return slot }
                let (offset, length, _) = entries[Int(entry)]
                if Int(length) == key.count
                    && (key.count == 0 || memcmp(arena.baseAddress! + Int(offset), key.baseAddress!, key.count) == 0)
                {
                    return slot
                }
                slot = (slot + 1) & mask
            }
        }
    }

    private mutating func grow() {
        let old = entries
        slots = Array(repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        arena.withUnsafeBufferPointer { arena in
            for (index, entry) in old.enumerated() {
                let key = UnsafeBufferPointer(rebasing: arena[Int(entry.offset)..<Int(entry.offset + entry.length)])
                var slot = Int(truncatingIfNeeded: FNV1a.hash(key)) & mask
                while slots[slot] >= 0 { slot = (slot + 1) & mask }
                slots[slot] = Int32(index)
            }
        }
    }
}

/// A merge: which token an adjacent pair becomes and its priority (lower merges first).
struct Merge: Equatable {
    var rank: UInt32
    var token: Int32
}

/// Adjacent token pairs (packed into 64 bits) to merges, open addressing with linear probing.
struct PairTable {
    private var keys: [UInt64]
    private var merges: [Merge]
    private var occupied: [Bool]
    private let mask: Int
    private let shift: UInt64

    init(capacity: Int) {
        var size = 16, bits: UInt64 = 4
        while size < capacity * 2 { size <<= 1; bits += 1 }
        keys = Array(repeating: 0, count: size)
        merges = Array(repeating: Merge(rank: 0, token: 0), count: size)
        occupied = Array(repeating: false, count: size)
        mask = size - 1
        shift = 64 - bits
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 { UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right)) }

    @inline(__always)
    private func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Keeps the first merge given for a pair (a later duplicate in a merges list never fires in `tokenizers` either).
    mutating func insertIfAbsent(_ left: Int32, _ right: Int32, _ merge: Merge) {
        let key = Self.key(left, right)
        var slot = home(key)
        while occupied[slot] {
            if keys[slot] == key { return }
            slot = (slot + 1) & mask
        }
        occupied[slot] = true
        keys[slot] = key
        merges[slot] = merge
    }

    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> Merge? {
        let key = Self.key(left, right)
        var slot = home(key)
        while occupied[slot] {
            if keys[slot] == key { return merges[slot] }
            slot = (slot + 1) & mask
        }
        return nil
    }
}

/// GPT-2's byte-level alphabet: every byte is shown as a printable character, so that vocabularies can be
/// stored as JSON strings. Printable Latin-1 bytes stand for themselves; the rest map to U+0100 upwards.
enum ByteLevelAlphabet {
    static let characterOfByte: [Unicode.Scalar] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        var scalars = [Unicode.Scalar](repeating: " ", count: 256)
        for byte in printable { scalars[byte] = Unicode.Scalar(UInt32(byte))! }
        var next: UInt32 = 256
        for byte in 0..<256 where !printable.contains(byte) {
            scalars[byte] = Unicode.Scalar(next)!
            next += 1
        }
        return scalars
    }()

    static let byteOfCharacter: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in characterOfByte.enumerated() { map[scalar.value] = UInt8(byte) }
        return map
    }()

    /// The vocabulary string of raw token bytes.
    static func string(of bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { characterOfByte[Int($0)] }))
    }

    /// The raw bytes a vocabulary string stands for; nil when it holds a character outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byteOfCharacter[scalar.value] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
