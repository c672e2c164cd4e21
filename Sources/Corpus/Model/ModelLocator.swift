import Foundation
import Tokenizer

public enum ModelLocatorError: Error, CustomStringConvertible {
    case notFound(String, cache: String, option: String)
    public var description: String {
        switch self {
        case let .notFound(value, cache, option):
            // A path is not a Hub id: no download would help.
            guard ModelLocator.looksLikeHubID(value) else { return "--\(option) \(value): no such file or folder" }
            return
                "\(option) \(value) is neither a folder nor in the Hugging Face cache (\(cache)); pass "
                + "--\(option) /path/to/folder or fetch it with `huggingface-cli download \(value)` (HF_TOKEN for a gated one)"
        }
    }
}

/// Resolves `--model`: a folder, or a Hub id (`ORG/NAME`) already in the local Hugging Face cache.
public enum ModelLocator {
    /// `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`.
    public static func hubCache(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let cache = environment["HF_HUB_CACHE"], !cache.isEmpty { return URL(fileURLWithPath: cache) }
        if let home = environment["HF_HOME"], !home.isEmpty { return URL(fileURLWithPath: home).appendingPathComponent("hub") }
        let user = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: user).appendingPathComponent(".cache/huggingface/hub")
    }

    /// `ORG/NAME` written as a Hub id, whether or not a file of that name exists.
    static func looksLikeHubID(_ value: String) -> Bool {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && !$0.hasPrefix(".") && !$0.hasPrefix("~") }
    }

    public static func isHubID(_ value: String) -> Bool {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && !$0.hasPrefix(".") }
            && !value.hasPrefix("/") && !FileManager.default.fileExists(atPath: value)
    }

    /// The snapshot folder of `id` in `cache` (`models--ORG--NAME/snapshots/REV`): the revision `refs/main`
    /// names, else the most recently modified snapshot that has one of the `marker` files.
    public static func cachedSnapshot(_ id: String, cache: URL, marker: [String] = ["config.json"]) -> URL? {
        let repo = cache.appendingPathComponent("models--" + id.replacingOccurrences(of: "/", with: "--"))
        let snapshots = repo.appendingPathComponent("snapshots")
        let fm = FileManager.default
        if let ref = try? String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8) {
            let snapshot = snapshots.appendingPathComponent(ref.trimmingCharacters(in: .whitespacesAndNewlines))
            if marker.contains(where: { fm.fileExists(atPath: snapshot.appendingPathComponent($0).path) }) { return snapshot }
        }
        guard let revisions = try? fm.contentsOfDirectory(at: snapshots, includingPropertiesForKeys: [.contentModificationDateKey]) else {
            return nil
        }
        let candidates = revisions.filter { revision in marker.contains { fm.fileExists(atPath: revision.appendingPathComponent($0).path) }
        }
        return candidates.max { a, b in
            let da = (try? a.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            let db = (try? b.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            return da < db
        }
    }

    /// A folder for `--model`: the folder itself, the cached snapshot of a Hub id, or (with `download`)
    /// the Hub id fetched into the cache unless `HF_HUB_OFFLINE=1`.
    public static func resolve(
        _ model: String, download: Bool = false, environment: [String: String] = ProcessInfo.processInfo.environment,
        log: @escaping (String) -> Void = { _ in }
    ) throws -> URL {
        try resolve(
            model, option: "model", marker: ["config.json"], select: HubDownloader.modelFiles, download: download,
            environment: environment, log: log)
    }

    static let tokenizerMarkers = ["tokenizer.json", "tokenizer.model", "original/tokenizer.model"]

    /// A path for `--tokenizer`: a file or folder as given, else a Hub id (e.g. meta-llama/Llama-3.2-1B-Instruct,
    /// HKUSTAudio/Llasa-1B) from the cache or, with `download`, fetched: tokenizer files only.
    public static func resolveTokenizer(
        _ tokenizer: String, download: Bool = true, environment: [String: String] = ProcessInfo.processInfo.environment,
        log: @escaping (String) -> Void = { _ in }
    ) throws -> String {
        guard isHubID(tokenizer) else { return tokenizer }  // a path (isHubID is false for anything that exists)
        let folder = try resolve(
            tokenizer, option: "tokenizer", marker: tokenizerMarkers, select: HubDownloader.tokenizerFiles,
            download: download, environment: environment, log: log)
        return folder.path
    }

    static func resolve(
        _ value: String, option: String, marker: [String], select: (String, Set<String>) throws -> [String],
        download: Bool, environment: [String: String], log: @escaping (String) -> Void
    ) throws -> URL {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: value, isDirectory: &isDirectory), isDirectory.boolValue {
            return URL(fileURLWithPath: value)
        }
        let cache = hubCache(environment: environment)
        if isHubID(value), let snapshot = cachedSnapshot(value, cache: cache, marker: marker) { return snapshot }
        guard download, isHubID(value) else { throw ModelLocatorError.notFound(value, cache: cache.path, option: option) }
        if ["1", "true", "yes", "on"].contains(environment["HF_HUB_OFFLINE"]?.lowercased() ?? "") {
            throw HubError.offline(HubRepo(kind: option, id: value), cache: cache.path)
        }
        let downloader = HubDownloader(id: value, environment: environment, log: log)
        downloader.kind = option
        return try downloader.download(select: select)
    }
}
