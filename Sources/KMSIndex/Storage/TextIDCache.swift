#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Row ids of texts the writer has stored: key ARNs, object ARNs, event names, user agents…
///
/// Texts are told apart by their UTF-8 bytes, as SQLite's UNIQUE columns tell them apart:
/// `String` equality would take "é" and "e\u{301}" for one text, and give an event another
/// event's spelling of a user agent or context value.
///
/// An open-addressing table (linear probing) keyed by a cheap seeded hash: `Hasher` (SipHash)
/// costs a few hundred instructions for an ARN, and the writer looks up a dozen texts per
/// event. Keys' bytes are copied into large arena chunks rather than kept as Strings, so no
/// String is made on a lookup and freeing the cache frees a few buffers, not one per text.
///
/// The hash is seeded but not cryptographic, and user agents and context values are written
/// by whoever calls KMS: texts crafted to collide must not make each lookup walk the table.
/// A text is therefore stored within `probeBound` slots of its home slot, or else in
/// `overflow`, a `Dictionary` (SipHash, seeded per process); a colliding text then costs a
/// bounded walk and one Dictionary lookup.
final class TextIDCache {
    private struct Slot {
        var hash: UInt64
        /// The text's bytes in the arena; nil for an empty slot (never for a stored text,
        /// even an empty one).
        var bytes: UnsafePointer<UInt8>?
        var count: Int
        var id: Int64
    }

    /// 64 slots at first.
    private static let initialShift = 64 - 6
    private static let chunkSize = 256 << 10

    private let probeBound: Int
    /// All ones but in tests, where fewer bits make texts collide.
    private let hashMask: UInt64
    private let seed = UInt64.random(in: .min ... .max)

    // Fixed buffers: no copy-on-write or exclusivity check per access.
    private var slots: UnsafeMutablePointer<Slot>
    private var capacity: Int { 1 << (64 - shift) }
    /// 64 minus log2 of the capacity: see `home(_:)`.
    private var shift: Int
    private var stored = 0
    private var overflow: [[UInt8]: Int64] = [:]

    // The arena: `next` is where the next text's bytes go, with `room` bytes left there.
    private var chunks: [UnsafeMutablePointer<UInt8>] = []
    private var next: UnsafeMutablePointer<UInt8>?
    private var room = 0
    private var arenaBytes = 0

    convenience init() { self.init(probeBound: 32, hashMask: ~0) }

    /// Tests pass a small `probeBound` or a `hashMask` with few bits to reach the overflow.
    init(probeBound: Int, hashMask: UInt64) {
        self.probeBound = probeBound
        self.hashMask = hashMask
        shift = Self.initialShift
        slots = Self.emptySlots(1 << (64 - Self.initialShift))
    }

    deinit {
        slots.deallocate()
        for chunk in chunks { chunk.deallocate() }
    }

    /// Texts held, and those of them in the overflow Dictionary (for tests).
    var count: Int { stored + overflow.count }
    /// Bytes the table and the arena hold (the overflow's few texts aside).
    var bytesHeld: Int { capacity * MemoryLayout<Slot>.stride + arenaBytes }
    var overflowCount: Int { overflow.count }

    /// The id stored for `text`, if any.
    func id(of text: String) -> Int64? {
        text.withUTF8Bytes { id(ofUTF8: $0) }
    }

    /// The id stored for the text whose UTF-8 is `bytes`, if any.
    func id(ofUTF8 bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        let found = probe(bytes, hash: hash(bytes))
        if found.hit { return slots[found.slot].id }
        // Only a text whose whole window is taken can be in the overflow (see `grow`): a miss
        // that met an empty slot is a miss, without building an array and hashing it again.
        return found.slot < 0 ? overflow[Array(bytes)] : nil
    }

    func set(_ id: Int64, for text: String) {
        text.withUTF8Bytes { set(id, forUTF8: $0) }
    }

    func set(_ id: Int64, forUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        let hash = hash(bytes)
        let found = probe(bytes, hash: hash)
        if found.hit {
            slots[found.slot].id = id
            return
        }
        if found.slot < 0 {
            overflow[Array(bytes)] = id
            return
        }
        slots[found.slot] = Slot(hash: hash, bytes: copy(bytes), count: bytes.count, id: id)
        stored += 1
        if stored * 2 > capacity { grow() }
    }

    func removeAll() {
        slots.deallocate()
        for chunk in chunks { chunk.deallocate() }
        shift = Self.initialShift
        slots = Self.emptySlots(capacity)
        stored = 0
        overflow = [:]
        chunks = []
        next = nil
        room = 0
        arenaBytes = 0
    }

    /// The slot holding `bytes` (`hit`), else the empty slot where they would go, or -1 when
    /// none is within `probeBound` slots.
    @inline(__always)
    private func probe(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> (slot: Int, hit: Bool) {
        let mask = capacity - 1
        var slot = home(hash)
        for _ in 0..<probeBound {
            let s = slots[slot]
            guard let text = s.bytes else { return (slot, false) }
            if s.hash == hash, s.count == bytes.count,
                s.count == 0 || memcmp(text, bytes.baseAddress!, s.count) == 0
            {
                return (slot, true)
            }
            slot = (slot + 1) & mask
        }
        return (-1, false)
    }

    /// Doubles the table, placing entries by their stored hashes, then moving into it the
    /// overflow's texts whose window now has room: a text stays in the overflow only while
    /// every slot of its window is taken, which lets a lookup that meets an empty slot stop.
    private func grow() {
        let old = slots
        let oldCapacity = capacity
        shift -= 1
        slots = Self.emptySlots(capacity)
        let mask = capacity - 1
        for k in 0..<oldCapacity {
            let entry = old[k]
            guard let text = entry.bytes else { continue }
            var slot = home(entry.hash)
            var probes = 0
            while probes < probeBound, slots[slot].bytes != nil {
                slot = (slot + 1) & mask
                probes += 1
            }
            if probes < probeBound {
                slots[slot] = entry
            } else {
                // Lookups stop after `probeBound` slots; the text must be found in the overflow.
                overflow[Array(UnsafeBufferPointer(start: text, count: entry.count))] = entry.id
                stored -= 1
            }
        }
        old.deallocate()
        for (text, id) in overflow {
            text.withUnsafeBufferPointer { bytes in
                let hash = hash(bytes)
                let found = probe(bytes, hash: hash)
                guard found.slot >= 0 else { return }
                slots[found.slot] = Slot(hash: hash, bytes: copy(bytes), count: bytes.count, id: id)
                stored += 1
                overflow[text] = nil
            }
        }
    }

    /// A copy of `bytes` in the arena. A text longer than a chunk gets a chunk of its own.
    private func copy(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafePointer<UInt8> {
        let count = bytes.count
        if next == nil || count > room {
            let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, Self.chunkSize))
            chunks.append(chunk)
            arenaBytes += max(count, Self.chunkSize)
            if count > Self.chunkSize {
                chunk.initialize(from: bytes.baseAddress!, count: count)
                return UnsafePointer(chunk)
            }
            next = chunk
            room = Self.chunkSize
        }
        let at = next!
        if count > 0 { at.initialize(from: bytes.baseAddress!, count: count) }
        next = at + count
        room -= count
        return UnsafePointer(at)
    }

    /// An empty buffer may or may not have a base address: both hash alike.
    @inline(__always)
    private func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed & hashMask }
        return StringInterner.hash(base, bytes.count, seed: seed) & hashMask
    }

    /// The first slot to probe for `hash`: the top bits of its product with an odd constant,
    /// which spreads every bit of the hash over the index (tests mask the hash to a few bits).
    @inline(__always)
    private func home(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) &>> UInt64(shift))
    }

    private static func emptySlots(_ capacity: Int) -> UnsafeMutablePointer<Slot> {
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        slots.initialize(repeating: Slot(hash: 0, bytes: nil, count: 0, id: 0), count: capacity)
        return slots
    }
}
