import Foundation

/// A blocking FIFO with a capacity, for handing work between threads. `close()` wakes every waiter:
/// `pop` then drains what is left and returns nil.
public final class BoundedQueue<Element>: @unchecked Sendable {
    /// Popped slots are set to nil at once: holding them until the array is compacted kept up to 1024 popped
    /// elements (decoded audio, manifest batches) alive.
    private var items: [Element?] = []
    private var head = 0
    private let capacity: Int
    private var closed = false
    private let condition = NSCondition()

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// False if the queue was closed (the element is dropped).
    @discardableResult
    public func push(_ element: Element) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while items.count - head >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    /// The next element; nil once closed and empty, or when `timeout` passes.
    public func pop(timeout: TimeInterval? = nil) -> Element? {
        condition.lock(); defer { condition.unlock() }
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        while head == items.count && !closed {
            if let deadline {
                if !condition.wait(until: deadline) { return nil }
            } else {
                condition.wait()
            }
        }
        guard head < items.count else { return nil }
        let element = items[head]
        items[head] = nil
        head += 1
        if head > 1024 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        condition.broadcast()
        return element!
    }

    public func close() {
        condition.lock(); defer { condition.unlock() }
        closed = true
        condition.broadcast()
    }

    public var isClosedAndEmpty: Bool {
        condition.lock(); defer { condition.unlock() }
        return closed && head == items.count
    }
}
