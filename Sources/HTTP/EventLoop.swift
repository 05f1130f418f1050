import Glibc

/// One client connection, owned by the event loop and touched only on its thread.
final class Connection {
    /// Where the connection is in its life.
    enum Phase: Equatable {
        /// Reading requests and answering them.
        case open
        /// A final response is queued; once it is flushed the write side is shut down.
        case closing
        /// The write side is shut down; incoming bytes are read and discarded until EOF or the deadline, so the
        /// kernel does not reset the connection (and lose the final response) over unread input.
        case draining(deadline: Int64)
    }

    /// The socket.
    let descriptor: Int32
    /// Request framing for this connection.
    var parser: HTTPParser
    /// Serialized responses not yet written.
    var output: [UInt8] = []
    /// How much of `output` has been written.
    var written = 0
    /// Where the connection is in its life.
    var phase = Phase.open
    /// When bytes last moved in either direction.
    var lastActivity: Int64
    /// When the request now being received started, or nil between requests.
    var partialSince: Int64?
    /// Whether EPOLLOUT is in the connection's epoll interest set.
    var watchingWrites = false

    init(descriptor: Int32, limits: HTTPParser.Limits, now: Int64) {
        self.descriptor = descriptor
        self.parser = HTTPParser(limits: limits)
        self.lastActivity = now
    }
}

/// The epoll loop behind `HTTPServer`: runs on one dedicated thread and owns every descriptor except the wake-up
/// eventfd, which `HTTPServer.stop()` writes to and closes after joining.
final class EventLoop {
    /// How long a closing connection's input is drained before it is closed anyway.
    static let drainMilliseconds: Int64 = 1000

    let epoll: Int32
    let listener: Int32
    let wakeup: Int32
    let limits: HTTPParser.Limits
    let maxConnections: Int
    let headerTimeout: Int64
    let idleTimeout: Int64
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    var connections: [Int32: Connection] = [:]
    var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    var running = true

    init(
        epoll: Int32,
        listener: Int32,
        wakeup: Int32,
        configuration: HTTPServer.Configuration,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) {
        self.epoll = epoll
        self.listener = listener
        self.wakeup = wakeup
        self.limits = configuration.limits
        self.maxConnections = configuration.maxConnections
        self.headerTimeout = Int64(configuration.headerTimeoutMilliseconds)
        self.idleTimeout = Int64(configuration.idleTimeoutMilliseconds)
        self.handler = handler
    }

    /// Serves until the wake-up eventfd fires (or epoll itself fails), then closes every connection, the listener
    /// and the epoll descriptor.
    func run() {
        var events = Epoll.Events(capacity: 64)
        while running {
            let now = Socket.monotonicMilliseconds()
            let timeout = nextTimeout(now: now)
            let ready: Int
            do {
                ready = try Epoll.wait(epoll, into: &events, timeout: timeout)
            } catch {
                break
            }
            for index in 0..<ready {
                let (mask, descriptor) = events.event(index)
                if descriptor == wakeup {
                    running = false
                } else if descriptor == listener {
                    acceptAll()
                } else if let connection = connections[descriptor] {
                    serve(connection, events: mask)
                }
            }
            sweep(now: Socket.monotonicMilliseconds())
        }
        for connection in Array(connections.values) {
            close(connection)
        }
        closeDescriptor(listener)
        closeDescriptor(epoll)
    }

    /// The epoll_wait timeout: until the nearest connection deadline, or forever when there are no connections.
    func nextTimeout(now: Int64) -> Int32 {
        var nearest: Int64?
        for connection in connections.values {
            let deadline = deadline(of: connection)
            nearest = min(nearest ?? deadline, deadline)
        }
        guard let nearest else {
            return -1
        }
        return Int32(clamping: max(0, min(nearest - now, 60_000)))
    }

    /// When `connection` next needs attention from `sweep`.
    func deadline(of connection: Connection) -> Int64 {
        switch connection.phase {
        case .draining(let deadline):
            return deadline
        case .closing:
            return connection.lastActivity + idleTimeout
        case .open:
            if let since = connection.partialSince {
                return since + headerTimeout
            }
            return connection.lastActivity + idleTimeout
        }
    }

    /// Accepts every pending connection; beyond `maxConnections` each gets a 503 and is closed.
    func acceptAll() {
        while true {
            let accepted: Int32?
            do {
                accepted = try Socket.accept(listener)
            } catch {
                // ECONNABORTED and friends concern one client; EMFILE and ENFILE resolve as connections close.
                if error.code == ECONNABORTED {
                    continue
                }
                return
            }
            guard let descriptor = accepted else {
                return
            }
            guard connections.count < maxConnections else {
                let response = HTTPServer.errorResponse(status: 503, message: "too many connections; retry later")
                let bytes = response.serialized(keepAlive: false)
                _ = try? syscall("send") {
                    bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                _ = try? syscall("shutdown") { shutdown(descriptor, Int32(SHUT_WR)) }
                closeDescriptor(descriptor)
                continue
            }
            do {
                try Epoll.control(epoll, Epoll.add, descriptor, events: Epoll.readable)
            } catch {
                closeDescriptor(descriptor)
                continue
            }
            let now = Socket.monotonicMilliseconds()
            connections[descriptor] = Connection(descriptor: descriptor, limits: limits, now: now)
        }
    }

    /// Handles readiness on `connection`; any socket failure closes it.
    func serve(_ connection: Connection, events: UInt32) {
        do {
            if events & Epoll.writable != 0 {
                try flush(connection)
            }
            if connections[connection.descriptor] != nil,
                events & (Epoll.readable | Epoll.hangUp | Epoll.error) != 0
            {
                try readAvailable(connection)
            }
        } catch {
            close(connection)
        }
    }

    /// Reads what the socket holds (bounded, for fairness; epoll is level-triggered) and answers complete requests.
    func readAvailable(_ connection: Connection) throws(PosixError) {
        for _ in 0..<16 {
            let result = try syscall("read") {
                readBuffer.withUnsafeMutableBytes { read(connection.descriptor, $0.baseAddress, $0.count) }
            }
            guard case .completed(let count) = result else {
                return
            }
            if count == 0 {
                if connection.phase == .open && !connection.output.isEmpty {
                    connection.phase = .closing
                } else {
                    close(connection)
                }
                return
            }
            connection.lastActivity = Socket.monotonicMilliseconds()
            if connection.phase == .open {
                ingest(connection, readBuffer[0..<count])
                try flush(connection)
                if connections[connection.descriptor] == nil {
                    return
                }
            }
        }
    }

    /// Feeds `bytes` to the parser and queues a response for each completed request, in order.
    func ingest(_ connection: Connection, _ bytes: ArraySlice<UInt8>) {
        do {
            let requests = try connection.parser.feed(bytes)
            for request in requests where connection.phase == .open {
                let response = handler(request)
                let keepAlive = request.keepAlive
                connection.output.append(contentsOf: response.serialized(keepAlive: keepAlive))
                if !keepAlive {
                    connection.phase = .closing
                }
            }
            if connection.phase == .open, let failure = connection.parser.failure {
                fail(connection, status: failure.status, message: failure.reason)
            }
        } catch {
            fail(connection, status: error.status, message: error.reason)
        }
        if connection.phase == .open && connection.parser.hasPartialRequest {
            if connection.partialSince == nil {
                connection.partialSince = connection.lastActivity
            }
        } else {
            connection.partialSince = nil
        }
    }

    /// Queues a JSON error response and marks the connection to close once it is flushed.
    func fail(_ connection: Connection, status: Int, message: String) {
        let response = HTTPServer.errorResponse(status: status, message: message)
        connection.output.append(contentsOf: response.serialized(keepAlive: false))
        connection.phase = .closing
        connection.partialSince = nil
    }

    /// Writes queued output until done or the socket would block (then watches EPOLLOUT); after a final response
    /// shuts the write side down and starts draining.
    func flush(_ connection: Connection) throws(PosixError) {
        while connection.written < connection.output.count {
            let offset = connection.written
            let result = try syscall("send") {
                connection.output.withUnsafeBytes {
                    send(connection.descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
                }
            }
            guard case .completed(let count) = result else {
                try watchWrites(connection, true)
                return
            }
            connection.written += count
            connection.lastActivity = Socket.monotonicMilliseconds()
        }
        connection.output.removeAll(keepingCapacity: true)
        connection.written = 0
        try watchWrites(connection, false)
        if connection.phase == .closing {
            try syscallValue("shutdown") { shutdown(connection.descriptor, Int32(SHUT_WR)) }
            connection.phase = .draining(deadline: Socket.monotonicMilliseconds() + Self.drainMilliseconds)
        }
    }

    /// Adds or removes EPOLLOUT from the connection's interest set when that changes.
    func watchWrites(_ connection: Connection, _ watch: Bool) throws(PosixError) {
        guard connection.watchingWrites != watch else {
            return
        }
        let events = Epoll.readable | (watch ? Epoll.writable : 0)
        try Epoll.control(epoll, Epoll.modify, connection.descriptor, events: events)
        connection.watchingWrites = watch
    }

    /// Applies the timers: 408 for a request head (or body) slower than the header timeout; silent close for an
    /// idle keep-alive connection, a stalled reader, or a drain that ran out of time.
    func sweep(now: Int64) {
        for connection in Array(connections.values) where deadline(of: connection) <= now {
            switch connection.phase {
            case .open where connection.partialSince != nil:
                fail(connection, status: 408, message: "request not received within \(headerTimeout) ms")
                do {
                    try flush(connection)
                } catch {
                    close(connection)
                }
            case .open, .closing, .draining:
                close(connection)
            }
        }
    }

    /// Closes the connection's socket and forgets it (closing also removes it from the epoll set).
    func close(_ connection: Connection) {
        connections[connection.descriptor] = nil
        closeDescriptor(connection.descriptor)
    }
}
