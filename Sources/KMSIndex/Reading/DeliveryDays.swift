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

    /// Days since 1970-01-01 of `YYYY-MM-DD` (a longer ISO-8601 time is cut to its date), or of
    /// a relative `Nd` counted back from `today`. Nil when the text is neither.
    package static func day(_ text: String, today: Int) -> Int? {
        if text.hasSuffix("d"), let n = Int(text.dropLast()), n >= 0 { return today - n }
        let parts = text.prefix(10).split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), (1...31).contains(d)
        else { return nil }
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
