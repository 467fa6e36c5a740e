#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A time written where a signal handler runs: no allocation, no lock, no call that is not
/// async-signal-safe (gmtime_r is not on the list), so by integer arithmetic alone.
package enum SignalSafeTime {
    /// Writes `seconds` since 1970 as `YYYY-MM-DDTHH:MM:SSZ` (UTC) at `offset` of `line`.
    package static func write(_ seconds: Int, into line: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let (year, month, day) = EventTime.civilFromDays(days)
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
