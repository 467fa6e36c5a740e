import CZlib

/// gzip compression through zlib's deflate.
///
/// The gzip header zlib writes carries no name and a zero mtime, so the output depends only on
/// the input and the level: the property the generator's determinism rests on.
enum Gzip {
    /// Compresses `input` into one gzip member, or into several concatenated members of at
    /// most `memberSize` uncompressed bytes each (as a log writer that appends members does).
    static func compress(
        _ input: UnsafeRawBufferPointer,
        level: Int32 = 6,
        memberSize: Int? = nil
    ) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 6 + 64)
        let chunk = max(1, memberSize ?? max(input.count, 1))
        var offset = 0
        repeat {
            let end = min(input.count, offset + chunk)
            try compressMember(UnsafeRawBufferPointer(rebasing: input[offset..<end]), level: level, into: &output)
            offset = end
        } while offset < input.count
        return output
    }

    private static func compressMember(
        _ input: UnsafeRawBufferPointer,
        level: Int32,
        into output: inout [UInt8]
    ) throws {
        var stream = z_stream()
        let initCode = kmsindex_deflateInit2(&stream, level, 15 + 16)
        guard initCode == Z_OK else {
            throw SynthError.zlib(code: initCode, message: nil, doing: "deflateInit2")
        }
        defer { deflateEnd(&stream) }

        // No larger than a small input needs (zeroing 256 KiB per small file showed up).
        let outChunk = min(256 * 1024, input.count + input.count / 8 + 1024)
        var buffer = [UInt8](repeating: 0, count: outChunk)
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            let (code, produced) = buffer.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(outChunk)
                let code = deflate(&stream, Z_FINISH)
                return (code, outChunk - Int(stream.avail_out))
            }
            output.append(contentsOf: buffer[0..<produced])
            if code == Z_STREAM_END { break }
            guard code == Z_OK else {
                let message = stream.msg.map { String(cString: $0) }
                throw SynthError.zlib(code: code, message: message, doing: "deflate")
            }
        }
    }
}
