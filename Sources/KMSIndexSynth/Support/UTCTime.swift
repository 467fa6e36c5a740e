/// Calendar arithmetic and the timestamp spellings CloudTrail uses, all in UTC, on
/// milliseconds since 1970. No Foundation date formatters: they are slow and locale-bound.
enum UTCTime {
    static let msPerSecond: Int64 = 1000
    static let msPerMinute: Int64 = 60_000
    static let msPerHour: Int64 = 3_600_000
    static let msPerDay: Int64 = 86_400_000

    /// Milliseconds at 00:00 UTC of a `YYYY-MM-DD` day, or nil when malformed.
    static func parseDay(_ text: String) -> Int64? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), (1...daysInMonth(y, m)).contains(d)
        else { return nil }
        return Int64(daysFromCivil(y, m, d)) * msPerDay
    }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Broken-down UTC time of a millisecond timestamp.
    struct Parts {
        var year, month, day, hour, minute, second, millisecond: Int

        init(_ ms: Int64) {
            let days = Int(floorDiv(ms, UTCTime.msPerDay))
            let inDay = Int(ms - Int64(days) * UTCTime.msPerDay)
            (year, month, day) = UTCTime.civilFromDays(days)
            hour = inDay / 3_600_000
            minute = inDay / 60_000 % 60
            second = inDay / 1000 % 60
            millisecond = inDay % 1000
        }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Appends `2024-03-01T12:34:56Z`, or `2024-03-01T12:34:56.789Z` when `fractional`.
    static func appendISO8601(_ ms: Int64, fractional: Bool, to out: inout [UInt8]) {
        let p = Parts(ms)
        appendPadded(p.year, 4, &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(p.month, 2, &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(p.day, 2, &out)
        out.append(UInt8(ascii: "T"))
        appendPadded(p.hour, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(p.minute, 2, &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(p.second, 2, &out)
        if fractional {
            out.append(UInt8(ascii: "."))
            appendPadded(p.millisecond, 3, &out)
        }
        out.append(UInt8(ascii: "Z"))
    }

    /// `2024-03-01T12:34:56Z` (or with milliseconds when `fractional`).
    static func iso8601(_ ms: Int64, fractional: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendISO8601(ms, fractional: fractional, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `20240301T1234Z`, the delivery stamp in a log file's name.
    static func compactMinutes(_ ms: Int64) -> String {
        let p = Parts(ms)
        return pad(p.year, 4) + pad(p.month, 2) + pad(p.day, 2) + "T" + pad(p.hour, 2) + pad(p.minute, 2) + "Z"
    }

    /// `20240301T123456Z`, the stamp in a digest file's name and the compact creationDate form.
    static func compactSeconds(_ ms: Int64) -> String {
        let p = Parts(ms)
        return pad(p.year, 4) + pad(p.month, 2) + pad(p.day, 2) + "T" + pad(p.hour, 2) + pad(p.minute, 2)
            + pad(p.second, 2) + "Z"
    }

    /// `2024/03/01`, the date folders of the tree.
    static func datePath(_ ms: Int64) -> String {
        let p = Parts(ms)
        return pad(p.year, 4) + "/" + pad(p.month, 2) + "/" + pad(p.day, 2)
    }

    /// `Mar 1, 2024, 1:05:09 PM`, as STS and KMS print dates inside responseElements.
    static func humanReadable(_ ms: Int64) -> String {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let p = Parts(ms)
        let hour12 = p.hour % 12 == 0 ? 12 : p.hour % 12
        return "\(months[p.month - 1]) \(p.day), \(p.year), \(hour12):\(pad(p.minute, 2)):\(pad(p.second, 2)) "
            + (p.hour < 12 ? "AM" : "PM")
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        var out: [UInt8] = []
        appendPadded(value, width, &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendPadded(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }
}
