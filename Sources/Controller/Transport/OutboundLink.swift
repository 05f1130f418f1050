import Glibc
import Synchronization
import Wire

/// What the transport's threads need from it, copied so that no thread retains the transport itself.
struct TransportContext: Sendable {
    /// The transport's configuration.
    let configuration: PeerTransport.Configuration
    /// Random per transport instance; see `Handshake.ClientHello.incarnation`.
    let incarnation: UInt64
    /// Where refusals and failures are reported.
    let log: @Sendable (String) -> Void
}

/// One peer's outbound side: a bounded queue, and one dedicated thread that connects, authenticates, and drains
/// the queue into the connection in batches. Nothing here blocks the caller of `enqueue`, and a slow or dead peer
/// stalls only its own thread.
final class OutboundLink: Sendable {
    /// Mutable state, shared by the sender thread and the callers of the transport.
    struct State {
        /// Where the peer listens.
        var address: String
        /// Bumped on every change of `address`.
        ///
        /// Invariant: the sender is connected only to the address of the generation it connected under; it
        /// reconnects as soon as it sees a newer one.
        var generation: UInt64 = 0
        /// Set when the peer is forgotten or the transport stops: the sender thread exits.
        var retired = false
        /// Frames waiting to be written, oldest first.
        ///
        /// Invariant: `queue.count <= configuration.maxQueuedFrames`.
        var queue: [PeerFrame] = []
        /// Frames taken from the queue by the batch being written.
        var inFlight = 0
        /// The sender is idle in `poll` and must be woken for a new frame. Keeps wake-ups to one per idle period
        /// rather than one per frame.
        var waiting = false
        /// Frames discarded.
        var dropped = 0
        /// Frames written completely.
        var sent = 0
        /// A connection is established and authenticated.
        var connected = false
        /// The last failure, as text.
        var lastError: String?
    }

    /// Silence after which the sender writes a keepalive frame.
    static let keepaliveMilliseconds = 500
    /// Bytes of encoded frames written per `writeAll`; a larger batch is written in pieces of about this size.
    static let batchBytes = 4 << 20

    /// The peer's node id.
    let peer: UInt64
    /// The transport's configuration and log.
    let context: TransportContext
    /// The sender thread's wake-up: new work while idle, a new address, retirement.
    let wakeup: Int32
    /// See `State`.
    let state: Mutex<State>
    /// Set by the sender thread as it exits, so the owner can join it without waiting.
    let finished = Atomic<Bool>(false)

    /// A link to `peer` at `address`; its thread is started by the owner, which runs `run()` on it.
    init(peer: UInt64, address: String, context: TransportContext) throws(PeerTransportError) {
        self.peer = peer
        self.context = context
        self.wakeup = try PeerSocket.eventFD()
        self.state = Mutex(State(address: address))
    }

    deinit {
        PeerSocket.close(wakeup)
    }

    /// Queues `frame`; false (and counted as dropped) if the queue is full.
    func enqueue(_ frame: PeerFrame) -> Bool {
        let limit = context.configuration.maxQueuedFrames
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            guard state.queue.count < limit, !state.retired else {
                state.dropped += 1
                return (false, false)
            }
            state.queue.append(frame)
            let wake = state.waiting
            state.waiting = false
            return (true, wake)
        }
        if wake { PeerSocket.signal(wakeup) }
        return accepted
    }

    /// Points the link at a new address; the sender drops its connection and reconnects there.
    func retarget(_ address: String) {
        state.withLock { state in
            state.address = address
            state.generation &+= 1
        }
        PeerSocket.signal(wakeup)
    }

    /// Tells the sender thread to close its connection and exit; queued frames are discarded.
    func retire() {
        state.withLock { $0.retired = true }
        PeerSocket.signal(wakeup)
    }

    /// The link's statistics now.
    func statistics() -> PeerStatistics {
        state.withLock { state in
            PeerStatistics(
                queuedFrames: state.queue.count + state.inFlight,
                droppedFrames: state.dropped,
                connected: state.connected,
                sentFrames: state.sent,
                lastError: state.lastError
            )
        }
    }

    /// Whether the sender must abandon what it is doing: retired, or moved since `generation`. Consumes the
    /// wake-up that made the sender ask.
    func isInterrupted(since generation: UInt64) -> Bool {
        PeerSocket.drain(wakeup)
        return state.withLock { $0.retired || $0.generation != generation }
    }

    /// The sender thread: until retired, connect (backing off after failures), then write what is queued, or a
    /// keepalive after 500 ms of silence.
    func run() {
        let configuration = context.configuration
        var connection: Int32 = -1
        var connectedGeneration: UInt64 = 0
        var backoff = configuration.initialBackoffMilliseconds
        var lastWrite = PeerSocket.monotonicMilliseconds()
        var lastReported: String?
        defer {
            if connection >= 0 { PeerSocket.close(connection) }
            state.withLock { $0.connected = false }
            finished.store(true, ordering: .releasing)
        }
        while true {
            let (address, generation, retired) = state.withLock { ($0.address, $0.generation, $0.retired) }
            if retired { return }
            if connection >= 0, generation != connectedGeneration {
                PeerSocket.close(connection)
                connection = -1
                backoff = configuration.initialBackoffMilliseconds
                state.withLock { $0.connected = false }
            }
            do throws(PeerTransportError) {
                if connection < 0 {
                    connection = try connect(to: address, generation: generation)
                    connectedGeneration = generation
                    backoff = configuration.initialBackoffMilliseconds
                    lastWrite = PeerSocket.monotonicMilliseconds()
                    state.withLock {
                        $0.connected = true
                        $0.lastError = nil
                    }
                    context.log("connected to node \(peer) at \(address)")
                    lastReported = nil
                }
                try serve(connection, generation: generation, lastWrite: &lastWrite)
            } catch {
                if connection >= 0 {
                    PeerSocket.close(connection)
                    connection = -1
                    state.withLock { $0.connected = false }
                }
                if error == .interrupted { continue }
                let text = error.description
                state.withLock { $0.lastError = text }
                // One line per distinct failure: a peer that is down for an hour logs once, not every 2 s.
                if text != lastReported {
                    context.log("node \(peer) at \(address): \(text); retrying with back-off")
                    lastReported = text
                }
                backOff(milliseconds: backoff, generation: generation)
                backoff = min(backoff * 2, configuration.maxBackoffMilliseconds)
            }
        }
    }

    /// Connects to `address` and runs the client side of the handshake; returns the authenticated socket.
    func connect(to address: String, generation: UInt64) throws(PeerTransportError) -> Int32 {
        let configuration = context.configuration
        let timeout = configuration.ioTimeoutMilliseconds
        let interrupted = { self.isInterrupted(since: generation) }
        let socket = try PeerSocket.connect(
            to: address,
            timeoutMilliseconds: timeout,
            wakeups: [wakeup],
            interrupted: interrupted
        )
        do throws(PeerTransportError) {
            var decoder = FrameDecoder(maxFrameBytes: Handshake.maxFrameBytes)
            var scratch = [UInt8](repeating: 0, count: Handshake.maxFrameBytes)
            let hello = try PeerIO.readFrame(
                socket,
                &decoder,
                scratch: &scratch,
                timeout: timeout,
                wakeups: [wakeup],
                interrupted: interrupted,
                awaiting: "the handshake of node \(peer) at \(address)"
            )
            guard hello.type == FrameType.serverHello.rawValue else {
                throw .protocolViolation("expected a handshake from \(address), got a frame of type \(hello.type)")
            }
            let serverNonce: [UInt8]
            switch Handshake.readServerHello(hello.payload) {
            case .success(let nonce): serverNonce = nonce
            case .failure(let failure): throw .handshake(failure.reason)
            }
            let nonce = PeerSocket.randomBytes(Handshake.nonceByteCount)
            let payload = Handshake.clientHello(
                Handshake.ClientHello(
                    clusterID: configuration.clusterID,
                    from: configuration.nodeID,
                    to: peer,
                    incarnation: context.incarnation,
                    nonce: nonce
                ),
                serverNonce: serverNonce,
                secret: configuration.secret
            )
            try PeerIO.writeFrame(
                socket,
                .clientHello,
                payload,
                timeout: timeout,
                wakeups: [wakeup],
                interrupted: interrupted
            )
            let reply = try PeerIO.readFrame(
                socket,
                &decoder,
                scratch: &scratch,
                timeout: timeout,
                wakeups: [wakeup],
                interrupted: interrupted,
                awaiting: "node \(peer) at \(address) to answer the handshake"
            )
            switch Handshake.readAnswer(reply) {
            case .accept(let mac):
                let expected = Handshake.acceptMAC(clientNonce: nonce, secret: configuration.secret)
                guard HMAC.constantTimeEquals(mac, expected) else {
                    throw .handshake("\(address) failed authentication: it does not hold the cluster secret")
                }
            case .reject(let reason):
                throw .handshake("refused by \(address): \(reason)")
            case nil:
                throw .protocolViolation("expected a handshake answer from \(address), got frame type \(reply.type)")
            }
            return socket
        } catch {
            PeerSocket.close(socket)
            throw error
        }
    }

    /// One round on an established connection: writes the queued frames, or a keepalive, or waits (watching the
    /// socket, since a server that closes or speaks after the handshake has failed).
    func serve(_ socket: Int32, generation: UInt64, lastWrite: inout Int64) throws(PeerTransportError) {
        let idle = Int(PeerSocket.monotonicMilliseconds() - lastWrite)
        let batch = state.withLock { state -> [PeerFrame]? in
            if state.queue.isEmpty {
                state.waiting = idle < Self.keepaliveMilliseconds
                return nil
            }
            let batch = state.queue
            state.queue = []
            state.inFlight = batch.count
            return batch
        }
        if let batch {
            try transmit(batch, on: socket, generation: generation)
            lastWrite = PeerSocket.monotonicMilliseconds()
            return
        }
        if idle >= Self.keepaliveMilliseconds {
            try PeerIO.writeFrame(
                socket,
                .keepalive,
                [],
                timeout: context.configuration.ioTimeoutMilliseconds,
                wakeups: [wakeup],
                interrupted: { self.isInterrupted(since: generation) }
            )
            lastWrite = PeerSocket.monotonicMilliseconds()
            return
        }
        let readiness = try PeerSocket.wait(
            socket,
            for: PeerSocket.readable,
            wakeups: [wakeup],
            timeout: Self.keepaliveMilliseconds - idle
        )
        state.withLock { $0.waiting = false }
        switch readiness {
        case .woken:
            PeerSocket.drain(wakeup)
        case .timedOut:
            break
        case .ready:
            var byte: [UInt8] = [0]
            switch try PeerSocket.receive(socket, into: &byte) {
            case .completed(0): throw .closedByPeer
            case .completed: throw .protocolViolation("the peer sent data on an outbound connection")
            case .wouldBlock: break
            }
        }
    }

    /// Writes `batch` in pieces of about `batchBytes`. On failure, puts back at the head of the queue every frame
    /// not written whole: the receiver drops a frame cut short with the connection, so nothing is duplicated, and
    /// a snapshot is resent from its first chunk.
    func transmit(_ batch: [PeerFrame], on socket: Int32, generation: UInt64) throws(PeerTransportError) {
        let configuration = context.configuration
        var index = 0
        while index < batch.count {
            let first = index
            var writer = ByteWriter(capacity: 64 * 1024)
            var ends: [(end: Int, encoded: Bool)] = []
            while index < batch.count, writer.count < Self.batchBytes {
                let encoded = FrameCodec.append(
                    batch[index],
                    chunkBytes: configuration.snapshotChunkBytes,
                    maxFrameBytes: configuration.maxFrameBytes,
                    to: &writer
                )
                if !encoded {
                    context.log(
                        "dropping a frame for node \(peer): larger than maxFrameBytes \(configuration.maxFrameBytes)"
                    )
                }
                ends.append((writer.count, encoded))
                index += 1
            }
            var written = 0
            do {
                try PeerIO.writeAll(
                    socket,
                    writer.bytes,
                    written: &written,
                    timeout: configuration.ioTimeoutMilliseconds,
                    wakeups: [wakeup],
                    interrupted: { self.isInterrupted(since: generation) }
                )
            } catch {
                let whole = ends.prefix { $0.end <= written }
                requeue(Array(batch[(first + whole.count)...]), after: whole)
                throw error
            }
            state.withLock { state in
                let encoded = ends.count { $0.encoded }
                state.sent += encoded
                state.dropped += ends.count - encoded
                state.inFlight -= ends.count
            }
        }
    }

    /// Puts `frames` back at the head of the queue after a failed write, trimming the oldest beyond the bound;
    /// `done` are the frames of the failed piece that went out whole.
    private func requeue(_ frames: [PeerFrame], after done: ArraySlice<(end: Int, encoded: Bool)>) {
        let limit = context.configuration.maxQueuedFrames
        state.withLock { state in
            let encoded = done.count { $0.encoded }
            state.sent += encoded
            state.dropped += done.count - encoded
            state.inFlight = 0
            guard !state.retired else { return }
            var queue = frames
            queue.append(contentsOf: state.queue)
            if queue.count > limit {
                state.dropped += queue.count - limit
                queue.removeFirst(queue.count - limit)
            }
            state.queue = queue
        }
    }

    /// Sleeps about `milliseconds` (jittered down by up to half, so peers that failed together do not retry in
    /// lockstep), waking early when the link is retired or moved.
    private func backOff(milliseconds: Int, generation: UInt64) {
        var random = SystemRandomNumberGenerator()
        let jittered = milliseconds - Int.random(in: 0...(milliseconds / 2), using: &random)
        let deadline = PeerSocket.monotonicMilliseconds() + Int64(jittered)
        while true {
            let remaining = Int(deadline - PeerSocket.monotonicMilliseconds())
            guard remaining > 0 else { return }
            guard PeerSocket.sleep(milliseconds: remaining, wakeups: [wakeup]) else { return }
            if isInterrupted(since: generation) { return }
        }
    }
}
