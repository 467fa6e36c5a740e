#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams a CloudTrail log file record by record, handing over only KMS records.
///
/// Non-KMS records are skipped at byte level without being built; memory holds one record
/// at a time (plus the read buffer), whatever the size of the file.
package final class LogFileReader {
    // Counted per record, without the run-time exclusivity checks of class properties: only
    // the record loop changes them, and nothing it calls touches them.
    @exclusivity(unchecked) package private(set) var recordCount = 0
    @exclusivity(unchecked) package private(set) var kmsRecordCount = 0
    package private(set) var malformed: [MalformedRecord] = []
    package private(set) var malformedCount = 0
    /// Records that are not JSON objects (counted in `malformedCount` too): neither KMS records
    /// nor any other kind.
    package private(set) var notObjectCount = 0
    /// Called with each S3 record that may read an object (see `scanRecord`), a scanner over
    /// just its bytes, and its index in `Records`; nil: S3 records are skipped like any other.
    /// The third argument says whether it is a copy (`CopyObject`, `UploadPartCopy`), when
    /// the record's name was read; nil when not.
    var onS3Record: ((inout JSONScanner, Int, Bool?) -> Void)?
    @exclusivity(unchecked) package private(set) var s3RecordCount = 0

    let stream: DecompressedStream
    private let window: ByteWindow
    @exclusivity(unchecked) private var endOfInput = false
    private var topLevelKeys: [String] = []

    init(stream: DecompressedStream, window: ByteWindow) {
        self.stream = stream
        self.window = window
    }

    /// Reads the whole file, calling `onKMSRecord` with each KMS record and its index in `Records`.
    func read(onKMSRecord: (JSONValue, Int) throws -> Void) throws -> LogFileKind {
        try read(building: { s in try s.parseValue() }, onKMSRecord: onKMSRecord)
    }

    /// Reads the whole file; `build` reads each KMS record from its bytes (a scanner over just
    /// the record), and `onKMSRecord` gets what it built and the record's index in `Records`.
    /// `build` must read the whole record, checking at least its members' syntax as
    /// `scanRecord` does (`parseValue` and `KMSRecordFields.read` do): a record it builds may
    /// not have been scanned member by member (see `kmsRecordEnd`).
    func read<Record>(
        building build: (inout JSONScanner) throws -> Record,
        onKMSRecord: (consuming Record, Int) throws -> Void
    ) throws -> LogFileKind {
        let topIsObject = try step { s -> Bool in
            try s.skipWhitespace()
            if s.p[s.i] == 0xEF, s.i + 2 < s.end, s.p[s.i + 1] == 0xBB, s.p[s.i + 2] == 0xBF {
                s.i += 3  // a UTF-8 byte order mark: tolerated, as most JSON readers do
                try s.skipWhitespace()
            }
            if s.p[s.i] == UInt8(ascii: "{") { s.i += 1; return true }
            return false
        }
        guard topIsObject else {
            let kind = try step { s -> String in
                let c = s.p[s.i]
                switch c {
                case UInt8(ascii: "["):
                    try s.skipValue()
                    return "an array"
                case UInt8(ascii: "\""):
                    try s.skipValue()
                    return "a string"
                default:
                    _ = try s.parseValue()  // checks that the literal is one
                    return "a number or literal"
                }
            }
            try expectEndOfInput()
            return .notLog(reason: "top-level JSON value is \(kind), not an object with Records")
        }
        var sawRecords = false
        var done = try step { s -> Bool in
            try s.skipWhitespace()
            if s.p[s.i] == UInt8(ascii: "}") { s.i += 1; return true }
            return false
        }
        while !done {
            let key = try step { s -> String in
                try s.skipWhitespace()
                let k = try s.readString()
                try s.skipWhitespace()
                try s.expect(UInt8(ascii: ":"), "':'")
                try s.skipWhitespace()
                return k
            }
            // A second `Records` is read too: its records are the file's as well, and dropping
            // them without a word would lose events (a record's duplicate keys keep the last).
            if key == "Records" {
                sawRecords = true
                try readRecords(building: build, onKMSRecord: onKMSRecord)
            } else {
                topLevelKeys.append(key)
                try step { s in try s.skipValue() }
            }
            done = try step { s -> Bool in
                try s.skipWhitespace()
                if s.p[s.i] == UInt8(ascii: "}") { s.i += 1; return true }
                try s.expect(UInt8(ascii: ","), "',' or '}'")
                return false
            }
        }
        try expectEndOfInput()
        if sawRecords { return .log }
        if topLevelKeys.contains("digestStartTime") || topLevelKeys.contains("logFiles") {
            return .notLog(reason: "CloudTrail digest file")
        }
        return .notLog(reason: "JSON object without Records, not a CloudTrail log file")
    }

    private func readRecords<Record>(
        building build: (inout JSONScanner) throws -> Record,
        onKMSRecord: (consuming Record, Int) throws -> Void
    ) throws {
        let isArray = try step { s -> Bool in
            if s.p[s.i] == UInt8(ascii: "[") { s.i += 1; return true }
            return false
        }
        guard isArray else { throw ContentError.recordsNotArray }
        var done = try step { s -> Bool in
            try s.skipWhitespace()
            if s.p[s.i] == UInt8(ascii: "]") { s.i += 1; return true }
            return false
        }
        while !done {
            let index = recordCount
            var scan = RecordScan.other
            // What was built travels as a plain optional, not inside an enum: taking it out of
            // one would copy every string of the record once more.
            let onS3 = onS3Record
            var built = try step { s in
                let record = try Self.scanAndBuild(&s, scan: &scan, s3: onS3 != nil, build: build)
                if case .s3(let bytes, let copy) = scan, let onS3 {
                    var scanner = s.scanner(over: bytes)
                    onS3(&scanner, index, copy)
                }
                return record
            }
            recordCount += 1
            switch scan {
            case .other: break
            case .s3: s3RecordCount += 1
            case .kms:
                kmsRecordCount += 1
                // Unwrapped as a temporary, not bound to a name: a bound record was copied.
                if built != nil { try onKMSRecord(built.take()!, index) }
            case .notObject:
                notObjectCount += 1
                noteMalformed(index, "record is not a JSON object")
            }
            done = try step { s -> Bool in
                try s.skipWhitespace()
                if s.p[s.i] == UInt8(ascii: "]") { s.i += 1; return true }
                try s.expect(UInt8(ascii: ","), "',' or ']' in Records")
                try s.skipWhitespace()
                return false
            }
        }
    }

    /// Records a record that could not be used; the caller reports them.
    package func noteMalformed(_ index: Int, _ reason: String) {
        malformedCount += 1
        if malformed.count < 20 { malformed.append(MalformedRecord(index: index, reason: reason)) }
    }

    enum RecordScan {
        case other
        /// A KMS record, where its bytes are, and whether its members were scanned one by one
        /// to its end (else it was skipped past its `eventSource`, see `kmsRecordEnd`).
        case kms(Range<Int>, membersScanned: Bool)
        /// An S3 record whose bytes name a read operation (`s3`): where its bytes are, and
        /// whether it is a copy when its name was read.
        case s3(Range<Int>, copy: Bool?)
        case notObject
    }

    /// Reads one record into `scan` and builds it when it is a KMS record. With `shortcut`,
    /// it may end by `kmsRecordEnd`; the outcome is the same as without.
    static func scanAndBuild<Record>(
        _ s: inout JSONScanner, scan: inout RecordScan, shortcut: Bool = true, s3: Bool = false,
        build: (inout JSONScanner) throws -> Record
    ) throws -> Record? {
        scan = try scanRecord(&s, shortcut: shortcut, s3: s3)
        guard case .kms(let bytes, let membersScanned) = scan else { return nil }
        var scanner = s.scanner(over: bytes)
        if !membersScanned {
            // Built in full, the record was read as a member-by-member scan would have found
            // it. Else that scan decides what the record is and how it fails.
            if let record = try? build(&scanner), scanner.i == bytes.upperBound { return record }
            s.i = bytes.lowerBound
            scan = try scanRecord(&s, shortcut: false)
            guard case .kms(let bytes, _) = scan else { return nil }
            scanner = s.scanner(over: bytes)
        }
        return try build(&scanner)
    }

    /// Reads one record: finds `eventSource`, and for a KMS record, where its bytes are.
    /// With `shortcut`, a KMS record may end by `kmsRecordEnd`. With `s3`, an S3 record
    /// (`eventSource` exactly `"s3.amazonaws.com"`) whose bytes hold the name of a read
    /// operation is `.s3`; any other is skipped in the same structural pass as every non-KMS
    /// record, with one search of its bytes more.
    static func scanRecord(_ s: inout JSONScanner, shortcut: Bool = true, s3: Bool = false) throws -> RecordScan {
        let start = s.i
        guard s.p[s.i] == UInt8(ascii: "{") else {
            try s.skipValue()
            return .notObject
        }
        s.i += 1
        var isKMS = false
        try s.skipWhitespace()
        if s.p[s.i] != UInt8(ascii: "}") {
            while true {
                try s.skipWhitespace()
                // Most records start with these keys, and most KMS records say so in these
                // bytes: matched whole first, without finding where the string ends.
                let isSource =
                    s.skipIfExactly("eventSource")
                    ? true
                    : s.skipIfExactly("eventVersion") || s.skipIfExactly("userIdentity") || s.skipIfExactly("eventTime")
                        ? false
                        : try s.readStringEquals("eventSource")
                try s.skipWhitespace()
                try s.expect(UInt8(ascii: ":"), "':'")
                try s.skipWhitespace()
                if isSource && s.p[s.i] == UInt8(ascii: "\"") {
                    if s3, s.skipIfExactly("s3.amazonaws.com") {
                        let name = nameAfterSource(s)
                        try s.skipRestOfContainer()
                        switch name {
                        case "GetObject", "SelectObjectContent": return .s3(start..<s.i, copy: false)
                        case "CopyObject", "UploadPartCopy": return .s3(start..<s.i, copy: true)
                        case nil: return namesRead(s.p + start, s.i - start) ? .s3(start..<s.i, copy: nil) : .other
                        default: return .other
                        }
                    }
                    isKMS = try s.skipIfExactly("kms.amazonaws.com") || s.readStringEquals("kms.amazonaws.com")
                    if !isKMS {
                        // Not ours: skip the rest of the record in one structural pass.
                        try s.skipRestOfContainer()
                        return .other
                    }
                    if shortcut, let end = kmsRecordEnd(s) {
                        s.i = end
                        return .kms(start..<end, membersScanned: false)
                    }
                } else {
                    try s.skipValue()
                }
                try s.skipWhitespace()
                if s.p[s.i] == UInt8(ascii: "}") { break }
                try s.expect(UInt8(ascii: ","), "',' or '}' in a record")
            }
        }
        s.i += 1
        return isKMS ? .kms(start..<s.i, membersScanned: true) : .other
    }

    /// The end of a KMS record whose `eventSource` was just read, found in one structural
    /// pass, when the rest of it cannot hold another `eventSource` key (which would decide
    /// instead): neither that name nor a backslash (which could escape one) is in its bytes.
    /// Nil when it could, or when the pass fails: then the members are scanned one by one.
    /// The KMS reader reads the record in full anyway, with every check of that scan.
    static func kmsRecordEnd(_ s: JSONScanner) -> Int? {
        var rest = s
        guard (try? rest.skipRestOfContainer()) != nil else { return nil }
        let base = s.p + s.i
        let count = rest.i - s.i
        guard memchr(base, Int32(UInt8(ascii: "\\")), count) == nil, !contains(base, count, "eventSource") else { return nil }
        return rest.i
    }

    /// The `eventName` that follows `eventSource` in CloudTrail's own layout
    /// (`,"eventName":"NAME"`, no escape), or nil: most S3 records are told apart by it alone.
    static func nameAfterSource(_ s: JSONScanner) -> Substring? {
        let prefix: StaticString = #","eventName":""#
        let n = prefix.utf8CodeUnitCount
        guard s.end - s.i > n + 24, memcmp(s.p + s.i, prefix.utf8Start, n) == 0 else { return nil }
        let from = s.i + n
        var k = from
        while k < from + 24, s.p[k] != UInt8(ascii: "\"") {
            if s.p[k] == UInt8(ascii: "\\") { return nil }
            k += 1
        }
        guard k < from + 24 else { return nil }
        return Substring(decoding: UnsafeBufferPointer(start: s.p + from, count: k - from), as: UTF8.self)
    }

    /// True when a record's bytes may name an operation that reads an object (the normalizer
    /// decides): most S3 data events are not reads, and are skipped without being built.
    static func namesRead(_ base: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        contains(base, count, "GetObject") || contains(base, count, "CopyObject")
            || contains(base, count, "SelectObjectContent") || contains(base, count, "UploadPartCopy")
    }

    /// True when the `count` bytes at `base` hold `name` (ASCII, at least six bytes, whose
    /// sixth byte is the search's anchor: `S` of `eventSource` is rarer in a record than `e`).
    static func contains(_ base: UnsafePointer<UInt8>, _ count: Int, _ name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        let anchor = name.utf8Start[5]
        var from = 5
        while from < count - (n - 6), let found = memchr(base + from, Int32(anchor), count - (n - 6) - from) {
            let k = base.distance(to: found.assumingMemoryBound(to: UInt8.self)) - 5
            if memcmp(base + k, name.utf8Start, n) == 0 { return true }
            from = k + 6
        }
        return false
    }

    /// Runs `body` on the unread bytes; when it needs more, reads more input and runs it again
    /// from the same place. Consumes what `body` read only when it succeeds.
    ///
    /// Each run gets a new scanner, made over the window's memory as it is then: a read may
    /// move that memory, and the scanner must not outlive the closure that lends it.
    private func step<T>(_ body: (inout JSONScanner) throws -> T) throws -> T {
        while true {
            do {
                var position = 0
                let result = try window.withUnsafeUnreadBytes { bytes, start in
                    var scanner = JSONScanner(bytes, from: start)
                    defer { position = scanner.i }
                    return try body(&scanner)
                }
                window.consume(upTo: position)
                return result
            } catch ParseError.needMore {
                if endOfInput {
                    if stream.producedBytes == 0 { throw ContentError.empty }
                    throw ContentError.truncated
                }
                // Read at least as much as is already buffered, so a huge record costs linear time.
                let n = try stream.read(into: window, chunk: max(256 * 1024, window.count))
                if n == 0 { endOfInput = true }
            } catch let ParseError.syntax(message, offset) {
                throw ContentError.invalidJSON(offset: stream.producedBytes - (window.end - offset), message: message)
            } catch let ParseError.tooDeep(limit, offset) {
                throw ContentError.tooDeep(limit: limit, offset: stream.producedBytes - (window.end - offset))
            }
        }
    }

    private func expectEndOfInput() throws {
        while true {
            let firstNonSpace = window.withUnsafeUnreadBytes { bytes, start in
                bytes[start...].firstIndex { !JSONScanner.isSpace($0) } ?? bytes.count
            }
            window.consume(upTo: firstNonSpace)
            if window.count > 0 {
                throw ContentError.trailingData
            }
            if endOfInput { return }
            if try stream.read(into: window) == 0 { endOfInput = true }
        }
    }
}
