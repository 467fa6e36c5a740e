/// A growable window of bytes: producers append at `end`, consumers advance `start`.
///
/// The parser reads records straight out of this memory, so it is an unsafe buffer kept
/// behind a small API, as swift-nio's `ByteBuffer` is: its memory is lent only to closures
/// (`withUnsafeUnreadBytes` to read, `appendWithUnsafeFreeBytes` to fill), never returned.
///
/// The rule that keeps this safe holds here: growing (`reserveFree`, so any refill) moves the
/// memory and frees the old one, so a pointer taken inside one of those closures, or a
/// `JSONScanner` made over it, must not be used after the closure returns. Indices (`start`,
/// `end`, a scanner's position) stay valid across a move; pointers do not.
final class ByteWindow {
    // Read by the parser around every record, so they go without the run-time exclusivity
    // checks of class properties: only the methods below change them, and none of those
    // accesses can overlap another (no method calls out while changing one).
    @exclusivity(unchecked) private var base: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var capacity: Int
    /// Index of the first unconsumed byte.
    @exclusivity(unchecked) private(set) var start = 0
    /// Index one past the last valid byte.
    @exclusivity(unchecked) private(set) var end = 0

    init(capacity: Int = 1 << 20) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Number of unconsumed bytes.
    var count: Int { end - start }

    /// Moves unconsumed bytes to the front, so that free space is at the back.
    func compact() {
        guard start > 0 else { return }
        let n = end - start
        if n > 0 { (base).update(from: base + start, count: n) }
        start = 0
        end = n
    }

    /// Makes room for at least `n` more bytes after `end`, compacting or growing. Either moves
    /// the bytes, so no pointer into the window may live across a call (see the type).
    func reserveFree(_ n: Int) {
        if capacity - end >= n { return }
        compact()
        if capacity - end >= n { return }
        var newCapacity = capacity * 2
        while newCapacity - end < n { newCapacity *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: base, count: end)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }

    /// Calls `body` with the window's memory up to `end`, and `start`: the unread bytes are
    /// `bytes[start...]`, at the same indices as the window's. The memory is valid only while
    /// `body` runs. Inlined: the parser calls it around every record.
    @inline(__always)
    func withUnsafeUnreadBytes<T>(_ body: (_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) throws -> T) rethrows -> T {
        try body(UnsafeBufferPointer(start: base, count: end), start)
    }

    /// Free space after `end`, in bytes.
    var freeCount: Int { capacity - end }

    /// Lets a producer write into the free space after `end` (`freeCount` bytes): `body`
    /// returns how many bytes it wrote at the start of it, which are then appended. The memory
    /// is valid only while `body` runs.
    @discardableResult
    func appendWithUnsafeFreeBytes(_ body: (UnsafeMutableBufferPointer<UInt8>) throws -> Int) rethrows -> Int {
        let n = try body(UnsafeMutableBufferPointer(start: base + end, count: capacity - end))
        precondition(n >= 0 && end + n <= capacity)
        end += n
        return n
    }

    /// Appends bytes (used by tests and for small inputs).
    func append(_ bytes: [UInt8]) {
        reserveFree(bytes.count)
        appendWithUnsafeFreeBytes { free in
            _ = free.update(fromContentsOf: bytes)
            return bytes.count
        }
    }

    /// The unread bytes, copied (for tests and small inputs).
    var unreadBytes: [UInt8] {
        withUnsafeUnreadBytes { bytes, start in Array(bytes[start...]) }
    }

    /// Drops everything before absolute index `index`.
    func consume(upTo index: Int) {
        precondition(index >= start && index <= end)
        start = index
    }
}
