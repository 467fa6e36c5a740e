import Foundation
import XCTest

@testable import KMSIndex

/// Ingest's parsing threads lower their own priority below the writer's, and only their own.
final class ThreadPriorityTests: XCTestCase {
    /// Runs `body` on a new thread and returns its result.
    private func onNewThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: T?
        Thread {
            result = body()
            done.signal()
        }.start()
        done.wait()
        return result!
    }

    func testLoweringOneThreadLeavesTheOthersAsTheyWere() throws {
        let mine = try XCTUnwrap(ThreadPriority.current)
        let (before, lowered, after) = onNewThread { () -> (Int32?, Int32?, Int32?) in
            let before = ThreadPriority.current
            let lowered = ThreadPriority.lowerCurrentThread(by: 3)
            return (before, lowered, ThreadPriority.current)
        }
        let start = try XCTUnwrap(before)
        XCTAssertEqual(lowered, min(19, start + 3))
        XCTAssertEqual(after, lowered)
        XCTAssertEqual(ThreadPriority.current, mine, "the calling thread keeps its priority")
        // A new thread starts from the process's priority, not from the lowered thread's.
        XCTAssertEqual(onNewThread { ThreadPriority.current }, start)
    }

    func testTheLowestPriorityIsNineteen() {
        let (first, second) = onNewThread { () -> (Int32?, Int32?) in
            (ThreadPriority.lowerCurrentThread(by: 30), ThreadPriority.lowerCurrentThread(by: 1))
        }
        XCTAssertEqual(first, 19)
        XCTAssertEqual(second, 19)
    }

    func testNoStepsChangesNothing() {
        let (before, result, after) = onNewThread { () -> (Int32?, Int32?, Int32?) in
            let before = ThreadPriority.current
            return (before, ThreadPriority.lowerCurrentThread(by: 0), ThreadPriority.current)
        }
        XCTAssertEqual(result, before)
        XCTAssertEqual(after, before)
    }
}
