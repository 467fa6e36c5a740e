import Foundation

/// Build-time tool: `MigrationEmbedder OUTPUT.swift NNN_name.sql...` writes
/// `embeddedMigrations`, the (identifier, sql) pairs in file-name order.
@main
struct MigrationEmbedder {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let output = arguments.first else {
            FileHandle.standardError.write(Data("usage: MigrationEmbedder OUTPUT.swift FILE.sql...\n".utf8))
            exit(2)
        }
        let files = arguments.dropFirst().sorted { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }
        var swift = "// Generated from Migrations/*.sql at build time. Do not edit.\n"
        swift += "let embeddedMigrations: [(identifier: String, sql: String)] = [\n"
        for file in files {
            let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            let sql = try String(contentsOfFile: file, encoding: .utf8)
            // A raw string with enough '#' that no sequence in the SQL can close it.
            var hashes = "#"
            while sql.contains("\"" + hashes) { hashes += "#" }
            swift += "    (\(String(reflecting: name)), \(hashes)\"\"\"\n\(sql)\n\"\"\"\(hashes)),\n"
        }
        swift += "]\n"
        try swift.write(toFile: output, atomically: true, encoding: .utf8)
    }
}
