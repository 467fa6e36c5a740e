/// The delivery days an ingest reads, from CloudTrail's `…/CloudTrail/REGION/YYYY/MM/DD/` folders.
///
/// Folders wholly outside the range are not even listed, so a nightly run over years of logs
/// touches only the recent days. A log file is delivered after the events it holds, so the
/// range reaches one day past `last`: events of late evening arrive in the next day's folder.
package struct DeliveryDays: Sendable, Equatable {
    /// First day, as days since 1970-01-01; nil for no lower bound.
    package var first: Int?
    /// Last day of events, as days since 1970-01-01; nil for no upper bound.
    package var last: Int?

    package init(first: Int?, last: Int?) {
        self.first = first
        self.last = last
    }

    /// Days since 1970-01-01 of `YYYY-MM-DD` (a longer ISO-8601 time, `YYYY-MM-DDTHH:MM:SSZ`
    /// and the other forms event times take, is cut to its date), or of a relative `Nd` counted
    /// back from `today` (N up to a million). Nil when the text is neither: a day that no month
    /// has (2024-02-31) or anything after the date that is not a time.
    package static func day(_ text: String, today: Int) -> Int? {
        let bytes = Array(text.utf8)
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        if bytes.last == UInt8(ascii: "d") {
            let digits = bytes.dropLast()
            guard (1...7).contains(digits.count), digits.allSatisfy(isDigit), let n = Int(text.dropLast()), n <= 1_000_000
            else { return nil }
            return today - n
        }
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy({ isDigit(bytes[$0]) })
        else { return nil }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(bytes[$1] - UInt8(ascii: "0")) } }
        let (y, m, d) = (number(0..<4), number(5..<7), number(8..<10))
        guard (1...12).contains(m), (1...EventTime.daysIn(month: m, year: y)).contains(d) else { return nil }
        if bytes.count > 10 && EventTime.normalize(text) == nil { return nil }
        return EventTime.daysFromCivil(y, m, d)
    }

    /// True when the folder (or file) at `path` holds only delivery days outside the range.
    package func excludes(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        guard let anchor = parts.lastIndex(where: { $0 == "CloudTrail" || $0 == "CloudTrail-Digest" || $0 == "CloudTrail-Insight" })
        else { return false }
        let date = parts.dropFirst(anchor + 2).prefix(3)
        guard let yearText = date.first, yearText.count == 4, let year = Int(yearText) else { return false }
        var low = EventTime.daysFromCivil(year, 1, 1)
        var high = EventTime.daysFromCivil(year + 1, 1, 1) - 1
        if date.count >= 2, let month = Int(date[date.startIndex + 1]), (1...12).contains(month) {
            low = EventTime.daysFromCivil(year, month, 1)
            high = (month == 12 ? EventTime.daysFromCivil(year + 1, 1, 1) : EventTime.daysFromCivil(year, month + 1, 1)) - 1
            if date.count >= 3, let day = Int(date[date.startIndex + 2]), (1...31).contains(day) {
                low = EventTime.daysFromCivil(year, month, day)
                high = low
            }
        }
        if let first, high < first { return true }
        if let last, low > last + 1 { return true }
        return false
    }
}
