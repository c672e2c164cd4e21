import Codec
import Foundation
import Tokenizer

/// A fingerprint of a model folder that is cheap for 2.5 GB of weights: 64-bit FNV-1a over the config
/// files, every safetensors header and 4 KiB samples every 16 MiB of tensor data plus the file sizes.
/// It tells models apart; it is not a cryptographic hash.
public enum ModelFingerprint {
    public static func of(directory: URL) throws -> String { try of(directory: directory, sizingLinks: false) }

    /// What versions before the provenance change computed for a folder whose weights are symlinks (a Hub cache):
    /// the size of the link rather than of its file, so no tensor data was sampled. Only to recognise the stores
    /// bound with it; nil when no weights file is a link.
    public static func former(directory: URL) throws -> String? {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".safetensors") }
        let linked = names.contains { name in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: directory.appendingPathComponent(name).path)) != nil
        }
        return linked ? try of(directory: directory, sizingLinks: true) : nil
    }

    private static func of(directory: URL, sizingLinks: Bool) throws -> String {
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
            let sized = sizingLinks ? path : URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            let size = (try fm.attributesOfItem(atPath: sized)[.size] as? NSNumber)?.intValue ?? 0
            mix(Data(name.utf8))
            mix(Data(String(size).utf8))
            // The header length through the one checked reader: a crafted length is an error naming the file, not a trap.
            let dataStart = try SafeTensorsFile(url: URL(fileURLWithPath: path)).dataStart
            let headerLength = dataStart - 8
            _ = handle.readData(ofLength: 8)
            mix(handle.readData(ofLength: min(headerLength, 64 << 20)))
            var offset = dataStart
            while offset < size {
                try handle.seek(toOffset: UInt64(offset))
                mix(handle.readData(ofLength: 4096))
                offset += 16 << 20
            }
        }
        return String(format: "%016llx", hash.value)
    }
}
