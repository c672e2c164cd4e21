import Foundation
import Tokenizer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A Hub repository as messages name it: `model ORG/NAME` or `tokenizer ORG/NAME`.
public struct HubRepo: Sendable, CustomStringConvertible {
    public var kind: String
    public var id: String
    public var description: String { "\(kind) \(id)" }
}

public enum HubError: Error, CustomStringConvertible {
    case offline(HubRepo, cache: String)
    case http(HubRepo, status: Int, url: String)
    case network(HubRepo, String)
    case noWeights(HubRepo)
    case badResponse(HubRepo, String)

    public var description: String {
        switch self {
        case let .offline(repo, cache):
            return
                "\(repo) is not in the Hugging Face cache (\(cache)) and HF_HUB_OFFLINE=1 forbids "
                + "downloading it; pass a local folder or fetch it elsewhere with `huggingface-cli download \(repo.id)`"
                + " (HF_TOKEN for a gated one)"
        case let .http(repo, status, url):
            let hint =
                status == 401 || status == 403
                ? " (set HF_TOKEN for a gated or private repository)" : status == 404 ? " (no such repository or file)" : ""
            return "\(repo): HTTP \(status) from \(url)\(hint)"
        case let .network(repo, why):
            return
                "\(repo) is not in the Hugging Face cache and could not be downloaded: \(why); pass "
                + "a local folder, or run `huggingface-cli download \(repo.id)` where the Hub is reachable (HF_TOKEN for a gated one)"
        case let .noWeights(repo): return "\(repo): the repository has no model.safetensors or model.safetensors.index.json"
        case let .badResponse(repo, why): return "\(repo): unexpected answer from the Hub: \(why)"
        }
    }
}

/// Downloads a model repository into the standard Hugging Face cache layout
/// (`models--ORG--NAME/{blobs,snapshots/REV,refs/main}`), so `huggingface-cli` and this tool share files.
/// `HF_ENDPOINT` (default https://huggingface.co), `HF_TOKEN`; a partial blob (`.incomplete`) resumes
/// with an HTTP range request.
public final class HubDownloader: NSObject, @unchecked Sendable {
    let id: String
    /// What the repository is for, in messages: "model" or "tokenizer".
    public var kind = "model"
    var repo: HubRepo { HubRepo(kind: kind, id: id) }
    let endpoint: String
    let token: String?
    let cache: URL
    let log: (String) -> Void

    public init(id: String, environment: [String: String] = ProcessInfo.processInfo.environment, log: @escaping (String) -> Void) {
        self.id = id
        var endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        cache = ModelLocator.hubCache(environment: environment)
        self.log = log
    }

    var repoFolder: URL { cache.appendingPathComponent("models--" + id.replacingOccurrences(of: "/", with: "--")) }

    /// The files of an X-Codec2 model: config, preprocessor config and weights (one file or shards).
    public static func modelFiles(id: String, available: Set<String>) throws -> [String] {
        var wanted = ["config.json"]
        if available.contains("preprocessor_config.json") { wanted.append("preprocessor_config.json") }
        if available.contains("model.safetensors") {
            wanted.append("model.safetensors")
        } else if available.contains("model.safetensors.index.json") {
            wanted.append("model.safetensors.index.json")
        } else {
            throw HubError.noWeights(HubRepo(kind: "model", id: id))
        }
        return wanted
    }

    /// The files of a text tokenizer: tokenizer.json, else a tiktoken tokenizer.model (Meta's repos keep it in
    /// original/), and tokenizer_config.json for the EOS token.
    public static func tokenizerFiles(id: String, available: Set<String>) throws -> [String] {
        guard let main = ["tokenizer.json", "tokenizer.model", "original/tokenizer.model"].first(where: available.contains) else {
            throw HubError.badResponse(HubRepo(kind: "tokenizer", id: id), "no tokenizer.json or tokenizer.model in the repository")
        }
        return [main] + ["tokenizer_config.json", "chat_template.jinja"].filter(available.contains)
    }

    /// The snapshot folder with the model's files.
    public func download() throws -> URL { try download(select: Self.modelFiles) }

    /// The snapshot folder with the files `select` picks from the repository's list.
    public func download(select: (String, Set<String>) throws -> [String]) throws -> URL {
        let info = try json(url: "\(endpoint)/api/models/\(id)/revision/main")
        guard let sha = info["sha"] as? String, let siblings = info["siblings"] as? [[String: Any]] else {
            throw HubError.badResponse(repo, "no sha or siblings in the model info")
        }
        let wanted = try select(id, Set(siblings.compactMap { $0["rfilename"] as? String }))
        let snapshot = repoFolder.appendingPathComponent("snapshots/\(sha)")
        let fm = FileManager.default
        try fm.createDirectory(at: repoFolder.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
        var queue = wanted
        var index = 0
        while index < queue.count {
            let name = queue[index]
            index += 1
            try fetch(name, revision: sha, into: snapshot)
            if name == "model.safetensors.index.json" {
                let data = try Data(contentsOf: snapshot.appendingPathComponent(name))
                let map = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["weight_map"] as? [String: String] ?? [:]
                queue += Set(map.values).sorted()
            }
        }
        try fm.createDirectory(at: repoFolder.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try sha.write(to: repoFolder.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
        return snapshot
    }

    /// One file: HEAD (no redirects) for its etag, then the blob, resumed if partial, and the snapshot link.
    func fetch(_ name: String, revision: String, into snapshot: URL) throws {
        let link = snapshot.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: link.path) { return }
        let url = "\(endpoint)/\(id)/resolve/\(revision)/\(name)"
        let head = try request(url: url, method: "HEAD", followRedirects: false)
        let rawTag = head.value(forHTTPHeaderField: "X-Linked-Etag") ?? head.value(forHTTPHeaderField: "ETag") ?? revision + "-" + name
        let etag = rawTag.replacingOccurrences(of: "W/", with: "").replacingOccurrences(of: "\"", with: "")
        let expected = Int(head.value(forHTTPHeaderField: "X-Linked-Size") ?? head.value(forHTTPHeaderField: "Content-Length") ?? "")
        let blob = repoFolder.appendingPathComponent("blobs/\(etag)")
        if !FileManager.default.fileExists(atPath: blob.path) {
            try streamToBlob(url: url, blob: blob, expected: expected, name: name)
        }
        try FileManager.default.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
        let depth = name.split(separator: "/").count - 1
        let relative = String(repeating: "../", count: depth + 2) + "blobs/\(etag)"
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: relative)
    }

    // MARK: HTTP

    private func authorized(_ url: String, method: String) throws -> URLRequest {
        guard let u = URL(string: url) else { throw HubError.badResponse(repo, "bad URL \(url)") }
        var request = URLRequest(url: u)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.setValue("tokenize-corpus", forHTTPHeaderField: "User-Agent")
        return request
    }

    private func json(url: String) throws -> [String: Any] {
        let (data, _) = try dataRequest(url: url)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HubError.badResponse(repo, "\(url) did not return a JSON object")
        }
        return object
    }

    private func dataRequest(url: String) throws -> (Data, HTTPURLResponse) {
        let request = try authorized(url, method: "GET")
        let box = ResultBox<(Data, URLResponse)>()
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { box.set(.failure(error)) } else { box.set(.success((data ?? Data(), response!))) }
        }.resume()
        let (data, response) = try wait(box)
        guard let http = response as? HTTPURLResponse else { throw HubError.badResponse(repo, "not HTTP") }
        guard (200..<300).contains(http.statusCode) else { throw HubError.http(repo, status: http.statusCode, url: url) }
        return (data, http)
    }

    private func request(url: String, method: String, followRedirects: Bool) throws -> HTTPURLResponse {
        let request = try authorized(url, method: method)
        let box = ResultBox<URLResponse>()
        let session = URLSession(configuration: .ephemeral, delegate: followRedirects ? nil : NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request) { _, response, error in
            if let error { box.set(.failure(error)) } else { box.set(.success(response!)) }
        }.resume()
        guard let http = try wait(box) as? HTTPURLResponse else { throw HubError.badResponse(repo, "not HTTP") }
        guard (200..<400).contains(http.statusCode) else { throw HubError.http(repo, status: http.statusCode, url: url) }
        return http
    }

    private func wait<T>(_ box: ResultBox<T>) throws -> T {
        switch box.wait() {
        case let .success(value): return value
        case let .failure(error): throw HubError.network(repo, (error as NSError).localizedDescription)
        }
    }

    /// GET into `blob.incomplete`, appending from its current size, then renames it.
    private func streamToBlob(url: String, blob: URL, expected: Int?, name: String) throws {
        let partial = blob.appendingPathExtension("incomplete")
        let fm = FileManager.default
        if !fm.fileExists(atPath: partial.path) && !fm.createFile(atPath: partial.path, contents: nil) {
            throw HubError.network(repo, "cannot create \(partial.path)")
        }
        let have = (try fm.attributesOfItem(atPath: partial.path)[.size] as? NSNumber)?.intValue ?? 0
        if let expected, have == expected {
            try fm.moveItem(at: partial, to: blob)
            return
        }
        var request = try authorized(url, method: "GET")
        if have > 0 { request.setValue("bytes=\(have)-", forHTTPHeaderField: "Range") }
        log("downloading \(id)/\(name)\(have > 0 ? " (resuming at \(have) bytes)" : "")")
        let sink = try BlobSink(path: partial.path, offset: have, expected: expected, name: name, log: log)
        let session = URLSession(configuration: .default, delegate: sink, delegateQueue: nil)
        session.dataTask(with: request).resume()
        let outcome = sink.done.wait()
        session.finishTasksAndInvalidate()
        switch outcome {
        case let .failure(error as HubError): throw error
        case let .failure(error): throw HubError.network(repo, (error as NSError).localizedDescription)
        case let .success(status):
            guard status == 200 || status == 206 else { throw HubError.http(repo, status: status, url: url) }
        }
        let size = (try fm.attributesOfItem(atPath: partial.path)[.size] as? NSNumber)?.intValue ?? 0
        if let expected, size != expected {
            throw HubError.network(repo, "\(name) ended at \(size) of \(expected) bytes; rerun to resume")
        }
        try fm.moveItem(at: partial, to: blob)
    }
}

/// A one-shot result handed from a callback thread to a waiting one.
final class ResultBox<T>: @unchecked Sendable {
    private var result: Result<T, Error>?
    private let condition = NSCondition()
    func set(_ value: Result<T, Error>) {
        condition.lock(); result = value; condition.broadcast(); condition.unlock()
    }
    func wait() -> Result<T, Error> {
        condition.lock(); defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}

final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}

/// Appends response bytes to the partial blob as they arrive, with progress every few seconds.
final class BlobSink: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let handle: FileHandle
    var written: Int
    let expected: Int?
    let name: String
    let log: (String) -> Void
    let done = ResultBox<Int>()
    var status = 0
    var lastReport = Date()
    let start: Int

    init(path: String, offset: Int, expected: Int?, name: String, log: @escaping (String) -> Void) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw HubError.network(HubRepo(kind: "file", id: name), "cannot write \(path)")
        }
        self.handle = handle
        written = offset
        start = offset
        self.expected = expected
        self.name = name
        self.log = log
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        if status == 200 && written > 0 {
            // The server ignored the range: start over.
            handle.truncateFile(atOffset: 0)
            written = 0
        } else {
            handle.seekToEndOfFile()
        }
        completionHandler(status == 200 || status == 206 ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        handle.write(data)
        written += data.count
        if Date().timeIntervalSince(lastReport) >= 5 {
            lastReport = Date()
            let total =
                expected.map { String(format: " of %.1f MB (%.0f%%)", Double($0) / 1e6, 100 * Double(written) / Double(max($0, 1))) } ?? ""
            log(String(format: "  %@: %.1f MB", name, Double(written) / 1e6) + total)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        try? handle.synchronize()
        try? handle.close()
        if let error { done.set(.failure(error)) } else { done.set(.success(status)) }
    }
}
