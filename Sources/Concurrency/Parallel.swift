import Foundation

/// Fork-join over a worker's own threads.
public enum Parallel {
    /// Runs `body(i)` for i in 0..<count, concurrently when count > 1. Each index must touch disjoint memory.
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 { return body(0) }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
        }
    }
}

/// Carries a value the caller guarantees is used race-free across threads.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
