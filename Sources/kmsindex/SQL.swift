import ArgumentParser
import Foundation
import KMSIndex

extension KMSIndexCommand {
    struct SQLCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "Run one read-only SQL query on the index.",
            discussion: """
                QUERY is one statement, or - to read it from standard input. The index is opened \
                read-only (pending migrations are not applied), and statements that could write (INSERT, UPDATE, DELETE, CREATE, DROP, \
                ALTER, REPLACE, writing PRAGMAs, VACUUM), ATTACH, DETACH and transaction control are \
                refused before they run. Several statements are refused too. -p name value binds \
                :name (as text); repeat it for more. Blobs print as hex. Views: kms_events, \
                object_reads, encryption_context. A query starting with a -- comment goes after a -- \
                argument, or on standard input. Exit status: 0 rows, 1 none, 2 error or refused.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Argument(help: ArgumentHelp("The SQL, or - for standard input.", valueName: "query"))
        var query: String?

        @Option(
            name: .customShort("p"), parsing: .upToNextOption,
            help: ArgumentHelp("A named parameter: -p name value.", valueName: "name value"))
        var parameterWords: [String] = []

        mutating func validate() throws {
            // `-p a 1 "SELECT :a"`: the -p option took the query as a third word.
            if query == nil, parameterWords.count % 2 == 1 { query = parameterWords.removeLast() }
            if query == nil { throw ValidationError("give the SQL to run, or - to read it from standard input") }
            if parameterWords.count % 2 == 1 { throw ValidationError("-p takes a name and a value") }
        }

        mutating func run() throws {
            var sql = query ?? ""
            if sql == "-" {
                sql = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            }
            var parameters: [String: String] = [:]
            for i in stride(from: 0, to: parameterWords.count, by: 2) {
                var name = parameterWords[i]
                if let first = name.first, ":@$".contains(first) { name.removeFirst() }
                parameters[name] = parameterWords[i + 1]
            }
            // Rows are printed as SQLite yields them (`RowPrinter`): a query of millions of rows
            // prints in the memory of one. An error met after some rows leaves every row before
            // it printed, and the status is 2.
            let format = output.format
            var printer: RowPrinter?
            do {
                let queue = try ReadOnlySQL.open(path: database.path)
                try queue.read { db in
                    let query = try ReadOnlySQL.query(db, sql: sql, parameters: parameters)
                    printer = RowPrinter(columns: query.columns, format: format, writeBytes: Console.out(bytes:))
                    try query.print(to: printer!)
                }
            } catch {
                printer?.flushRowsSoFar()
                throw failure("\(error)")
            }
            try endOutput(printer!, none: "the query returned no rows")
        }
    }
}
