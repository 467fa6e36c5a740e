import CByteScan

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why JSON could not be read.
enum ParseError: Error, Equatable {
    /// The value continues past the bytes available: read more and try again.
    case needMore
    case syntax(String, offset: Int)
    case tooDeep(limit: Int, offset: Int)
}

/// A byte-level JSON reader over a window of memory.
///
/// Made for CloudTrail's hot path: it can skip a value without building it, compare a string
/// with a literal without allocating, and build a `JSONValue` for the few records worth it.
/// Every method that runs into the end of the bytes throws `needMore`; the caller refills and
/// retries from the position it saved.
///
/// A scanner borrows the memory it reads: it is made inside a closure that lends that memory
/// (`ByteWindow.withUnsafeUnreadBytes`, `withUnsafeBufferPointer`) and must not outlive it.
/// A window moves its bytes when it is refilled, so the reader makes a new scanner after each
/// read (`LogFileReader.step`), at the position the last one reached: positions are indices,
/// valid across a move.
struct JSONScanner {
    /// Deepest nesting accepted, so that hostile input cannot exhaust the stack.
    static let maxDepth = 512

    /// The borrowed bytes, read unchecked below `end` (every read checks `i < end` first).
    let p: UnsafePointer<UInt8>
    let end: Int
    /// Index of the next byte to read.
    var i: Int
    /// Where `readSharedString` shares repeating strings; nil: every string is new. The
    /// caller keeps the interner alive while the scanner reads: it is held unretained, as a
    /// strong reference cost a retain and a release around every shared string.
    var strings: StringInterner? {
        get { interner?.takeUnretainedValue() }
        set { interner = newValue.map { Unmanaged.passUnretained($0) } }
    }
    var interner: Unmanaged<StringInterner>?

    /// A scanner over `bytes`, from index `start`.
    init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0) {
        // An empty buffer may have no address; any address will do, as nothing is read then.
        self.init(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, from: start, to: bytes.count)
    }

    private init(_ p: UnsafePointer<UInt8>, from start: Int, to end: Int) {
        precondition(0 <= start && start <= end)
        self.p = p
        self.i = start
        self.end = end
    }

    /// A scanner over `bytes` of the same memory (a record this one has read past): it
    /// borrows what this one borrows, for no longer.
    func scanner(over bytes: Range<Int>) -> JSONScanner {
        precondition(bytes.upperBound <= end)
        return JSONScanner(p, from: bytes.lowerBound, to: bytes.upperBound)
    }

    /// JSON's whitespace: space, line feed, carriage return, tab.
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") || c == UInt8(ascii: "\t")
    }

    @inline(__always) func isSpace(_ c: UInt8) -> Bool { Self.isSpace(c) }

    // The three below run between every two tokens of a KMS record: inlined, with the error
    // cases out of line.

    /// Skips whitespace; needs at least one more byte after it.
    @inline(__always)
    mutating func skipWhitespace() throws {
        while i < end && isSpace(p[i]) { i += 1 }
        if i >= end { throw ParseError.needMore }
    }

    /// The next byte, without consuming it.
    @inline(__always)
    func peek() throws -> UInt8 {
        if i >= end { throw ParseError.needMore }
        return p[i]
    }

    @inline(__always)
    mutating func expect(_ c: UInt8, _ what: String) throws {
        guard i < end, p[i] == c else { throw unexpected(what) }
        i += 1
    }

    @inline(never)
    func unexpected(_ what: String) -> ParseError {
        i < end ? syntaxError("expected \(what), found \(describe(p[i]))") : .needMore
    }

    func syntaxError(_ message: String) -> ParseError {
        .syntax(message, offset: i)
    }

    func describe(_ b: UInt8) -> String {
        if b >= 0x21 && b < 0x7f { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x" + String(b, radix: 16)
    }

    /// Where the string at `i` (which must be `"`) ends, and whether it holds escapes.
    /// A backslash escapes the byte after it, so the search steps over that byte.
    /// Inlined: it runs once per string of every skipped record, and a call was a large part
    /// of the skipping time (BENCHMARKS.md).
    @inline(__always)
    func stringEnd() throws -> (contentEnd: Int, hasEscape: Bool) {
        var j = i + 1
        var hasEscape = false
        while true {
            guard let k = ByteSearch.firstQuoteOrBackslash(p, from: j, to: end) else { throw ParseError.needMore }
            if p[k] == UInt8(ascii: "\"") { return (k, hasEscape) }
            hasEscape = true
            j = k + 2
        }
    }

    /// Skips the string at `i` without decoding it: the hottest loop of ingest.
    @inline(__always)
    mutating func skipString() throws {
        guard try peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a string, found \(describe(p[i]))") }
        i = try stringEnd().contentEnd + 1
    }

    /// Reads a string value, decoding escapes. Invalid UTF-8 is replaced with U+FFFD.
    mutating func readString() throws -> String {
        guard try peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a string, found \(describe(p[i]))") }
        let (contentEnd, hasEscape) = try stringEnd()
        let start = i + 1
        if !hasEscape {
            let s = String(decoding: UnsafeBufferPointer(start: p + start, count: contentEnd - start), as: UTF8.self)
            i = contentEnd + 1
            return s
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(contentEnd - start)
        var j = start
        while j < contentEnd {
            let c = p[j]
            if c != UInt8(ascii: "\\") { bytes.append(c); j += 1; continue }
            j += 1
            guard j < contentEnd else { i = j; throw syntaxError("bad escape at end of string") }
            let e = p[j]
            j += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0c)
            case UInt8(ascii: "n"): bytes.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): bytes.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "t"): bytes.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: j, limit: contentEnd)
                j += 4
                if (0xD800...0xDBFF).contains(scalar), j + 6 <= contentEnd, p[j] == UInt8(ascii: "\\"), p[j + 1] == UInt8(ascii: "u") {
                    let low = try hex4(at: j + 2, limit: contentEnd)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        j += 6
                    }
                }
                let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                bytes.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                i = j - 1
                throw syntaxError("bad escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
        i = contentEnd + 1
        return String(decoding: bytes, as: UTF8.self)
    }

    func hex4(at j: Int, limit: Int) throws -> UInt32 {
        guard j + 4 <= limit else { throw ParseError.syntax("short \\u escape", offset: j) }
        var v: UInt32 = 0
        for k in j..<j + 4 {
            let c = p[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw ParseError.syntax("bad \\u escape", offset: k)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// True when the string at `i` equals `literal` (an ASCII literal without escapes), consuming it.
    mutating func readStringEquals(_ literal: StaticString) throws -> Bool {
        guard try peek() == UInt8(ascii: "\"") else { throw syntaxError("expected a string, found \(describe(p[i]))") }
        let (contentEnd, hasEscape) = try stringEnd()
        let n = contentEnd - i - 1
        let equal: Bool
        if hasEscape {
            equal = try readString() == literal.description
        } else {
            equal = n == literal.utf8CodeUnitCount && memcmp(p + i + 1, literal.utf8Start, n) == 0
        }
        i = contentEnd + 1
        return equal
    }

    /// True when the bytes at `i` are `literal` (ASCII, at least eight bytes) in quotes: the
    /// string is consumed. False leaves `i` as it was, whatever the string holds: it may still
    /// equal `literal` written with escapes, or run past the bytes available. Compared a word
    /// at a time, against words of the literal the compiler folds to constants.
    @inline(__always)
    mutating func skipIfExactly(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard n >= 8, n + 2 <= end - i, p[i] == UInt8(ascii: "\""), p[i + n + 1] == UInt8(ascii: "\"") else { return false }
        let text = UnsafeRawPointer(p + i + 1)
        let name = UnsafeRawPointer(literal.utf8Start)
        var k = 0
        while true {
            let at = min(k, n - 8)  // the last word overlaps the one before it
            guard text.loadUnaligned(fromByteOffset: at, as: UInt64.self) == name.loadUnaligned(fromByteOffset: at, as: UInt64.self) else {
                return false
            }
            if at == n - 8 { break }
            k += 8
        }
        i += n + 2
        return true
    }

    /// Skips one value of any kind without building it. Nesting is counted, not recursed.
    mutating func skipValue() throws {
        let c = try peek()
        switch c {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipNested(depth: 0)
        case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"):
            throw syntaxError("expected a value, found \(describe(c))")
        default:
            try skipScalar()
        }
    }

    /// From inside an object or array, skips to just past its closing bracket.
    mutating func skipRestOfContainer() throws {
        try skipNested(depth: 1)
    }

    /// Skips to just past the bracket that brings the nesting, counted from `startDepth`, back
    /// to 0: 64 bytes at a time where the CPU has AVX2 (`kms_skip_nested`), ending, failing and
    /// leaving `i` exactly as `skipNestedScalar` does, which decides what that does not.
    mutating func skipNested(depth startDepth: Int) throws {
        var position = 0
        switch Int(kms_skip_nested(p, i, end, startDepth, Self.maxDepth, &position)) {
        case KMS_SKIP_DONE:
            i = position
        case KMS_SKIP_TOO_DEEP:
            i = position
            throw ParseError.tooDeep(limit: Self.maxDepth, offset: position)
        case KMS_SKIP_NEED_MORE:
            i = position
            throw ParseError.needMore
        default:
            try skipNestedScalar(depth: startDepth)
        }
    }

    /// `skipNested` one byte at a time (and a string a word at a time): the reference of the
    /// vector skip, and what runs where there is no vector unit.
    mutating func skipNestedScalar(depth startDepth: Int) throws {
        var depth = startDepth
        while true {
            guard i < end else { throw ParseError.needMore }
            let b = p[i]
            switch b {
            case UInt8(ascii: "\""):
                try skipString()
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > Self.maxDepth { throw ParseError.tooDeep(limit: Self.maxDepth, offset: i) }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { i += 1; return }
            default:
                break
            }
            i += 1
        }
    }

    /// Skips a number or literal, checking its first byte; needs the delimiter after it.
    mutating func skipScalar() throws {
        let c = p[i]
        guard
            c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "t") || c == UInt8(ascii: "f")
                || c == UInt8(ascii: "n")
        else {
            throw syntaxError("expected a value, found \(describe(c))")
        }
        while i < end {
            let b = p[i]
            if b == UInt8(ascii: ",") || b == UInt8(ascii: "}") || b == UInt8(ascii: "]") || isSpace(b) { return }
            i += 1
        }
        throw ParseError.needMore
    }

    /// Builds the value at `i`.
    mutating func parseValue(depth: Int = 0) throws -> JSONValue {
        let c = try peek()
        switch c {
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "{"):
            if depth >= Self.maxDepth { throw ParseError.tooDeep(limit: Self.maxDepth, offset: i) }
            i += 1
            var members: [(String, JSONValue)] = []
            try skipWhitespace()
            if p[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                try skipWhitespace()
                let key = try readString()
                try skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                try skipWhitespace()
                members.append((key, try parseValue(depth: depth + 1)))
                try skipWhitespace()
                if p[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                try expect(UInt8(ascii: ","), "',' or '}'")
            }
        case UInt8(ascii: "["):
            if depth >= Self.maxDepth { throw ParseError.tooDeep(limit: Self.maxDepth, offset: i) }
            i += 1
            var items: [JSONValue] = []
            try skipWhitespace()
            if p[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                try skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
                try skipWhitespace()
                if p[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                try expect(UInt8(ascii: ","), "',' or ']'")
            }
        default:
            let start = i
            switch try readLiteral() {
            case .bool(let b): return .bool(b)
            case .null: return .null
            case .number: return .number(String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self))
            }
        }
    }

    static func isNumber(_ s: some Sequence<UInt8>) -> Bool {
        var it = s.makeIterator()
        var sawDigit = false
        while let b = it.next() {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sawDigit = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "E"), UInt8(ascii: "e"): break
            default: return false
            }
        }
        return sawDigit
    }
}
