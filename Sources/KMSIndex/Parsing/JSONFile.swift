/// A small JSON file read whole (a digest file, a key file): gzip or plain.
enum JSONFile {
    /// The parsed value and the lowercase hex SHA-256 of the (uncompressed) content.
    static func read(_ path: String, limit: Int = 256 << 20) throws -> (value: JSONValue, sha256: String) {
        let stream = try DecompressedStream(path: path, limit: limit, hashContent: true)
        let window = ByteWindow()
        while try stream.read(into: window) > 0 {}
        var scanner = JSONScanner(window.base, from: window.start, to: window.end)
        do {
            return (try scanner.parseValue(), stream.contentSHA256 ?? "")
        } catch ParseError.needMore {
            throw ContentError("JSON ends unexpectedly")
        } catch let ParseError.syntax(message, offset) {
            throw ContentError("invalid JSON at byte \(offset): \(message)")
        }
    }
}
