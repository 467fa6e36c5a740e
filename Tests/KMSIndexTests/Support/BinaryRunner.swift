import Foundation

/// What a run of the binary printed and returned.
struct BinaryRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The `kmsindex` executable built beside the test bundle.
let kmsindexBinary: URL = {
    var dir = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("kmsindex")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return Bundle.main.bundleURL.appendingPathComponent("kmsindex")
}()

/// Runs the binary to the end, as a user or a cron job would.
func runBinary(
    _ arguments: [String], binary: URL = kmsindexBinary, environment: [String: String]? = nil,
    in directory: URL? = nil, stdin: Data? = nil
) throws -> BinaryRun {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    // Built with AddressSanitizer, the binary would report as leaks what swift-argument-parser
    // holds when it exits on a usage error, and turn the exit status into 1. Memory errors stay
    // fatal; leaks are checked in-process by scripts/asan.
    var childEnvironment = environment ?? ProcessInfo.processInfo.environment
    childEnvironment["ASAN_OPTIONS"] = [childEnvironment["ASAN_OPTIONS"], "detect_leaks=0"]
        .compactMap { $0 }.joined(separator: ":")
    process.environment = childEnvironment
    if let directory { process.currentDirectoryURL = directory }
    // stderr goes to a file, so that a full pipe can never block the process.
    let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("kmsindex-stderr-" + UUID().uuidString)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errURL) }
    let err = try FileHandle(forWritingTo: errURL)
    let out = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    try err.close()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let stderr = try Data(contentsOf: errURL)
    return BinaryRun(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}
