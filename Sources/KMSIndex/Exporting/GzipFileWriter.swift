import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An error writing an export file.
package struct ExportError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, with the path.
    package let description: String

    /// An error saying `description`.
    package init(_ description: String) {
        self.description = description
    }

    static func system(_ doing: String, _ path: String) -> ExportError {
        ExportError("cannot \(doing) \(path): \(String(cString: strerror(errno)))")
    }
}

/// A new file written as one gzip member, compressed by zlib as the bytes come: memory stays
/// at zlib's state and one output buffer, whatever the size of the file.
final class GzipFileWriter {
    let path: String
    private var fd: Int32
    private var stream = z_stream()
    private var output: [UInt8]
    private var finished = false
    /// Compressed bytes written to the file so far.
    private(set) var compressedBytes: Int64 = 0

    /// Creates `path`, which must not exist, with `mode`.
    init(path: String, level: Int32 = 6, mode: mode_t = 0o600) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ExportError.system("create", path) }
        output = [UInt8](repeating: 0, count: 256 * 1024)
        let code = kmsindex_deflateInit2(&stream, level, 15 + 16)
        guard code == Z_OK else {
            close(fd)
            fd = -1
            throw ExportError("zlib: deflateInit2 failed (\(code)) for \(path)")
        }
    }

    deinit {
        if !finished { deflateEnd(&stream) }
        if fd >= 0 { close(fd) }
    }

    /// Compresses `bytes` into the file.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { try deflateAll($0, flush: Z_NO_FLUSH) }
    }

    /// Ends the gzip member, flushes the file to disk and closes it.
    func finish() throws {
        try deflateAll(UnsafeBufferPointer(start: nil, count: 0), flush: Z_FINISH)
        deflateEnd(&stream)
        finished = true
        guard fsync(fd) == 0 else { throw ExportError.system("sync", path) }
        guard close(fd) == 0 else { fd = -1; throw ExportError.system("close", path) }
        fd = -1
    }

    private func deflateAll(_ input: UnsafeBufferPointer<UInt8>, flush: Int32) throws {
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.avail_in = uInt(input.count)
        while true {
            let capacity = output.count
            let (code, produced) = output.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(capacity)
                let code = deflate(&stream, flush)
                return (code, capacity - Int(stream.avail_out))
            }
            guard code == Z_OK || code == Z_STREAM_END || code == Z_BUF_ERROR else {
                throw ExportError("zlib: deflate failed (\(code)) for \(path)")
            }
            if produced > 0 { try writeOut(produced) }
            if flush == Z_FINISH {
                if code == Z_STREAM_END { return }
            } else if stream.avail_in == 0 && produced < capacity {
                return
            }
        }
    }

    private func writeOut(_ count: Int) throws {
        try output.withUnsafeBytes { buffer in
            var offset = 0
            while offset < count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ExportError.system("write", path)
                }
                offset += n
            }
        }
        compressedBytes += Int64(count)
    }
}
