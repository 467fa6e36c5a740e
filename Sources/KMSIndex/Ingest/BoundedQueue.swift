import Foundation

/// A blocking first-in first-out queue with a capacity, between the threads of an ingest.
///
/// `push` waits while the queue is full, so a fast producer cannot fill memory; `pop` waits
/// while it is empty and returns nil once the queue is closed and drained.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Popped slots are set to nil at once, so that a consumed element (a file's parsed
    /// events) is freed when its consumer is done with it, not when the array is compacted.
    private var items: [Element?] = []
    private var head = 0
    private let capacity: Int
    private var closed = false

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Adds an element; returns false (dropping it) when the queue was closed.
    @discardableResult
    func push(_ element: consuming Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(element)
        condition.broadcast()
        return true
    }

    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head && !closed { condition.wait() }
        if items.count == head { return nil }
        let element = items[head]
        items[head] = nil
        head += 1
        if head >= 64 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return element!
    }

    /// No more pushes; waiting consumers drain what is left, then get nil.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
