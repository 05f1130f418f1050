import Testing

@testable import Raft

// A deterministic in-memory network of Raft nodes, each with a shell that handles its `Ready` exactly as `Ready`'s
// documentation prescribes: persist to an in-memory disk, send, apply, then `advance()`. Nothing here reads a clock
// or a global random generator, so a test is a function of the seed it passes.

/// A directed link between two nodes; cutting it drops every message sent along it.
struct Link: Hashable {
    /// Sender.
    var from: Raft.NodeID
    /// Recipient.
    var to: Raft.NodeID
}

/// What one node's shell has made durable: exactly what the node's `Ready`s asked it to write.
struct Disk {
    /// The latest hard state written.
    var hardState: Raft.HardState
    /// The latest snapshot written (received from a leader or taken by the shell).
    var snapshot: Raft.Snapshot?
    /// The entries after the snapshot.
    var entries: [Raft.Entry]

    /// A disk holding `state`.
    init(_ state: Raft.PersistentState = Raft.PersistentState()) {
        hardState = state.hardState
        snapshot = state.snapshot
        entries = state.entries
    }

    /// What a node restarts from.
    var persistentState: Raft.PersistentState {
        Raft.PersistentState(hardState: hardState, snapshot: snapshot, entries: entries)
    }

    /// Writes the durable part of `ready` in the prescribed order: the snapshot (which replaces the whole log), the
    /// entries (overwriting every stored entry from the first one's index on), then the hard state.
    mutating func write(_ ready: Raft.Ready, node: Raft.NodeID) {
        if let received = ready.snapshot {
            snapshot = received
            entries = []
        }
        if let first = ready.entries.first {
            let snapshotIndex = snapshot?.metadata.last.index ?? 0
            let lastIndex = entries.last?.index ?? snapshotIndex
            if first.index <= snapshotIndex || first.index > lastIndex + 1 {
                Issue.record(
                    "node \(node): Ready entries start at \(first.index); disk holds \(snapshotIndex)...\(lastIndex)"
                )
            }
            entries.removeAll { $0.index >= first.index }
            entries.append(contentsOf: ready.entries)
        }
        if let hard = ready.hardState { hardState = hard }
    }

    /// Saves a snapshot the shell took of its own state machine, releasing the entries it covers.
    mutating func save(_ taken: Raft.Snapshot) {
        snapshot = taken
        entries.removeAll { $0.index <= taken.metadata.last.index }
    }
}

/// One node with its shell: the core, its disk, its replicated state machine and what the shell was told.
struct Server {
    /// The consensus core.
    var node: Raft.Node
    /// Stable storage.
    var disk: Disk
    /// The configuration the node was founded with (`.empty` for a node that joins later).
    let bootstrap: Raft.Configuration
    /// False while crashed: it is neither ticked nor processed, and messages to it are lost.
    var isUp = true
    /// The state machine: the bytes of every command applied, in order. A snapshot's data is a copy of it.
    var state: [UInt8] = []
    /// The index the state machine reflects.
    var lastApplied: UInt64 = 0
    /// Entries applied since the state machine was last restored (from a snapshot or by a restart).
    var applied: [Raft.Entry] = []
    /// Every read index granted to this node, oldest first.
    var readStates: [Raft.ReadState] = []
    /// Every read this node reported dropped, oldest first.
    var droppedReads: [UInt64] = []
    /// Snapshots received in a `Ready`, oldest first.
    var installedSnapshots: [Raft.SnapshotMetadata] = []
}

/// N nodes on a network the test controls message by message.
///
/// Messages a node emits go to `pending` (or are lost when their link is cut or their recipient is down). They reach
/// their recipient only when the test delivers them: `deliver(where:)` for a chosen subset, `stabilize(delivering:)`
/// to run until nothing deliverable is left. Messages a filter holds back stay in `pending` until delivered or
/// dropped.
struct Cluster {
    /// Options every node is created with.
    var options: Raft.Options
    /// Seeds every node's election-timeout randomness.
    let seed: UInt64
    /// The nodes, by id.
    var servers: [Raft.NodeID: Server] = [:]
    /// Sent and not yet delivered or dropped, in send order.
    var pending: [Raft.Message] = []
    /// Every message any node emitted, in emission order, including those the network then lost.
    var transcript: [Raft.Message] = []
    /// Links that lose everything sent along them.
    var cutLinks: Set<Link> = []
    /// Every entry any node applied, by index; two different entries at one index break State Machine Safety.
    var appliedByIndex: [UInt64: Raft.Entry] = [:]
    /// Every node seen leading, by term; two leaders in one term break Election Safety.
    var leadersByTerm: [UInt64: Set<Raft.NodeID>] = [:]
    /// Violations of State Machine Safety seen while applying.
    var stateMachineViolations: [String] = []

    /// A cluster founded with `voters` and `learners`; `persisted` overrides the empty disk of some nodes.
    init(
        voters: [Raft.NodeID] = [1, 2, 3],
        learners: [Raft.NodeID] = [],
        options: Raft.Options = Raft.Options(),
        seed: UInt64 = 1,
        persisted: [Raft.NodeID: Raft.PersistentState] = [:]
    ) {
        self.options = options
        self.seed = seed
        let founding = Raft.Configuration(voters: voters, learners: learners)
        for id in founding.members {
            addServer(id, bootstrap: founding, persisted: persisted[id] ?? Raft.PersistentState())
        }
    }

    /// Creates (or replaces) node `id` from `persisted`, as a founding member (`bootstrap` the founding
    /// configuration) or as a node that will join (`bootstrap` `.empty`).
    mutating func addServer(
        _ id: Raft.NodeID,
        bootstrap: Raft.Configuration = .empty,
        persisted: Raft.PersistentState = Raft.PersistentState()
    ) {
        let node = Raft.Node(id: id, options: options, bootstrap: bootstrap, restoring: persisted, seed: seed)
        var server = Server(node: node, disk: Disk(persisted), bootstrap: bootstrap)
        server.state = persisted.snapshot?.data ?? []
        server.lastApplied = persisted.snapshot?.metadata.last.index ?? 0
        servers[id] = server
    }

    /// The core of node `id`, for stepping, ticking or proposing directly.
    subscript(id: Raft.NodeID) -> Raft.Node {
        get { servers[id]!.node }
        set { servers[id]!.node = newValue }
    }

    /// Ids of every node, ascending.
    var ids: [Raft.NodeID] { servers.keys.sorted() }

    /// The running node that leads the highest term, if any.
    var leader: Raft.NodeID? {
        ids.filter { servers[$0]!.isUp && servers[$0]!.node.role == .leader }
            .max { servers[$0]!.node.term < servers[$1]!.node.term }
    }

    // MARK: Shell

    /// Handles node `id`'s `Ready` the way a shell must: persist, send, restore and apply, record reads, advance.
    /// Returns whether the `Ready` had anything in it.
    @discardableResult
    mutating func process(_ id: Raft.NodeID) -> Bool {
        guard var server = servers[id], server.isUp else { return false }
        let ready = server.node.ready()
        server.disk.write(ready, node: id)
        if let snapshot = ready.snapshot {
            server.state = snapshot.data
            server.lastApplied = snapshot.metadata.last.index
            server.applied = []
            server.installedSnapshots.append(snapshot.metadata)
        }
        for entry in ready.committedEntries {
            if entry.index != server.lastApplied + 1 {
                Issue.record("node \(id) was handed entry \(entry.index) to apply after \(server.lastApplied)")
            }
            if case .command(let bytes) = entry.payload { server.state += bytes }
            server.lastApplied = entry.index
            server.applied.append(entry)
            if let earlier = appliedByIndex[entry.index], earlier != entry {
                stateMachineViolations.append(
                    "node \(id) applied \(entry.position) where \(earlier.position) was applied before"
                )
            } else {
                appliedByIndex[entry.index] = entry
            }
        }
        server.readStates += ready.readStates
        server.droppedReads += ready.droppedReads
        server.node.advance()
        if server.node.role == .leader { leadersByTerm[server.node.term, default: []].insert(id) }
        servers[id] = server
        send(ready.messages)
        return !ready.isEmpty
    }

    /// Processes every running node once, in id order; returns whether any `Ready` had anything in it.
    @discardableResult
    mutating func processAll() -> Bool {
        var busy = false
        for id in ids {
            if process(id) { busy = true }
        }
        return busy
    }

    /// Puts `messages` on the network; those along a cut link or to a missing or crashed node are lost.
    mutating func send(_ messages: [Raft.Message]) {
        for message in messages {
            transcript.append(message)
            if isReachable(message) { pending.append(message) }
        }
    }

    /// Whether `message` would reach its recipient now.
    func isReachable(_ message: Raft.Message) -> Bool {
        guard let recipient = servers[message.to], recipient.isUp else { return false }
        return !cutLinks.contains(Link(from: message.from, to: message.to))
    }

    // MARK: Network

    /// Delivers the pending messages `shouldDeliver` selects, in send order (losing those whose link has been cut
    /// since); the rest stay pending. Returns how many were taken off the network.
    @discardableResult
    mutating func deliver(where shouldDeliver: (Raft.Message) -> Bool = { _ in true }) -> Int {
        let batch = pending
        pending = []
        var taken = 0
        for message in batch {
            guard shouldDeliver(message) else {
                pending.append(message)
                continue
            }
            taken += 1
            if isReachable(message) { servers[message.to]!.node.step(message) }
        }
        return taken
    }

    /// Loses the pending messages `shouldDrop` selects.
    mutating func drop(where shouldDrop: (Raft.Message) -> Bool = { _ in true }) {
        pending.removeAll(where: shouldDrop)
    }

    /// Processes and delivers until no node has anything to do and no deliverable message is left; what
    /// `shouldDeliver` rejects stays pending.
    mutating func stabilize(
        delivering shouldDeliver: (Raft.Message) -> Bool = { _ in true },
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for _ in 0..<10_000 {
            let busy = processAll()
            if deliver(where: shouldDeliver) == 0 && !busy { return }
        }
        Issue.record("the cluster did not settle", sourceLocation: sourceLocation)
    }

    /// Ticks the running nodes among `only` (default: all) `times` times, stabilizing after each round.
    mutating func tick(
        _ only: [Raft.NodeID]? = nil,
        times: Int = 1,
        delivering shouldDeliver: (Raft.Message) -> Bool = { _ in true }
    ) {
        for _ in 0..<times {
            for id in (only ?? ids).sorted() where servers[id]?.isUp == true {
                servers[id]!.node.tick()
            }
            stabilize(delivering: shouldDeliver)
        }
    }

    /// Ticks only node `id` (every other clock stands still), stabilizing after each tick, until it leads.
    mutating func elect(
        _ id: Raft.NodeID,
        delivering shouldDeliver: (Raft.Message) -> Bool = { _ in true },
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for _ in 0..<(10 * options.electionTimeout) where self[id].role != .leader {
            tick([id], delivering: shouldDeliver)
        }
        #expect(self[id].role == .leader, "node \(id) did not win an election", sourceLocation: sourceLocation)
    }

    /// Cuts every link to and from `id`.
    mutating func isolate(_ id: Raft.NodeID) {
        for other in ids where other != id {
            cutLinks.insert(Link(from: id, to: other))
            cutLinks.insert(Link(from: other, to: id))
        }
    }

    /// Cuts both directions between `a` and `b`.
    mutating func cut(_ a: Raft.NodeID, _ b: Raft.NodeID) {
        cutLinks.insert(Link(from: a, to: b))
        cutLinks.insert(Link(from: b, to: a))
    }

    /// Restores every link.
    mutating func heal() {
        cutLinks = []
    }

    // MARK: Faults and storage

    /// Stops node `id`: what it had not persisted is lost with it, and so are messages sent to it.
    mutating func crash(_ id: Raft.NodeID) {
        servers[id]!.isUp = false
    }

    /// Restarts node `id` from its disk alone: a new core, the state machine restored from the disk's snapshot.
    mutating func restart(_ id: Raft.NodeID) {
        let old = servers[id]!
        addServer(id, bootstrap: old.bootstrap, persisted: old.disk.persistentState)
        servers[id]!.readStates = old.readStates
        servers[id]!.droppedReads = old.droppedReads
    }

    /// Has node `id`'s shell snapshot its state machine at the last applied index and compact the log through it.
    mutating func compact(_ id: Raft.NodeID) {
        var server = servers[id]!
        server.node.compact(through: server.lastApplied, snapshotData: server.state)
        if let taken = server.node.snapshot { server.disk.save(taken) }
        servers[id] = server
    }

    // MARK: Checks

    /// Election Safety (Figure 3) and State Machine Safety violations seen so far; empty when all is well.
    var safetyViolations: [String] {
        let twoLeaders = leadersByTerm.keys.sorted().compactMap { term in
            leadersByTerm[term]!.count > 1 ? "term \(term) had leaders \(leadersByTerm[term]!.sorted())" : nil
        }
        return twoLeaders + stateMachineViolations
    }

    /// Proposes `command` on the leader and stabilizes; returns the entry's position.
    @discardableResult
    mutating func commit(_ command: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Raft.LogPosition? {
        guard let leader else {
            Issue.record("no leader to propose to", sourceLocation: sourceLocation)
            return nil
        }
        let position = try? self[leader].propose(command).get()
        stabilize()
        return position
    }
}

extension Cluster: CustomTestStringConvertible {
    /// One line per node (role, term, leader, log, commit, configuration), so a failed expectation stays readable.
    var testDescription: String {
        ids.map { id in
            let server = servers[id]!
            let node = server.node
            let status = "node \(id)\(server.isUp ? "" : " (down)"): \(node.role) term \(node.term)"
            let leader = " leader \(node.leader.map(String.init) ?? "-")"
            let log = " log \(node.log.snapshot)+\(node.log.entries.count) last \(node.log.last)"
            return status + leader + log + " commit \(node.log.commitIndex) \(node.configuration)"
        }
        .joined(separator: "\n")
    }
}

// MARK: Building nodes and messages

/// Entries `first, first + 1, …` with the given terms, each carrying a one-byte command equal to its index.
func entries(terms: [UInt64], from first: UInt64 = 1) -> [Raft.Entry] {
    terms.enumerated().map { offset, term in
        let index = first + UInt64(offset)
        return Raft.Entry(index: index, term: term, payload: .command([UInt8(truncatingIfNeeded: index)]))
    }
}

/// A node restarted from the given hard state and log, with the effects of its restart already handled, so a test
/// starts from a quiet node.
func restoredNode(
    id: Raft.NodeID = 1,
    voters: [Raft.NodeID] = [1, 2, 3],
    term: UInt64 = 0,
    vote: Raft.NodeID? = nil,
    commit: UInt64 = 0,
    logTerms: [UInt64] = [],
    options: Raft.Options = Raft.Options(),
    seed: UInt64 = 1
) -> Raft.Node {
    let persisted = Raft.PersistentState(
        hardState: Raft.HardState(term: term, vote: vote, commit: commit),
        entries: entries(terms: logTerms)
    )
    var node = Raft.Node(
        id: id,
        options: options,
        bootstrap: Raft.Configuration(voters: voters),
        restoring: persisted,
        seed: seed
    )
    _ = node.handleReady()
    return node
}

/// An AppendEntries message.
func appendMessage(
    from: Raft.NodeID,
    to: Raft.NodeID,
    term: UInt64,
    previous: Raft.LogPosition,
    entries: [Raft.Entry] = [],
    leaderCommit: UInt64 = 0
) -> Raft.Message {
    let append = Raft.Append(previous: previous, entries: entries, leaderCommit: leaderCommit)
    return Raft.Message(from: from, to: to, term: term, kind: .append(append))
}

/// A RequestVote (or pre-vote) message.
func voteMessage(
    from: Raft.NodeID,
    to: Raft.NodeID,
    term: UInt64,
    lastLog: Raft.LogPosition = Raft.LogPosition(index: 0, term: 0),
    preVote: Bool = false,
    leadershipTransfer: Bool = false
) -> Raft.Message {
    let request = Raft.VoteRequest(lastLog: lastLog, preVote: preVote, leadershipTransfer: leadershipTransfer)
    return Raft.Message(from: from, to: to, term: term, kind: .vote(request))
}

/// `index@term`.
func at(_ index: UInt64, _ term: UInt64) -> Raft.LogPosition {
    Raft.LogPosition(index: index, term: term)
}

extension Raft.Node {
    /// Takes the pending `Ready` and acknowledges it at once, as a shell with instant storage would.
    mutating func handleReady() -> Raft.Ready {
        let ready = ready()
        advance()
        return ready
    }

    /// The positions of every entry held after the snapshot.
    var logPositions: [Raft.LogPosition] { log.entries.map(\.position) }
}

extension Raft.Message {
    /// The AppendEntries arguments, if this is an append.
    var append: Raft.Append? {
        if case .append(let append) = kind { return append }
        return nil
    }

    /// The append result, if this is one.
    var appendResponse: Raft.AppendResponse? {
        if case .appendResponse(let response) = kind { return response }
        return nil
    }

    /// The RequestVote arguments, if this is a (pre-)vote request.
    var voteRequest: Raft.VoteRequest? {
        if case .vote(let request) = kind { return request }
        return nil
    }

    /// The vote result, if this is one.
    var voteResponse: Raft.VoteResponse? {
        if case .voteResponse(let response) = kind { return response }
        return nil
    }

    /// The heartbeat arguments, if this is a heartbeat.
    var heartbeat: Raft.Heartbeat? {
        if case .heartbeat(let heartbeat) = kind { return heartbeat }
        return nil
    }

    /// The snapshot, if this is an InstallSnapshot message.
    var snapshot: Raft.Snapshot? {
        if case .snapshot(let snapshot) = kind { return snapshot }
        return nil
    }

    /// Whether this is a TimeoutNow message.
    var isTimeoutNow: Bool { kind == .timeoutNow }
}

extension Result {
    /// The error, when this is a failure.
    var refusal: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
