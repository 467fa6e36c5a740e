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
            // A count given as a number (`.stringConvertible(n)`) stays a number in JSON.
            let fields = all.sorted(by: { $0.key < $1.key }).map { field -> Diagnostics.Field in
                if case .stringConvertible(let value) = field.value, value is any BinaryInteger {
                    return Diagnostics.Field(field.key, number: value.description)
                }
                return Diagnostics.Field(field.key, field.value.description)
            }
            Console.err(Diagnostics.jsonLine(level: event.level.rawValue, event.message.description, fields))
        }
    }
}

/// The format of this process's own diagnostics, set from `--log-format` before the command is
/// parsed (so that a usage error follows it too). What is written outside the logger (an
/// error that ends a command with status 2, a usage error, an interruption, progress lines)
/// follows it, so that a log collector reading JSON never meets a line of text.
enum Diagnostics {
    nonisolated(unsafe) static var format: LogFormat = .text

    /// Sets `format` from the command line as given, before it is parsed.
    static func readFormat(from arguments: [String]) {
        for (position, argument) in arguments.enumerated() {
            if argument == "--log-format", position + 1 < arguments.count {
                format = LogFormat(rawValue: arguments[position + 1]) ?? format
            } else if argument.hasPrefix("--log-format=") {
                format = LogFormat(rawValue: String(argument.dropFirst("--log-format=".count))) ?? format
            } else if argument == "--" {
                break
            }
        }
    }

    /// ArgumentParser's message of a usage error without its "Error: " and the usage after it.
    static func usageErrorMessage(_ message: String) -> String {
        let first = message.prefix { $0 != "\n" }
        return String(first.hasPrefix("Error: ") ? first.dropFirst("Error: ".count) : first)
    }

    /// One diagnostic line: `kmsindex: MESSAGE`, the message escaped for a terminal, or a JSON
    /// object with the message intact.
    static func line(level: String, _ message: String, _ fields: [(String, String)] = []) -> String {
        line(level: level, message, fields.map { Field($0.0, $0.1) })
    }

    static func line(level: String, _ message: String, _ fields: [Field]) -> String {
        switch format {
        case .text: "kmsindex: " + TerminalText.escape(message) + "\n"
        case .json: jsonLine(level: level, message, fields)
        }
    }

    /// A field of a JSON line: text, or an integer's digits written as a JSON number.
    struct Field {
        var key: String
        var json: String

        init(_ key: String, _ text: String) {
            self.key = key
            json = JSONText.quoted(text)
        }

        init(_ key: String, number digits: String) {
            self.key = key
            json = digits
        }
    }

    /// `{"time":…,"level":…,"message":…, fields…}` and a newline.
    static func jsonLine(level: String, _ message: String, _ fields: [(String, String)] = []) -> String {
        jsonLine(level: level, message, fields.map { Field($0.0, $0.1) })
    }

    static func jsonLine(level: String, _ message: String, _ fields: [Field]) -> String {
        var parts = [
            "\"time\":" + JSONText.quoted(ISO8601DateFormatter().string(from: Date())),
            "\"level\":" + JSONText.quoted(level),
            "\"message\":" + JSONText.quoted(message),
        ]
        for field in fields { parts.append(JSONText.quoted(field.key) + ":" + field.json) }
        return "{" + parts.joined(separator: ",") + "}\n"
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
        Diagnostics.format = format
        return Logger(label: "kmsindex") { _ in StderrLogHandler(format: format, logLevel: level) }
    }
}
