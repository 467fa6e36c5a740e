import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// The walk shared by two threads, and the ledger's look-ups by folder, find what one walk and one
/// look-up per file find.
final class InputWalkerTests: XCTestCase {
    private func generated(_ dir: TempDir) throws -> String {
        let root = dir.url.appendingPathComponent("t")
        let options = SynthOptions(seed: 31, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 2, filesPerDay: 6)
        _ = try Synth.generate(options, into: root)
        return root.path
    }

    private func walked(
        _ roots: [String], _ walker: InputWalker, visited: InputWalker.VisitedFolders = .init(), claimed: Bool = false
    ) throws -> (files: [String], notes: [WalkNote]) {
        var files: [String] = [], notes: [WalkNote] = []
        try walker.walk(roots, visited: visited, claimed: claimed, visit: { files.append($0.path) }, note: { notes.append($0) })
        return (files, notes)
    }

    /// Walks each path on its own, as the threads that share them do, in an order of their own
    /// (the last first), the folders entered shared and the paths claimed first, as ingest does.
    private func walkedApart(_ paths: [String], _ walker: InputWalker) throws -> (files: [String], notes: [WalkNote]) {
        let visited = InputWalker.VisitedFolders()
        var files: [String] = [], notes: [WalkNote] = []
        for path in walker.claim(paths, in: visited).reversed() {
            let walk = try walked([path], walker, visited: visited, claimed: true)
            files += walk.files
            notes += walk.notes
        }
        return (files, notes)
    }

    func testPartsTogetherWalkWhatOneWalkWalks() throws {
        let dir = try TempDir()
        let root = try generated(dir)
        let walker = InputWalker()
        let logs = root + "/AWSLogs"
        // The generator's root holds files (the ground truth) beside AWSLogs/; one more file
        // that is not a log file, and one that is, make its own files a path to get right.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/notes.txt"))
        let someLog = try walked([logs], walker).files[0]
        try FileManager.default.copyItem(atPath: someLog, toPath: root + "/" + (someLog as NSString).lastPathComponent)
        // A link back to the root, deep in the tree: one walk meets the root first and skips
        // it; walked apart, the root is claimed by its own path, whichever comes first.
        let account = logs + "/" + (try FileManager.default.contentsOfDirectory(atPath: logs).sorted().last!)
        try FileManager.default.createSymbolicLink(atPath: account + "/back", withDestinationPath: root)
        for roots in [[logs], [root]] {
            let whole = try walked(roots, walker)
            XCTAssertGreaterThan(whole.files.count, 40)
            let (paths, pathsWalker) = walker.parts(roots, count: 2)
            XCTAssertGreaterThanOrEqual(paths.count, 8, "\(roots)")
            let apart = try walkedApart(paths, pathsWalker)
            XCTAssertEqual(apart.files.sorted(), whole.files.sorted(), "\(roots)")
            XCTAssertEqual(Set(apart.files).count, apart.files.count, "no file twice")
            XCTAssertEqual(apart.notes.map { "\($0)" }.sorted(), whole.notes.map { "\($0)" }.sorted(), "\(roots)")
        }
        // The root stays a path for its own files; its folders are walked apart.
        let (rootPaths, rootWalker) = walker.parts([root], count: 2)
        XCTAssertTrue(rootPaths.contains(root))
        XCTAssertTrue(rootWalker.splitOut.contains(logs))
        let inRoot = try walked([root], walker).files.filter { ($0 as NSString).deletingLastPathComponent == root }
        XCTAssertTrue(inRoot.contains(root + "/" + (someLog as NSString).lastPathComponent))
        XCTAssertEqual(try walked([root], rootWalker).files, inRoot)
        // A root given twice, or inside another, is still walked once.
        let (twice, twiceWalker) = walker.parts(
            [logs, logs + "/" + (try FileManager.default.contentsOfDirectory(atPath: logs).sorted()[0])], count: 2)
        XCTAssertEqual(try walkedApart(twice, twiceWalker).files.sorted(), try walked([logs], walker).files.sorted())
        // Nothing to split: the roots, walked as before.
        XCTAssertEqual(walker.parts([logs], count: 1).paths, [logs])
        XCTAssertEqual(walker.parts([logs], count: 1).walker.splitOut, [])
        XCTAssertEqual(walker.parts([someLog], count: 2).paths, [someLog])
    }

    func testLookUpsByFolderAnswerAsLookUpsByFile() throws {
        let dir = try TempDir()
        let root = try generated(dir)
        let index = try makeIndex(dir)
        try ingest(index, [root])
        var files = try walked([root], InputWalker()).files.map { path -> InputFile in
            var st = stat()
            XCTAssertEqual(stat(path, &st), 0)
            return InputFile(path: path, size: Int64(st.st_size), mtimeNs: mtime(st))
        }
        // One file changed (another modification time), one never read.
        files[3].mtimeNs += 1
        files.append(InputFile(path: root + "/AWSLogs/new.json.gz", size: 10, mtimeNs: 1))
        let expected = files.indices.map { $0 != 3 && $0 != files.count - 1 }
        for limit in [1 << 16, 2] {
            let reader = try LedgerReader(path: index.path)
            reader.folderMapLimit = limit
            XCTAssertEqual(reader.areUnchanged(files), expected, "folders of up to \(limit) rows read whole")
        }
    }

    /// A name that is not UTF-8 cannot be opened through a String: the file or folder is
    /// reported once, as failed, named with its odd bytes as \xHH, and the rest is walked,
    /// whether the walk is one or shared.
    func testANameThatIsNotUTF8IsReportedOnceByItsBytes() throws {
        let dir = try TempDir()
        let root = try generated(dir)
        let walker = InputWalker()
        let logs = root + "/AWSLogs"
        let before = try [logs, root].map { try walked([$0], walker).files }
        let someLog = before[0][0]
        let folder = (someLog as NSString).deletingLastPathComponent
        let contents = try Data(contentsOf: URL(fileURLWithPath: someLog))
        func path(_ bytes: [UInt8], in folder: String) -> [CChar] {
            (Array(folder.utf8) + [UInt8(ascii: "/")] + bytes + [0]).map { CChar(bitPattern: $0) }
        }
        // A log file named café in Latin-1 beside the others, a folder whose name is not UTF-8
        // where the walk is split in parts, and a copy of the log under a name that is.
        let file = path(Array("caf".utf8) + [0xE9] + Array("_CloudTrail_x.json.gz".utf8), in: folder)
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        contents.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        close(fd)
        XCTAssertEqual(mkdir(path(Array("old".utf8) + [0xFF, 0xFE], in: logs), 0o700), 0)
        try contents.write(to: URL(fileURLWithPath: folder + "/copy.json.gz"))
        let expected = [
            WalkNote.failed(path: folder + "/caf\\xE9_CloudTrail_x.json.gz", reason: InputWalker.notUTF8Reason),
            WalkNote.failed(path: logs + "/old\\xFF\\xFE", reason: InputWalker.notUTF8Reason),
        ]
        for (roots, files) in zip([[logs], [root]], before) {
            let whole = try walked(roots, walker)
            XCTAssertEqual(whole.notes.filter { expected.contains($0) }, expected, "\(roots)")
            XCTAssertEqual(whole.files.sorted(), (files + [folder + "/copy.json.gz"]).sorted(), "\(roots): the rest is walked")
            let (paths, pathsWalker) = walker.parts(roots, count: 2)
            let apart = try walkedApart(paths, pathsWalker)
            XCTAssertEqual(apart.notes.map { "\($0)" }.sorted(), whole.notes.map { "\($0)" }.sorted(), "\(roots): reported once")
            XCTAssertEqual(apart.files.sorted(), whole.files.sorted())
        }
        // A day left out by --since/--until is left out whatever its files are named.
        let later = InputWalker(days: DeliveryDays(first: DeliveryDays.day("2030-01-01", today: 0), last: nil))
        XCTAssertEqual(try walked([folder], later).notes.filter { expected.contains($0) }, [])
        // Valid names of several bytes stay as they are.
        XCTAssertEqual(Array("café/日本".utf8).withUnsafeBufferPointer(InputWalker.name(bytes:)), .valid("café/日本"))
        XCTAssertEqual(
            ([0x61, 0xC3] + Array("é".utf8) + [0x80]).withUnsafeBufferPointer(InputWalker.name(bytes:)), .notUTF8(shown: "a\\xC3é\\x80"))
    }
}
