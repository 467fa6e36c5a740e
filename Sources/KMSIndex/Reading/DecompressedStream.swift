import CISAL
import KMSCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file's bytes could not be read or decompressed.
package enum ReadError: Error, Equatable, CustomStringConvertible {
    /// The system call that failed on the file.
    package enum Operation: String, Sendable {
        case open, read
    }

    case io(operation: Operation, errno: Int32)
    case emptyFile
    case truncatedGzip
    case corruptGzip(String)
    case trailingGarbage(offset: Int)
    case tooLarge(limit: Int)
    case notRegularFile(kind: String)

    package var description: String {
        switch self {
        case let .io(operation, code):
            return "\(operation.rawValue): \(String(cString: strerror(code)))"
        case .emptyFile:
            return "empty file (0 bytes)"
        case .truncatedGzip:
            return "gzip stream is truncated (the file ends before the end of the compressed data)"
        case let .corruptGzip(message):
            return "gzip stream is corrupt: \(message)"
        case let .trailingGarbage(offset):
            return "data after the end of the gzip stream at byte \(offset) is not another gzip member"
        case let .tooLarge(limit):
            return "decompressed content exceeds the limit of \(limit) bytes (raise it with --max-file-bytes)"
        case let .notRegularFile(kind):
            return "not a regular file: \(kind)"
        }
    }
}

/// Streams the content of one file, inflating it when it is gzip.
///
/// Gzip is recognized by its magic bytes, not by the file name. Several concatenated
/// members are read as one stream, as `gzip -d` does; a stream that ends early or fails its
/// CRC or length check is an error, never a silent partial read. Trailing zero bytes (padding)
/// are ignored.
package final class DecompressedStream {
    package let path: String
    /// Uncompressed bytes produced so far.
    package private(set) var producedBytes = 0
    /// Compressed (on-disk) bytes read so far.
    package private(set) var consumedBytes = 0
    package private(set) var isGzip = false

    private let fd: Int32
    private let limit: Int
    /// ISA-L's inflate state: large (two windows of history), so allocated once per stream.
    private let inflater: UnsafeMutablePointer<inflate_state>
    private var memberEnded = false
    private let input: UnsafeMutablePointer<UInt8>
    private let inputCapacity: Int
    private var inputStart = 0
    private var inputEnd = 0
    private var fileEOF = false
    private var finished = false
    private var started = false

    private var hasher: SHA256?
    private var fileHasher: SHA256?

    /// The last 8 compressed bytes inflate consumed, the oldest in the low byte: at the end of
    /// a member, its trailer, which tells a bad CRC-32 from a bad length when the check fails.
    /// Kept as input is consumed, because a refill moves the buffer.
    private var lastConsumed: UInt64 = 0

    /// Opens `path`. `limit` caps the decompressed size (a bound on gzip bombs). With
    /// `hashContent`, the SHA-256 of the decompressed content is computed as it streams by
    /// (what CloudTrail digest files record for each log file); with `hashFile`, the SHA-256
    /// of the file's bytes as read (a sixth of the work on gzip, and the same proof that a
    /// file is the one read before). `inputBytes` is the size of the buffer of compressed
    /// input (tests make it small, so that every path of a refill is taken).
    package init(path: String, limit: Int, hashContent: Bool = false, hashFile: Bool = false, inputBytes: Int = 256 * 1024)
        throws
    {
        self.path = path
        self.limit = limit
        inputCapacity = max(inputBytes, 16)
        if hashContent { hasher = SHA256() }
        if hashFile { fileHasher = SHA256() }
        fd = try Self.openRegularFile(path).fd
        input = .allocate(capacity: inputCapacity)
        inflater = .allocate(capacity: 1)
    }

    /// Opens `path` for reading, without waiting, and only if it is a regular file: a FIFO would
    /// block the run (and its lock) until something wrote to it. O_NONBLOCK changes nothing for a
    /// regular file. Returns the descriptor, which the caller closes, and the file's size.
    static func openRegularFile(_ path: String) throws -> (fd: Int32, size: Int64) {
        let opened = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard opened >= 0 else { throw ReadError.io(operation: .open, errno: errno) }
        var st = stat()
        guard fstat(opened, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(opened)
            switch st.st_mode & S_IFMT {
            case S_IFDIR: throw ReadError.notRegularFile(kind: "a directory")
            case S_IFIFO: throw ReadError.notRegularFile(kind: "a FIFO")
            case S_IFSOCK: throw ReadError.notRegularFile(kind: "a socket")
            default: throw ReadError.notRegularFile(kind: "a device")
            }
        }
        return (opened, Int64(st.st_size))
    }

    deinit {
        inflater.deallocate()
        input.deallocate()
        close(fd)
    }

    /// Reads more compressed input into the input buffer; returns false at end of file.
    private func refillInput() throws -> Bool {
        if inputStart > 0 {
            let n = inputEnd - inputStart
            if n > 0 { input.update(from: input + inputStart, count: n) }
            inputStart = 0
            inputEnd = n
        }
        while true {
            let n = Glibc.read(fd, input + inputEnd, inputCapacity - inputEnd)
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError.io(operation: .read, errno: errno)
            }
            if n == 0 { fileEOF = true; return false }
            fileHasher?.update(UnsafeRawBufferPointer(start: input + inputEnd, count: n))
            inputEnd += n
            consumedBytes += n
            return true
        }
    }

    /// Appends the next decompressed bytes to `window`; returns the number appended,
    /// 0 only at the end of the content.
    func read(into window: ByteWindow, chunk: Int = 256 * 1024) throws -> Int {
        if finished { return 0 }
        if !started {
            started = true
            while inputEnd < 2, try refillInput() {}
            if inputEnd == 0 { throw ReadError.emptyFile }
            isGzip = inputEnd >= 2 && input[0] == 0x1f && input[1] == 0x8b
            if isGzip { try startMember() }
        }
        window.reserveFree(chunk)
        return isGzip ? try inflateSome(into: window, chunk: chunk) : try copySome(into: window, chunk: chunk)
    }

    private func copySome(into window: ByteWindow, chunk: Int) throws -> Int {
        if inputStart == inputEnd, !fileEOF { _ = try refillInput() }
        let n = min(inputEnd - inputStart, chunk)
        if n == 0 { finished = true; return 0 }
        try checkLimit(adding: n)
        window.appendWithUnsafeFreeBytes { free in
            free.baseAddress!.update(from: input + inputStart, count: n)
            hash(free.baseAddress!, n)
            return n
        }
        inputStart += n
        producedBytes += n
        return n
    }

    private func startMember() throws {
        // Reserved flag bits (5-7) mean a format this reader does not know; gzip refuses them too.
        while inputEnd - inputStart < 4, !fileEOF { _ = try refillInput() }
        if inputEnd - inputStart >= 4, input[inputStart + 3] & 0xE0 != 0 {
            throw ReadError.corruptGzip("unknown header flags set")
        }
        isal_inflate_init(inflater)
        // The gzip wrapper: ISA-L parses the header (and its CRC-16, when flagged) and checks
        // the member's CRC-32 and length against its trailer.
        inflater.pointee.crc_flag = UInt32(ISAL_GZIP)
        memberEnded = false
    }

    private func inflateSome(into window: ByteWindow, chunk: Int) throws -> Int {
        var produced = 0
        while produced == 0 {
            if memberEnded {
                // After a member ends, more input means another member (or zero padding).
                if try !nextMemberFollows() { finished = true; return 0 }
                try startMember()
            }
            if inputStart == inputEnd, !fileEOF { _ = try refillInput() }
            let available = inputEnd - inputStart
            if available == 0 && fileEOF { throw ReadError.truncatedGzip }
            produced += try window.appendWithUnsafeFreeBytes { free in
                let outCapacity = min(free.count, chunk)
                inflater.pointee.next_in = input + inputStart
                inflater.pointee.avail_in = UInt32(available)
                inflater.pointee.next_out = free.baseAddress
                inflater.pointee.avail_out = UInt32(outCapacity)
                let status = isal_inflate(inflater)
                let made = outCapacity - Int(inflater.pointee.avail_out)
                // Where inflate stopped, from its pointer: on some corrupt streams its count of
                // input left wraps around (a fuzzer's input). A position outside the input it
                // was given is an error, never a count to go by.
                let stop = inflater.pointee.next_in - input
                let inside = stop >= inputStart && stop <= inputEnd && made >= 0 && made <= outCapacity
                let used = inside ? stop - inputStart : 0
                guard inside || status < 0 else {
                    throw ReadError.corruptGzip("invalid compressed data (inflate ended outside its input)")
                }
                if inside {
                    keepLastConsumed(upTo: stop, from: inputStart)
                    inputStart = stop
                }
                switch status {
                case ISAL_DECOMP_OK, ISAL_END_INPUT, ISAL_OUT_OVERFLOW:
                    if inflater.pointee.block_state == ISAL_BLOCK_FINISH {
                        memberEnded = true
                    } else if used == 0 && made == 0 && fileEOF && inputStart == inputEnd {
                        throw ReadError.truncatedGzip
                    }
                case ISAL_INCORRECT_CHECKSUM:
                    throw checksumError()
                case ISAL_INVALID_BLOCK:
                    throw ReadError.corruptGzip("invalid block type or block header")
                case ISAL_INVALID_SYMBOL:
                    throw ReadError.corruptGzip("invalid code in the compressed data")
                case ISAL_INVALID_LOOKBACK:
                    throw ReadError.corruptGzip("invalid distance too far back")
                case ISAL_INVALID_WRAPPER:
                    throw ReadError.corruptGzip("incorrect header check")
                case ISAL_UNSUPPORTED_METHOD:
                    throw ReadError.corruptGzip("unknown compression method")
                default:
                    throw ReadError.corruptGzip("inflate status \(status)")
                }
                if made > 0 {
                    try checkLimit(adding: made)
                    hash(free.baseAddress!, made)
                    producedBytes += made
                }
                return made
            }
        }
        return produced
    }

    /// Keeps the last 8 bytes consumed, inflate having taken those of the input buffer from
    /// `start` up to `end`.
    private func keepLastConsumed(upTo end: Int, from start: Int) {
        if end - start >= 8 {
            lastConsumed = UInt64(littleEndian: UnsafeRawPointer(input + end - 8).loadUnaligned(as: UInt64.self))
        } else {
            for i in start..<end { lastConsumed = lastConsumed >> 8 | UInt64(input[i]) << 56 }
        }
    }

    /// The error of a failed check: in the header (its CRC-16) before any content, else the
    /// trailer's CRC-32 (checked first, as gzip does) or its length, both little-endian.
    private func checksumError() -> ReadError {
        let state = inflater.pointee
        if state.block_state != ISAL_BLOCK_FINISH && state.total_out == 0 {
            return .corruptGzip("header crc mismatch")
        }
        let crc = UInt32(truncatingIfNeeded: lastConsumed)
        let size = UInt32(truncatingIfNeeded: lastConsumed >> 32)
        func hex(_ v: UInt32) -> String {
            let digits = String(v, radix: 16)
            return String(repeating: "0", count: 8 - digits.count) + digits
        }
        if crc != state.crc {
            return .corruptGzip(
                "incorrect data check (the content's CRC-32 is \(hex(state.crc)), the gzip trailer says \(hex(crc)))")
        }
        return .corruptGzip(
            "incorrect length check (the content is \(state.total_out) bytes mod 2^32, the gzip trailer says \(size))")
    }

    /// True when another gzip member starts at the current input position. Zero padding to
    /// the end of the file counts as the end; anything else is an error.
    private func nextMemberFollows() throws -> Bool {
        while true {
            while inputStart < inputEnd && input[inputStart] == 0 { inputStart += 1 }
            if inputStart < inputEnd { break }
            if try !refillInput() { return false }
        }
        let offset = consumedBytes - (inputEnd - inputStart)
        while inputEnd - inputStart < 2, !fileEOF { _ = try refillInput() }
        guard inputEnd - inputStart >= 2, input[inputStart] == 0x1f, input[inputStart + 1] == 0x8b else {
            throw ReadError.trailingGarbage(offset: offset)
        }
        return true
    }

    private func hash(_ bytes: UnsafeMutablePointer<UInt8>, _ count: Int) {
        hasher?.update(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Lowercase hex SHA-256 of the whole decompressed content; nil until the end is read,
    /// or when hashing was not asked for.
    package var contentSHA256: String? {
        guard finished, let hasher else { return nil }
        return Hex.encode(hasher.finalize())
    }

    /// Lowercase hex SHA-256 of the file's bytes; nil until the whole file is read, or when
    /// hashing was not asked for.
    package var fileSHA256: String? {
        guard finished, fileEOF, let fileHasher else { return nil }
        return Hex.encode(fileHasher.finalize())
    }

    /// Reads the rest of the content, keeping none of it: for its hashes and checks.
    package func readToEnd() throws {
        let window = ByteWindow(capacity: 256 * 1024)
        while try read(into: window) > 0 { window.consume(upTo: window.end) }
    }

    private func checkLimit(adding n: Int) throws {
        if producedBytes + n > limit { throw ReadError.tooLarge(limit: limit) }
    }
}
