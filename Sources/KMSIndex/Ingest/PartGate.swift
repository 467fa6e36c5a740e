import Foundation

/// Where parsers wait before handing over a large file's first part while the writer waits to
/// commit: the writer commits only when no file is open (read in parts, not ended), so that
/// every file is committed whole or not at all, and no new file opens until it has.
final class PartGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var closed = false

    /// Returns once the gate is open (at once, nearly always).
    func waitUntilOpen() {
        condition.lock()
        while closed { condition.wait() }
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.unlock()
    }

    func open() {
        condition.lock()
        if closed {
            closed = false
            condition.broadcast()
        }
        condition.unlock()
    }
}
