import Foundation

/// A value behind a pthread mutex (NSLock). Not the standard library's `Mutex`: on Linux it hands a contended lock
/// over through a priority-inheritance futex, which ThreadSanitizer cannot see, so every access after such a
/// handover reads to it as a race; a pthread mutex is one it intercepts.
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
