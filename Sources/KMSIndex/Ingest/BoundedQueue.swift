import Foundation

/// A blocking queue with a capacity, between the threads of an ingest: first in, first out,
/// or, with `largestFirst`, the waiting element of the largest weight first.
///
/// It serves two hand-overs. The files the walker lists go to the parsing threads through
/// one, largest-first by size: a large file taken last would keep one thread parsing alone
/// at the end of the run while the others have nothing left. The parsed pieces go to the
/// single writer through another, in order of arrival.
///
/// `push` waits while the queue is full, so a fast producer cannot fill memory, and once it
/// waited, until the queue is half empty; `pop` waits while it is empty and returns nil once
/// the queue is closed and drained. (So a consumer must not wait for a producer other than
/// through `pop`: none of ingest's does.) Full means the
/// waiting elements' costs add up to the capacity (each costs 1 unless `cost` says more): the
/// writer's queue counts events, so that many small files can wait while the writer updates
/// its summaries, where a count of pieces stopped the parsers after a few files.
final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    /// Popped slots are set to nil at once, so that a consumed element (a file's parsed
    /// events) is freed when its consumer is done with it, not when the array is compacted.
    private var items: [Element?] = []
    private var head = 0
    private let capacity: Int
    private var closed = false
    /// What the waiting elements cost, in all.
    private var waitingCost = 0
    /// Threads waiting in `push` and in `pop`: a change wakes only those it concerns.
    private var blockedProducers = 0
    private var blockedConsumers = 0
    private let cost: ((Element) -> Int)?

    /// With `largestFirst`, `pop` returns the waiting element of the largest weight instead of
    /// the oldest.
    private let weight: ((Element) -> Int)?

    init(capacity: Int, cost: ((Element) -> Int)? = nil, largestFirst weight: ((Element) -> Int)? = nil) {
        self.capacity = max(1, capacity)
        self.cost = cost
        self.weight = weight
    }

    private func costOf(_ element: Element) -> Int { cost.map { max(1, $0(element)) } ?? 1 }

    /// Adds an element; returns false (dropping it) when the queue was closed.
    @discardableResult
    func push(_ element: consuming Element) -> Bool {
        let units = costOf(element)
        condition.lock()
        defer { condition.unlock() }
        // An element costing more than the capacity still goes in, alone.
        while items.count > head && waitingCost + units > capacity && !closed {
            blockedProducers += 1
            condition.wait()
            blockedProducers -= 1
        }
        if closed { return false }
        waitingCost += units
        items.append(element)
        if blockedConsumers > 0 { condition.broadcast() }
        return true
    }

    func pop() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head && !closed {
            blockedConsumers += 1
            condition.wait()
            blockedConsumers -= 1
        }
        if items.count == head { return nil }
        if let weight {
            // A linear search: at most `capacity` elements wait.
            var best = head
            for k in head + 1..<items.count where weight(items[k]!) > weight(items[best]!) { best = k }
            items.swapAt(head, best)
        }
        let element = items[head]
        items[head] = nil
        waitingCost -= costOf(element!)
        head += 1
        if head >= 64 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        // A full queue wakes its producers once it is half empty, not at every pop: the
        // walker then lists files in runs instead of a context switch per file taken.
        if blockedProducers > 0 && (waitingCost <= capacity / 2 || items.count == head) { condition.broadcast() }
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
