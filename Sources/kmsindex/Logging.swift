import ArgumentParser
import Foundation
import KMSIndex
import Logging

/// How diagnostics are written to stderr.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// A swift-log handler that writes one line per message to stderr: `kmsindex: level: message`
/// for people, or one JSON object per line (with the metadata as fields) for log collectors.
/// Caller-chosen text is escaped in text lines and carried intact in JSON.
struct StderrLogHandler: LogHandler {
    var format: LogFormat
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        switch format {
        case .text:
            var line = "kmsindex: "
            if event.level >= .warning { line += "\(event.level): " }
            line += TerminalText.escape(event.message.description)
            Console.err(line)
        case .json:
            var fields = [
                "\"time\":" + JSONText.quoted(ISO8601DateFormatter().string(from: Date())),
                "\"level\":" + JSONText.quoted(event.level.rawValue),
                "\"message\":" + JSONText.quoted(event.message.description),
            ]
            for (key, value) in all.sorted(by: { $0.key < $1.key }) {
                fields.append(JSONText.quoted(key) + ":" + JSONText.quoted(value.description))
            }
            Console.err("{" + fields.joined(separator: ",") + "}")
        }
    }
}

/// Options that set up logging, shared by commands that log.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Diagnostics on stderr as text or json (one object per line).")
    var logFormat: LogFormat = .text

    @Option(help: ArgumentHelp("Least severe diagnostics shown: trace, debug, info, notice, warning, error.", valueName: "level"))
    var logLevel: String = "info"

    func makeLogger(quiet: Bool) throws -> Logger {
        guard var level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if quiet && level < .warning { level = .warning }
        let format = logFormat
        return Logger(label: "kmsindex") { _ in StderrLogHandler(format: format, logLevel: level) }
    }
}
