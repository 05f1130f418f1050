import Glibc
import Synchronization

/// The controllers' peer-to-peer link: authenticated TCP connections carrying Raft messages and application
/// frames.
///
/// Outbound, each peer has a bounded queue and one dedicated sender thread that connects (backing off
/// exponentially with jitter after failures), authenticates, and writes everything queued as one batch; `send`
/// never blocks, and a slow or dead peer stalls only its own thread. Inbound, a listener thread accepts, and one
/// reader thread per connection authenticates the client and calls `deliver` with each frame, in order. No thread
/// of the cooperative pool is ever blocked. The handshake is described in `Handshake`, the framing in
/// `FrameCodec`.
package final class PeerTransport: Sendable {
    /// Everything fixed at construction.
    package struct Configuration: Sendable {
        /// Every controller of a cluster has the same id; a connection from another cluster is refused.
        package var clusterID: String
        /// This node's id.
        package var nodeID: UInt64
        /// The address to listen on.
        package var host: String
        /// The port to listen on; 0 picks an ephemeral port, which `start()` returns.
        package var port: UInt16
        /// The cluster's shared secret: never sent, only proven with HMAC-SHA256.
        package var secret: [UInt8]
        /// Frames queued per peer before `send` starts dropping.
        package var maxQueuedFrames: Int
        /// The first back-off after a failed connection; doubled per consecutive failure.
        package var initialBackoffMilliseconds: Int
        /// The largest back-off.
        package var maxBackoffMilliseconds: Int
        /// The largest piece of snapshot data per frame.
        package var snapshotChunkBytes: Int
        /// The largest frame accepted (type byte plus payload); larger outbound frames are dropped and logged.
        package var maxFrameBytes: Int
        /// How long a connect, a handshake step, or a write may go without progress before the connection counts
        /// as failed.
        package var ioTimeoutMilliseconds: Int

        /// A configuration; the defaults suit a LAN cluster.
        package init(
            clusterID: String,
            nodeID: UInt64,
            host: String,
            port: UInt16,
            secret: [UInt8],
            maxQueuedFrames: Int = 8192,
            initialBackoffMilliseconds: Int = 50,
            maxBackoffMilliseconds: Int = 2000,
            snapshotChunkBytes: Int = 1 << 20,
            maxFrameBytes: Int = 64 << 20,
            ioTimeoutMilliseconds: Int = 5000
        ) {
            self.clusterID = clusterID
            self.nodeID = nodeID
            self.host = host
            self.port = port
            self.secret = secret
            self.maxQueuedFrames = maxQueuedFrames
            self.initialBackoffMilliseconds = initialBackoffMilliseconds
            self.maxBackoffMilliseconds = maxBackoffMilliseconds
            self.snapshotChunkBytes = snapshotChunkBytes
            self.maxFrameBytes = maxFrameBytes
            self.ioTimeoutMilliseconds = ioTimeoutMilliseconds
        }
    }

    /// A peer's link and the thread draining it.
    struct Link {
        /// The link.
        let link: OutboundLink
        /// Its sender thread; nil until the transport starts.
        var thread: pthread_t?
    }

    /// The transport's life and its links.
    struct State {
        /// The receiving side, from `start()` until `stop()`.
        var server: InboundServer?
        /// Set by `stop()`, for good.
        var stopped = false
        /// Known peers.
        var links: [UInt64: Link] = [:]
        /// Links of forgotten peers whose threads have not been joined yet.
        var retired: [Link] = []
    }

    /// Configuration, incarnation and log, as the threads see them.
    let context: TransportContext
    /// See `init`.
    let deliver: @Sendable (UInt64, PeerFrame) -> Void
    let closedByPeer: @Sendable (UInt64) -> Void
    /// See `State`.
    let state = Mutex(State())
    /// Frames `send` dropped because their peer was unknown (or the transport stopped).
    let unknownPeerDrops = Atomic<Int>(0)

    /// A transport for `configuration`; nothing is opened until `start()`. `log` receives refusals and failures;
    /// `deliver` is called on a reader thread with each frame and the authenticated node id it came from;
    /// `closedByPeer` when an authenticated peer ends its connection (end of stream, as when its process exits).
    package init(
        configuration: Configuration,
        log: @escaping @Sendable (String) -> Void,
        deliver: @escaping @Sendable (UInt64, PeerFrame) -> Void,
        closedByPeer: @escaping @Sendable (UInt64) -> Void = { _ in }
    ) {
        precondition(configuration.maxQueuedFrames > 0, "PeerTransport: maxQueuedFrames must be positive")
        precondition(
            configuration.initialBackoffMilliseconds > 0
                && configuration.maxBackoffMilliseconds >= configuration.initialBackoffMilliseconds,
            "PeerTransport: need 0 < initialBackoffMilliseconds <= maxBackoffMilliseconds"
        )
        precondition(configuration.ioTimeoutMilliseconds > 0, "PeerTransport: ioTimeoutMilliseconds must be positive")
        precondition(
            configuration.snapshotChunkBytes > 0
                && configuration.snapshotChunkBytes + 64 * 1024 <= configuration.maxFrameBytes,
            "PeerTransport: snapshotChunkBytes must be positive and leave 64 KiB of headroom below maxFrameBytes"
        )
        var random = SystemRandomNumberGenerator()
        self.context = TransportContext(
            configuration: configuration,
            incarnation: UInt64.random(in: 1...UInt64.max, using: &random),
            log: log
        )
        self.deliver = deliver
        self.closedByPeer = closedByPeer
    }

    deinit {
        stop()
    }

    /// Binds and listens, and starts the listener and the sender threads of peers already set; returns the bound
    /// port. Call once.
    package func start() throws(PeerTransportError) -> UInt16 {
        try state.withLock { (state: inout State) throws(PeerTransportError) -> UInt16 in
            precondition(state.server == nil && !state.stopped, "PeerTransport.start() called twice or after stop()")
            let configuration = context.configuration
            let (listener, port) = try PeerSocket.listen(host: configuration.host, port: configuration.port)
            let server: InboundServer
            do throws(PeerTransportError) {
                server = try InboundServer(
                    listener: listener,
                    context: context,
                    deliver: deliver,
                    closedByPeer: closedByPeer
                )
            } catch {
                PeerSocket.close(listener)
                throw error
            }
            // On failure the server's deinit closes the listener.
            try server.start()
            state.server = server
            for (id, link) in state.links {
                state.links[id]?.thread = spawnSender(link.link)
            }
            return port
        }
    }

    /// Sets where peer `id` listens (`host:port`), connecting to it from now on; a new address replaces the old
    /// connection. nil forgets the peer: its queue is discarded and its connection closed.
    package func setPeer(_ id: UInt64, address: String?) {
        precondition(id != context.configuration.nodeID, "PeerTransport.setPeer: \(id) is this node's own id")
        var retiring: [Link] = []
        state.withLock { state in
            guard !state.stopped else { return }
            defer { retiring = takeFinished(&state.retired) }
            guard let address else {
                if let link = state.links.removeValue(forKey: id) {
                    link.link.retire()
                    state.retired.append(link)
                }
                return
            }
            if let existing = state.links[id] {
                if existing.link.state.withLock({ $0.address }) != address { existing.link.retarget(address) }
                return
            }
            do {
                var link = Link(link: try OutboundLink(peer: id, address: address, context: context))
                if state.server != nil { link.thread = spawnSender(link.link) }
                state.links[id] = link
            } catch {
                context.log("cannot add node \(id) at \(address): \(error)")
            }
        }
        for link in retiring {
            if let thread = link.thread { pthread_join(thread, nil) }
        }
    }

    /// Queues `frame` for `peer` and returns at once. Dropped, and counted, when the peer's queue is full or the
    /// peer is unknown.
    package func send(_ frame: PeerFrame, to peer: UInt64) {
        guard let link = state.withLock({ $0.links[peer]?.link }) else {
            unknownPeerDrops.add(1, ordering: .relaxed)
            return
        }
        _ = link.enqueue(frame)
    }

    /// Per known peer: queue depth, drops, whether connected, frames sent, and the last failure.
    package func statistics() -> [UInt64: PeerStatistics] {
        let links = state.withLock { $0.links.mapValues(\.link) }
        return links.mapValues { $0.statistics() }
    }

    /// Frames dropped because no peer of that id was set (or the transport had stopped).
    package var droppedForUnknownPeers: Int {
        unknownPeerDrops.load(ordering: .relaxed)
    }

    /// Closes every connection and joins every thread the transport started. Idempotent; returns promptly even
    /// when a peer is blackholed, because every wait also watches a wake-up descriptor.
    package func stop() {
        let (server, links) = state.withLock { state -> (InboundServer?, [Link]) in
            let links = Array(state.links.values) + state.retired
            let server = state.server
            state.stopped = true
            state.server = nil
            state.links = [:]
            state.retired = []
            return (server, links)
        }
        for link in links { link.link.retire() }
        server?.stop()
        for link in links {
            if let thread = link.thread { pthread_join(thread, nil) }
        }
    }

    /// Starts `link`'s sender thread; logs and returns nil if the system refuses (the peer's frames then queue
    /// up and drop).
    private func spawnSender(_ link: OutboundLink) -> pthread_t? {
        do {
            return try PeerSocket.spawn(name: "gantry-peer-out") { link.run() }
        } catch {
            context.log("cannot start the sender thread for node \(link.peer): \(error)")
            return nil
        }
    }

    /// Removes and returns the retired links whose threads have exited, so joining them cannot block.
    private func takeFinished(_ retired: inout [Link]) -> [Link] {
        let finished = retired.filter { $0.thread == nil || $0.link.finished.load(ordering: .acquiring) }
        retired.removeAll { $0.thread == nil || $0.link.finished.load(ordering: .acquiring) }
        return finished
    }
}
