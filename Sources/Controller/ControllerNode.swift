package import API
import ClusterState
import Glibc
import HTTP
import Raft
import RaftStorage
import Synchronization

/// Gantry's version.
package let gantryVersion = "0.1.0"

/// A running controller: storage, Raft node loop, peer transport and HTTP API, wired together. The shell around the
/// pure cores; it owns every thread it starts.
package final class ControllerNode: Sendable {
    /// Bound ports, once started.
    package struct Ports: Sendable {
        /// The HTTP API port.
        package var api: UInt16
        /// The peer port.
        package var peer: UInt16
    }

    let configuration: ControllerConfiguration
    let logger: Logger
    let inbox = Inbox()
    let requests = RequestCounter()
    let running = Mutex<(loop: pthread_t?, server: HTTPServer?, transport: PeerTransport?, storage: StorageThread?)>(
        (nil, nil, nil, nil)
    )

    /// A controller for `configuration` (already validated).
    package init(configuration: ControllerConfiguration) {
        self.configuration = configuration
        self.logger = Logger(prefix: "node \(configuration.nodeID)")
    }

    /// Opens storage, recovers, binds both ports and starts serving. Throws a one-line error on anything that
    /// stops a clean start; nothing is left running then.
    package func start() throws(ConfigurationError) -> Ports {
        try configuration.validate()
        let tokens = try TokenTable(json: try readFile(configuration.tokensFile, what: "tokensFile"))
        var secret = try readFile(configuration.peerSecretFile, what: "peerSecretFile")
        while let last = secret.last, last == 0x0A || last == 0x0D || last == 0x20 { secret.removeLast() }
        guard secret.count >= 16 else {
            throw ConfigurationError("peerSecretFile \(configuration.peerSecretFile) must hold at least 16 bytes")
        }
        let fileSystem = POSIXFileSystem()
        var storageOptions = DurableStorage.Options()
        if TestMode.enabled {
            logger.log("WARNING: test mode (GANTRY_TEST_MODE=1): durable offsets reported, state digest served")
            storageOptions.wal.durableOffsetsFile = configuration.dataDirectory + "/durable-offsets"
        }
        var opened: (storage: DurableStorage, state: Raft.PersistentState, report: RecoveryReport)
        do {
            opened = try DurableStorage.open(
                fileSystem: fileSystem,
                directory: configuration.dataDirectory,
                options: storageOptions
            )
            if let restore = configuration.restoreFrom {
                try restoreBackup(restore, into: opened)
                opened = try DurableStorage.open(
                    fileSystem: fileSystem,
                    directory: configuration.dataDirectory,
                    options: storageOptions
                )
            }
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("cannot open the data directory \(configuration.dataDirectory): \(error)")
        }
        if let torn = opened.report.truncatedTail {
            logger.log(
                "recovered the write-ahead log: truncated a torn tail of \(torn.bytes) bytes at \(torn.file):\(torn.offset)"
            )
        }
        var state = StateMachine()
        if let snapshot = opened.state.snapshot {
            do {
                state = try StateMachine.restore(snapshot.data)
            } catch {
                throw ConfigurationError("the stored snapshot at \(snapshot.metadata.last) does not decode: \(error)")
            }
        }
        var options = Raft.Options()
        options.heartbeatInterval = max(1, configuration.heartbeatMilliseconds / configuration.tickMilliseconds)
        options.electionTimeout = max(
            options.heartbeatInterval + 1,
            configuration.electionMilliseconds / configuration.tickMilliseconds
        )
        let bootstrap =
            configuration.join
            ? Raft.Configuration.empty : Raft.Configuration(voters: configuration.members.keys.sorted())
        let node = Raft.Node(
            id: configuration.nodeID,
            options: options,
            bootstrap: bootstrap,
            restoring: opened.state,
            seed: UInt64.random(in: 1...UInt64.max)
        )
        let (peerHost, peerPort) = split(configuration.peerAddress)
        let (apiHost, apiPort) = split(configuration.apiAddress)
        let inbox = self.inbox
        let transport = PeerTransport(
            configuration: PeerTransport.Configuration(
                clusterID: configuration.clusterID,
                nodeID: configuration.nodeID,
                host: peerHost,
                port: peerPort,
                secret: secret
            ),
            log: { [logger] line in logger.log("peer: \(line)") },
            deliver: { from, frame in inbox.post(.peer(from: from, frame)) },
            closedByPeer: { peer in inbox.post(.peerClosed(peer)) }
        )
        let boundPeer: UInt16
        do {
            boundPeer = try transport.start()
        } catch {
            throw ConfigurationError("cannot listen on peerAddress \(configuration.peerAddress): \(error)")
        }
        let storage = StorageThread(opened.storage)
        let loop = NodeLoop(
            configuration: configuration,
            logger: logger,
            tokens: tokens,
            inbox: inbox,
            transport: transport,
            requests: requests,
            storage: storage,
            node: node,
            state: state
        )
        let requests = self.requests
        // Built once: the route is open, so answering it must not cost the node loop anything.
        let openAPIDocument = OpenAPI.response(version: gantryVersion)
        let region = configuration.region
        let allowAnonymousRead = configuration.allowAnonymousRead
        let ecs = ECSService(
            tokens: tokens,
            context: ECSGateway.Context(arnPrefix: configuration.arnPrefix),
            inbox: inbox,
            requests: requests,
            authenticate: { http in
                ECSAuthentication.authenticate(
                    http,
                    tokens: tokens,
                    now: Clock.wallMilliseconds() / 1_000,
                    region: region,
                    allowAnonymousRead: allowAnonymousRead
                )
            }
        )
        let server = HTTPServer(
            host: apiHost,
            port: apiPort,
            limits: HTTPParser.Limits(maxHeaderBytes: 16 * 1024, maxBodyBytes: configuration.maxBodyBytes),
            maxConnections: configuration.maxConnections,
            headerTimeoutMilliseconds: 10_000,
            idleTimeoutMilliseconds: 120_000,
            maxPendingPerConnection: 64,
            respondLater: { http, responder in
                if ECSGateway.isECS(http) {
                    ecs.serve(http) { responder.respond($0) }
                    return
                }
                if http.header(ECSGateway.principalHeader) != nil {
                    // Only the gateway and peer controllers may name a caller this way.
                    requests.count(route: "unrouted", status: 400)
                    responder.respond(
                        APIError(
                            status: 400,
                            code: "invalid_header",
                            message: "\(ECSGateway.principalHeader) is reserved for the controllers",
                            field: ECSGateway.principalHeader
                        ).response
                    )
                    return
                }
                if TestMode.enabled, http.target.hasPrefix(TestMode.pathPrefix) {
                    guard tokens.authenticate(authorization: http.header("Authorization"))?.role == .admin else {
                        responder.respond(
                            APIError(status: 401, code: "unauthorized", message: "test routes need an admin token")
                                .response
                        )
                        return
                    }
                    if http.method == "GET", http.target == TestMode.stateDigestPath {
                        inbox.post(.stateDigest(reply: { responder.respond($0) }))
                        return
                    }
                    if http.method == "POST", http.target == TestMode.clockPath {
                        responder.respond(TestMode.setClock(http.body))
                        return
                    }
                }
                switch Router.route(http, tokens: tokens) {
                case .failure(let error):
                    requests.count(route: "unrouted", status: error.status)
                    responder.respond(error.response)
                case .success(let request):
                    let reply: Reply = { response in
                        requests.count(route: request.route, status: response.status)
                        responder.respond(response)
                    }
                    if request.operation == .health {
                        reply(JSON.response(["status": "ok"]))
                    } else if request.operation == .openAPIDocument {
                        reply(openAPIDocument)
                    } else {
                        inbox.post(.request(request, http, forwardedFrom: nil, reply: reply))
                    }
                }
            }
        )
        let boundAPI: UInt16
        do {
            boundAPI = try server.start()
        } catch {
            transport.stop()
            throw ConfigurationError("cannot listen on apiAddress \(configuration.apiAddress): \(error)")
        }
        let context = Unmanaged.passRetained(loop).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread,
            nil,
            { raw in
                let loop = Unmanaged<NodeLoop>.fromOpaque(raw!).takeRetainedValue()
                loop.run()
                return nil
            },
            context
        )
        guard created == 0 else {
            Unmanaged<NodeLoop>.fromOpaque(context).release()
            server.stop()
            transport.stop()
            throw ConfigurationError("cannot start the node loop thread (pthread_create: \(created))")
        }
        running.withLock { $0 = (thread, server, transport, storage) }
        if let bug = loop.plantedBug {
            logger.log("WARNING: planted bug '\(bug.rawValue)' is active (GANTRY_PLANTED_BUG); this node is unsafe")
        }
        logger.log(
            "started: cluster \(configuration.clusterID), peer \(configuration.peerAddress), api \(configuration.apiAddress), "
                + "term \(opened.state.hardState.term), log \(opened.state.entries.count) entries"
                + (opened.state.snapshot.map { ", snapshot at \($0.metadata.last)" } ?? "")
        )
        return Ports(api: boundAPI, peer: boundPeer)
    }

    /// Stops serving: the API first, then the loop (answering what waits with 503), then the transport; waits for
    /// storage to finish what it was writing.
    package func stop() {
        let parts = running.withLock { parts in
            defer { parts = (nil, nil, nil, nil) }
            return parts
        }
        parts.server?.stop()
        if let thread = parts.loop {
            inbox.post(.stop)
            pthread_join(thread, nil)
        }
        parts.transport?.stop()
        parts.storage?.drain()
        logger.log("stopped")
    }

    func restoreBackup(
        _ path: String,
        into opened: (storage: DurableStorage, state: Raft.PersistentState, report: RecoveryReport)
    ) throws(ConfigurationError) {
        guard opened.state.snapshot == nil, opened.state.entries.isEmpty, opened.state.hardState.term == 0 else {
            throw ConfigurationError(
                "--restore needs an empty data directory, but \(configuration.dataDirectory) already holds Raft state"
            )
        }
        guard !configuration.join else { throw ConfigurationError("--restore starts a new cluster; drop join") }
        let backup: Backup
        do {
            backup = try Backup.decode(try readFile(path, what: "--restore"))
            _ = try StateMachine.restore(backup.state)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("--restore \(path): \(error)")
        }
        let snapshot = Raft.Snapshot(
            metadata: Raft.SnapshotMetadata(
                last: Raft.LogPosition(index: backup.index, term: max(backup.term, 1)),
                configuration: Raft.Configuration(voters: configuration.members.keys.sorted())
            ),
            data: backup.state
        )
        // Saved as a `Ready` carrying the snapshot, the way a follower installs one from its leader: the log is reset
        // to the snapshot's position, so the entries appended after it replay on restart.
        var ready = Raft.Ready()
        ready.snapshot = snapshot
        ready.hardState = Raft.HardState(term: snapshot.metadata.last.term, vote: nil, commit: backup.index)
        do {
            try opened.storage.save(ready)
        } catch {
            throw ConfigurationError("--restore: writing the snapshot failed: \(error)")
        }
        logger.log(
            "restored the backup \(path) at index \(backup.index) as a new cluster of \(configuration.members.count)"
        )
    }

    func split(_ address: String) -> (String, UInt16) {
        let colon = address.lastIndex(of: ":")!
        let host = String(address[..<colon])
        return (host == "localhost" ? "127.0.0.1" : host, UInt16(address[address.index(after: colon)...])!)
    }
}

/// The bytes of `path`, or a one-line error naming the setting.
func readFile(_ path: String, what: String) throws(ConfigurationError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw ConfigurationError("\(what) \(path): cannot open (\(String(cString: strerror(errno))))")
    }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw ConfigurationError("\(what) \(path): read failed (\(String(cString: strerror(errno))))")
        }
        if count == 0 { break }
        bytes += buffer[0..<count]
        guard bytes.count <= 256 << 20 else { throw ConfigurationError("\(what) \(path): larger than 256 MiB") }
    }
    return bytes
}
