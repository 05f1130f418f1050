import Glibc

/// A system call failed for a reason other than interruption or would-block; `call` names the function.
package struct PosixError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `errno` value the call left behind.
    package var code: Int32
    /// The name of the failing function, such as `"bind"`.
    package var call: String

    /// The failure of `call` with `errno` value `code`.
    package init(_ code: Int32, _ call: String) {
        self.code = code
        self.call = call
    }

    package var description: String {
        "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// What a non-blocking system call did: completed with a value, or would have blocked.
enum SyscallResult<Value> {
    /// The call succeeded and returned this value.
    case completed(Value)
    /// The call returned EAGAIN or EWOULDBLOCK.
    case wouldBlock
}

/// Runs one system call: retries EINTR, maps EAGAIN/EWOULDBLOCK to `.wouldBlock`, traps on EBADF (a closed or
/// never-opened descriptor is a bug in this file, not an environment failure) and throws `PosixError` otherwise.
///
/// `close` must not be retried on Linux, where the descriptor is gone even when it reports EINTR; pass
/// `retryingInterrupts: false` for it, and an interrupted call then counts as completed.
func syscall<Value: FixedWidthInteger>(
    _ call: String,
    retryingInterrupts: Bool = true,
    _ body: () -> Value
) throws(PosixError) -> SyscallResult<Value> {
    while true {
        let result = body()
        if result >= 0 {
            return .completed(result)
        }
        let code = errno
        switch code {
        case EINTR:
            if !retryingInterrupts {
                return .completed(result)
            }
        case EAGAIN, EWOULDBLOCK:
            return .wouldBlock
        case EBADF:
            preconditionFailure("\(call): bad file descriptor; the descriptor was closed or never opened")
        default:
            throw PosixError(code, call)
        }
    }
}

/// `syscall` for calls on blocking paths, where would-block cannot happen or means the same as an error.
@discardableResult
func syscallValue<Value: FixedWidthInteger>(_ call: String, _ body: () -> Value) throws(PosixError) -> Value {
    switch try syscall(call, body) {
    case .completed(let value):
        return value
    case .wouldBlock:
        throw PosixError(EAGAIN, call)
    }
}

/// Closes `descriptor`, once, never retrying.
func closeDescriptor(_ descriptor: Int32) {
    _ = try? syscall("close", retryingInterrupts: false) { close(descriptor) }
}

/// Socket and epoll helpers used by the event loop, all going through `syscall`.
enum Socket {
    /// A non-blocking, close-on-exec IPv4 TCP socket bound to `host:port` and listening; returns it and its port.
    static func listen(host: String, port: UInt16, backlog: Int32 = 511) throws(PosixError) -> (Int32, UInt16) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw PosixError(EINVAL, "inet_pton(\(host))")
        }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = try syscallValue("socket") { socket(AF_INET, type, 0) }
        do {
            var one: Int32 = 1
            try syscallValue("setsockopt(SO_REUSEADDR)") {
                setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            try syscallValue("bind") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            try syscallValue("listen") { Glibc.listen(descriptor, backlog) }
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            try syscallValue("getsockname") {
                withUnsafeMutablePointer(to: &bound) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
                }
            }
            return (descriptor, UInt16(bigEndian: bound.sin_port))
        } catch {
            closeDescriptor(descriptor)
            throw error
        }
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec socket, or nil when none is pending.
    static func accept(_ listener: Int32) throws(PosixError) -> Int32? {
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        switch try syscall("accept4", { Epoll.acceptFunction(listener, nil, nil, flags) }) {
        case .completed(let descriptor):
            return descriptor
        case .wouldBlock:
            return nil
        }
    }

    /// Milliseconds on the monotonic clock, for timeouts.
    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
