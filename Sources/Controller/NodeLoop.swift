import API
import ClusterState
import Dispatch
import FoundationEssentials
import Glibc
import HTTP
import Orchestration
import Raft
import RaftStorage
import Synchronization
import Wire

/// The node loop: one thread owns the Raft node, the state machine and every waiting request. Network and disk
/// run on their own threads and talk to it through `Inbox`.
final class NodeLoop {
    /// A client waiting for the entry at an index to be applied (on the node that proposed it).
    struct Waiter {
        enum Kind {
            /// A replicated write: answered with the apply result.
            case write
            /// Step 1 of adding a member: its address is recorded; next, add it as a learner.
            case memberAddress(id: UInt64)
            /// A configuration change: answered once applied.
            case configuration(description: String)
        }

        var term: UInt64
        var kind: Kind
        var reply: Reply
        var started: UInt64
        var deadline: Int64
    }

    /// A linearizable read waiting for its read index, then for the apply to reach it.
    struct PendingRead {
        var request: APIRequest
        var reply: Reply
        var started: UInt64
        var deadline: Int64
        var index: UInt64?
    }

    /// A read blocked until the applied index passes `index`.
    struct BlockingRead {
        var request: APIRequest
        var reply: Reply
        var index: UInt64
        var deadline: Int64
        var forwardedFrom: UInt64?
    }

    /// A request this follower forwarded to the leader.
    struct Forward {
        /// The leader it was sent to.
        var leader: UInt64
        var reply: Reply
        var deadline: Int64
        /// Set once the answer arrived and names an index this node must apply before replying.
        var answer: (response: HTTPResponse, index: UInt64)?
    }

    /// A leadership transfer waiting to complete.
    struct Transfer {
        var target: UInt64
        var reply: Reply
        var deadline: Int64
    }

    let configuration: ControllerConfiguration
    /// A deliberate bug, for showing that the multi-process checks catch it (never set in production).
    let plantedBug: PlantedBug?
    let logger: Logger
    let tokens: TokenTable
    let inbox: Inbox
    let transport: PeerTransport
    let requests: RequestCounter
    let storage: StorageThread
    var node: Raft.Node
    var state: StateMachine
    var lastAppliedTerm: UInt64 = 0
    var running = true
    var persisting = false
    /// Messages of the outstanding `Ready` that must wait until it is durable, and its read results.
    var held: [Raft.Message] = []
    var heldReadStates: [Raft.ReadState] = []
    var heldDroppedReads: [UInt64] = []
    var waiters: [UInt64: Waiter] = [:]
    var reads: [UInt64: PendingRead] = [:]
    var blocking: [BlockingRead] = []
    var forwards: [UInt64: Forward] = [:]
    var transfers: [Transfer] = []
    /// Read contexts and forward ids travel to the leader and come back with its answer. They start at a random
    /// point in each process so that an answer meant for this node's previous incarnation (still in flight when it
    /// restarted) never matches a request of this one: found by the chaos suite, where a restarted follower handed
    /// a client the answer to a write its previous life had forwarded.
    var nextContext = UInt64.random(in: 1...(1 << 62))
    var nextForwardID = UInt64.random(in: 1...(1 << 62))
    var appliedSinceSnapshot = 0
    var lastLeaderContact: Int64?
    var knownLeader: UInt64?
    var role: Raft.Role = .follower
    var peerAddresses: [UInt64: String] = [:]
    var metrics = LoopMetrics()
    var nextTick: Int64
    var nextSweep: Int64
    var nextPruneCheck: Int64 = 0
    var nextPlacementRound: Int64 = 0
    /// The index of the last placement proposal; the next waits until it is applied.
    var placementProposalIndex: UInt64 = 0
    /// The applied index and the time (monotonic ms) of the last orchestration round.
    var lastOrchestratedIndex: UInt64 = 0
    var lastOrchestratedAt: Int64 = 0
    /// Whether a round is being computed off the loop.
    var orchestrationRunning = false
    /// The leader's memory of its agents' heartbeats (nil unless leading); a new leader starts it afresh, which
    /// gives every instance a full TTL before any is declared lost.
    var liveness: Liveness?
    /// Whether a state snapshot is being encoded off the loop.
    var snapshotEncoding = false
    /// Where snapshots are encoded.
    let snapshotQueue = DispatchQueue(label: "gantry-snapshot-encoder", qos: .utility)
    /// Where rounds are computed, so a long one never delays heartbeats, appends or reads.
    let orchestrationQueue = DispatchQueue(label: "gantry-orchestrator", qos: .userInitiated)
    /// Calls agents for task logs off the loop.
    let logProxy: AgentLogProxy

    init(
        configuration: ControllerConfiguration,
        logger: Logger,
        tokens: TokenTable,
        inbox: Inbox,
        transport: PeerTransport,
        requests: RequestCounter,
        storage: StorageThread,
        node: Raft.Node,
        state: StateMachine
    ) {
        self.configuration = configuration
        self.plantedBug = PlantedBug.fromEnvironment()
        self.logger = logger
        self.tokens = tokens
        self.inbox = inbox
        self.transport = transport
        self.requests = requests
        self.storage = storage
        self.node = node
        self.state = state
        self.logProxy = AgentLogProxy(timeoutMilliseconds: configuration.requestTimeoutMilliseconds)
        let now = Clock.monotonicMilliseconds()
        nextTick = now + Int64(configuration.tickMilliseconds)
        nextSweep = now + 100
    }

    // MARK: The loop

    /// Runs until a `.stop` event.
    func run() {
        syncPeers()
        while running {
            let now = Clock.monotonicMilliseconds()
            let events = inbox.take(waitingUpTo: Int(max(0, nextTick - now)))
            for event in events {
                handle(event)
            }
            let after = Clock.monotonicMilliseconds()
            var ticks = 0
            while after >= nextTick && ticks < 100 {
                node.tick()
                nextTick += Int64(configuration.tickMilliseconds)
                ticks += 1
            }
            if after >= nextTick { nextTick = after + Int64(configuration.tickMilliseconds) }
            if ticks > 0 { leaderDuties() }
            processReady()
            if after >= nextSweep {
                sweep(now: after)
                nextSweep = after + 100
            }
        }
        failEverything(APIError.unavailable("the controller is shutting down"))
    }

    func handle(_ event: LoopEvent) {
        switch event {
        case .peer(let from, let frame):
            handlePeer(from: from, frame)
        case .peerClosed(let peer):
            failForwards { $0 == peer }
            if peer == knownLeader && role != .leader {
                logger.log("the leader's (node \(peer)) connection closed; campaigning early if it does not return")
                node.leaderConnectionLost(peer)
            }
        case .request(let request, let http, let forwardedFrom, let reply):
            handleRequest(request, http, forwardedFrom: forwardedFrom, reply: reply)
        case .persisted(let seconds, let error):
            if let error {
                fatal("persisting the Raft log failed: \(error); stopping so that no unpersisted state is acknowledged")
            }
            metrics.fsyncLatency.observe(seconds)
            finishReady()
        case .snapshotEncoded(let index, let data):
            compact(through: index, data: data)
        case .orchestrated(let commands, let term, let index):
            proposeOrchestrated(commands, term: term, index: index)
        case .stateDigest(let reply):
            let digest = SHA256.hash(state.snapshot()).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }
            reply(
                JSON.response([
                    "node": String(configuration.nodeID), "appliedIndex": String(state.appliedIndex),
                    "digest": digest.joined(),
                ])
            )
        case .stop:
            running = false
        }
    }

    func handlePeer(from: UInt64, _ frame: PeerFrame) {
        switch frame {
        case .raft(let message):
            if message.from == knownLeader || isLeaderTraffic(message) {
                lastLeaderContact = Clock.monotonicMilliseconds()
            }
            if case .snapshot = message.kind { metrics.snapshotsInstalled += 1 }
            node.step(message)
        case .application(let kind, let payload):
            switch ApplicationKind(rawValue: kind) {
            case .forwardedRequest:
                guard let forwarded = try? ForwardedRequest.decode(payload) else {
                    logger.log("dropping an undecodable forwarded request from node \(from)")
                    return
                }
                serveForwarded(forwarded, from: from)
            case .forwardedResponse:
                guard let answer = try? ForwardedResponse.decode(payload) else {
                    logger.log("dropping an undecodable forwarded response from node \(from)")
                    return
                }
                receiveForwardedAnswer(answer, from: from)
            case nil:
                logger.log("dropping an application frame of unknown kind \(kind) from node \(from)")
            }
        }
    }

    func isLeaderTraffic(_ message: Raft.Message) -> Bool {
        switch message.kind {
        case .append, .heartbeat, .snapshot: return message.term >= node.term
        default: return false
        }
    }

    // MARK: Ready

    /// Takes the node's next `Ready` (unless one is being persisted) and performs it: sends what may go before
    /// persisting, hands persistence to the storage thread, applies committed entries.
    func processReady() {
        guard !persisting else { return }
        var ready = node.ready()
        if let soft = ready.softState { changeSoftState(soft) }
        var early: [Raft.Message] = []
        var late: [Raft.Message] = []
        for message in ready.messages {
            if message.mayBeSentBeforePersisting { early.append(message) } else { late.append(message) }
        }
        for message in early { transport.send(.raft(message), to: message.to) }
        if let snapshot = ready.snapshot { install(snapshot) }
        apply(ready.committedEntries)
        let needsDisk = ready.hardState != nil || !ready.entries.isEmpty || ready.snapshot != nil
        held = late
        heldReadStates = ready.readStates
        heldDroppedReads = ready.droppedReads
        ready.messages = []
        ready.committedEntries = []
        if needsDisk {
            persisting = true
            let inbox = self.inbox
            storage.save(ready) { seconds, error in inbox.post(.persisted(seconds: seconds, error: error)) }
        } else {
            finishReady()
        }
    }

    /// The outstanding `Ready` is durable: send the held messages, serve its reads, and advance.
    func finishReady() {
        persisting = false
        for message in held { transport.send(.raft(message), to: message.to) }
        held = []
        for readState in heldReadStates { grantRead(readState) }
        heldReadStates = []
        for context in heldDroppedReads {
            if let read = reads.removeValue(forKey: context) {
                read.reply(APIError.unavailable("leadership changed before the read was confirmed; retry").response)
            }
        }
        heldDroppedReads = []
        node.advance()
        maybeCompact()
        syncPeers()
        if let reason = node.haltReason, running {
            fatal("the Raft node halted: \(reason)")
        }
    }

    func changeSoftState(_ soft: Raft.SoftState) {
        if soft.leader != knownLeader {
            metrics.leaderChanges += 1
            logger.log(
                "leader is now \(soft.leader.map { "node \($0)" } ?? "unknown") (term \(node.term), role \(soft.role))"
            )
        }
        let leaderChanged = soft.leader != knownLeader
        knownLeader = soft.leader
        if soft.role == .leader && role != .leader {
            liveness = Liveness(since: Clock.wallMilliseconds(), ttl: Int64(configuration.instanceTTLMilliseconds))
        } else if soft.role != .leader {
            liveness = nil
        }
        role = soft.role
        failForwards { $0 != soft.leader }
        if leaderChanged && soft.leader != nil { reissueReads() }
        if soft.role == .leader { lastLeaderContact = nil }
        for transfer in transfers where soft.leader == transfer.target {
            transfer.reply(JSON.response(["leader": transfer.target]))
        }
        transfers.removeAll { soft.leader == $0.target }
    }

    // MARK: Apply

    func install(_ snapshot: Raft.Snapshot) {
        do {
            state = try StateMachine.restore(snapshot.data)
        } catch {
            fatal("the leader's snapshot at \(snapshot.metadata.last) does not decode: \(error)")
        }
        lastAppliedTerm = snapshot.metadata.last.term
        appliedSinceSnapshot = 0
        for (index, waiter) in waiters where index <= snapshot.metadata.last.index {
            waiter.reply(
                APIError.unavailable(
                    "the outcome is unknown after a snapshot install; retry with the same client token"
                )
                .response
            )
        }
        waiters = waiters.filter { $0.key > snapshot.metadata.last.index }
        logger.log("installed a snapshot at \(snapshot.metadata.last)")
    }

    func apply(_ entries: [Raft.Entry]) {
        guard !entries.isEmpty else { return }
        for entry in entries {
            var result: CommandResult?
            switch entry.payload {
            case .command(let bytes):
                result = state.apply(commandBytes: bytes, at: entry.index)
            case .empty, .configuration:
                state.skip(to: entry.index)
            }
            lastAppliedTerm = entry.term
            appliedSinceSnapshot += 1
            if let waiter = waiters.removeValue(forKey: entry.index) {
                answer(waiter, entry: entry, result: result)
            }
        }
        releaseApplied()
    }

    /// Answers a waiter whose index was just applied.
    func answer(_ waiter: Waiter, entry: Raft.Entry, result: CommandResult?) {
        guard waiter.term == entry.term else {
            waiter.reply(
                APIError.unavailable(
                    "leadership changed before the write committed; retry (with the same X-Gantry-Client-Token)"
                ).response
            )
            return
        }
        let seconds = Double(Clock.monotonicNanoseconds() - waiter.started) / 1e9
        metrics.proposalLatency.observe(seconds)
        switch waiter.kind {
        case .write:
            var response = Render.commandResult(
                result ?? .rejected(field: "command", reason: "not a command"),
                index: entry.index
            )
            response.headers.append(HTTPHeader(name: "X-Gantry-Index", value: String(entry.index)))
            waiter.reply(response)
        case .memberAddress(let id):
            proposeConfiguration(.addLearner(id), description: "added node \(id) as a learner", reply: waiter.reply)
        case .configuration(let description):
            var response = JSON.response(["result": description, "index": String(entry.index)])
            response.headers.append(HTTPHeader(name: "X-Gantry-Index", value: String(entry.index)))
            waiter.reply(response)
        }
    }

    /// Serves what was waiting for the applied index to advance: granted reads, blocking reads, forwarded answers.
    func releaseApplied() {
        let applied = state.appliedIndex
        if !reads.isEmpty {
            for (context, read) in reads {
                guard let index = read.index, index <= applied else { continue }
                reads[context] = nil
                metrics.readIndexLatency.observe(Double(Clock.monotonicNanoseconds() - read.started) / 1e9)
                read.reply(serveRead(read.request, consistency: "linearizable"))
            }
        }
        if !blocking.isEmpty {
            let ready = blocking.filter { applied > $0.index }
            blocking.removeAll { applied > $0.index }
            for read in ready { proceedRead(read.request, reply: read.reply, forwardedFrom: read.forwardedFrom) }
        }
        if !forwards.isEmpty {
            for (id, forward) in forwards {
                guard let answer = forward.answer, answer.index <= applied else { continue }
                forwards[id] = nil
                forward.reply(answer.response)
            }
        }
    }

    func grantRead(_ readState: Raft.ReadState) {
        guard var read = reads[readState.context] else { return }
        read.index = readState.index
        reads[readState.context] = read
        releaseApplied()
    }

    // MARK: Housekeeping

    /// Takes a state snapshot and compacts the log every `snapshotEvery` applied entries. The state is encoded on
    /// its own queue from a copy-on-write copy, so a large state (a million tasks) never stalls the loop's
    /// heartbeats and appends; the log is compacted when the encoding comes back.
    func maybeCompact() {
        guard appliedSinceSnapshot >= configuration.snapshotEvery, node.appliedIndex == state.appliedIndex,
            state.appliedIndex > 0, !snapshotEncoding
        else { return }
        snapshotEncoding = true
        appliedSinceSnapshot = 0
        let copy = state
        let index = state.appliedIndex
        let inbox = self.inbox
        snapshotQueue.async {
            inbox.post(.snapshotEncoded(index: index, data: copy.snapshot()))
        }
    }

    /// Compacts the log through `index` with the state encoded off the loop, and saves the snapshot.
    func compact(through index: UInt64, data: [UInt8]) {
        snapshotEncoding = false
        guard index > node.log.snapshot.index else { return }
        node.compact(through: index, snapshotData: data)
        metrics.snapshotsTaken += 1
        if let snapshot = node.snapshot {
            storage.saveSnapshot(snapshot) { [logger] error in
                if let error { logger.log("saving the snapshot at \(snapshot.metadata.last) failed: \(error)") }
            }
        }
    }

    /// Leader-only chores on each tick: prune old STOPPED tasks, promote caught-up learners.
    func leaderDuties() {
        guard role == .leader else { return }
        pruneStoppedTasksIfDue()
        orchestrate()
        let configuration = node.configuration
        guard !configuration.learners.isEmpty, node.configurationIndex <= node.log.commitIndex else { return }
        let last = node.log.lastIndex
        for peer in node.peers where !peer.isVoter && peer.recentActive && peer.match + 64 >= last {
            if case .success = node.proposeConfigurationChange(.promote(peer.id)) {
                logger.log("promoting node \(peer.id) to voter (caught up at \(peer.match) of \(last))")
            }
            return
        }
    }

    /// At most every 10 s, proposes pruning the STOPPED tasks older than the retention (a replicated command, so
    /// every node forgets the same tasks).
    func pruneStoppedTasksIfDue() {
        let now = Clock.monotonicMilliseconds()
        guard now >= nextPruneCheck else { return }
        nextPruneCheck = now + 10_000
        let cutoff = Clock.wallMilliseconds() - Int64(configuration.taskRetentionSeconds) * 1000
        guard
            state.domain.tasks.values.contains(where: { $0.lastStatus == "STOPPED" && ($0.stoppedAt ?? .max) < cutoff })
        else { return }
        let envelope = DomainEnvelope(
            arnPrefix: configuration.arnPrefix,
            command: .pruneStoppedTasks(stoppedBefore: cutoff)
        )
        if case .success = node.propose(Command(time: Clock.wallMilliseconds(), action: .domain(envelope)).encoded()) {
            metrics.proposals += 1
        }
    }

    /// Points the transport at every member's address (replicated addresses first, then the founding list).
    func syncPeers() {
        var desired: [UInt64: String] = [:]
        var ids = Set(node.configuration.members)
        if ids.isEmpty { ids = Set(configuration.members.keys) }
        ids.formUnion(state.memberAddresses.keys)
        ids.remove(configuration.nodeID)
        for id in ids {
            if let address = state.memberAddresses[id] ?? configuration.members[id] { desired[id] = address }
        }
        guard desired != peerAddresses else { return }
        for (id, address) in desired where peerAddresses[id] != address {
            transport.setPeer(id, address: address)
        }
        for id in peerAddresses.keys where desired[id] == nil {
            transport.setPeer(id, address: nil)
        }
        peerAddresses = desired
    }

    /// Times out requests that waited too long.
    func sweep(now: Int64) {
        let timeout = APIError.unavailable(
            "the cluster did not answer in time (no quorum or no leader?); retry, with the same X-Gantry-Client-Token for writes"
        ).response
        for (index, waiter) in waiters where waiter.deadline <= now {
            waiters[index] = nil
            metrics.proposalsFailed += 1
            waiter.reply(timeout)
        }
        for (context, read) in reads where read.deadline <= now {
            reads[context] = nil
            read.reply(
                APIError.unavailable("the leader did not confirm the read in time; the read was not served").response
            )
        }
        for (id, forward) in forwards where forward.deadline <= now {
            forwards[id] = nil
            forward.reply(timeout)
        }
        let expired = blocking.filter { $0.deadline <= now }
        blocking.removeAll { $0.deadline <= now }
        for read in expired { proceedRead(read.request, reply: read.reply, forwardedFrom: read.forwardedFrom) }
        for transfer in transfers where transfer.deadline <= now {
            transfer.reply(
                APIError(
                    status: 504,
                    code: "transfer_timeout",
                    message: "leadership did not move to node \(transfer.target) in time"
                )
                .response
            )
        }
        transfers.removeAll { $0.deadline <= now }
    }

    /// Fails the forwarded requests still waiting on a leader that `lost` selects (its connection closed, or
    /// another node leads now), so clients retry at once rather than wait out the timeout. Answers already received
    /// (waiting only for the local apply) are kept.
    func failForwards(_ lost: (UInt64) -> Bool) {
        for (id, forward) in forwards where forward.answer == nil && lost(forward.leader) {
            forwards[id] = nil
            forward.reply(
                APIError.unavailable(
                    "the leader (node \(forward.leader)) went away before answering; the write may or may not have been applied: retry with the same X-Gantry-Client-Token"
                ).response
            )
        }
    }

    /// Asks the new leader again for the read index of every linearizable read still waiting for one: the old
    /// leader may never answer. Reads are idempotent, so asking twice is harmless.
    func reissueReads() {
        for (context, read) in reads where read.index == nil {
            if case .failure(let refusal) = node.requestRead(context: context) {
                reads[context] = nil
                read.reply(refused(refusal))
            }
        }
    }

    func failEverything(_ error: APIError) {
        let response = error.response
        for waiter in waiters.values { waiter.reply(response) }
        for read in reads.values { read.reply(response) }
        for read in blocking { read.reply(response) }
        for forward in forwards.values { forward.reply(response) }
        for transfer in transfers { transfer.reply(response) }
        waiters = [:]
        reads = [:]
        blocking = []
        forwards = [:]
        transfers = []
    }

    func fatal(_ message: String) -> Never {
        logger.log("FATAL: \(message)")
        exit(70)
    }
}

/// Test-only behaviour, switched on by `GANTRY_TEST_MODE=1` (the chaos harness sets it): the write-ahead log
/// reports its durable offsets in `<data-dir>/durable-offsets`; `GET /v1/test/state-digest` answers with the
/// applied index and a SHA-256 of the state; `POST /v1/test/clock` with `{"wallOffsetMs": N}` sets an offset on the
/// wall clock and with `{"monotonicJumpMs": M}` makes the monotonic clock jump M ms forward. So the harness can cut
/// a crashed node's log back to what a power cut would leave, compare the nodes' states after settling, and skew
/// their clocks. They need an admin token. Off, the routes do not exist.
enum TestMode {
    static let enabled: Bool = getenv("GANTRY_TEST_MODE").map { String(cString: $0) == "1" } ?? false
    static let pathPrefix = "/v1/test/"
    static let stateDigestPath = "/v1/test/state-digest"
    static let clockPath = "/v1/test/clock"

    /// Applies a `POST /v1/test/clock` body; the answer names the offsets now in force, or the problem.
    static func setClock(_ body: [UInt8]) -> HTTPResponse {
        struct Change: Decodable {
            var wallOffsetMs: Int64?
            var monotonicJumpMs: Int64?
        }
        guard let change = try? JSONDecoder().decode(Change.self, from: Data(body)) else {
            return APIError(
                status: 400,
                code: "invalid_body",
                message: #"expected {"wallOffsetMs": N} and/or {"monotonicJumpMs": M}"#,
                field: "body"
            ).response
        }
        if let jump = change.monotonicJumpMs {
            guard (0...600_000).contains(jump) else {
                return APIError(
                    status: 400,
                    code: "invalid",
                    message: "monotonicJumpMs must be 0 to 600000: a monotonic clock only goes forward",
                    field: "monotonicJumpMs"
                ).response
            }
            Clock.monotonicJump.add(jump, ordering: .relaxed)
        }
        if let offset = change.wallOffsetMs { Clock.wallOffset.store(offset, ordering: .relaxed) }
        return JSON.response([
            "wallOffsetMs": String(Clock.wallOffset.load(ordering: .relaxed)),
            "monotonicJumpMs": String(Clock.monotonicJump.load(ordering: .relaxed)),
        ])
    }
}

/// Deliberate bugs that the multi-process tests must catch, switched on by `GANTRY_PLANTED_BUG`. They exist only so
/// that the tests' checks are shown to fail when the property they check is broken.
enum PlantedBug: String {
    /// The leader acknowledges a write as soon as it is proposed, before it commits.
    case acknowledgeOnPropose = "ack-on-propose"
    /// Linearizable reads are served from local state without confirming leadership (ReadIndex skipped).
    case localLinearizableReads = "local-linearizable-reads"

    static func fromEnvironment() -> PlantedBug? {
        guard let raw = getenv("GANTRY_PLANTED_BUG") else { return nil }
        return PlantedBug(rawValue: String(cString: raw))
    }
}
