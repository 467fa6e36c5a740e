import Foundation

/// A file found under the paths given to ingest.
package struct InputFile: Sendable, Equatable {
    package var path: String
    package var size: Int64
    package var mtimeNs: Int64

    package init(path: String, size: Int64, mtimeNs: Int64) {
        self.path = path
        self.size = size
        self.mtimeNs = mtimeNs
    }
}

/// What the walk found that is not a file to read.
package enum WalkNote: Sendable, Equatable {
    /// Not read, for a reason known from its path (a digest or Insights file, not JSON).
    case skipped(path: String, reason: String)
    /// Could not be listed or examined.
    case failed(path: String, reason: String)
}

/// Walks files and folders given on the command line, in a stable (sorted) order.
///
/// Symbolic links are followed, and a folder already visited (a link loop) is not entered
/// again. In folders, only `.json.gz`, `.json` and `.gz` files are candidates; a file named
/// explicitly is always read.
package struct InputWalker {
    /// Absolute paths never to visit (the index itself and its journal files).
    package var excluded: Set<String>

    /// Delivery days to read; folders outside are not listed.
    package var days: DeliveryDays?

    /// Absolute paths of folders walked as roots of their own (`parts`): the walk of the folder
    /// that holds one does not enter it.
    package var splitOut: Set<String> = []

    package init(excluded: Set<String> = [], days: DeliveryDays? = nil) {
        self.excluded = excluded
        self.days = days
    }

    /// Calls `visit` for each candidate file and `note` for everything skipped or unreadable.
    package func walk(_ roots: [String], visit: (InputFile) throws -> Void, note: (WalkNote) throws -> Void) throws {
        try walk(roots, visited: VisitedFolders(), visit: visit, note: note)
    }

    /// The same, with the folders already entered shared with other walks of the same run
    /// (see `parts`): a folder is entered once by one of them. With `claimed`, the folders of
    /// `roots` were claimed for these walks (`claim`), and are entered though already marked.
    package func walk(
        _ roots: [String], visited: VisitedFolders, claimed: Bool = false, visit: (InputFile) throws -> Void,
        note: (WalkNote) throws -> Void
    ) throws {
        for root in roots {
            var st = stat()
            guard stat(root, &st) == 0 else {
                try note(.failed(path: root, reason: "cannot read: \(String(cString: strerror(errno)))"))
                continue
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                if let days, days.excludes(Self.absolute(root)) { continue }
                try walkDirectory(Self.absolute(root), visited: visited, claimed: claimed, visit: visit, note: note)
            } else {
                try visit(InputFile(path: Self.absolute(root), size: Int64(st.st_size), mtimeNs: mtime(st)))
            }
        }
    }

    /// Marks the folders of `paths` entered before any walk of them starts, so that a walk
    /// that reaches one through a symbolic link skips it, whichever thread gets there first:
    /// each is walked by its own path (`walk(claimed: true)`), and every file is found at the
    /// same path run after run. Returns `paths` less any folder given twice, and less any file
    /// given twice or that the walk of a folder given finds at the same path: a file read twice
    /// in a run had its ledger row written twice, the second time with no event added.
    package func claim(_ paths: [String], in visited: VisitedFolders) -> [String] {
        var folders = Set<String>()
        for path in paths {
            var st = stat()
            if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { folders.insert(Self.absolute(path)) }
        }
        var files = Set<String>()
        return paths.filter { path in
            var st = stat()
            guard stat(path, &st) == 0 else { return true }  // the walk reports it
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                return visited.insert(DirectoryID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
            case S_IFREG:
                let file = Self.absolute(path)
                guard files.insert(file).inserted else { return false }
                return !(Self.skipReason(path: file) == nil && days?.excludes(file) != true && isInside(file, folders))
            default:
                return true
            }
        }
    }

    /// Whether one of the folders of `path` is in `folders` (absolute paths).
    private func isInside(_ path: String, _ folders: Set<String>) -> Bool {
        var folder = Substring(path)
        while let slash = folder.lastIndex(of: "/"), slash > folder.startIndex {
            folder = folder[..<slash]
            if folders.contains(String(folder)) { return true }
        }
        return folders.contains("/") && path != "/"
    }

    struct DirectoryID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// The folders entered, by device and inode: a symbolic-link loop, or a folder given
    /// twice, is not entered again. Shared by the walks of one run, on their threads.
    package final class VisitedFolders: @unchecked Sendable {
        private let lock = NSLock()
        private var ids = Set<DirectoryID>()

        package init() {}

        func insert(_ id: DirectoryID) -> Bool { lock.withLock { ids.insert(id).inserted } }
    }

    /// `roots` opened into at least `count` paths when the tree allows, whose walks together
    /// are the walk of `roots`, for as many threads to share, and the walker that walks them:
    /// folders are opened, largest level first, until there are enough of them (a tree of
    /// CloudTrail logs splits at its accounts, regions or days). A folder that also holds files
    /// (a synced bucket's root, with its `AWSLogs/` beside other objects) stays a path, for its
    /// files, and its folders become paths of their own, which its walk skips (`splitOut`).
    /// Otherwise `roots` and this walker. On one thread a stat of each file is most of a
    /// re-run's time.
    package func parts(_ roots: [String], count: Int) -> (paths: [String], walker: InputWalker) {
        guard count > 1 else { return (roots, self) }
        var walker = self
        var paths = roots
        var opened = Set<String>()
        // A level at a time: every folder of the level that holds folders is opened, until
        // there are enough paths for threads to share about evenly.
        for _ in 0..<8 where paths.count < count * 8 {
            var next: [String] = []
            var openedAny = false
            for path in paths {
                guard !opened.contains(path), let listing = Self.folders(in: path) else {
                    next.append(path)
                    continue
                }
                opened.insert(path)
                if listing.holdsMore { next.append(path) }
                next += listing.folders
                walker.splitOut.formUnion(listing.folders)
                openedAny = true
            }
            paths = next
            if !openedAny { break }
        }
        return paths.count >= count ? (paths, walker) : (roots, self)
    }

    /// The sorted paths of the folders in `path` (not links), and whether it holds anything
    /// else; nil when `path` is not a folder or holds no folder.
    private static func folders(in path: String) -> (folders: [String], holdsMore: Bool)? {
        guard let handle = opendir(path) else { return nil }
        defer { closedir(handle) }
        var names: [String] = []
        var holdsMore = false
        while let entry = readdir(handle) {
            // A name that is not UTF-8 is reported by the walk of its folder, once.
            guard case let .valid(name) = Self.name(of: entry) else {
                holdsMore = true
                continue
            }
            if name == "." || name == ".." { continue }
            if entry.pointee.d_type == UInt8(DT_DIR) { names.append(name) } else { holdsMore = true }
        }
        let base = absolute(path)
        return names.isEmpty ? nil : (names.sorted().map { base.hasSuffix("/") ? base + $0 : base + "/" + $0 }, holdsMore)
    }

    private func walkDirectory(
        _ dir: String, visited: VisitedFolders, claimed: Bool = false, visit: (InputFile) throws -> Void,
        note: (WalkNote) throws -> Void
    ) throws {
        var st = stat()
        guard stat(dir, &st) == 0 else {
            try note(.failed(path: dir, reason: "cannot read: \(String(cString: strerror(errno)))"))
            return
        }
        let id = DirectoryID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        // A symbolic-link loop, or a folder given twice; a claimed root was marked for this walk.
        guard claimed || visited.insert(id) else { return }

        guard let handle = opendir(dir) else {
            try note(.failed(path: dir, reason: "cannot list folder: \(String(cString: strerror(errno)))"))
            return
        }
        // Entries are stat'ed relative to the open folder: a whole path made the kernel walk
        // every folder above again, for each file.
        defer { closedir(handle) }
        let folder = dirfd(handle)
        var names: [(text: String, valid: Bool)] = []
        while let entry = readdir(handle) {
            switch Self.name(of: entry) {
            case let .valid(name): if name != "." && name != ".." { names.append((name, true)) }
            case let .notUTF8(shown): names.append((shown, false))
            }
        }
        names.sort { $0.text < $1.text }

        // Digest and Insights files are known by their folder: judged once for all its files.
        let folderReason = Self.folderSkipReason(dir + "/")
        for (name, valid) in names {
            let path = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            // Days are judged by the path's folders, whose digits are shown as they are.
            if let days, days.excludes(path) { continue }
            guard valid else {
                try note(.failed(path: path, reason: Self.notUTF8Reason))
                continue
            }
            var st = stat()
            guard fstatat(folder, name, &st, 0) == 0 else {
                let code = errno
                if fstatat(folder, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                    // A link that leads nowhere is only a failure where a log file could be.
                    if let reason = folderReason ?? Self.nameSkipReason(name) {
                        try note(.skipped(path: path, reason: reason))
                    } else {
                        try note(.failed(path: path, reason: code == ELOOP ? "symbolic link loop" : "broken symbolic link"))
                    }
                } else {
                    try note(.failed(path: path, reason: "cannot read: \(String(cString: strerror(errno)))"))
                }
                continue
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if splitOut.contains(path) { continue }  // a part of its own
                try walkDirectory(path, visited: visited, visit: visit, note: note)
            case S_IFREG:
                if excluded.contains(path) { continue }
                if let reason = folderReason ?? Self.nameSkipReason(name) {
                    try note(.skipped(path: path, reason: reason))
                } else {
                    try visit(InputFile(path: path, size: Int64(st.st_size), mtimeNs: mtime(st)))
                }
            default:
                // A FIFO, a socket or a device: never read (a FIFO would block the run).
                try note(.skipped(path: path, reason: "not a regular file"))
            }
        }
    }

    /// Why a file found in a folder is not read, judging by its path alone; nil to read it.
    package static func skipReason(path: String) -> String? {
        folderSkipReason(path) ?? nameSkipReason(path)
    }

    /// Why no file under a folder whose path (or a file's) is `path` is read, if one of its
    /// folders says so: CloudTrail's digest and Insights folders.
    static func folderSkipReason(_ path: String) -> String? {
        // Compared as UTF-8 bytes: Foundation's String.contains costs more than the stat.
        func contains(_ part: StaticString) -> Bool {
            path.withUTF8Bytes { bytes in
                let n = part.utf8CodeUnitCount
                guard let base = bytes.baseAddress, bytes.count >= n else { return false }
                var k = 0
                while k + n <= bytes.count {
                    if base[k] == part.utf8Start[0] && memcmp(base + k, part.utf8Start, n) == 0 { return true }
                    k += 1
                }
                return false
            }
        }
        if contains("/CloudTrail-Digest/") { return "CloudTrail digest file" }
        if contains("/CloudTrail-Insight/") { return "CloudTrail Insights file" }
        return nil
    }

    /// Why a file of this name is not read, by its extension.
    static func nameSkipReason(_ name: String) -> String? {
        let utf8 = name.utf8
        if !(utf8.reversed().starts(with: ".gz".utf8.reversed()) || utf8.reversed().starts(with: ".json".utf8.reversed())) {
            return "not a .json or .json.gz file"
        }
        return nil
    }

    /// A folder's entry's name, as `readdir` gives it.
    enum EntryName: Equatable {
        case valid(String)
        /// Not UTF-8: a String would stand for other bytes, so the entry cannot be opened by
        /// it. `shown` has each byte that is not UTF-8 as `\xHH`, so that the message names it.
        case notUTF8(shown: String)
    }

    static let notUTF8Reason =
        "its name is not UTF-8 (such bytes shown as \\xHH), so it cannot be read; CloudTrail names its files in ASCII: rename it"

    private static func name(of entry: UnsafeMutablePointer<dirent>) -> EntryName {
        withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: UInt8.self, capacity: 256) { Self.name(bytes: UnsafeBufferPointer(start: $0, count: strlen($0))) }
        }
    }

    /// The name these bytes make.
    static func name(bytes: UnsafeBufferPointer<UInt8>) -> EntryName {
        if let text = String(validating: bytes, as: UTF8.self) { return .valid(text) }
        // Each byte that does not start or continue a well-formed sequence, escaped.
        var shown = ""
        var rest = bytes[...]
        while !rest.isEmpty {
            var length = 1
            while length <= min(4, rest.count) {
                if String(validating: UnsafeBufferPointer(rebasing: rest.prefix(length)), as: UTF8.self) != nil { break }
                length += 1
            }
            if length <= min(4, rest.count) {
                shown += String(decoding: UnsafeBufferPointer(rebasing: rest.prefix(length)), as: UTF8.self)
                rest = rest.dropFirst(length)
            } else {
                let byte = Int(rest.first!), hex = Array("0123456789ABCDEF")
                shown += "\\x" + String(hex[byte >> 4]) + String(hex[byte & 15])
                rest = rest.dropFirst()
            }
        }
        return .notUTF8(shown: shown)
    }

    /// The absolute form of `path`, with `.` and `..` resolved as text (links are kept as named).
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}

func mtime(_ st: stat) -> Int64 {
    Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
}
