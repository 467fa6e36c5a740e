import Glibc

/// The scheduling priority (nice value) of the calling thread. On Linux each thread has its
/// own: `getpriority` and `setpriority` with `PRIO_PROCESS` and 0 read and set the calling
/// thread's, not the whole process's.
enum ThreadPriority {
    /// The calling thread's nice value; nil when it cannot be read.
    static var current: Int32? {
        errno = 0
        let value = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        return value == -1 && errno != 0 ? nil : value
    }

    /// Makes the calling thread `steps` nice values lower in priority than it is (at most 19,
    /// the lowest), and returns its new nice value; nil, changing nothing, when it could not.
    /// Lowering one's own priority needs no privilege.
    @discardableResult
    static func lowerCurrentThread(by steps: Int32) -> Int32? {
        guard let now = current else { return nil }
        guard steps > 0 else { return now }
        let lowered = min(19, now + steps)
        return setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, lowered) == 0 ? lowered : nil
    }
}
