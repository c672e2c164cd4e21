import ArgumentParser
import Foundation

/// ArgumentParser reports a missing required option before an unknown one, so `run --modle M` says only that
/// `--model` is missing. Unknown long options are named first, with a suggestion, as for optional flags.
enum UnknownOptions {
    /// The error for the first long option the subcommand does not know, or nil.
    static func message(_ arguments: [String]) -> String? {
        guard let name = arguments.first,
            let command = TokenizeCorpus.configuration.subcommands.first(where: { $0.configuration.commandName == name })
        else { return nil }
        let help = TokenizeCorpus.helpMessage(for: command, columns: 1000)
        let known = Set(matches(of: #"--[a-z0-9][a-z0-9-]*"#, in: help)).union(["--help", "--version"])
        for argument in arguments.dropFirst() {
            if argument == "--" { break }  // the rest are positional
            guard argument.hasPrefix("--") else { continue }
            let option = String(argument.split(separator: "=", maxSplits: 1)[0])
            if known.contains(option) { continue }
            let closest = known.min { distance(option, $0) < distance(option, $1) }
            let suggestion = closest.flatMap { distance(option, $0) <= 3 ? ". Did you mean '\($0)'?" : nil } ?? "."
            return "Error: Unknown option '\(option)'\(suggestion)\n"
                + "  See 'tokenize-corpus \(name) --help' for its options."
        }
        return nil
    }

    private static func matches(of pattern: String, in text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) }
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
