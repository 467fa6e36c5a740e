/// A small JSON file read whole (a digest file, a key file): gzip or plain.
enum JSONFile {
    /// The parsed value and the lowercase hex SHA-256 of the (uncompressed) content.
    static func read(_ path: String, limit: Int = 256 << 20) throws -> (value: JSONValue, sha256: String) {
        let stream = try DecompressedStream(path: path, limit: limit, hashContent: true)
        let window = ByteWindow()
        while try stream.read(into: window) > 0 {}
        do {
            let value = try window.withUnsafeUnreadBytes { bytes, start in
                var scanner = JSONScanner(bytes, from: start)
                return try scanner.parseValue()
            }
            return (value, stream.contentSHA256 ?? "")
        } catch ParseError.needMore {
            throw ContentError.truncated
        } catch let ParseError.syntax(message, offset) {
            throw ContentError.invalidJSON(offset: offset, message: message)
        }
    }
}
