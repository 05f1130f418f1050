import Glibc

/// One client connection, owned by the event loop and touched only on its thread.
final class Connection {
    /// Where the connection is in its life.
    enum Phase: Equatable {
        /// Reading requests and answering them.
        case open
        /// No more requests are taken (the last one asked to close, or the framing was lost); once every slot is
        /// answered and flushed the write side is shut down.
        case closing
        /// The write side is shut down; incoming bytes are read and discarded until EOF or the deadline, so the
        /// kernel does not reset the connection (and lose the final response) over unread input.
        case draining(deadline: Int64)
    }

    /// A request handed to the application, waiting for its response so that it can go out in request order.
    struct Slot {
        /// Whether the request lets the connection persist after this response.
        var keepAlive: Bool
        /// The response, once the application has given it.
        var response: HTTPResponse?
    }

    /// The socket.
    let descriptor: Int32
    /// Distinguishes this connection from earlier ones that held the same descriptor, for late completions.
    let serial: UInt64
    /// Request framing for this connection.
    var parser: HTTPParser
    /// Requests parsed but not yet handed to the application because `maxPendingPerConnection` are outstanding.
    var backlog: [HTTPRequest] = []
    /// One slot per request handed to the application and not yet serialized, in request order.
    var slots: [Slot] = []
    /// The sequence number of the next request handed to the application.
    /// Invariant: `slots[i]` belongs to sequence number `nextSequence - slots.count + i`.
    var nextSequence: UInt64 = 0
    /// Serialized responses not yet written.
    var output: [UInt8] = []
    /// How much of `output` has been written.
    var written = 0
    /// Where the connection is in its life.
    var phase = Phase.open
    /// Whether the client has finished sending (EOF was read); responses still owed are sent, then it is closed.
    var peerFinished = false
    /// When bytes last moved in either direction.
    var lastActivity: Int64
    /// When the request now being received started (or reading resumed), or nil between requests.
    var partialSince: Int64?
    /// The events in the connection's epoll interest set.
    var interest = Epoll.readable

    /// A new connection on `descriptor`, accepted at `now`.
    init(descriptor: Int32, serial: UInt64, limits: HTTPParser.Limits, now: Int64) {
        self.descriptor = descriptor
        self.serial = serial
        self.parser = HTTPParser(limits: limits)
        self.lastActivity = now
    }

    /// Whether serialized output is waiting for the socket.
    var hasUnsentOutput: Bool { written < output.count }
}

/// The epoll loop behind `HTTPServer`: runs on one dedicated thread and owns every descriptor except the mailbox's
/// wake-up eventfd, which `HTTPServer.stop()` closes after joining.
final class EventLoop {
    /// How long a closing connection's input is drained before it is closed anyway.
    static let drainMilliseconds: Int64 = 1000
    /// Unsent output at which a connection stops being read, so a client that pipelines without reading its
    /// responses cannot make the server buffer without bound.
    static let maxUnsentBytes = 1 << 20

    /// The epoll instance.
    let epoll: Int32
    /// The listening socket.
    let listener: Int32
    /// Completions from other threads and the stop request; its eventfd is registered with `epoll`.
    let mailbox: Mailbox
    /// Request limits for every connection's parser.
    let limits: HTTPParser.Limits
    /// Connections beyond this many get a 503.
    let maxConnections: Int
    /// Milliseconds a partly received request may take.
    let headerTimeout: Int64
    /// Milliseconds a connection may sit idle with nothing owed to it.
    let idleTimeout: Int64
    /// Requests per connection handed to the application and not yet answered, at most.
    let maxPending: Int
    /// The application: called on this thread for each request, in order per connection.
    let respondLater: @Sendable (HTTPRequest, HTTPResponder) -> Void
    /// Every open connection, by descriptor.
    var connections: [Int32: Connection] = [:]
    /// The serial given to the most recently accepted connection.
    var nextSerial: UInt64 = 0
    /// Reused for every read.
    var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Cleared when the mailbox says stop.
    var running = true

    /// A loop over `epoll`, which already watches `listener` and the mailbox's eventfd.
    init(
        epoll: Int32,
        listener: Int32,
        mailbox: Mailbox,
        configuration: HTTPServer.Configuration,
        respondLater: @escaping @Sendable (HTTPRequest, HTTPResponder) -> Void
    ) {
        self.epoll = epoll
        self.listener = listener
        self.mailbox = mailbox
        self.limits = configuration.limits
        self.maxConnections = configuration.maxConnections
        self.headerTimeout = Int64(configuration.headerTimeoutMilliseconds)
        self.idleTimeout = Int64(configuration.idleTimeoutMilliseconds)
        self.maxPending = configuration.maxPendingPerConnection
        self.respondLater = respondLater
    }

    /// Serves until the mailbox says stop (or epoll itself fails), then closes every connection, the listener and
    /// the epoll descriptor.
    func run() {
        mailbox.adoptLoopThread()
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
                if descriptor == mailbox.wakeup {
                    mailbox.acknowledge()
                } else if descriptor == listener {
                    acceptAll()
                } else if let connection = connections[descriptor] {
                    serve(connection, events: mask)
                }
            }
            // Every iteration, not only on a wake-up: responses given on this thread (inside `respondLater`)
            // are queued without signalling the eventfd.
            deliverCompletions()
            sweep(now: Socket.monotonicMilliseconds())
        }
        for connection in Array(connections.values) {
            close(connection)
        }
        closeDescriptor(listener)
        closeDescriptor(epoll)
    }

    /// The epoll_wait timeout: until the nearest connection deadline, or forever when there is none.
    func nextTimeout(now: Int64) -> Int32 {
        let nearest = connections.values.compactMap(deadline(of:)).min()
        guard let nearest else {
            return -1
        }
        return Int32(clamping: max(0, min(nearest - now, 60_000)))
    }

    /// When `connection` next needs attention from `sweep`, or nil while it only waits for the application.
    ///
    /// A connection whose requests await responses is exempt from the idle timeout (a long poll may take minutes),
    /// but not from the header timeout for a next request it is partly receiving, nor from a stalled reader. Once
    /// the client has sent EOF the exemption ends: it may have half-closed and still be reading, or be gone for
    /// good, and the two look alike until a response is written.
    func deadline(of connection: Connection) -> Int64? {
        switch connection.phase {
        case .draining(let deadline):
            return deadline
        case .open, .closing:
            if let since = connection.partialSince, headerTimerRuns(connection) {
                return since + headerTimeout
            }
            let waitingForApplication = !(connection.slots.isEmpty && connection.backlog.isEmpty)
            if waitingForApplication && !connection.hasUnsentOutput && !connection.peerFinished {
                return nil
            }
            return connection.lastActivity + idleTimeout
        }
    }

    /// Whether a partly received request is being timed: only while the connection is open and being read, since
    /// a paused connection cannot receive the rest.
    func headerTimerRuns(_ connection: Connection) -> Bool {
        connection.phase == .open && !isPaused(connection)
    }

    /// Whether reading is paused for backpressure: too many requests unanswered, or too much output unsent.
    func isPaused(_ connection: Connection) -> Bool {
        connection.slots.count >= maxPending || !connection.backlog.isEmpty
            || connection.output.count - connection.written >= Self.maxUnsentBytes
    }

    /// Whether EPOLLIN belongs in the connection's interest set.
    func wantsRead(_ connection: Connection) -> Bool {
        !connection.peerFinished && (connection.phase != .open || !isPaused(connection))
    }

    /// Whether `connection` is still the one the loop holds under its descriptor.
    func isLive(_ connection: Connection) -> Bool {
        connections[connection.descriptor] === connection
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
            nextSerial += 1
            connections[descriptor] = Connection(descriptor: descriptor, serial: nextSerial, limits: limits, now: now)
        }
    }

    /// Handles readiness on `connection`; any socket failure closes it.
    func serve(_ connection: Connection, events: UInt32) {
        do {
            if events & (Epoll.readable | Epoll.hangUp | Epoll.error) != 0 {
                if wantsRead(connection) {
                    try readAvailable(connection)
                } else if events & (Epoll.hangUp | Epoll.error) != 0 {
                    // Not reading, and the peer reset or the socket failed: nothing more can be delivered.
                    close(connection)
                }
            }
            if isLive(connection) {
                try advance(connection)
            }
        } catch {
            close(connection)
        }
    }

    /// Reads what the socket holds (bounded, for fairness; epoll is level-triggered) and hands complete requests to
    /// the application; stops early once reading is paused.
    func readAvailable(_ connection: Connection) throws(PosixError) {
        for _ in 0..<16 where wantsRead(connection) {
            let result = try syscall("read") {
                readBuffer.withUnsafeMutableBytes { read(connection.descriptor, $0.baseAddress, $0.count) }
            }
            guard case .completed(let count) = result else {
                return
            }
            if count == 0 {
                endOfInput(connection)
                return
            }
            connection.lastActivity = Socket.monotonicMilliseconds()
            if connection.phase == .open {
                ingest(connection, readBuffer[0..<count])
            }
        }
    }

    /// The client finished sending: a draining connection is done; otherwise the responses still owed are sent
    /// (see `advance`) and then the connection is closed.
    func endOfInput(_ connection: Connection) {
        if case .draining = connection.phase {
            close(connection)
            return
        }
        connection.peerFinished = true
        connection.partialSince = nil
    }

    /// Feeds `bytes` to the parser, queues the completed requests and hands out as many as the cap allows.
    func ingest(_ connection: Connection, _ bytes: ArraySlice<UInt8>) {
        // A parse error is recorded in `parser.failure`; `dispatch` answers it after the requests before it.
        if let requests = try? connection.parser.feed(bytes) {
            connection.backlog += requests
        }
        if connection.parser.hasPartialRequest {
            connection.partialSince = connection.partialSince ?? connection.lastActivity
        } else {
            connection.partialSince = nil
        }
        dispatch(connection)
    }

    /// Hands backlogged requests to the application, each with a slot and a responder, while fewer than
    /// `maxPending` are outstanding; a request that does not keep the connection alive is the last one taken.
    /// Once the backlog is empty, a recorded parse error is answered after everything before it.
    func dispatch(_ connection: Connection) {
        var taken = 0
        while connection.phase == .open && taken < connection.backlog.count && connection.slots.count < maxPending {
            let request = connection.backlog[taken]
            taken += 1
            let ticket = Mailbox.Ticket(
                descriptor: connection.descriptor,
                serial: connection.serial,
                sequence: connection.nextSequence
            )
            connection.nextSequence += 1
            let keepAlive = request.keepAlive
            connection.slots.append(Connection.Slot(keepAlive: keepAlive, response: nil))
            if !keepAlive {
                connection.phase = .closing
            }
            respondLater(request, HTTPResponder(mailbox: mailbox, ticket: ticket))
        }
        if connection.phase == .open {
            connection.backlog.removeFirst(taken)
        } else {
            // Requests pipelined after one that closes the connection are ignored.
            connection.backlog.removeAll()
        }
        if connection.phase == .open && connection.backlog.isEmpty, let failure = connection.parser.failure {
            fail(connection, status: failure.status, message: failure.reason)
        }
    }

    /// Queues a JSON error response after every outstanding one and marks the connection to close once it is sent.
    func fail(_ connection: Connection, status: Int, message: String) {
        let response = HTTPServer.errorResponse(status: status, message: message)
        connection.slots.append(Connection.Slot(keepAlive: false, response: response))
        connection.nextSequence += 1
        connection.backlog.removeAll()
        connection.phase = .closing
        connection.partialSince = nil
    }

    /// Fills slots with the responses posted to the mailbox (by any thread) and moves their connections forward,
    /// repeating while that produces more (a synchronous handler answers as soon as it is handed a request).
    func deliverCompletions() {
        while true {
            let (completions, stopping) = mailbox.take()
            if stopping {
                running = false
                return
            }
            guard !completions.isEmpty else {
                return
            }
            var ready: [Int32: Connection] = [:]
            for completion in completions {
                let ticket = completion.ticket
                // A missing connection or another serial: the client went away; the response is dropped.
                guard let connection = connections[ticket.descriptor], connection.serial == ticket.serial else {
                    continue
                }
                let first = connection.nextSequence - UInt64(connection.slots.count)
                precondition(
                    ticket.sequence >= first && ticket.sequence < connection.nextSequence,
                    "EventLoop: completion for sequence \(ticket.sequence) outside slots \(first)..<\(connection.nextSequence)"
                )
                let index = Int(ticket.sequence - first)
                connection.slots[index].response = completion.response
                if index == 0 {
                    ready[connection.descriptor] = connection
                }
            }
            for connection in ready.values where isLive(connection) {
                do {
                    try advance(connection)
                } catch {
                    close(connection)
                }
            }
        }
    }

    /// Moves the connection forward after anything changed: serializes the leading answered slots, hands out
    /// backlogged requests, writes, and once the last response is out shuts the write side down (or closes, if the
    /// client has finished sending); finally brings the epoll interest set up to date.
    func advance(_ connection: Connection) throws(PosixError) {
        var answered = 0
        for slot in connection.slots {
            guard let response = slot.response else {
                break
            }
            connection.output.append(contentsOf: response.serialized(keepAlive: slot.keepAlive))
            answered += 1
        }
        connection.slots.removeFirst(answered)
        dispatch(connection)
        if connection.phase == .open && connection.peerFinished && connection.backlog.isEmpty {
            connection.phase = .closing
        }
        try flush(connection)
        if connection.phase == .closing && connection.slots.isEmpty && !connection.hasUnsentOutput {
            if connection.peerFinished {
                close(connection)
                return
            }
            try syscallValue("shutdown") { shutdown(connection.descriptor, Int32(SHUT_WR)) }
            connection.phase = .draining(deadline: Socket.monotonicMilliseconds() + Self.drainMilliseconds)
        }
        try updateInterest(connection)
    }

    /// Writes queued output until done or the socket would block (`updateInterest` then watches EPOLLOUT).
    func flush(_ connection: Connection) throws(PosixError) {
        while connection.hasUnsentOutput {
            let offset = connection.written
            let result = try syscall("send") {
                connection.output.withUnsafeBytes {
                    send(connection.descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
                }
            }
            guard case .completed(let count) = result else {
                return
            }
            connection.written += count
            connection.lastActivity = Socket.monotonicMilliseconds()
        }
        connection.output.removeAll(keepingCapacity: true)
        connection.written = 0
    }

    /// Sets the connection's interest set to EPOLLIN unless reading is paused or over, plus EPOLLOUT while output
    /// waits; when reading resumes, a partly received request's header timer restarts.
    func updateInterest(_ connection: Connection) throws(PosixError) {
        let reading = wantsRead(connection)
        let desired = (reading ? Epoll.readable : 0) | (connection.hasUnsentOutput ? Epoll.writable : 0)
        guard desired != connection.interest else {
            return
        }
        if reading && connection.interest & Epoll.readable == 0 && connection.partialSince != nil {
            connection.partialSince = Socket.monotonicMilliseconds()
        }
        try Epoll.control(epoll, Epoll.modify, connection.descriptor, events: desired)
        connection.interest = desired
    }

    /// Applies the timers: 408 for a request head (or body) slower than the header timeout; silent close for an
    /// idle keep-alive connection, a stalled reader, or a drain that ran out of time.
    func sweep(now: Int64) {
        for connection in Array(connections.values) {
            guard let deadline = deadline(of: connection), deadline <= now else {
                continue
            }
            if connection.partialSince != nil && headerTimerRuns(connection) {
                fail(connection, status: 408, message: "request not received within \(headerTimeout) ms")
                do {
                    try advance(connection)
                } catch {
                    close(connection)
                }
            } else {
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
