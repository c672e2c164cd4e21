import Foundation

public enum ModelLocatorError: Error, CustomStringConvertible {
    case notFound(String, cache: String)
    public var description: String {
        switch self {
        case let .notFound(id, cache):
            return "model \(id) is neither a folder nor in the Hugging Face cache (\(cache)); pass --model /path/to/folder or fetch it with `huggingface-cli download \(id)`"
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

    public static func isHubID(_ value: String) -> Bool {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && !$0.hasPrefix(".") }
            && !value.hasPrefix("/") && !FileManager.default.fileExists(atPath: value)
    }

    /// The snapshot folder of `id` in `cache` (`models--ORG--NAME/snapshots/REV`): the revision `refs/main`
    /// names, else the most recently modified snapshot that has a config.json.
    public static func cachedSnapshot(_ id: String, cache: URL) -> URL? {
        let repo = cache.appendingPathComponent("models--" + id.replacingOccurrences(of: "/", with: "--"))
        let snapshots = repo.appendingPathComponent("snapshots")
        let fm = FileManager.default
        if let ref = try? String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8) {
            let snapshot = snapshots.appendingPathComponent(ref.trimmingCharacters(in: .whitespacesAndNewlines))
            if fm.fileExists(atPath: snapshot.appendingPathComponent("config.json").path) { return snapshot }
        }
        guard let revisions = try? fm.contentsOfDirectory(at: snapshots, includingPropertiesForKeys: [.contentModificationDateKey]) else { return nil }
        let candidates = revisions.filter { fm.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
        return candidates.max { a, b in
            let da = (try? a.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            let db = (try? b.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            return da < db
        }
    }

    /// A folder for `--model`: the folder itself, the cached snapshot of a Hub id, or (with `download`)
    /// the Hub id fetched into the cache unless `HF_HUB_OFFLINE=1`.
    public static func resolve(_ model: String, download: Bool = false, environment: [String: String] = ProcessInfo.processInfo.environment,
                               log: @escaping (String) -> Void = { _ in }) throws -> URL {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), isDirectory.boolValue {
            return URL(fileURLWithPath: model)
        }
        let cache = hubCache(environment: environment)
        if isHubID(model), let snapshot = cachedSnapshot(model, cache: cache) { return snapshot }
        guard download, isHubID(model) else { throw ModelLocatorError.notFound(model, cache: cache.path) }
        if ["1", "true", "yes", "on"].contains(environment["HF_HUB_OFFLINE"]?.lowercased() ?? "") {
            throw HubError.offline(model, cache: cache.path)
        }
        return try HubDownloader(id: model, environment: environment, log: log).download()
    }
}
