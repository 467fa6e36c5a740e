/// CloudTrail event times, in the one form the index stores and sorts.
public enum EventTime {
    /// Normalizes an event time to UTC ISO-8601 `YYYY-MM-DDTHH:MM:SSZ`, keeping a fraction of
    /// a second when there is one (`…:SS.123Z`). Accepts the forms seen in the wild:
    /// `2015-11-11T21:20:52Z`, fractions, a space instead of `T`, no zone (taken as UTC) and
    /// `+00:00`-style offsets (converted to UTC). Returns nil when the text is not a time.
    public static func normalize(_ text: String) -> String? {
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
        guard b.count >= 19 else { return .invalid }
        func digits(_ from: Int, _ n: Int) -> Int? {
            var v = 0
            for k in from..<from + n {
                guard k < b.count, b[k] >= 0x30, b[k] <= 0x39 else { return nil }
                v = v * 10 + Int(b[k] - 0x30)
            }
            return v
        }
        guard var year = digits(0, 4), b[4] == 0x2d, var month = digits(5, 2), b[7] == 0x2d, var day = digits(8, 2),
              b[10] == 0x54 || b[10] == 0x20 || b[10] == 0x74,
              var hour = digits(11, 2), b[13] == 0x3a, var minute = digits(14, 2), b[16] == 0x3a,
              let second = digits(17, 2)
        else { return .invalid }
        var k = 19
        var fraction = ""
        if k < b.count, b[k] == 0x2e {
            k += 1
            let s = k
            while k < b.count, b[k] >= 0x30, b[k] <= 0x39 { k += 1 }
            guard k > s else { return .invalid }
            fraction = String(decoding: b[s..<k], as: UTF8.self)
        }
        var offsetMinutes = 0
        if k < b.count {
            if b[k] == 0x5a || b[k] == 0x7a {
                k += 1
            } else if b[k] == 0x2b || b[k] == 0x2d {
                let sign = b[k] == 0x2b ? 1 : -1
                guard let oh = digits(k + 1, 2) else { return .invalid }
                var om = 0
                if let m = digits(k + 4, 2), b[k + 3] == 0x3a { om = m; k += 6 } else if let m = digits(k + 3, 2) { om = m; k += 5 } else { k += 3 }
                offsetMinutes = sign * (oh * 60 + om)
            }
        }
        guard k == b.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else {
            return .invalid
        }
        // Already in the stored form: the text itself, without building it again piece by piece.
        if k == 20 && b[10] == 0x54 && b[19] == 0x5a { return .unchanged }
        if offsetMinutes != 0 {
            // Shift to UTC through days since the epoch (civil-from-days, Howard Hinnant's algorithm).
            var total = daysFromCivil(year, month, day) * 1440 + hour * 60 + minute - offsetMinutes
            let dayCount = Int((Double(total) / 1440).rounded(.down))
            total -= dayCount * 1440
            (year, month, day) = civilFromDays(dayCount)
            // Shifted out of 0000-9999: not a time the index can store and sort.
            guard (0...9999).contains(year) else { return .invalid }
            hour = total / 60
            minute = total % 60
        }
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        let trimmed = fraction.replacingTrailingZeros()
        return .rewritten("\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
            + (trimmed.isEmpty ? "" : "." + trimmed) + "Z")
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

extension String {
    fileprivate func replacingTrailingZeros() -> String {
        var s = Substring(self)
        while s.last == "0" { s = s.dropLast() }
        return String(s)
    }
}
