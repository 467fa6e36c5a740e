/// CloudTrail event times, in the one form the index stores and sorts.
package enum EventTime {
    /// Normalizes an event time to UTC ISO-8601 `YYYY-MM-DDTHH:MM:SSZ`, keeping a fraction of
    /// a second when there is one (`…:SS.123Z`). Accepts the forms seen in the wild:
    /// `2015-11-11T21:20:52Z`, fractions, a space instead of `T`, no zone (taken as UTC) and
    /// `+00:00`-style offsets (converted to UTC). Returns nil when the text is not a time.
    package static func normalize(_ text: String) -> String? {
        // Read in place: a copy of the bytes into an array cost an allocation per event.
        var copy = text
        switch copy.withUTF8({ normalize(bytes: $0) }) {
        case .invalid: return nil
        case .unchanged: return text
        case .rewritten(let time): return time
        }
    }

    enum Normalized {
        case invalid
        /// Already in the stored form (nearly every CloudTrail time).
        case unchanged
        case rewritten(String)
    }

    static func normalize(bytes b: UnsafeBufferPointer<UInt8>) -> Normalized {
        guard var t = parse(b) else { return .invalid }
        // Already in the stored form: the text itself, without building it again piece by piece.
        if b.count == 20 && b[10] == UInt8(ascii: "T") && b[19] == UInt8(ascii: "Z") { return .unchanged }
        guard t.shiftToUTC() else { return .invalid }
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        var fraction = b[t.fraction].map { $0 }
        while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        return .rewritten(
            "\(pad(t.year, 4))-\(pad(t.month, 2))-\(pad(t.day, 2))T\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2))"
                + (fraction.isEmpty ? "" : "." + String(decoding: fraction, as: UTF8.self)) + "Z")
    }

    /// Milliseconds since 1970-01-01 UTC of an event time written in any form `normalize`
    /// accepts: what `StoredTime.milliseconds` gives for the normalized text (digits past the
    /// millisecond dropped), read straight from the record's bytes, without making a String.
    package static func milliseconds(_ text: String) -> Int64? {
        text.withUTF8Bytes { milliseconds(bytes: $0) }
    }

    static func milliseconds(bytes b: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard var t = parse(b), t.shiftToUTC() else { return nil }
        var millis = 0
        var scale = 100
        for k in t.fraction.prefix(3) {
            millis += Int(b[k] - UInt8(ascii: "0")) * scale
            scale /= 10
        }
        let minutes = Int64(daysFromCivil(t.year, t.month, t.day)) * 1440 + Int64(t.hour * 60 + t.minute)
        return minutes * 60_000 + Int64(t.second * 1000 + millis)
    }

    /// The fields of an event time as written, with its offset from UTC.
    struct Parts {
        var year, month, day, hour, minute, second: Int
        /// Where the digits of the fraction of a second are (empty without one).
        var fraction: Range<Int>
        var offsetMinutes: Int

        /// Applies the offset; false when that leaves 0000-9999, which the index cannot store and sort.
        mutating func shiftToUTC() -> Bool {
            guard offsetMinutes != 0 else { return true }
            // Through days since the epoch (civil-from-days, Howard Hinnant's algorithm).
            var total = EventTime.daysFromCivil(year, month, day) * 1440 + hour * 60 + minute - offsetMinutes
            let dayCount = Int((Double(total) / 1440).rounded(.down))
            total -= dayCount * 1440
            (year, month, day) = EventTime.civilFromDays(dayCount)
            guard (0...9999).contains(year) else { return false }
            hour = total / 60
            minute = total % 60
            offsetMinutes = 0
            return true
        }
    }

    /// Reads the forms `normalize` accepts; nil when the text is not a time.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Parts? {
        guard b.count >= 19 else { return nil }
        func digits(_ from: Int, _ n: Int) -> Int? {
            var v = 0
            for k in from..<from + n {
                guard k < b.count, b[k] >= UInt8(ascii: "0"), b[k] <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int(b[k] - UInt8(ascii: "0"))
            }
            return v
        }
        guard let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
            let day = digits(8, 2),
            b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " ") || b[10] == UInt8(ascii: "t"),
            let hour = digits(11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
            let second = digits(17, 2)
        else { return nil }
        var k = 19
        var fraction = k..<k
        if k < b.count, b[k] == UInt8(ascii: ".") {
            k += 1
            let s = k
            while k < b.count, b[k] >= UInt8(ascii: "0"), b[k] <= UInt8(ascii: "9") { k += 1 }
            guard k > s else { return nil }
            fraction = s..<k
        }
        var offsetMinutes = 0
        if k < b.count {
            if b[k] == UInt8(ascii: "Z") || b[k] == UInt8(ascii: "z") {
                k += 1
            } else if b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") {
                let sign = b[k] == UInt8(ascii: "+") ? 1 : -1
                guard let oh = digits(k + 1, 2) else { return nil }
                var om = 0
                if let m = digits(k + 4, 2), b[k + 3] == UInt8(ascii: ":") {
                    om = m; k += 6
                } else if let m = digits(k + 3, 2) {
                    om = m; k += 5
                } else {
                    k += 3
                }
                offsetMinutes = sign * (oh * 60 + om)
            }
        }
        guard k == b.count, (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60,
            second < 61
        else {
            return nil
        }
        return Parts(
            year: year, month: month, day: day, hour: hour, minute: minute, second: second,
            fraction: fraction, offsetMinutes: offsetMinutes)
    }

    /// Days in a month of the proleptic Gregorian calendar: February 30 is no time, and was
    /// moved to March 2 by the arithmetic below.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// A record's `eventTime` as the reader found it: the time, in milliseconds since 1970-01-01
/// UTC, or a string that is not a time. Read from the bytes once, on the parsing thread.
package enum RecordTime: Equatable, Sendable {
    case milliseconds(Int64)
    case notATime

    package init(_ text: String) {
        self = EventTime.milliseconds(text).map { .milliseconds($0) } ?? .notATime
    }

    init(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        self = EventTime.milliseconds(bytes: bytes).map { .milliseconds($0) } ?? .notATime
    }
}
