import KMSIndex

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C (SIGINT) or a service manager's stop (SIGTERM) during a command that writes: the
/// command says what its interruption left before it dies of the signal, so that a person at a
/// terminal, or a cron job's log, knows that running it again is safe. Nothing is undone here:
/// every command that writes is crash-safe by itself (what was committed stays, the rest is
/// rolled back when the index is next opened), so a handler only writes a line made beforehand,
/// the one thing a signal handler may do, and then dies of the signal as it would have.
enum Interruption {
    /// The lines the handler writes, made before any signal can arrive and never freed: the
    /// handler reads them without a lock or an allocation.
    private nonisolated(unsafe) static var interruptLine = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private nonisolated(unsafe) static var terminateLine = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    /// Where a JSON line's time (`YYYY-MM-DDTHH:MM:SSZ`) is, to be written at the signal; nil in text.
    private nonisolated(unsafe) static var timeOffset: Int?

    /// Installs the handler for SIGINT and SIGTERM; `whatHolds` says what an interruption of
    /// this command leaves ("the files committed so far stay indexed").
    static func sayOnInterrupt(_ whatHolds: String) {
        func line(_ name: String) -> UnsafeMutableBufferPointer<UInt8> {
            var text = Diagnostics.line(level: "error", "interrupted (\(name)): \(whatHolds)")
            // A progress bar being drawn is cleared first, as before any diagnostic.
            if Diagnostics.format == .text && Console.stderrIsTerminal { text = "\r\u{1b}[2K" + text }
            let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.utf8.count)
            _ = bytes.initialize(from: text.utf8)
            return bytes
        }
        interruptLine = line("SIGINT")
        terminateLine = line("SIGTERM")
        // Both JSON lines start alike: `{"time":"` then the time.
        timeOffset = Diagnostics.format == .json ? #"{"time":""#.utf8.count : nil
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { received in
                let line = received == SIGINT ? Interruption.interruptLine : Interruption.terminateLine
                if let offset = Interruption.timeOffset { SignalSafeTime.write(time(nil), into: line, at: offset) }
                _ = write(2, line.baseAddress, line.count)
                // Dies of the signal, as without the handler: the caller sees which one.
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }
}
