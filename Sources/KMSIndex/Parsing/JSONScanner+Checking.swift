#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Skipping with the checks of a full parse, for values inside the members a KMS record
/// keeps: the byte reader accepts and rejects exactly what `parseValue` does, without
/// building what it does not need.
extension JSONScanner {
    /// A number or literal, as `readLiteral` found it.
    enum Literal: Equatable {
        case bool(Bool)
        case null
        case number
    }

    /// Reads a number or literal, checking it as `parseValue` does; its text is what was consumed.
    mutating func readLiteral() throws -> Literal {
        let start = i
        try skipScalar()
        let text = UnsafeBufferPointer(start: p + start, count: i - start)
        // Compared in bytes: a generic comparison with a String's UTF-8 costs far more per
        // literal, and every KMS record has one (readOnly).
        func isText(_ literal: StaticString) -> Bool {
            text.count == literal.utf8CodeUnitCount && memcmp(text.baseAddress!, literal.utf8Start, text.count) == 0
        }
        if isText("true") { return .bool(true) }
        if isText("false") { return .bool(false) }
        if isText("null") { return .null }
        guard Self.isNumber(text) else {
            i = start
            throw syntaxError("invalid literal \(String(decoding: text, as: UTF8.self).prefix(20))")
        }
        return .number
    }

    /// Skips a string, checking its escapes; decodes only a string that has some.
    mutating func skipStringChecked() throws {
        guard try peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a string, found \(describe(p[i]))") }
        let (contentEnd, hasEscape) = try stringEnd()
        if hasEscape { _ = try readString() } else { i = contentEnd + 1 }
    }

    /// Skips the value at `i`, nested `depth` levels deep, with every check of `parseValue(depth:)`.
    mutating func skipValueChecked(depth: Int) throws {
        let c = try peek()
        switch c {
        case UInt8(ascii: "\""):
            try skipStringChecked()
        case UInt8(ascii: "{"):
            guard try enterObject(depth: depth) else { return }
            repeat {
                try skipWhitespace()
                try skipStringChecked()
                try skipColon()
                try skipValueChecked(depth: depth + 1)
            } while try nextMember()
        case UInt8(ascii: "["):
            if depth >= Self.maxDepth { throw ParseError.tooDeep(limit: Self.maxDepth, offset: i) }
            i += 1
            try skipWhitespace()
            if p[i] == UInt8(ascii: "]") { i += 1; return }
            while true {
                try skipWhitespace()
                try skipValueChecked(depth: depth + 1)
                try skipWhitespace()
                if p[i] == UInt8(ascii: "]") { i += 1; return }
                try expect(UInt8(ascii: ","), "',' or ']'")
            }
        default:
            _ = try readLiteral()
        }
    }

    /// Reads the object at `i` (nested `depth` levels deep) as `parseValue` does, calling
    /// `value` with the scanner at each member's value after its key was read by `key`.
    mutating func forEachMember(
        depth: Int, key: (inout JSONScanner) throws -> Void = { try $0.skipStringChecked() },
        value: (inout JSONScanner) throws -> Void
    ) throws {
        guard try enterObject(depth: depth) else { return }
        repeat {
            try skipWhitespace()
            try key(&self)
            try skipColon()
            try value(&self)
        } while try nextMember()
    }

    // The three below are `forEachMember` taken apart, for the loops of the KMS record reader:
    // a loop over members costs no closure calls, and its values are stored straight into
    // the fields they belong to.
    //
    //     if try s.enterObject(depth: d) {
    //         repeat { key: skipWhitespace, read it, skipColon; then the value } while try s.nextMember()
    //     }

    /// Enters the object at `i`, nested `depth` levels deep: false when it is empty (then
    /// consumed), else true with the scanner at its first member.
    @inline(__always)
    mutating func enterObject(depth: Int) throws -> Bool {
        if depth >= Self.maxDepth { throw ParseError.tooDeep(limit: Self.maxDepth, offset: i) }
        try expect(UInt8(ascii: "{"), "'{'")
        try skipWhitespace()
        if p[i] == UInt8(ascii: "}") { i += 1; return false }
        return true
    }

    /// Between a member's key and its value.
    @inline(__always)
    mutating func skipColon() throws {
        try skipWhitespace()
        try expect(UInt8(ascii: ":"), "':'")
        try skipWhitespace()
    }

    /// After a member's value: true when another member follows (its comma consumed), false
    /// at the end of the object (its brace consumed).
    @inline(__always)
    mutating func nextMember() throws -> Bool {
        try skipWhitespace()
        if p[i] == UInt8(ascii: "}") { i += 1; return false }
        try expect(UInt8(ascii: ","), "',' or '}'")
        return true
    }

    /// A member's key, looked up in `names`, and the colon after it: the scanner is left at the value.
    @inline(__always)
    mutating func memberKey(_ names: KeyNames) throws -> Int? {
        try skipWhitespace()
        let key = try readKey(names)
        try skipColon()
        return key
    }

    /// A member's key, as the case of `keys` it names (nil for any other key), and the colon
    /// after it: the scanner is left at the value.
    @inline(__always)
    mutating func memberKey<Key>(_ keys: KeyTable<Key>) throws -> Key? {
        guard let k = try memberKey(keys.names) else { return nil }
        return keys.cases[k]
    }

    /// Reads an object key; returns its index in `names`, nil for any other key.
    mutating func readKey(_ names: KeyNames) throws -> Int? {
        guard try peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a string, found \(describe(p[i]))") }
        let (contentEnd, hasEscape) = try stringEnd()
        if hasEscape { return names.index(of: try readString()) }
        let found = names.index(of: UnsafeBufferPointer(start: p + i + 1, count: contentEnd - i - 1), readable: end - i - 1)
        i = contentEnd + 1
        return found
    }

    /// The value as a string; nil (after checking it) when it is anything else.
    mutating func readStringValue(depth: Int) throws -> String? {
        if try peek() == UInt8(ascii: "\"") { return try readString() }
        try skipValueChecked(depth: depth)
        return nil
    }

    /// Calls `body` with the UTF-8 of a string value, unescaped, and returns what it gives;
    /// nil (the value skipped, checked) when the value is not a string. No String is made
    /// unless the string holds escapes.
    mutating func withStringValue<R>(depth: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) throws -> R? {
        guard try peek() == UInt8(ascii: "\"") else {
            try skipValueChecked(depth: depth)
            return nil
        }
        let (contentEnd, hasEscape) = try stringEnd()
        if hasEscape {
            var text = try readString()
            return text.withUTF8 { body($0) }
        }
        let result = body(UnsafeBufferPointer(start: p + i + 1, count: contentEnd - i - 1))
        i = contentEnd + 1
        return result
    }

    /// `readString`, sharing the result through `strings` when the scanner has an interner:
    /// for values that repeat from record to record.
    mutating func readSharedString() throws -> String {
        guard let interner else { return try readString() }
        guard try peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a string, found \(describe(p[i]))") }
        let (contentEnd, hasEscape) = try stringEnd()
        if hasEscape { return try readString() }
        let text = interner._withUnsafeGuaranteedRef { $0.string(UnsafeBufferPointer(start: p + i + 1, count: contentEnd - i - 1)) }
        i = contentEnd + 1
        return text
    }

    /// `readStringValue`, sharing the string as `readSharedString` does.
    mutating func readSharedStringValue(depth: Int) throws -> String? {
        if try peek() == UInt8(ascii: "\"") { return try readSharedString() }
        try skipValueChecked(depth: depth)
        return nil
    }

    /// Scalars as text (`JSONValue.scalarText`): strings as they are, numbers and booleans as written.
    mutating func readScalarText(depth: Int) throws -> String? {
        let c = try peek()
        if c == UInt8(ascii: "\"") { return try readString() }
        if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
            try skipValueChecked(depth: depth)
            return nil
        }
        let start = i
        if try readLiteral() == .null { return nil }
        return String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
    }
}

/// Object keys to look for, compared as bytes without building a String.
struct KeyNames {
    private let names: [[UInt8]]
    /// Per name: its length and its first and last eight bytes (fewer when shorter) as
    /// integers. For names of up to 16 bytes they decide equality; longer ones are then
    /// compared in full. Every key of a KMS record is looked up: this is a hot loop.
    private let signatures: [Signature]
    /// Open-addressing table from a signature's hash to the name's index (-1: empty), so a
    /// lookup compares one or two signatures instead of all of them.
    private let table: [Int]
    private static let tableBits = 6

    private struct Signature: Equatable {
        var count: Int
        var head: UInt64
        var tail: UInt64

        /// The signature of the `count` bytes at `p`, of which `readable` (at least `count`)
        /// may be read.
        @inline(__always)
        init(_ p: UnsafePointer<UInt8>, _ count: Int, readable: Int) {
            self.count = count
            let raw = UnsafeRawPointer(p)
            if count >= 8 {
                head = raw.loadUnaligned(as: UInt64.self)
                tail = raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            } else if readable >= 8 {
                // One load, the bytes past the name masked off: the same word as byte by byte.
                let word = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) & (1 << (8 * UInt64(count)) - 1)
                head = word
                tail = word
            } else {
                var word: UInt64 = 0
                for j in 0..<count { word |= UInt64(p[j]) << (8 * j) }
                head = word
                tail = word
            }
        }

        var slot: Int {
            let mixed = ((head ^ tail) &+ UInt64(truncatingIfNeeded: count)) &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: mixed >> UInt64(64 - KeyNames.tableBits))
        }
    }

    init(_ names: [String]) {
        precondition(names.count < (1 << Self.tableBits) / 2, "too many key names for the table")
        self.names = names.map { Array($0.utf8) }
        signatures = self.names.map { name in name.withUnsafeBufferPointer { Signature($0.baseAddress!, $0.count, readable: $0.count) } }
        var table = Array(repeating: -1, count: 1 << Self.tableBits)
        for (k, signature) in signatures.enumerated() {
            var slot = signature.slot
            while table[slot] >= 0 { slot = (slot + 1) & (table.count - 1) }
            table[slot] = k
        }
        self.table = table
    }

    var count: Int { names.count }

    /// The index of `key` among the names, nil for any other key; `readable` bytes from the
    /// key's start (at least its length) may be read. Inlined: it runs for every key of a
    /// KMS record.
    @inline(__always)
    func index(of key: UnsafeBufferPointer<UInt8>, readable: Int) -> Int? {
        guard let base = key.baseAddress, key.count > 0 else { return nil }
        let signature = Signature(base, key.count, readable: readable)
        var slot = signature.slot
        while true {
            let k = table[slot]
            if k < 0 { break }
            if signatures[k] == signature, key.count <= 16 || equalsLongName(k, base) { return k }
            slot = (slot + 1) & (table.count - 1)
        }
        // Other bytes can still be the same String: Swift compares canonical equivalents
        // (U+212A KELVIN SIGN is "K"), and so did the generic parse. Up to 16 bytes, the
        // signature holds every byte of the key.
        let isASCII = key.count <= 16 ? (signature.head | signature.tail) & ByteSearch.highs == 0 : ByteSearch.isASCII(key)
        return isASCII ? nil : index(of: String(decoding: key, as: UTF8.self))
    }

    private func equalsLongName(_ k: Int, _ base: UnsafePointer<UInt8>) -> Bool {
        names[k].withUnsafeBufferPointer { memcmp($0.baseAddress!, base, $0.count) == 0 }
    }

    func index(of key: String) -> Int? {
        names.firstIndex { String(decoding: $0, as: UTF8.self) == key }
    }
}

/// `KeyNames` for the cases of an enum whose raw values are the keys: a lookup names the case,
/// so that no reader depends on the order of a list of names.
struct KeyTable<Key: RawRepresentable & CaseIterable & Sendable>: Sendable where Key.RawValue == String {
    let names: KeyNames
    /// The cases, at the indices `names` gives.
    let cases: [Key]

    init() {
        cases = Array(Key.allCases)
        names = KeyNames(cases.map(\.rawValue))
    }
}
