import Glibc
import Synchronization

/// The controller's clocks. Only the shell reads them; cores get time inside commands or as ticks.
enum Clock {
    /// Test mode only (`POST /v1/test/clock`, see `TestMode`): milliseconds added to the wall clock, and how far
    /// the monotonic clock has been made to jump forward. Zero otherwise.
    static let wallOffset = Atomic<Int64>(0)
    static let monotonicJump = Atomic<Int64>(0)

    /// Monotonic milliseconds (for timeouts and latency).
    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000 + monotonicJump.load(ordering: .relaxed)
    }

    /// Monotonic nanoseconds.
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
            + UInt64(monotonicJump.load(ordering: .relaxed)) * 1_000_000
    }

    /// Wall-clock milliseconds since the Unix epoch (stamped into commands by the leader).
    static func wallMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000 + wallOffset.load(ordering: .relaxed)
    }
}

/// A line logger to standard error, prefixed with the node id. Thread-safe (one `write` per line).
package struct Logger: Sendable {
    /// The prefix, e.g. `node 1`.
    let prefix: String

    /// A logger for `prefix`.
    package init(prefix: String) {
        self.prefix = prefix
    }

    /// Writes one line.
    package func log(_ message: @autoclosure () -> String) {
        let line = "gantry[\(prefix)] \(message())\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    }
}
