#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A time written where a signal handler runs: no allocation, no lock, no call that is not
/// async-signal-safe (gmtime_r is not on the list), so by integer arithmetic alone.
package enum SignalSafeTime {
    /// Writes `seconds` since 1970 as `YYYY-MM-DDTHH:MM:SSZ` (UTC) at `offset` of `line`, by
    /// integer arithmetic alone (no allocation, no lock: a signal handler calls it). The date is
    /// H. Hinnant's `civil_from_days`.
    package static func write(_ seconds: Int, into line: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard offset + 20 <= line.count, (0...9999).contains(year) else { return }
        var at = offset
        put(year, 4, "-", line, &at)
        put(month, 2, "-", line, &at)
        put(day, 2, "T", line, &at)
        put(secondOfDay / 3600, 2, ":", line, &at)
        put(secondOfDay / 60 % 60, 2, ":", line, &at)
        put(secondOfDay % 60, 2, "Z", line, &at)
    }

    /// `value` as `digits` decimal digits then `separator`, at `position` of `line`, moved past them.
    private static func put(
        _ value: Int, _ digits: Int, _ separator: Unicode.Scalar, _ line: UnsafeMutableBufferPointer<UInt8>, _ position: inout Int
    ) {
        var divisor = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            line[position] = UInt8(ascii: "0") + UInt8(value / divisor % 10)
            position += 1
            divisor /= 10
        }
        line[position] = UInt8(ascii: separator)
        position += 1
    }
}
