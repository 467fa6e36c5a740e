import Foundation
import XCTest

@testable import KMSIndex

/// The queues between ingest's threads: first in first out, or largest first for the files.
final class BoundedQueueTests: XCTestCase {
    func testElementsComeOutInOrderThenNilOnceClosed() {
        let queue = BoundedQueue<Int>(capacity: 8)
        for n in [3, 1, 4, 1, 5] { XCTAssertTrue(queue.push(n)) }
        queue.close()
        XCTAssertFalse(queue.push(9))
        var out: [Int] = []
        while let n = queue.pop() { out.append(n) }
        XCTAssertEqual(out, [3, 1, 4, 1, 5])
    }

    func testLargestFirstAmongThoseWaiting() {
        let queue = BoundedQueue<(name: String, size: Int)>(capacity: 8, largestFirst: { $0.size })
        for (name, size) in [("a", 3), ("b", 1), ("c", 4), ("d", 1), ("e", 5)] { queue.push((name, size)) }
        XCTAssertEqual(queue.pop()?.name, "e")
        XCTAssertEqual(queue.pop()?.name, "c")
        // A later, larger element goes before the smaller ones still waiting.
        queue.push(("f", 9))
        queue.close()
        var out: [String] = []
        while let element = queue.pop() { out.append(element.name) }
        XCTAssertEqual(out.first, "f")
        XCTAssertEqual(out.dropFirst().first, "a")
        XCTAssertEqual(Set(out.dropFirst(2)), ["b", "d"])
        XCTAssertEqual(out.count, 4)
    }

    func testAProducerWaitsWhileTheQueueIsFull() {
        let queue = BoundedQueue<Int>(capacity: 2, largestFirst: { $0 })
        let pushed = expectation(description: "all pushed")
        Thread {
            for n in 0..<100 { queue.push(n) }
            queue.close()
            pushed.fulfill()
        }.start()
        var out: [Int] = []
        while let n = queue.pop() { out.append(n) }
        wait(for: [pushed], timeout: 10)
        XCTAssertEqual(out.sorted(), Array(0..<100))
    }

    func testCapacityCountsEachElementsCostAndAnOversizedOneGoesInAlone() {
        let queue = BoundedQueue<Int>(capacity: 10, cost: { $0 })
        queue.push(4)
        queue.push(6)
        // 4 + 6 fill the capacity: a third push waits until the queue is half empty again.
        let third = DispatchSemaphore(value: 0)
        Thread {
            queue.push(3)
            third.signal()
        }.start()
        XCTAssertEqual(third.wait(timeout: .now() + 0.2), .timedOut)
        XCTAssertEqual(queue.pop(), 4)
        XCTAssertEqual(third.wait(timeout: .now() + 0.2), .timedOut, "6 of 10 wait: more than half")
        XCTAssertEqual(queue.pop(), 6)
        XCTAssertEqual(third.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(queue.pop(), 3)
        // Empty, the queue takes an element costing more than its capacity.
        XCTAssertTrue(queue.push(25))
        queue.close()
        XCTAssertEqual(queue.pop(), 25)
        XCTAssertNil(queue.pop())
    }
}
