import Glibc

/// Why the peer transport could not do something: a sentence an operator can act on. Thrown by `start()` and kept,
/// as text, in a peer's `PeerStatistics.lastError`.
package enum PeerTransportError: Error, Equatable, CustomStringConvertible {
    /// A system call failed: `call` names it, `code` is the `errno` it left.
    case system(call: String, code: Int32)
    /// `host:port` could not be parsed or resolved.
    case badAddress(String)
    /// Waiting for the peer took longer than the I/O timeout; says what was awaited.
    case timedOut(String)
    /// The peer closed the connection.
    case closedByPeer
    /// The handshake failed or the peer refused us; the reason, possibly the peer's own words.
    case handshake(String)
    /// The peer sent bytes that break the framing or the protocol.
    case protocolViolation(String)
    /// The transport is stopping, or the peer was forgotten or moved: not a failure, just the end.
    case interrupted

    /// A sentence for the log and the statistics.
    package var description: String {
        switch self {
        case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .badAddress(let reason): return reason
        case .timedOut(let what): return "timed out \(what)"
        case .closedByPeer: return "connection closed by peer"
        case .handshake(let reason): return reason
        case .protocolViolation(let reason): return reason
        case .interrupted: return "interrupted"
        }
    }
}

/// The system calls the transport makes, each through `call`: EINTR retried, EAGAIN mapped to `.wouldBlock`, EBADF
/// a trap (a closed descriptor here is a bug in the transport), anything else thrown. Every blocking wait is a
/// `poll` that also watches wake-up descriptors, so `stop()` can end any thread promptly.
enum PeerSocket {
    /// What a non-blocking call did.
    enum Outcome<Value> {
        /// It completed with this value.
        case completed(Value)
        /// It would have blocked.
        case wouldBlock
    }

    /// What a wait ended with.
    enum Readiness {
        /// The descriptor is ready.
        case ready
        /// A wake-up descriptor is readable.
        case woken
        /// Nothing happened in time.
        case timedOut
    }

    /// `poll` events: readable.
    static let readable = Int16(POLLIN)
    /// `poll` events: writable.
    static let writable = Int16(POLLOUT)

    /// Runs one system call; see the type's documentation. Pass `retryingInterrupts: false` for `close`.
    static func call<Value: FixedWidthInteger>(
        _ name: String,
        retryingInterrupts: Bool = true,
        _ body: () -> Value
    ) throws(PeerTransportError) -> Outcome<Value> {
        while true {
            let result = body()
            if result >= 0 { return .completed(result) }
            let code = errno
            switch code {
            case EINTR:
                if !retryingInterrupts { return .completed(result) }
            case EAGAIN, EWOULDBLOCK:
                return .wouldBlock
            case EBADF:
                preconditionFailure("\(name): bad file descriptor; the transport closed it or never opened it")
            default:
                throw .system(call: name, code: code)
            }
        }
    }

    /// `call` where would-block cannot happen or is an error like any other.
    @discardableResult
    static func value<Value: FixedWidthInteger>(
        _ name: String,
        _ body: () -> Value
    ) throws(PeerTransportError) -> Value {
        switch try call(name, body) {
        case .completed(let value): return value
        case .wouldBlock: throw .system(call: name, code: EAGAIN)
        }
    }

    /// Closes `descriptor`, once, never retrying (Linux frees it even when `close` reports EINTR).
    static func close(_ descriptor: Int32) {
        _ = try? call("close", retryingInterrupts: false) { Glibc.close(descriptor) }
    }

    /// Shuts both directions of a connection, waking any thread blocked on it; errors (not connected) ignored.
    static func shutdown(_ descriptor: Int32) {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Milliseconds on the monotonic clock.
    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Splits `host:port` (or `[v6]:port`).
    static func split(_ address: String) throws(PeerTransportError) -> (host: String, port: UInt16) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...])
        else {
            throw .badAddress("peer address \"\(address)\" is not host:port")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .badAddress("peer address \"\(address)\" has no host") }
        return (host, port)
    }

    /// Resolves `host` (a name or a literal) for a TCP socket, preferring IPv4.
    static func resolve(
        host: String,
        port: UInt16,
        passive: Bool
    ) throws(PeerTransportError) -> (sockaddr_storage, socklen_t) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .badAddress("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var chosen = first
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let entry = candidate {
            if entry.pointee.ai_family == AF_INET {
                chosen = entry
                break
            }
            candidate = entry.pointee.ai_next
        }
        var storage = sockaddr_storage()
        let length = min(Int(chosen.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: chosen.pointee.ai_addr, count: length))
        }
        return (storage, socklen_t(length))
    }

    /// A non-blocking, close-on-exec TCP socket for `family`.
    static func socket(family: Int32) throws(PeerTransportError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        return try value("socket") { Glibc.socket(family, type, 0) }
    }

    /// A listening socket bound to `host:port` (0 picks a port); returns it and the bound port.
    static func listen(host: String, port: UInt16) throws(PeerTransportError) -> (Int32, UInt16) {
        var (address, length) = try resolve(host: host, port: port, passive: true)
        let descriptor = try socket(family: Int32(address.ss_family))
        do throws(PeerTransportError) {
            var one: Int32 = 1
            try value("setsockopt(SO_REUSEADDR)") {
                setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            try value("bind") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
                }
            }
            try value("listen") { Glibc.listen(descriptor, 128) }
            return (descriptor, try localPort(descriptor))
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// The local port `descriptor` is bound to.
    static func localPort(_ descriptor: Int32) throws(PeerTransportError) -> UInt16 {
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try value("getsockname") {
            withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
        }
        return port(of: bound)
    }

    /// Accepts one pending connection (non-blocking, close-on-exec) and its peer's `host:port`, or nil if none.
    static func accept(_ listener: Int32) throws(PeerTransportError) -> (Int32, String)? {
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let outcome = try call("accept4") {
            withUnsafeMutablePointer(to: &peer) {
                LibC.accept4(listener, $0, &length, flags)
            }
        }
        guard case .completed(let descriptor) = outcome else { return nil }
        return (descriptor, describe(peer))
    }

    /// Connects to `address` within `timeoutMilliseconds`, returning a non-blocking socket with Nagle off. When a
    /// wake-up descriptor fires, `interrupted` decides whether to give up (throwing `.interrupted`) or keep waiting.
    static func connect(
        to address: String,
        timeoutMilliseconds: Int,
        wakeups: [Int32],
        interrupted: () -> Bool
    ) throws(PeerTransportError) -> Int32 {
        let (host, port) = try split(address)
        var (storage, length) = try resolve(host: host, port: port, passive: false)
        let descriptor = try socket(family: Int32(storage.ss_family))
        do throws(PeerTransportError) {
            let result = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, length) }
            }
            if result < 0 {
                let code = errno
                guard code == EINPROGRESS || code == EINTR else { throw .system(call: "connect", code: code) }
                let deadline = monotonicMilliseconds() + Int64(timeoutMilliseconds)
                waiting: while true {
                    let remaining = Int(max(0, deadline - monotonicMilliseconds()))
                    switch try wait(descriptor, for: writable, wakeups: wakeups, timeout: remaining) {
                    case .ready: break waiting
                    case .woken: if interrupted() { throw .interrupted }
                    case .timedOut: throw .timedOut("connecting to \(address)")
                    }
                }
                var failure: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                try value("getsockopt(SO_ERROR)") { getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &size) }
                if failure != 0 { throw .system(call: "connect to \(address)", code: failure) }
            }
            var one: Int32 = 1
            try value("setsockopt(TCP_NODELAY)") {
                setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            return descriptor
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// Waits until `descriptor` is ready for `events` (or has failed, which the next call reports), a wake-up
    /// descriptor is readable, or `timeout` milliseconds pass (negative: forever).
    static func wait(
        _ descriptor: Int32,
        for events: Int16,
        wakeups: [Int32],
        timeout: Int
    ) throws(PeerTransportError) -> Readiness {
        var fds = wakeups.map { pollfd(fd: $0, events: readable, revents: 0) }
        if descriptor >= 0 { fds.append(pollfd(fd: descriptor, events: events, revents: 0)) }
        let deadline = monotonicMilliseconds() + Int64(timeout)
        while true {
            let remaining = timeout < 0 ? -1 : Int32(clamping: max(0, deadline - monotonicMilliseconds()))
            let ready = try value("poll") {
                fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), remaining) }
            }
            if ready == 0 {
                if remaining == 0 || timeout >= 0 && monotonicMilliseconds() >= deadline { return .timedOut }
                continue
            }
            if fds[..<wakeups.count].contains(where: { $0.revents != 0 }) { return .woken }
            return .ready
        }
    }

    /// Sleeps up to `milliseconds`, or until a wake-up descriptor is readable; true if woken.
    static func sleep(milliseconds: Int, wakeups: [Int32]) -> Bool {
        (try? wait(-1, for: 0, wakeups: wakeups, timeout: milliseconds)) == .woken
    }

    /// A non-blocking, close-on-exec eventfd, the wake-up signal of a thread.
    static func eventFD() throws(PeerTransportError) -> Int32 {
        try value("eventfd") { LibC.eventfd(0, Int32(O_NONBLOCK) | Int32(O_CLOEXEC)) }
    }

    /// Makes `eventFD` readable.
    static func signal(_ eventFD: Int32) {
        var one: UInt64 = 1
        _ = try? call("write(eventfd)") { write(eventFD, &one, MemoryLayout<UInt64>.size) }
    }

    /// Makes `eventFD` unreadable again.
    static func drain(_ eventFD: Int32) {
        var count: UInt64 = 0
        _ = try? call("read(eventfd)") { read(eventFD, &count, MemoryLayout<UInt64>.size) }
    }

    /// Sends what it can of `bytes[offset...]` without blocking.
    static func send(_ descriptor: Int32, _ bytes: [UInt8], from offset: Int) throws(PeerTransportError) -> Outcome<Int>
    {
        try call("send") {
            bytes.withUnsafeBytes { raw in
                Glibc.send(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
        }
    }

    /// Receives what is available into `buffer` without blocking; zero means the peer closed.
    static func receive(_ descriptor: Int32, into buffer: inout [UInt8]) throws(PeerTransportError) -> Outcome<Int> {
        try call("recv") { buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) } }
    }

    /// Starts a thread named `name` (at most 15 bytes survive) running `body`; the caller must join it.
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) throws(PeerTransportError) -> pthread_t {
        let context = Unmanaged.passRetained(ThreadBody(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread,
            nil,
            { raw in
                let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
                _ = LibC.setThreadName(pthread_self(), String(body.name.utf8.prefix(15))!)
                body.body()
                return nil
            },
            context
        )
        guard created == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw .system(call: "pthread_create", code: created)
        }
        return thread
    }

    /// `count` bytes from the system's cryptographically secure generator.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// `host:port` of an IPv4 or IPv6 socket address.
    static func describe(_ address: sockaddr_storage) -> String {
        var copy = address
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(address.ss_family)
        let converted = withUnsafePointer(to: &copy) { pointer -> Bool in
            if family == AF_INET {
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 in
                    var raw = ipv4.pointee.sin_addr
                    return inet_ntop(AF_INET, &raw, &text, socklen_t(text.count)) != nil
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { ipv6 in
                var raw = ipv6.pointee.sin6_addr
                return inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil
            }
        }
        let host =
            converted ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        return family == AF_INET6 ? "[\(host)]:\(port(of: address))" : "\(host):\(port(of: address))"
    }

    /// The port of an IPv4 or IPv6 socket address.
    static func port(of address: sockaddr_storage) -> UInt16 {
        var copy = address
        return withUnsafePointer(to: &copy) { pointer in
            if Int32(address.ss_family) == AF_INET {
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    UInt16(bigEndian: $0.pointee.sin_port)
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                UInt16(bigEndian: $0.pointee.sin6_port)
            }
        }
    }
}

/// C functions the Glibc module map hides (they need _GNU_SOURCE), looked up once with `dlsym` and called through
/// `@convention(c)` pointers.
private enum LibC {
    /// `accept4(2)`.
    static let accept4 = symbol(
        "accept4",
        as: (@convention(c) (Int32, UnsafeMutableRawPointer?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32).self
    )
    /// `eventfd(2)`; `EFD_NONBLOCK` and `EFD_CLOEXEC` share the values of `O_NONBLOCK` and `O_CLOEXEC`.
    static let eventfd = symbol("eventfd", as: (@convention(c) (UInt32, Int32) -> Int32).self)
    /// `pthread_setname_np(3)`.
    static let setThreadName = symbol(
        "pthread_setname_np",
        as: (@convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32).self
    )

    /// The C function `name` from the already-loaded C library.
    static func symbol<Function>(_ name: String, as type: Function.Type) -> Function {
        guard let address = dlsym(nil, name) else {
            preconditionFailure("PeerSocket: \(name) not found in the C library")
        }
        return unsafeBitCast(address, to: type)
    }
}

/// What a new thread runs, handed to it through `pthread_create`'s context pointer.
private final class ThreadBody: Sendable {
    /// The thread's name.
    let name: String
    /// What it runs.
    let body: @Sendable () -> Void

    /// A body named `name`.
    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}
