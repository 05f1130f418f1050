import Glibc
import Raft
import Synchronization
import Wire

@testable import Controller

/// What a transport delivered and logged, shared by its callbacks and the test.
final class Recording: Sendable {
    /// Frames delivered, with their sender, in order.
    let delivered = Mutex<[(from: UInt64, frame: PeerFrame)]>([])
    /// Lines logged.
    let logged = Mutex<[String]>([])
}

/// A started transport under test with everything it delivered and logged. Tests stop it.
final class TestPeer: Sendable {
    /// The transport.
    let transport: PeerTransport
    /// The port it listens on.
    let port: UInt16
    /// Its deliveries and log.
    let recording = Recording()

    /// `host:port` of the listener.
    var address: String { "127.0.0.1:\(port)" }

    /// Starts a transport for node `id`.
    init(
        id: UInt64,
        cluster: String = "test-cluster",
        secret: String = "correct horse battery staple",
        port: UInt16 = 0,
        maxQueuedFrames: Int = 8192,
        ioTimeoutMilliseconds: Int = 1000
    ) throws {
        let recording = self.recording
        transport = PeerTransport(
            configuration: PeerTransport.Configuration(
                clusterID: cluster,
                nodeID: id,
                host: "127.0.0.1",
                port: port,
                secret: Array(secret.utf8),
                maxQueuedFrames: maxQueuedFrames,
                initialBackoffMilliseconds: 20,
                maxBackoffMilliseconds: 200,
                ioTimeoutMilliseconds: ioTimeoutMilliseconds
            ),
            log: { line in recording.logged.withLock { $0.append(line) } },
            deliver: { from, frame in recording.delivered.withLock { $0.append((from, frame)) } }
        )
        self.port = try transport.start()
    }

    /// Frames delivered from `peer`, in order.
    func frames(from peer: UInt64) -> [PeerFrame] {
        recording.delivered.withLock { $0.filter { $0.from == peer }.map(\.frame) }
    }

    /// Every frame delivered.
    var deliveredCount: Int { recording.delivered.withLock { $0.count } }

    /// Whether some logged line contains `text`.
    func logContains(_ text: String) -> Bool {
        recording.logged.withLock { $0.contains { $0.contains(text) } }
    }

    /// The outbound statistics for `peer`.
    func statistics(_ peer: UInt64) -> PeerStatistics? {
        transport.statistics()[peer]
    }
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A heartbeat from `from` to `to` whose read round numbers it.
func heartbeat(_ number: UInt64, from: UInt64 = 1, to: UInt64 = 2) -> PeerFrame {
    .raft(Raft.Message(from: from, to: to, term: 3, kind: .heartbeat(Raft.Heartbeat(commit: 7, readRound: number))))
}

/// An application frame whose payload numbers it.
func application(_ number: UInt64) -> PeerFrame {
    var writer = ByteWriter()
    writer.writeUInt64(number)
    return .application(kind: 9, payload: writer.bytes)
}

/// Milliseconds on the monotonic clock.
func nowMilliseconds() -> Int64 {
    PeerSocket.monotonicMilliseconds()
}

/// A listening socket on 127.0.0.1 that nobody accepts from: connections complete in the kernel's backlog and
/// then hear nothing, forever.
final class Blackhole: Sendable {
    /// The listening socket.
    let socket: Int32
    /// Its port.
    let port: UInt16

    /// Listens on an ephemeral port.
    init() throws {
        (socket, port) = try PeerSocket.listen(host: "127.0.0.1", port: 0)
    }

    deinit {
        PeerSocket.close(socket)
    }
}

/// A port on 127.0.0.1 that was bound and closed again, so connecting to it is refused.
func closedPort() throws -> UInt16 {
    let (socket, port) = try PeerSocket.listen(host: "127.0.0.1", port: 0)
    PeerSocket.close(socket)
    return port
}

/// The client side of the handshake done by hand, for tests that then write raw bytes: returns the connected,
/// authenticated socket (or the server's refusal reason).
func handshakeByHand(
    port: UInt16,
    cluster: String = "test-cluster",
    secret: String = "correct horse battery staple",
    from: UInt64,
    to: UInt64
) throws -> (socket: Int32, refusal: String?) {
    let socket = try PeerSocket.connect(
        to: "127.0.0.1:\(port)",
        timeoutMilliseconds: 2000,
        wakeups: [],
        interrupted: { true }
    )
    var decoder = FrameDecoder(maxFrameBytes: Handshake.maxFrameBytes)
    var scratch: [UInt8] = []
    let hello = try PeerIO.readFrame(
        socket,
        &decoder,
        scratch: &scratch,
        timeout: 2000,
        wakeups: [],
        interrupted: { true },
        awaiting: "hello"
    )
    let serverNonce = try Handshake.readServerHello(hello.payload).get()
    let nonce = PeerSocket.randomBytes(Handshake.nonceByteCount)
    let payload = Handshake.clientHello(
        Handshake.ClientHello(clusterID: cluster, from: from, to: to, incarnation: 42, nonce: nonce),
        serverNonce: serverNonce,
        secret: Array(secret.utf8)
    )
    try PeerIO.writeFrame(socket, .clientHello, payload, timeout: 2000, wakeups: [], interrupted: { true })
    let answer = try PeerIO.readFrame(
        socket,
        &decoder,
        scratch: &scratch,
        timeout: 2000,
        wakeups: [],
        interrupted: { true },
        awaiting: "answer"
    )
    switch Handshake.readAnswer(answer) {
    case .accept(let mac):
        precondition(mac == Handshake.acceptMAC(clientNonce: nonce, secret: Array(secret.utf8)))
        return (socket, nil)
    case .reject(let reason):
        return (socket, reason)
    case nil:
        preconditionFailure("unexpected answer type \(answer.type)")
    }
}

/// Whether `socket` is closed by the peer within `milliseconds` (reads, and discards, anything before the end).
func closedByPeer(_ socket: Int32, within milliseconds: Int) -> Bool {
    let deadline = nowMilliseconds() + Int64(milliseconds)
    var scratch = [UInt8](repeating: 0, count: 4096)
    while nowMilliseconds() < deadline {
        let remaining = Int(deadline - nowMilliseconds())
        guard (try? PeerSocket.wait(socket, for: PeerSocket.readable, wakeups: [], timeout: remaining)) == .ready
        else { return false }
        switch try? PeerSocket.receive(socket, into: &scratch) {
        case .completed(0), nil: return true
        default: continue
        }
    }
    return false
}

/// A server that completes the handshake as node `id`, then never reads: the writer's socket buffers fill and
/// its writes stall. Runs on its own thread until `stop()`.
final class StallingServer: Sendable {
    /// The listening socket.
    let listener: Int32
    /// Its port.
    let port: UInt16
    /// Accepted connections, kept open and unread.
    let accepted = Mutex<[Int32]>([])
    /// Ends the accept thread.
    let stopSignal: Int32
    /// The accept thread.
    let thread = Mutex<pthread_t?>(nil)

    /// Listens and starts accepting.
    init(id: UInt64, secret: String = "correct horse battery staple") throws {
        (listener, port) = try PeerSocket.listen(host: "127.0.0.1", port: 0)
        stopSignal = try PeerSocket.eventFD()
        let handle = try PeerSocket.spawn(name: "test-stall") { [self] in
            acceptLoop(id: id, secret: Array(secret.utf8))
        }
        thread.withLock { $0 = handle }
    }

    /// Accepts and authenticates connections until stopped.
    private func acceptLoop(id: UInt64, secret: [UInt8]) {
        while (try? PeerSocket.wait(listener, for: PeerSocket.readable, wakeups: [stopSignal], timeout: -1)) == .ready {
            guard let (socket, _) = try? PeerSocket.accept(listener) else { continue }
            accepted.withLock { $0.append(socket) }
            let nonce = PeerSocket.randomBytes(Handshake.nonceByteCount)
            var decoder = FrameDecoder(maxFrameBytes: Handshake.maxFrameBytes)
            var scratch: [UInt8] = []
            do {
                let wakeups = [stopSignal]
                try PeerIO.writeFrame(
                    socket,
                    .serverHello,
                    Handshake.serverHello(nonce: nonce),
                    timeout: 2000,
                    wakeups: wakeups,
                    interrupted: { true }
                )
                let frame = try PeerIO.readFrame(
                    socket,
                    &decoder,
                    scratch: &scratch,
                    timeout: 2000,
                    wakeups: wakeups,
                    interrupted: { true },
                    awaiting: "hello"
                )
                let hello = try Handshake.verifyClientHello(
                    frame.payload,
                    serverNonce: nonce,
                    clusterID: "test-cluster",
                    nodeID: id,
                    secret: secret
                ).get()
                try PeerIO.writeFrame(
                    socket,
                    .accept,
                    Handshake.acceptMAC(clientNonce: hello.nonce, secret: secret),
                    timeout: 2000,
                    wakeups: wakeups,
                    interrupted: { true }
                )
            } catch {
                continue
            }
        }
    }

    /// Stops accepting, joins the thread, closes every socket.
    func stop() {
        PeerSocket.signal(stopSignal)
        if let handle = thread.withLock({ $0 }) { pthread_join(handle, nil) }
        for socket in accepted.withLock({ $0 }) { PeerSocket.close(socket) }
        PeerSocket.close(listener)
        PeerSocket.close(stopSignal)
    }
}
