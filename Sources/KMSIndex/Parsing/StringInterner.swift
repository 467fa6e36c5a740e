#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands out one shared `String` for byte sequences it has seen before.
///
/// Most strings of a KMS record repeat from event to event (principal ARNs, access key ids,
/// key ARNs, user agents, context names). Sharing them saves an allocation, a UTF-8 check and,
/// on the writer thread, a free per string. One interner serves one parsing thread. Its memory
/// is bounded: when it is full it starts over.
package final class StringInterner {
    /// Strings this short are stored inline by `String` and cost no allocation anyway.
    static let shortest = 16
    /// Longer strings rarely repeat; hashing them would cost more than it saves.
    static let longest = 256
    private static let slotCount = 1 << 14
    private static let maxEntries = slotCount / 2
    /// Probes before giving up on sharing: bounds the cost of strings crafted to collide.
    private static let maxProbes = 16

    // Fixed buffers rather than array properties (which would be `var`s, to be written): no
    // copy-on-write check, and no exclusivity check of a class property, per access.
    private let slots: UnsafeMutablePointer<String?>
    private let hashes: UnsafeMutablePointer<UInt64>
    /// Where each slot's bytes are in `arena`, and how many: a lookup compares them, not the
    /// String (reading a String's UTF-8 cost a retain and a release of it).
    private let offsets: UnsafeMutablePointer<Int32>
    private let counts: UnsafeMutablePointer<Int32>
    private let arena: UnsafeMutablePointer<UInt8>
    private static let arenaSize = maxEntries * 128
    private var arenaUsed = 0
    private var entries = 0
    /// Random per interner, so that colliding strings cannot be prepared in advance.
    private let seed = UInt64.random(in: .min ... .max)

    package init() {
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: nil, count: Self.slotCount)
        hashes = .allocate(capacity: Self.slotCount)
        hashes.initialize(repeating: 0, count: Self.slotCount)
        offsets = .allocate(capacity: Self.slotCount)
        offsets.initialize(repeating: 0, count: Self.slotCount)
        counts = .allocate(capacity: Self.slotCount)
        counts.initialize(repeating: 0, count: Self.slotCount)
        arena = .allocate(capacity: Self.arenaSize)
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
        hashes.deallocate()
        offsets.deallocate()
        counts.deallocate()
        arena.deallocate()
    }

    /// The string the UTF-8 `bytes` decode to (invalid sequences replaced with U+FFFD, as
    /// `String(decoding:as:)` does); the same instance as last time for bytes seen before.
    package func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.count >= Self.shortest, bytes.count <= Self.longest, let base = bytes.baseAddress else {
            return String(decoding: bytes, as: UTF8.self)
        }
        let hash = Self.hash(base, bytes.count, seed: seed)
        let mask = Self.slotCount - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        var probes = 0
        while let candidate = slots[slot] {
            // Same bytes, same String: a repaired one too (what decoding them gives again).
            if hashes[slot] == hash, Int(counts[slot]) == bytes.count,
                memcmp(arena + Int(offsets[slot]), base, bytes.count) == 0
            {
                return candidate
            }
            probes += 1
            if probes == Self.maxProbes { return String(decoding: bytes, as: UTF8.self) }
            slot = (slot + 1) & mask
        }
        let made = String(decoding: bytes, as: UTF8.self)
        if entries >= Self.maxEntries || arenaUsed + bytes.count > Self.arenaSize {
            // Full: forget everything rather than let memory grow (the next strings refill it).
            for k in 0..<Self.slotCount { slots[k] = nil }
            entries = 0
            arenaUsed = 0
            slot = Int(truncatingIfNeeded: hash) & mask
        }
        slots[slot] = made
        hashes[slot] = hash
        offsets[slot] = Int32(arenaUsed)
        counts[slot] = Int32(bytes.count)
        (arena + arenaUsed).initialize(from: base, count: bytes.count)
        arenaUsed += bytes.count
        entries += 1
        return made
    }

    /// A fast seeded multiplicative hash, eight bytes at a time (also used by the writer's
    /// `TextIDCache`). Not a cryptographic hash: its users bound what a collision can cost.
    static func hash(_ p: UnsafePointer<UInt8>, _ count: Int, seed: UInt64) -> UInt64 {
        let raw = UnsafeRawPointer(p)
        var h = (seed ^ UInt64(truncatingIfNeeded: count)) &* 0x9E37_79B9_7F4A_7C15
        var j = 0
        while j + 8 <= count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            j += 8
        }
        if j < count {
            var last: UInt64 = 0
            if count >= 8 {
                // The last eight bytes, overlapping what came before.
                last = raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            } else {
                for k in 0..<count { last |= UInt64(p[k]) << (8 * UInt64(k)) }
            }
            h = (h ^ last) &* 0x94D0_49BB_1331_11EB
        }
        // A last multiply between shifts, so that every bit of the result depends on the last
        // bytes too: a product's low bits depend only on its factors' low bits, and texts that
        // differ only at their end (key ARNs, numbered objects) shared the low bits the slots
        // are taken from.
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }
}
