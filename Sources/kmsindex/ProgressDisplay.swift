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
        var eta = ""
        if let total = p.filesTotal, total > 0 {
            text += "/\(total) files"
            let done = Double(min(p.filesDone, total)) / Double(total)
            if done > 0 {
                let remaining = Int(seconds / done - seconds)
                eta = String(format: "  ETA %d:%02d", remaining / 60, remaining % 60)
            }
            if bar {
                let width = 24
                let filled = Int(done * Double(width))
                text = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " + text
            }
        } else {
            text += " files"
        }
        text += String(format: "  %.1f MB/s  %.0f events/s", mbps, eventsPerSecond) + eta
        if bar {
            FileHandle.standardError.write(Data(("\r\u{1b}[2K" + text).utf8))
            drawn = true
        } else {
            Console.err("kmsindex: progress: " + text)
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
