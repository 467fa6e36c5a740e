/// What can go wrong while generating a tree.
public enum SynthError: Error, CustomStringConvertible, Sendable {
    /// A zlib call failed: its return code, zlib's message if any, and what was being done.
    case zlib(code: Int32, message: String?, doing: String)
    /// Writing a file or creating a folder failed.
    case io(path: String, reason: String)
    /// The options cannot describe a tree (for example no regions, or a malformed start date).
    case invalidOptions(String)

    public var description: String {
        switch self {
        case let .zlib(code, message, doing):
            return "\(doing): zlib error \(code)" + (message.map { " (\($0))" } ?? "")
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .invalidOptions(reason):
            return "invalid options: \(reason)"
        }
    }
}
