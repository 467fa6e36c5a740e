#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes to standard output and error. A closed pipe on standard output (`kmsindex … | head`)
/// ends the process quietly with status 0, as a filter should (`brokenPipeStatus`); any other failure to write it
/// (a full disk, a closed descriptor) ends it with status 2 and says so, before a command does
/// what follows its output (`findings` marks what it printed as reported). Diagnostics that
/// cannot be written are dropped: the run goes on, and its status still tells what happened.
package enum Console {
    /// The status a closed pipe on standard output ends the process with: 0 (the reader had
    /// enough), unless the command says its output means more (`findings`: 3, findings were
    /// found, whatever the reader took of them). Set before the output, on the main thread.
    nonisolated(unsafe) package static var brokenPipeStatus: Int32 = 0

    /// Call once at start: a broken pipe becomes a write error (EPIPE) instead of a signal.
    package static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Call once at start: standard input, output or error closed by the caller (`2>&-`) is
    /// opened on /dev/null, so that the next file opened (the index lock, holding the writer's
    /// pid) does not take its number and receive what is written there. Opened for reading
    /// only: a write still fails (EBADF), so output nobody can read is no success.
    package static func openClosedStandardDescriptors() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", O_RDONLY)
            if opened >= 0, opened != fd {
                dup2(opened, fd)
                close(opened)
            }
        }
    }

    package static func out(_ text: String) {
        write(fd: 1, text)
    }

    /// Bytes to standard output as they are (`RowPrinter`'s UTF-8).
    package static func out(bytes: UnsafeRawBufferPointer) {
        write(fd: 1, bytes)
    }

    /// Diagnostics: one line, caller-chosen text already escaped by the caller.
    package static func err(_ text: String) {
        write(fd: 2, text.hasSuffix("\n") ? text : text + "\n")
    }

    package static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    package static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// True when `TERM` names a terminal that cannot move its cursor (`dumb`, as Emacs' shell
    /// and some CI consoles set it): nothing is redrawn in place there.
    package static var terminalIsDumb: Bool {
        guard let term = getenv("TERM") else { return false }
        return String(cString: term) == "dumb"
    }

    /// The width of the terminal on standard error, when it is one and says.
    package static var stderrColumns: Int? {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    static func write(fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { write(fd: fd, UnsafeRawBufferPointer($0)) }
    }

    static func write(fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                if fd != 1 { return }
                if errno == EPIPE { exit(brokenPipeStatus) }
                let reason = String(cString: strerror(errno))
                write(fd: 2, "kmsindex: cannot write to standard output: \(reason)\n")
                exit(2)
            }
            offset += n
        }
    }
}
