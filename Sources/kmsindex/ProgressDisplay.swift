import Foundation
import KMSIndex

/// Shows ingest progress: a bar redrawn in place on a terminal, or a plain line every
/// 10 seconds for logs. Updates are throttled, so a fast ingest spends nothing on them.
final class ProgressDisplay {
    let bar: Bool
    let lines: Bool
    let lineInterval: Double
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(bar: Bool, lines: Bool, lineInterval: Double = 10) {
        self.bar = bar
        self.lines = lines
        self.lineInterval = lineInterval
    }

    var isActive: Bool { bar || lines }

    func update(_ p: IngestProgress) {
        let now = Date()
        let interval = bar ? 0.2 : lineInterval
        guard now.timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = now
        let seconds = max(p.elapsed, 0.001)
        let mbps = Double(p.bytesRead) / 1_000_000 / seconds
        let eventsPerSecond = Double(p.eventsAdded) / seconds
        var text = "\(p.filesDone)"
        var done: Double?
        if let total = p.filesTotal, total > 0 {
            text += "/\(total) files"
            done = Double(min(p.filesDone, total)) / Double(total)
        } else {
            text += " files"
        }
        text += String(format: "  %.1f MB/s  %.0f events/s", mbps, eventsPerSecond)
        if let done, done > 0 {
            let remaining = Int(seconds / done - seconds)
            text += String(format: "  ETA %d:%02d", remaining / 60, remaining % 60)
        }
        if bar {
            // Redrawn in place only while it fits on one line (a wrapped line would be redrawn
            // below itself at every update): the bar is left out first, then the end of the text.
            let columns = Console.stderrColumns
            let width = 24
            if let done, columns.map({ text.count + width + 3 < $0 }) ?? true {
                let filled = Int(done * Double(width))
                text = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " + text
            }
            FileHandle.standardError.write(Data(("\r\u{1b}[2K" + TerminalText.fitted(text, columns: columns)).utf8))
            drawn = true
        } else {
            var fields = [
                Diagnostics.Field("files_done", number: "\(p.filesDone)"), Diagnostics.Field("events_added", number: "\(p.eventsAdded)"),
                Diagnostics.Field("bytes_read", number: "\(p.bytesRead)"),
            ]
            if let total = p.filesTotal { fields.insert(Diagnostics.Field("files_total", number: "\(total)"), at: 1) }
            Console.err(Diagnostics.line(level: "info", "progress: " + text, fields))
        }
    }

    /// Removes the bar, so that a diagnostic or the summary starts on a clean line.
    func clear() {
        if drawn {
            FileHandle.standardError.write(Data("\r\u{1b}[2K".utf8))
            drawn = false
            lastDraw = .distantPast
        }
    }
}
