import Foundation
import GRDB
import KMSIndexSynth
import XCTest

@testable import KMSIndex

/// The walk on two threads, and the ledger's look-ups by folder, find what one walk and one
/// look-up per file find.
final class InputWalkerTests: XCTestCase {
    private func generated(_ dir: TempDir) throws -> String {
        let root = dir.url.appendingPathComponent("t")
        let options = SynthOptions(seed: 31, accounts: 2, regions: ["us-east-1", "eu-west-1"], days: 2, filesPerDay: 6)
        _ = try Synth.generate(options, into: root)
        return root.path
    }

    private func walked(_ roots: [String], _ walker: InputWalker, visited: InputWalker.VisitedFolders = .init()) throws -> (
        files: [String], notes: [WalkNote]
    ) {
        var files: [String] = [], notes: [WalkNote] = []
        try walker.walk(roots, visited: visited, visit: { files.append($0.path) }, note: { notes.append($0) })
        return (files, notes)
    }

    func testPartsTogetherWalkWhatOneWalkWalks() throws {
        let dir = try TempDir()
        let root = try generated(dir)
        let walker = InputWalker()
        let logs = root + "/AWSLogs"
        let whole = try walked([logs], walker)
        XCTAssertGreaterThan(whole.files.count, 40)
        // A folder that holds files too is not opened: its files are judged by the walk.
        XCTAssertEqual(walker.parts([root], count: 2), [[root]])
        let parts = walker.parts([logs], count: 2)
        XCTAssertEqual(parts.count, 2)
        XCTAssertFalse(parts.contains { $0.isEmpty })
        // Each part walked on its own (as each thread does), the folders entered shared.
        let visited = InputWalker.VisitedFolders()
        var files: [String] = [], skipped = 0
        for part in parts {
            let walk = try walked(part, walker, visited: visited)
            files += walk.files
            skipped += walk.notes.count
        }
        XCTAssertEqual(files.sorted(), whole.files.sorted())
        XCTAssertEqual(Set(files).count, files.count, "no file twice")
        XCTAssertEqual(skipped, whole.notes.count)
        // A root given twice, or inside another, is still walked once.
        let twice = walker.parts([logs, logs + "/" + (try FileManager.default.contentsOfDirectory(atPath: logs).sorted()[0])], count: 2)
        let shared = InputWalker.VisitedFolders()
        let again = try twice.flatMap { try walked($0, walker, visited: shared).files }
        XCTAssertEqual(again.sorted(), whole.files.sorted())
        // Nothing to split: one part.
        XCTAssertEqual(walker.parts([logs], count: 1), [[logs]])
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
}
