import Foundation

/// A query given something it cannot use: a time that is not a time, an unknown key form.
/// The command line reports it as a usage error (status 2).
package enum QueryError: Error, CustomStringConvertible, Equatable {
    /// A `--since`, `--until` or `--before` value that is neither a time nor an age.
    case notATime(String)
    /// `--limit` below 1.
    case limitBelowOne
    /// `--since` not before `--until`: the values as given, and the bounds they are (from
    /// `from`, up to and not including `before`).
    case emptyRange(since: String, until: String, from: String, before: String)
    /// `sql` given nothing but whitespace or comments.
    case noStatement
    /// `sql` given more than one statement.
    case severalStatements(sql: String)
    /// A positional parameter (`?`) in `sql`.
    case positionalParameter(sql: String)
    /// A parameter given that `sql` does not use.
    case unusedParameter(String, sql: String)
    /// A parameter `sql` uses and was not given.
    case missingParameter(String, sql: String)
    /// A statement refused although SQLite counts it read-only (`ATTACH`, `BEGIN`...).
    case refusedKeyword(String, sql: String)
    /// A statement that could write; `keyword` is its first word (empty when none).
    case notReadOnly(keyword: String, sql: String)

    package var description: String {
        switch self {
        case let .notATime(text):
            return "'\(text)' is not a time: give a date (2024-03-01), a UTC time (2024-03-01T12:00:00Z) or an age (30m, 24h, 7d)"
        case .limitBelowOne:
            return "--limit must be at least 1"
        case let .emptyRange(since, until, from, before):
            return "--since \(since) is not before --until \(until): from \(from) up to, not including, \(before) is no time at all"
        case .noStatement:
            return "no SQL statement given"
        case .severalStatements:
            return "one SQL statement at a time, please: the query holds more than one"
        case .positionalParameter:
            return "the query has a positional parameter (?); use named ones (:name) with -p name VALUE"
        case let .unusedParameter(name, _):
            return "parameter '\(name)' is not used by the query (write it :\(name))"
        case let .missingParameter(name, _):
            return "the query uses :\(name); give it with -p \(name) VALUE"
        case let .refusedKeyword(keyword, _):
            return "\(keyword) is refused: the index is opened read-only, and sql runs queries only"
        case let .notReadOnly(keyword, _):
            return
                "\(keyword.isEmpty ? "this statement" : keyword) could change the index: sql runs read-only queries only (SELECT, WITH, EXPLAIN, read-only PRAGMA)"
        }
    }
}

/// Reads the `--since` and `--until` values of the query commands into UTC bounds.
///
/// Accepted forms: a date (`2024-03-01`), a time (`2024-03-01T12:00:00Z`, `2024-03-01 12:00`,
/// an offset such as `+02:00`, no zone meaning UTC), or an age relative to now: a number and
/// `s`, `m`, `h`, `d` or `w` (`30m`, `24h`, `7d`). Bounds are `YYYY-MM-DDTHH:MM:SSZ`, with
/// the milliseconds of a fraction given (`…:SS.500Z`), as event times are kept: a time the
/// tool printed, given back as a bound, falls on the same side of it.
package enum TimeFilter {
    /// The inclusive lower bound `text` names: a date means its first second.
    package static func since(_ text: String, now: Date = Date()) throws -> String {
        try bound(text, now: now, endOfDay: false)
    }

    /// The exclusive upper bound `text` names. A date alone means through the end of that
    /// day, so `--since 2024-03-01 --until 2024-03-31` covers the whole of March.
    package static func until(_ text: String, now: Date = Date()) throws -> String {
        try bound(text, now: now, endOfDay: true)
    }

    /// `date` as `YYYY-MM-DDTHH:MM:SSZ`, rounded down to the second.
    package static func iso(_ date: Date) -> String {
        iso(secondsSinceEpoch: Int(date.timeIntervalSince1970.rounded(.down)))
    }

    static func bound(_ raw: String, now: Date, endOfDay: Bool) throws -> String {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if let age = relativeSeconds(text) {
            return iso(secondsSinceEpoch: Int(now.timeIntervalSince1970.rounded(.down)) - age)
        }
        let isDate = text.utf8.count == 10
        var candidate = isDate ? text + "T00:00:00Z" : text
        let bytes = Array(text.utf8)
        if bytes.count >= 16, bytes[13] == UInt8(ascii: ":"), bytes.count == 16 || bytes[16] != UInt8(ascii: ":") {
            // `2024-03-01T12:00` (no seconds) is common enough to accept.
            candidate = String(decoding: bytes[..<16], as: UTF8.self) + ":00" + String(decoding: bytes[16...], as: UTF8.self)
        }
        // The round trip refuses days that do not exist (2024-02-30).
        guard let normalized = EventTime.normalize(candidate), let seconds = secondsSinceEpoch(normalized),
            iso(secondsSinceEpoch: seconds) == normalized.prefix(19) + "Z"
        else {
            throw QueryError.notATime(raw)
        }
        let bound = iso(secondsSinceEpoch: isDate && endOfDay ? seconds + 86_400 : seconds)
        let fraction = (StoredTime.milliseconds(normalized) ?? 0) - Int64(seconds) * 1_000
        guard (1..<1_000).contains(fraction) else { return bound }
        return bound.dropLast() + "." + String(String(fraction + 1_000).dropFirst()) + "Z"
    }

    /// Seconds in `30m`, `24h`, `7d`, `2w`, `90s`; nil when `text` is not an age.
    static func relativeSeconds(_ text: String) -> Int? {
        guard let unit = text.last, let n = Int(text.dropLast()), n >= 0, !text.dropLast().contains("+") else { return nil }
        let scale: [Character: Int] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
        guard let seconds = scale[unit] else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: seconds)
        return overflow ? nil : product
    }

    /// Seconds since 1970 of a normalized time `YYYY-MM-DDTHH:MM:SS…Z`.
    static func secondsSinceEpoch(_ iso: String) -> Int? {
        let b = Array(iso.utf8)
        guard b.count >= 19 else { return nil }
        func number(_ from: Int, _ n: Int) -> Int? { Int(String(decoding: b[from..<from + n], as: UTF8.self)) }
        guard let y = number(0, 4), let mo = number(5, 2), let d = number(8, 2),
            let h = number(11, 2), let mi = number(14, 2), let s = number(17, 2)
        else { return nil }
        return EventTime.daysFromCivil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + s
    }

    static func iso(secondsSinceEpoch seconds: Int) -> String {
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let rest = seconds - days * 86_400
        let (y, m, d) = EventTime.civilFromDays(days)
        func pad(_ v: Int, _ n: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m))-\(pad(d))T\(pad(rest / 3_600)):\(pad(rest % 3_600 / 60)):\(pad(rest % 60))Z"
    }
}
