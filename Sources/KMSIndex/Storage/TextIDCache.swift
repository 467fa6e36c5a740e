/// Row ids of texts the writer has stored: key ARNs, object ARNs, event names, user agents…
///
/// Texts are told apart by their UTF-8 bytes, as SQLite's UNIQUE columns tell them apart:
/// `String` equality would take "é" and "e\u{301}" for one text, and give an event another
/// event's spelling of a user agent or context value.
///
/// A `Dictionary` holds every id. In front of it, a small table found by a cheap seeded hash
/// answers the texts that repeat from event to event: `Hasher` (SipHash) costs a few hundred
/// instructions for an ARN, and the writer looks up a dozen texts per event. The front table
/// is direct-mapped and overwritten on a miss, so a crafted collision costs one Dictionary
/// lookup, as without it.
final class TextIDCache {
    private static var slotCount: Int { 1 << 12 }
    private var all: [ExactText: Int64] = [:]
    // Fixed buffers: no copy-on-write or exclusivity check per access. A slot is empty while
    // its text is nil.
    private let texts: UnsafeMutablePointer<String?>
    private let hashes: UnsafeMutablePointer<UInt64>
    private let ids: UnsafeMutablePointer<Int64>
    private let seed = UInt64.random(in: .min ... .max)

    init() {
        texts = .allocate(capacity: Self.slotCount)
        texts.initialize(repeating: nil, count: Self.slotCount)
        hashes = .allocate(capacity: Self.slotCount)
        hashes.initialize(repeating: 0, count: Self.slotCount)
        ids = .allocate(capacity: Self.slotCount)
        ids.initialize(repeating: 0, count: Self.slotCount)
    }

    deinit {
        texts.deinitialize(count: Self.slotCount)
        texts.deallocate()
        hashes.deallocate()
        ids.deallocate()
    }

    /// The id stored for `text`, if any.
    func id(of text: String) -> Int64? {
        text.withUTF8Bytes { lookup($0, text: text) }
    }

    /// The id stored for the text whose UTF-8 is `bytes`, if any; no String is made unless
    /// the front table misses.
    func id(ofUTF8 bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        lookup(bytes, text: nil)
    }

    /// `text`, when given, is the String of `bytes`.
    private func lookup(_ bytes: UnsafeBufferPointer<UInt8>, text: String?) -> Int64? {
        let hash = Self.hash(bytes, seed: seed)
        let slot = Int(truncatingIfNeeded: hash) & (Self.slotCount - 1)
        if hashes[slot] == hash, let stored = texts[slot], stored.hasSameUTF8(as: bytes) { return ids[slot] }
        let text = text ?? String(decoding: bytes, as: UTF8.self)
        guard let id = all[ExactText(text: text)] else { return nil }
        remember(text, id, hash: hash, slot: slot)
        return id
    }

    func set(_ id: Int64, for text: String) {
        all[ExactText(text: text)] = id
        let hash = text.withUTF8Bytes { Self.hash($0, seed: seed) }
        remember(text, id, hash: hash, slot: Int(truncatingIfNeeded: hash) & (Self.slotCount - 1))
    }

    func removeAll() {
        all = [:]
        for slot in 0..<Self.slotCount { texts[slot] = nil }
    }

    private func remember(_ text: String, _ id: Int64, hash: UInt64, slot: Int) {
        texts[slot] = text
        hashes[slot] = hash
        ids[slot] = id
    }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, seed: UInt64) -> UInt64 {
        bytes.baseAddress.map { StringInterner.hash($0, bytes.count, seed: seed) } ?? seed
    }
}

/// A String as a Dictionary key compared and hashed by its UTF-8 bytes.
private struct ExactText: Hashable {
    let text: String

    static func == (a: ExactText, b: ExactText) -> Bool { a.text.hasSameUTF8(as: b.text) }

    func hash(into hasher: inout Hasher) {
        text.withUTF8Bytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
