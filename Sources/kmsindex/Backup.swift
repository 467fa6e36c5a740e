import ArgumentParser
import KMSIndex

extension KMSIndexCommand {
    struct BackupCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract: "Write a consistent copy of the index to a new file, even while an ingest runs.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The new file.", valueName: "path"), completion: .file())
        var destination: String

        mutating func run() throws {
            Interruption.sayOnInterrupt(
                "the copy is written as \(destination).partial and given its name only when whole: run the same command again")
            do {
                let index = try IndexDatabase.openForReading(path: database.path)
                try Maintenance.backup(index, to: destination)
            } catch {
                // A full disk is the new file's: the index is only read.
                throw failure(StorageFailure.explain(error, index: destination, onlyWrites: true) ?? "\(error)")
            }
        }
    }
}
