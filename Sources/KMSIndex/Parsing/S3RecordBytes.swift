#if canImport(Glibc)
import Glibc
#endif

/// What `--s3-reads auto` can tell of an S3 record from its bytes, before building it.
enum S3RecordBytes {
    static let bucketKey: StaticString = #""bucketName":""#

    /// The value of the record's one `"bucketName":"…"` member, when its bytes hold exactly
    /// one and its value has no escape; nil otherwise (then the record is built). A key cannot
    /// hide inside a string: there its quotes would be escaped.
    static func bucketName(_ p: UnsafePointer<UInt8>, from start: Int, to end: Int) -> String? {
        guard let found = find(bucketKey, p, from: start, to: end) else { return nil }
        let valueStart = found + bucketKey.utf8CodeUnitCount
        guard valueStart < end, let close = memchr(p + valueStart, Int32(UInt8(ascii: "\"")), end - valueStart) else { return nil }
        let valueEnd = p.distance(to: close.assumingMemoryBound(to: UInt8.self))
        let value = UnsafeBufferPointer(start: p + valueStart, count: valueEnd - valueStart)
        guard !value.isEmpty, !value.contains(UInt8(ascii: "\\")), find(bucketKey, p, from: valueEnd, to: end) == nil else { return nil }
        return String(decoding: value, as: UTF8.self)
    }

    /// True when the bytes may be a copy, whose source bucket is not `bucketName`.
    static func mayBeCopy(_ p: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Bool {
        LogFileReader.contains(p + start, end - start, "CopyObject") || LogFileReader.contains(p + start, end - start, "UploadPartCopy")
    }

    /// Where `pattern` first starts in `p[start..<end]`, found by its `N` (rare in a record).
    static func find(_ pattern: StaticString, _ p: UnsafePointer<UInt8>, from start: Int, to end: Int) -> Int? {
        let n = pattern.utf8CodeUnitCount
        let anchor = 7  // the N of "bucketName"
        var from = start + anchor
        while from < end - (n - anchor - 1), let hit = memchr(p + from, Int32(pattern.utf8Start[anchor]), end - (n - anchor - 1) - from) {
            let k = p.distance(to: hit.assumingMemoryBound(to: UInt8.self)) - anchor
            if memcmp(p + k, pattern.utf8Start, n) == 0 { return k }
            from = k + anchor + 1
        }
        return nil
    }
}
