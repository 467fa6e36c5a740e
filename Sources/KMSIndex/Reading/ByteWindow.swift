/// A growable window of bytes: producers append at `end`, consumers advance `start`.
///
/// The parser reads records straight out of this memory, so it is an unsafe buffer kept
/// behind a small API: `append` to fill, `consume` to drop what was read, `compact` to
/// reuse the space in front of `start`.
final class ByteWindow {
    // Read by the parser around every record, so they go without the run-time exclusivity
    // checks of class properties: only the methods below change them, and none of those
    // accesses can overlap another (no method calls out while changing one).
    @exclusivity(unchecked) private(set) var base: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private(set) var capacity: Int
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

    /// Makes room for at least `n` more bytes after `end`, compacting or growing.
    ///
    /// Growing moves `base`: any pointer into the window taken before (a `JSONScanner` made
    /// over it) then points at freed memory, so whoever refills the window must make its
    /// scanners again from `base` after each refill (`LogFileReader.step` does). The window
    /// and the scanner stay internal to this module for that reason.
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

    /// Free space after `end`, for a producer to write into before `didAppend`.
    var freePointer: UnsafeMutablePointer<UInt8> { base + end }
    var freeCount: Int { capacity - end }

    /// Records that a producer wrote `n` bytes at `freePointer`.
    func didAppend(_ n: Int) {
        precondition(n >= 0 && end + n <= capacity)
        end += n
    }

    /// Appends bytes (used by tests and for small inputs).
    func append(_ bytes: [UInt8]) {
        reserveFree(bytes.count)
        bytes.withUnsafeBufferPointer { src in
            if let p = src.baseAddress { freePointer.update(from: p, count: src.count) }
        }
        end += bytes.count
    }

    /// Drops everything before absolute index `index`.
    func consume(upTo index: Int) {
        precondition(index >= start && index <= end)
        start = index
    }
}
