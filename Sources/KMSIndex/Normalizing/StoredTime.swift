#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How event times are stored: milliseconds since 1970-01-01 UTC, an integer that sorts
/// fractional seconds correctly and takes 6 bytes in every index that holds it.
package enum StoredTime {
    /// SQL for the earlier of two stored times `a` and `b` (`b` when equal): as times, not as
    /// text, where `…:52.5Z` sorts before `…:52Z`; as text for what `julianday` cannot read.
    static func earlierSQL(_ a: String, _ b: String) -> String {
        "CASE WHEN coalesce(julianday(\(a)) < julianday(\(b)), \(a) < \(b)) THEN \(a) ELSE \(b) END"
    }

    /// SQL for the later of two stored times (`b` when equal); see `earlierSQL`.
    static func laterSQL(_ a: String, _ b: String) -> String {
        "CASE WHEN coalesce(julianday(\(a)) > julianday(\(b)), \(a) > \(b)) THEN \(a) ELSE \(b) END"
    }

    /// Milliseconds for a UTC time `YYYY-MM-DDTHH:MM:SS[.fff…]Z` (the form `EventTime` writes,
    /// and the bounds `TimeFilter` makes); digits past the millisecond are dropped.
    package static func milliseconds(_ text: String) -> Int64? {
        text.withUTF8Bytes { b -> Int64? in
            // The year may have more than four digits or a sign (a time shifted out of 0000-9999).
            guard let t = b.firstIndex(of: UInt8(ascii: "T")), t >= 10, b.count >= t + 10, b[b.count - 1] == UInt8(ascii: "Z") else {
                return nil
            }
            func digits(_ from: Int, _ to: Int) -> Int64? {
                guard from < to else { return nil }
                var v: Int64 = 0
                for k in from..<to {
                    guard b[k] >= UInt8(ascii: "0"), b[k] <= UInt8(ascii: "9"), v < 1_000_000_000 else { return nil }
                    v = v * 10 + Int64(b[k] - UInt8(ascii: "0"))
                }
                return v
            }
            let negative = b[0] == UInt8(ascii: "-")
            guard let y = digits(negative ? 1 : 0, t - 6), b[t - 6] == UInt8(ascii: "-"), let month = digits(t - 5, t - 3),
                b[t - 3] == UInt8(ascii: "-"), let day = digits(t - 2, t), let hour = digits(t + 1, t + 3), b[t + 3] == UInt8(ascii: ":"),
                let minute = digits(t + 4, t + 6), b[t + 6] == UInt8(ascii: ":"), let second = digits(t + 7, t + 9),
                (1...12).contains(month), (1...EventTime.daysIn(month: Int(month), year: Int(negative ? -y : y))).contains(Int(day))
            else { return nil }
            var millis: Int64 = 0
            let end = b.count - 1
            if end > t + 9 {
                guard b[t + 9] == UInt8(ascii: "."), end > t + 10 else { return nil }
                var scale: Int64 = 100
                for k in (t + 10)..<end {
                    guard b[k] >= UInt8(ascii: "0"), b[k] <= UInt8(ascii: "9") else { return nil }
                    millis += Int64(b[k] - UInt8(ascii: "0")) * scale
                    scale /= 10
                }
            }
            let days = Int64(EventTime.daysFromCivil(Int(negative ? -y : y), Int(month), Int(day)))
            return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
        }
    }

    /// The text `kms_events.event_time` shows for a stored time: `…:SSZ`, or `…:SS.fffZ` with
    /// trailing zeros of the fraction removed.
    package static func text(_ ms: Int64) -> String {
        let (year, month, day, secondOfDay, millis) = parts(ms)
        guard (0...9999).contains(year) else { return paddedText(ms) }
        // Written digit by digit into 24 bytes: the writer prints a time per alias it learns,
        // and String interpolation of padded parts cost many times more (BENCHMARKS.md).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { b in
            func put(_ v: Int, _ n: Int, at k: Int) {
                var v = v
                for j in stride(from: k + n - 1, through: k, by: -1) {
                    b[j] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(year, 4, at: 0)
            b[4] = UInt8(ascii: "-")
            put(month, 2, at: 5)
            b[7] = UInt8(ascii: "-")
            put(day, 2, at: 8)
            b[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, 2, at: 11)
            b[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, 2, at: 14)
            b[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, 2, at: 17)
            var end = 19
            if millis != 0 {
                b[19] = UInt8(ascii: ".")
                put(millis, 3, at: 20)
                end = 23
                while b[end - 1] == UInt8(ascii: "0") { end -= 1 }
            }
            b[end] = UInt8(ascii: "Z")
            return String(decoding: UnsafeBufferPointer(rebasing: b[0...end]), as: UTF8.self)
        }
    }

    /// The UTC date, second of the day and millisecond of a stored time.
    private static func parts(_ ms: Int64) -> (year: Int, month: Int, day: Int, secondOfDay: Int, millis: Int) {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = EventTime.civilFromDays(Int(days))
        return (year, month, day, Int(seconds - days * 86_400), Int(ms - seconds * 1000))
    }

    /// `text(_:)` built from padded parts: for years outside 0000-9999 (not stored by ingest,
    /// but a database may hold them), and the reference the fast path is tested against.
    static func paddedText(_ ms: Int64) -> String {
        let (year, month, day, secondOfDay, millis) = parts(ms)
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        var fraction = ""
        if millis != 0 {
            fraction = "." + pad(millis, 3)
            while fraction.last == "0" { fraction.removeLast() }
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))\(fraction)Z"
    }
}
