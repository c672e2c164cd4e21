import Concurrency
import Foundation

// Where the files a manifest names are: globs expanded, audio paths made absolute (with a cache).

/// Recently resolved audio paths: the cuts of one recording repeat its path on every line, and `standardizingPath`
/// is slow.
enum ResolvedPaths {
    struct Key: Hashable {
        var audio: String, manifest: String, root: String?
    }
    static let cache = Locked<[Key: String]>([:])
}

extension Manifest {
    /// A path as given (absolute), or the files a glob pattern matches, sorted.
    static func expand(_ path: String) throws -> [String] {
        let full = absolute(path)
        guard path.contains(where: { "*?[".contains($0) }), !FileManager.default.fileExists(atPath: full) else { return [full] }
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(full, 0, nil, &matches) == 0, matches.gl_pathc > 0 else { throw ManifestError.noMatch(path) }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    /// An absolute, standardised path: a store resumed from another working directory must find the same files.
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (full as NSString).standardizingPath
    }

    /// An audio path from `manifest`: absolute as it is, relative against `--audio-root` or the manifest's folder.
    static func resolve(_ audio: String, against manifest: String, root: String? = nil) -> String {
        let key = ResolvedPaths.Key(audio: audio, manifest: manifest, root: root)
        if let known = ResolvedPaths.cache.withLock({ $0[key] }) { return known }
        let resolved = resolveUncached(audio, against: manifest, root: root)
        ResolvedPaths.cache.withLock { cache in
            if cache.count > 4096 { cache.removeAll() }
            cache[key] = resolved
        }
        return resolved
    }

    private static func resolveUncached(_ audio: String, against manifest: String, root: String?) -> String {
        if audio.hasPrefix("/") { return absolute(audio) }
        let base = root.map(absolute) ?? (manifest as NSString).deletingLastPathComponent
        return absolute((base as NSString).appendingPathComponent(audio))
    }

    static func defaultID(for audio: String) -> String { (audio as NSString).deletingPathExtension }
}
