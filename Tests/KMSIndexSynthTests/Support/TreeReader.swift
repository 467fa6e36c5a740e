import CZlib
import Foundation
import XCTest

@testable import KMSIndexSynth

/// Decompresses gzip data (all concatenated members) with zlib's inflate: an independent path
/// from the generator's own deflate code.
func gunzip(_ data: Data) throws -> Data {
    var output = Data()
    var stream = z_stream()
    guard kmsindex_inflateInit2(&stream, 15 + 32) == Z_OK else { throw GunzipError.initFailed }
    defer { inflateEnd(&stream) }
    let chunk = 64 * 1024
    var buffer = [UInt8](repeating: 0, count: chunk)
    try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
        guard let base = input.bindMemory(to: Bytef.self).baseAddress else { return }
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = uInt(input.count)
        while true {
            let (code, produced) = buffer.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(chunk)
                let code = inflate(&stream, Z_NO_FLUSH)
                return (code, chunk - Int(stream.avail_out))
            }
            output.append(contentsOf: buffer[0..<produced])
            if code == Z_STREAM_END {
                if stream.avail_in == 0 { return }
                // Another gzip member follows.
                guard inflateReset(&stream) == Z_OK else { throw GunzipError.corrupt(code) }
                continue
            }
            guard code == Z_OK else { throw GunzipError.corrupt(code) }
            if stream.avail_in == 0 && produced == 0 { throw GunzipError.truncated }
        }
    }
    return output
}

enum GunzipError: Error {
    case initFailed
    case corrupt(Int32)
    case truncated
}

/// Counts the gzip members of a file (by decompressing member after member).
func gzipMemberCount(_ data: Data) throws -> Int {
    var members = 0
    var stream = z_stream()
    guard kmsindex_inflateInit2(&stream, 15 + 16) == Z_OK else { throw GunzipError.initFailed }
    defer { inflateEnd(&stream) }
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
        guard let base = input.bindMemory(to: Bytef.self).baseAddress else { return }
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = uInt(input.count)
        while stream.avail_in > 0 {
            let code = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            if code == Z_STREAM_END {
                members += 1
                guard inflateReset(&stream) == Z_OK else { throw GunzipError.corrupt(code) }
            } else if code != Z_OK {
                throw GunzipError.corrupt(code)
            }
        }
    }
    return members
}

/// A generated tree read back with Foundation's JSONSerialization, without any of the
/// generator's own code: the oracle the tests compare the ground truth with.
struct ReadTree {
    /// One log file: its path under the root, uncompressed bytes and records.
    struct LogFile {
        var path: String
        var content: Data
        var records: [[String: Any]]
    }

    var root: URL
    var logFiles: [LogFile] = []
    /// Digest files: path and parsed object.
    var digests: [(path: String, object: [String: Any])] = []
    var insights: [(path: String, object: [String: Any])] = []
    var otherFiles: [String] = []

    /// Every record of every log file, with the file it came from.
    var records: [(path: String, record: [String: Any])] {
        logFiles.flatMap { file in file.records.map { (file.path, $0) } }
    }

    /// KMS records only.
    var kmsRecords: [(path: String, record: [String: Any])] {
        records.filter { $0.record["eventSource"] as? String == "kms.amazonaws.com" }
    }

    init(root: URL) throws {
        self.root = root
        let walker = FileManager.default.enumerator(atPath: root.appendingPathComponent("AWSLogs").path)
        var paths: [String] = []
        while let item = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = root.appendingPathComponent("AWSLogs").appendingPathComponent(item).path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                paths.append("AWSLogs/" + item)
            }
        }
        for path in paths.sorted() {
            let data = try Data(contentsOf: root.appendingPathComponent(path))
            if path.contains("/CloudTrail-Digest/") {
                digests.append((path, try Self.object(gunzip(data))))
            } else if path.contains("/CloudTrail-Insight/") {
                insights.append((path, try Self.object(gunzip(data))))
            } else if path.hasSuffix(".json.gz") && path.contains("_CloudTrail_") {
                let content = try gunzip(data)
                let object = try Self.object(content)
                let records = try XCTUnwrap(object["Records"] as? [[String: Any]], "no Records in \(path)")
                logFiles.append(LogFile(path: path, content: content, records: records))
            } else {
                otherFiles.append(path)
            }
        }
    }

    private static func object(_ data: Data) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// Trees generated once and shared by the tests of a run (generation dominates their cost).
final class TreeCache: @unchecked Sendable {
    static let shared = TreeCache()
    private let lock = NSLock()
    private var trees: [String: (GroundTruth, ReadTree)] = [:]
    private var folders: [URL] = []

    private init() {
        // The cached trees live as long as the test process; remove them when it exits.
        atexit { TreeCache.shared.removeFolders() }
    }

    private func removeFolders() {
        for folder in lock.withLock({ folders }) {
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// The standard small tree: 2 accounts, 2 regions, 1 day of 8 files each, about 2 MB.
    static let standardOptions = SynthOptions(
        seed: 42, accounts: 2, days: 1, filesPerDay: 8, targetUncompressedBytes: 2_000_000)

    func tree(_ options: SynthOptions = TreeCache.standardOptions) throws -> (truth: GroundTruth, tree: ReadTree) {
        let key = "\(options)"
        return try lock.withLock {
            if let cached = trees[key] { return cached }
            let root = try makeTemporaryDirectory()
            folders.append(root)
            let truth = try Synth.generate(options, into: root)
            let tree = try ReadTree(root: root)
            trees[key] = (truth, tree)
            return (truth, tree)
        }
    }
}

/// A new empty folder under the system's temporary directory.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("kmsindex-synth-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension Dictionary where Key == String, Value == Any {
    /// A nested value by a path of keys, e.g. `["userIdentity", "type"]`.
    func value(at path: [String]) -> Any? {
        var current: Any? = self
        for key in path {
            current = (current as? [String: Any])?[key]
        }
        return current
    }

    func string(at path: String...) -> String? {
        value(at: path) as? String
    }
}
