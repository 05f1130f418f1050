import Glibc
import Synchronization

/// The receiving side: a listener thread that accepts connections, and one reader thread per connection that
/// runs the server side of the handshake, then reads frames and delivers them in order.
final class InboundServer: Sendable {
    /// One accepted connection.
    struct Connection {
        /// The socket. Closed by its reader, under the lock, so `shutdown` by another thread never hits a reused
        /// descriptor.
        let socket: Int32
        /// The client's `host:port`, for logs and refusals.
        let address: String
        /// When a frame last arrived (monotonic milliseconds): "live" means within `liveMilliseconds`.
        let lastFrame: Activity
        /// The reader thread; nil only while it is being started.
        var thread: pthread_t?
        /// The authenticated client's node id and incarnation, once the handshake has passed.
        var peer: (id: UInt64, incarnation: UInt64)?
        /// The reader has exited and closed the socket: only the join is left.
        var finished = false
    }

    /// A timestamp one thread writes and others read.
    final class Activity: Sendable {
        /// Monotonic milliseconds of the last frame.
        let milliseconds: Atomic<Int64>

        /// Stamped now.
        init() {
            milliseconds = Atomic(PeerSocket.monotonicMilliseconds())
        }

        /// Records a frame now.
        func touch() {
            milliseconds.store(PeerSocket.monotonicMilliseconds(), ordering: .relaxed)
        }
    }

    /// State shared by the listener, the readers and `stop()`.
    struct State {
        /// Set by `stop()`: no new connections, every thread exits.
        var stopping = false
        /// The listener thread.
        var listenerThread: pthread_t?
        /// Next connection key.
        var nextKey = 0
        /// Every connection whose reader has not been joined.
        var connections: [Int: Connection] = [:]
    }

    /// A connection that delivered a frame this recently blocks another process claiming the same node id.
    static let liveMilliseconds: Int64 = 3000

    /// The transport's configuration and log.
    let context: TransportContext
    /// Called on a reader thread for each frame, in the order the connection carried them.
    let deliver: @Sendable (UInt64, PeerFrame) -> Void
    /// Told when an authenticated peer closes its connection (end of stream: typically its process exited).
    let closedByPeer: @Sendable (UInt64) -> Void
    /// The listening socket.
    let listener: Int32
    /// Written once by `stop()` and never drained: every thread polls it and sees it readable from then on.
    let stopSignal: Int32
    /// See `State`.
    let state = Mutex(State())

    /// A server over an already listening socket; `start()` spawns the listener thread.
    init(
        listener: Int32,
        context: TransportContext,
        deliver: @escaping @Sendable (UInt64, PeerFrame) -> Void,
        closedByPeer: @escaping @Sendable (UInt64) -> Void
    ) throws(PeerTransportError) {
        self.listener = listener
        self.context = context
        self.deliver = deliver
        self.closedByPeer = closedByPeer
        self.stopSignal = try PeerSocket.eventFD()
    }

    deinit {
        PeerSocket.close(stopSignal)
        PeerSocket.close(listener)
    }

    /// Starts the listener thread.
    func start() throws(PeerTransportError) {
        let thread = try PeerSocket.spawn(name: "gantry-peer-in") { self.runListener() }
        state.withLock { $0.listenerThread = thread }
    }

    /// Stops accepting, ends every reader, and joins every thread. Returns promptly: all waits watch `stopSignal`.
    func stop() {
        let listenerThread = state.withLock { state in
            state.stopping = true
            return state.listenerThread
        }
        PeerSocket.signal(stopSignal)
        if let listenerThread { pthread_join(listenerThread, nil) }
        // The listener is gone, so no connection can be added: join what remains.
        let threads = state.withLock { state in
            let threads = state.connections.values.compactMap(\.thread)
            state.connections = [:]
            return threads
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// The listener thread: accept until stopped, joining finished readers as it goes.
    func runListener() {
        while true {
            let readiness = try? PeerSocket.wait(
                listener,
                for: PeerSocket.readable,
                wakeups: [stopSignal],
                timeout: 1000
            )
            if readiness == .woken || state.withLock({ $0.stopping }) { return }
            joinFinishedReaders()
            guard readiness == .ready else { continue }
            while true {
                do {
                    guard let (socket, address) = try PeerSocket.accept(listener) else { break }
                    admit(socket, from: address)
                } catch {
                    if error == .system(call: "accept4", code: ECONNABORTED) { continue }
                    // Out of descriptors or memory: say so, and give the system a moment rather than spin.
                    context.log("accepting a peer connection failed: \(error)")
                    _ = PeerSocket.sleep(milliseconds: 100, wakeups: [stopSignal])
                    break
                }
            }
        }
    }

    /// Starts a reader thread for a new connection.
    private func admit(_ socket: Int32, from address: String) {
        var one: Int32 = 1
        _ = setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        state.withLock { state in
            guard !state.stopping else {
                PeerSocket.close(socket)
                return
            }
            let key = state.nextKey
            state.nextKey += 1
            // Spawned under the lock, so the reader finds its entry whenever it first looks.
            do {
                let thread = try PeerSocket.spawn(name: "gantry-peer-rd") { self.read(key: key) }
                state.connections[key] = Connection(
                    socket: socket,
                    address: address,
                    lastFrame: Activity(),
                    thread: thread
                )
            } catch {
                context.log("cannot serve the connection from \(address): \(error)")
                PeerSocket.close(socket)
            }
        }
    }

    /// Joins the readers that have exited.
    private func joinFinishedReaders() {
        let threads = state.withLock { state -> [pthread_t] in
            let finished = state.connections.filter { $0.value.finished }
            for key in finished.keys { state.connections[key] = nil }
            return finished.values.compactMap(\.thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// A reader thread: handshake, then frames until the connection ends.
    private func read(key: Int) {
        guard let connection = state.withLock({ $0.connections[key] }) else { return }
        defer {
            state.withLock { state in
                PeerSocket.close(connection.socket)
                state.connections[key]?.finished = true
                state.connections[key]?.peer = nil
            }
        }
        let configuration = context.configuration
        let wakeups = [stopSignal]
        // The stop signal is never drained, so a wake-up always means stop.
        let stopping = { true }
        var decoder = FrameDecoder(maxFrameBytes: Handshake.maxFrameBytes)
        var scratch = [UInt8](repeating: 0, count: Handshake.maxFrameBytes)
        let peer: UInt64
        do throws(PeerTransportError) {
            let nonce = PeerSocket.randomBytes(Handshake.nonceByteCount)
            try PeerIO.writeFrame(
                connection.socket,
                .serverHello,
                Handshake.serverHello(nonce: nonce),
                timeout: configuration.ioTimeoutMilliseconds,
                wakeups: wakeups,
                interrupted: stopping
            )
            let frame = try PeerIO.readFrame(
                connection.socket,
                &decoder,
                scratch: &scratch,
                timeout: configuration.ioTimeoutMilliseconds,
                wakeups: wakeups,
                interrupted: stopping,
                awaiting: "the client's handshake"
            )
            guard frame.type == FrameType.clientHello.rawValue else {
                throw .protocolViolation("expected a handshake, got a frame of type \(frame.type)")
            }
            let verdict = Handshake.verifyClientHello(
                frame.payload,
                serverNonce: nonce,
                clusterID: configuration.clusterID,
                nodeID: configuration.nodeID,
                secret: configuration.secret
            )
            let hello: Handshake.ClientHello
            switch verdict {
            case .success(let accepted): hello = accepted
            case .failure(let failure): throw .handshake(failure.reason)
            }
            if let reason = register(key: key, hello: hello) { throw .handshake(reason) }
            peer = hello.from
            try PeerIO.writeFrame(
                connection.socket,
                .accept,
                Handshake.acceptMAC(clientNonce: hello.nonce, secret: configuration.secret),
                timeout: configuration.ioTimeoutMilliseconds,
                wakeups: wakeups,
                interrupted: stopping
            )
        } catch {
            switch error {
            case .interrupted, .closedByPeer:
                break
            case .handshake(let reason):
                context.log("refused connection from \(connection.address): \(reason)")
                // Best effort: the client records the reason; if it has gone, nothing is lost.
                try? PeerIO.writeFrame(
                    connection.socket,
                    .reject,
                    Handshake.answerFrame(.reject(reason: reason)).1,
                    timeout: min(configuration.ioTimeoutMilliseconds, 1000),
                    wakeups: wakeups,
                    interrupted: stopping
                )
            default:
                context.log("handshake with \(connection.address) failed: \(error)")
            }
            return
        }
        decoder.maxFrameBytes = configuration.maxFrameBytes
        var assembler = FrameAssembler(lengthLimit: configuration.maxFrameBytes)
        // Keepalives arrive every 500 ms, so this much silence means the peer or the path is gone.
        let idleTimeout = max(configuration.ioTimeoutMilliseconds, 4 * OutboundLink.keepaliveMilliseconds)
        while true {
            do throws(PeerTransportError) {
                let raw = try PeerIO.readFrame(
                    connection.socket,
                    &decoder,
                    scratch: &scratch,
                    timeout: idleTimeout,
                    wakeups: wakeups,
                    interrupted: stopping,
                    awaiting: "frames from node \(peer)"
                )
                connection.lastFrame.touch()
                let frame: PeerFrame?
                do {
                    frame = try assembler.accept(raw)
                } catch {
                    throw .protocolViolation(error.description)
                }
                if let frame { deliver(peer, frame) }
            } catch {
                switch error {
                case .interrupted:
                    break
                case .closedByPeer:
                    closedByPeer(peer)
                default:
                    context.log("closing connection from node \(peer) at \(connection.address): \(error)")
                }
                return
            }
        }
    }

    /// Registers an authenticated client, unless another live connection speaks for its node id from another
    /// incarnation (a second process with the same id); returns the refusal reason. Stale connections from the
    /// same node id, or ones from the same incarnation (a reconnect the old reader has not noticed), are shut
    /// down and replaced.
    private func register(key: Int, hello: Handshake.ClientHello) -> String? {
        state.withLock { state in
            let now = PeerSocket.monotonicMilliseconds()
            var replaced: [Int] = []
            for (other, connection) in state.connections where other != key && !connection.finished {
                guard let peer = connection.peer, peer.id == hello.from else { continue }
                let live = now - connection.lastFrame.milliseconds.load(ordering: .relaxed) < Self.liveMilliseconds
                if live && peer.incarnation != hello.incarnation {
                    return "duplicate node id \(hello.from): already connected from \(connection.address)"
                }
                replaced.append(other)
            }
            for other in replaced {
                if let connection = state.connections[other] {
                    PeerSocket.shutdown(connection.socket)
                    state.connections[other]?.peer = nil
                }
            }
            state.connections[key]?.peer = (hello.from, hello.incarnation)
            state.connections[key]?.lastFrame.touch()
            return nil
        }
    }
}
