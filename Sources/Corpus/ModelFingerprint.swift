import Foundation

/// A fingerprint of a model folder that is cheap for 2.5 GB of weights: 64-bit FNV-1a over the config
/// files, every safetensors header and 4 KiB samples every 16 MiB of tensor data plus the file sizes.
/// It tells models apart; it is not a cryptographic hash.
public enum ModelFingerprint {
    public static func of(directory: URL) throws -> String {
        var hash = FNV1a()
        func mix(_ data: Data) { hash.mix(data) }
        let fm = FileManager.default
        for name in ["config.json", "preprocessor_config.json"] {
            if let data = fm.contents(atPath: directory.appendingPathComponent(name).path) { mix(data) }
        }
        let weights = try fm.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".safetensors") }.sorted()
        for name in weights {
            let path = directory.appendingPathComponent(name).path
            guard let handle = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? handle.close() }
            let size = (try fm.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            mix(Data(name.utf8))
            mix(Data(String(size).utf8))
            let header = handle.readData(ofLength: 8)
            guard header.count == 8 else { continue }
            let headerLength = Int(header.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
            mix(handle.readData(ofLength: min(headerLength, 64 << 20)))
            var offset = 8 + headerLength
            while offset < size {
                try handle.seek(toOffset: UInt64(offset))
                mix(handle.readData(ofLength: 4096))
                offset += 16 << 20
            }
        }
        return String(format: "%016llx", hash.value)
    }
}
