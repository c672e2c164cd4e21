import Foundation
import Tokenizer

/// `--shard i/N`: utterance ids partitioned by a stable hash (64-bit FNV-1a of the UTF-8 id), so the
/// partition depends on nothing but the id.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(String), notInArrayJob, badEnvironment(String)
        public var description: String {
            switch self {
            case let .malformed(s): return "--shard \(s): expected i/N with 0 <= i < N, or auto"
            case .notInArrayJob:
                return "--shard auto: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set (not inside a Slurm array job)"
            case let .badEnvironment(why): return "--shard auto: \(why)"
            }
        }
    }

    /// "i/N", or "auto" from the Slurm array variables (task ids may start at SLURM_ARRAY_TASK_MIN).
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        if text == "auto" {
            guard let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init),
                let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init)
            else { throw ParseError.notInArrayJob }
            let minimum = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
            let index = id - minimum
            guard count > 0, index >= 0, index < count else {
                throw ParseError.badEnvironment("task \(id) with minimum \(minimum) is outside a \(count)-task array")
            }
            return Shard(index: index, count: count)
        }
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n > 0, i >= 0, i < n else {
            throw ParseError.malformed(text)
        }
        return Shard(index: i, count: n)
    }

    public static func hash(_ id: String) -> UInt64 { FNV1a.hash(id.utf8) }

    public func contains(_ id: String) -> Bool { Int(Self.hash(id) % UInt64(count)) == index }

    public var description: String { "\(index)/\(count)" }
}
