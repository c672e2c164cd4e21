import Foundation

/// What `--version` prints: the version, the commit, and the OpenBLAS line every run prints.
enum Version {
    static let number = "0.10.0"

    static var description: String {
        let commit = checkoutCommit().map { "commit \($0)" } ?? "commit unknown (not run from its checkout)"
        let cores = "\(ProcessInfo.processInfo.activeProcessorCount) core(s)"
        return "tokenize-corpus \(number), \(commit)\n\(BLASCoreChoice.describe(threads: cores))"
    }

    /// The commit checked out where the binary lives (`.build/CONFIG/tokenize-corpus` in the repository), read from
    /// `.git` without running git; nil elsewhere.
    static func checkoutCommit() -> String? {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while folder.path != "/" {
            let git = folder.appendingPathComponent(".git")
            if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
                let line = head.trimmingCharacters(in: .whitespacesAndNewlines)
                guard line.hasPrefix("ref: ") else { return String(line.prefix(12)) }
                let ref = String(line.dropFirst(5))
                if let hash = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
                    return String(hash.trimmingCharacters(in: .whitespacesAndNewlines).prefix(12))
                }
                let packed = (try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8)) ?? ""
                return packed.split(separator: "\n").first { $0.hasSuffix(" " + ref) }.map { String($0.prefix(12)) }
            }
            folder.deleteLastPathComponent()
        }
        return nil
    }
}
