import ChaosCheck
import Raft
import RaftStorage

/// One simulated controller: the Raft core, its disk, its state machine, and the client requests it holds.
struct SimulatedNode {
    let id: Raft.NodeID
    /// The core; nil while crashed.
    var raft: Raft.Node?
    /// Bumped at each crash so events of an earlier life are ignored.
    var incarnation = 0
    /// The node's disk: the real storage code over a simulated file system that can crash, tear and fail.
    let fileSystem: SimulatedFileSystem
    var storage: DurableStorage?
    var store = RegisterStore()
    /// Virtual units between this node's ticks (the tick skew).
    var tickPeriod: UInt64
    /// The `Ready` being persisted, if any.
    var inFlight: Raft.Ready?
    /// Writes proposed here and not yet resolved, by log index.
    var pendingWrites: [UInt64: (term: UInt64, operation: Int)] = [:]
    /// Reads requested here: operation slot by context, with the granted index once known.
    var pendingReads: [UInt64: (operation: Int, index: UInt64?)] = [:]
}

enum SimulationEvent {
    case tick(node: Int, incarnation: Int)
    case deliver(Raft.Message)
    case persisted(node: Int, incarnation: Int)
    case restart(node: Int)
    case client
    case fault
    case membershipRepair
    case disturbLeader(node: Int, term: UInt64)
    case flake
}

/// Trace lines of one run. Only the run's own thread touches it.
final class TraceLog {
    var lines: [String] = []
}

/// The whole simulated world: nodes, network, clients, faults and checkers.
struct World {
    let configuration: Simulation.Configuration
    var random: Raft.SplitMix64
    var now: UInt64 = 0
    var queue = EventQueue<SimulationEvent>()
    var nodes: [SimulatedNode] = []
    let founders: Raft.Configuration
    var invariants = Invariants()
    var report: Simulation.Report

    // Network.
    /// Directed links that drop everything: `from << 32 | to`.
    var blockedLinks: Set<UInt64> = []
    /// Nodes cut off from everyone until the given time.
    var isolatedUntil: [Raft.NodeID: UInt64] = [:]
    var lossPercent: UInt64 = 0
    var duplicatePercent: UInt64 = 0
    let maxDelay: UInt64 = 30

    // Clients.
    var history: [KeyedOperation] = []
    /// Operations that definitely never took effect; left out of the checked history.
    var failedOperations: Set<Int> = []
    var acknowledged: [Raft.LogPosition] = []
    /// The trace (a reference, so that tracing does not need exclusive access to the world).
    let traceLog = TraceLog()
    var faultsOver = false
    /// Clients with no operation outstanding. Each client has at most one operation in flight (as Jepsen's do),
    /// which bounds concurrency and so the linearizability search; a client whose operation's outcome became
    /// unknown is retired and replaced by a new one.
    var idleClients: [Int] = Array(0..<10)
    var nextClient = 10
    /// Nodes whose file system has a crash or an I/O error armed and not yet fired.
    var armedDiskFaults: Set<Int> = []
    /// The client of each outstanding operation, by history slot.
    var clientOfOperation: [Int: Int] = [:]
    /// Chance that a newly elected leader is killed soon after (zero in most seeds).
    var leaderChurnPercent: UInt64 = 0
    /// Ticks between fault injections: calm seeds and stormy ones.
    var faultInterval: ClosedRange<UInt64> = 8...40
    /// Whether nodes drop off the network for short moments throughout the faulty phase.
    var flakyNodes = false
    var clientsStopped = false

    init(_ configuration: Simulation.Configuration) {
        var configuration = configuration
        random = Raft.SplitMix64(seed: configuration.seed)
        if configuration.randomizeFlowControl {
            // Small messages and windows split catch-up into many appends, which is where commit and back-off
            // rules are easiest to get wrong.
            configuration.raft.maxMessageBytes = [1, 40, 200, 1 << 20][Int(random.next() % 4)]
            configuration.raft.maxInflightMessages = [1, 2, 4, 256][Int(random.next() % 4)]
        }
        self.configuration = configuration
        leaderChurnPercent = [0, 40, 70, 90][Int(random.next() % 4)]
        faultInterval = random.next() % 2 == 0 ? 8...40 : 2...10
        flakyNodes = random.next() % 3 == 0
        founders = Raft.Configuration(voters: (1...UInt64(configuration.nodeCount)).map { $0 })
        report = Simulation.Report(seed: configuration.seed, nodeCount: configuration.nodeCount)
        for id in 1...UInt64(configuration.nodeCount) {
            let skew = configuration.unitsPerTick / 5
            let period = configuration.unitsPerTick - skew + random.next() % (2 * skew + 1)
            nodes.append(
                SimulatedNode(
                    id: id,
                    fileSystem: SimulatedFileSystem(seed: configuration.seed &* 31 &+ id),
                    tickPeriod: period
                )
            )
        }
    }

    // MARK: Random helpers

    mutating func uniform(_ range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + random.next() % (range.upperBound - range.lowerBound + 1)
    }

    mutating func percent(_ chance: UInt64) -> Bool { random.next() % 100 < chance }

    mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[Int(random.next() % UInt64(items.count))]
    }

    func ticks(_ count: UInt64) -> UInt64 { count * configuration.unitsPerTick }

    /// Records a trace line when tracing; the line is not even built otherwise.
    func trace(_ line: @autoclosure () -> String) {
        if configuration.trace { traceLog.lines.append("t=\(now) \(line())") }
    }

    // MARK: Run

    mutating func run() -> Simulation.Report {
        do {
            for slot in nodes.indices { try start(slot) }
        } catch {
            report.failure = error.message
            return report
        }
        queue.push(.client, at: uniform(1...configuration.clientInterval))
        queue.push(.fault, at: ticks(uniform(5...20)))
        queue.push(.membershipRepair, at: ticks(5))
        if flakyNodes { queue.push(.flake, at: uniform(20...300)) }
        let faultEnd = ticks(configuration.faultTicks)
        var healedAt: UInt64?
        var leaderSince: UInt64?
        do {
            while let (time, event) = queue.pop() {
                now = time
                report.stats.events += 1
                if healedAt == nil && now >= faultEnd {
                    try healEverything()
                    healedAt = now
                }
                try handle(event)
                guard let healed = healedAt else { continue }
                if leaderSince == nil {
                    if stableLeader() != nil {
                        leaderSince = now
                        clientsStopped = true
                    } else if now > healed + ticks(configuration.livenessTicks) {
                        throw Violation(
                            message: "liveness: no leader within \(configuration.livenessTicks) ticks after every "
                                + "fault healed"
                        )
                    }
                    continue
                }
                if try converged() { break }
                if now > leaderSince! + ticks(configuration.convergenceTicks) {
                    throw Violation(message: "convergence: \(convergenceProblem())")
                }
            }
            try checkHistory()
        } catch let violation as Violation {
            report.failure = violation.message
        } catch {
            report.failure = "unexpected error \(error)"
        }
        report.stats.ticks = now / configuration.unitsPerTick
        report.stats.leaders = invariants.leaderCount
        report.stats.acknowledgedWrites = acknowledged.count
        report.trace = traceLog.lines
        return report
    }

    mutating func handle(_ event: SimulationEvent) throws(Violation) {
        switch event {
        case .tick(let slot, let incarnation):
            guard nodes[slot].incarnation == incarnation, nodes[slot].raft != nil else { return }
            nodes[slot].raft!.tick()
            queue.push(.tick(node: slot, incarnation: incarnation), at: now + nodes[slot].tickPeriod)
            try pump(slot)
        case .deliver(let message):
            let slot = Int(message.to - 1)
            guard !blockedLinks.contains(message.from << 32 | message.to), nodes[slot].raft != nil,
                (isolatedUntil[message.from] ?? 0) <= now, (isolatedUntil[message.to] ?? 0) <= now
            else {
                report.stats.messagesDropped += 1
                return
            }
            trace("n\(message.to) <- n\(message.from) \(describe(message))")
            nodes[slot].raft!.step(message)
            try pump(slot)
        case .persisted(let slot, let incarnation):
            guard nodes[slot].incarnation == incarnation else { return }
            try finishReady(slot)
        case .restart(let slot):
            if nodes[slot].raft == nil { try start(slot) }
        case .client:
            if !clientsStopped {
                try clientOperation()
                queue.push(.client, at: now + uniform(1...(2 * configuration.clientInterval)))
            }
        case .fault:
            if !faultsOver {
                try injectFault()
                queue.push(.fault, at: now + ticks(uniform(faultInterval)))
            }
        case .membershipRepair:
            try repairMembership()
            queue.push(.membershipRepair, at: now + ticks(uniform(3...8)))
        case .flake:
            // Flaky links: a random node drops off the network for a moment, often mid-replication.
            guard !faultsOver, let victim = pick(nodes.map(\.id)) else { return }
            isolatedUntil[victim] = max(isolatedUntil[victim] ?? 0, now + uniform(30...300))
            queue.push(.flake, at: now + uniform(20...300))
        case .disturbLeader(let slot, let term):
            guard !faultsOver, let raft = nodes[slot].raft, raft.role == .leader, raft.term == term else { return }
            if percent(50) {
                trace("fault: kill fresh leader n\(raft.id) of term \(term)")
                crash(slot)
                queue.push(.restart(node: slot), at: now + ticks(uniform(1...20)))
            } else {
                // Cut it off, messages in flight included, and let it come back later.
                isolatedUntil[raft.id] = now + ticks(uniform(1...15))
                report.stats.partitions += 1
                trace("fault: isolate fresh leader n\(raft.id) of term \(term) until \(isolatedUntil[raft.id]!)")
            }
        }
    }

    // MARK: Nodes

    /// Starts (or restarts) a node: recovery from its disk, exactly as a real restart.
    mutating func start(_ slot: Int) throws(Violation) {
        var node = nodes[slot]
        if node.fileSystem.isCrashed { node.fileSystem.restart() }
        let recovered: Raft.PersistentState
        do {
            var options = DurableStorage.Options()
            options.wal.segmentSize = 16 << 10
            let opened = try DurableStorage.open(fileSystem: node.fileSystem, directory: "/node", options: options)
            node.storage = opened.storage
            recovered = opened.state
            if let torn = opened.report.truncatedTail {
                trace("n\(node.id) recovery cut a torn tail of \(torn.bytes) bytes in \(torn.file)")
            }
        } catch {
            throw Violation(message: "node \(node.id) failed to recover from its disk: \(error)")
        }
        node.raft = Raft.Node(
            id: node.id,
            options: configuration.raft,
            bootstrap: founders,
            restoring: recovered,
            seed: configuration.seed &+ UInt64(node.incarnation) &* 7919
        )
        node.store = recovered.snapshot.map { RegisterStore(snapshot: $0.data) } ?? RegisterStore()
        node.inFlight = nil
        nodes[slot] = node
        trace("n\(node.id) starts at term \(recovered.hardState.term) with \(recovered.entries.count) entries")
        queue.push(.tick(node: slot, incarnation: node.incarnation), at: now + uniform(1...node.tickPeriod))
    }

    mutating func crash(_ slot: Int) {
        guard nodes[slot].raft != nil else { return }
        if nodes[slot].raft!.role == .leader { report.stats.leaderKills += 1 }
        report.stats.crashes += 1
        trace("n\(nodes[slot].id) crashes (unpersisted ready lost: \(nodes[slot].inFlight != nil))")
        nodes[slot].raft = nil
        nodes[slot].storage = nil
        nodes[slot].inFlight = nil
        // The machine goes down with the process: whatever was not fsynced may be lost or torn.
        if !nodes[slot].fileSystem.isCrashed {
            nodes[slot].fileSystem.crash(mode: percent(50) ? .loseUnsynced : .tornWrites)
        }
        nodes[slot].incarnation += 1
        // Writes proposed here stay open-ended in the history: they may or may not have committed.
        report.stats.unknownWrites += nodes[slot].pendingWrites.count
        for index in nodes[slot].pendingWrites.keys.sorted() {
            retireClient(of: nodes[slot].pendingWrites[index]!.operation)
        }
        nodes[slot].pendingWrites = [:]
        for context in nodes[slot].pendingReads.keys.sorted() {
            let operation = nodes[slot].pendingReads[context]!.operation
            failedOperations.insert(operation)
            releaseClient(of: operation)
        }
        nodes[slot].pendingReads = [:]
    }

    /// Takes the node's next `Ready` when none is being persisted, sends what may go before persistence, and
    /// schedules the disk write.
    mutating func pump(_ slot: Int) throws(Violation) {
        guard var raft = nodes[slot].raft else { return }
        if let reason = raft.haltReason { throw Violation(message: "node \(raft.id) halted: \(reason)") }
        if raft.role == .leader {
            let isNew = try invariants.observeLeader(raft.id, term: raft.term, log: raft.log)
            // Leader churn: in some seeds, new leaders often die within moments of their election, while their
            // logs still differ from their followers' — the ground of the Figure 8 scenario (§5.4.2).
            if isNew && leaderChurnPercent > 0 && !faultsOver && percent(leaderChurnPercent) {
                let delay = percent(70) ? uniform(5...40) : uniform(5...300)
                queue.push(.disturbLeader(node: slot, term: raft.term), at: now + delay)
            }
        }
        guard nodes[slot].inFlight == nil else { return }
        let ready = raft.ready()
        if ready.isEmpty {
            raft.advance()
            nodes[slot].raft = raft
            return
        }
        if let first = ready.entries.first {
            try invariants.observeStored(
                raft.id,
                entries: ready.entries,
                previousTerm: raft.log.term(at: first.index - 1) ?? 0
            )
        }
        nodes[slot].raft = raft
        nodes[slot].inFlight = ready
        for message in ready.messages where message.mayBeSentBeforePersisting { send(message) }
        // Mostly fast disks, sometimes a slow fsync.
        let latency = percent(10) ? uniform(50...200) : uniform(1...10)
        queue.push(.persisted(node: slot, incarnation: nodes[slot].incarnation), at: now + latency)
    }

    /// The disk write of the in-flight `Ready` completed: send the rest, apply, serve reads, advance.
    mutating func finishReady(_ slot: Int) throws(Violation) {
        guard let ready = nodes[slot].inFlight else { return }
        nodes[slot].inFlight = nil
        do {
            try nodes[slot].storage!.save(ready)
        } catch {
            diskFailed(slot, error)
            return
        }
        for message in ready.messages where !message.mayBeSentBeforePersisting { send(message) }
        if let snapshot = ready.snapshot {
            nodes[slot].store = RegisterStore(snapshot: snapshot.data)
            report.stats.snapshotsInstalled += 1
            // Writes proposed here and covered by the snapshot: their outcome is not observed individually.
            for index in nodes[slot].pendingWrites.keys.sorted() where index <= snapshot.metadata.last.index {
                retireClient(of: nodes[slot].pendingWrites[index]!.operation)
                nodes[slot].pendingWrites[index] = nil
                report.stats.unknownWrites += 1
            }
        }
        for entry in ready.committedEntries {
            try invariants.observeApplied(nodes[slot].id, entry: entry)
            nodes[slot].store.apply(entry)
            resolveWrite(slot, entry: entry)
        }
        for state in ready.readStates {
            nodes[slot].pendingReads[state.context]?.index = state.index
        }
        for context in ready.droppedReads {
            if let read = nodes[slot].pendingReads.removeValue(forKey: context) {
                failedOperations.insert(read.operation)
                releaseClient(of: read.operation)
            }
        }
        serveReads(slot)
        nodes[slot].raft!.advance()
        let store = nodes[slot].store
        if store.appliedIndex >= nodes[slot].raft!.log.snapshot.index + configuration.compactionThreshold {
            nodes[slot].raft!.compact(through: store.appliedIndex, snapshotData: store.snapshotData)
            do {
                try nodes[slot].storage!.saveSnapshot(nodes[slot].raft!.snapshot!)
            } catch {
                diskFailed(slot, error)
                return
            }
        }
        try pump(slot)
    }

    /// A write or fsync failed (an injected fault): the node stops, as a real one must, and restarts later from
    /// what is on its disk.
    mutating func diskFailed(_ slot: Int, _ error: StorageError) {
        trace("n\(nodes[slot].id) stops: \(error)")
        armedDiskFaults.remove(slot)
        report.stats.diskFaults += 1
        crash(slot)
        queue.push(.restart(node: slot), at: now + ticks(uniform(2...20)))
    }

    mutating func resolveWrite(_ slot: Int, entry: Raft.Entry) {
        guard let pending = nodes[slot].pendingWrites.removeValue(forKey: entry.index) else { return }
        if pending.term == entry.term {
            history[pending.operation].operation.output = .written
            history[pending.operation].operation.returnedAt = now
            acknowledged.append(entry.position)
            releaseClient(of: pending.operation)
        } else {
            // Another entry took the index: this proposal was lost with its leader and can never apply.
            failedOperations.insert(pending.operation)
            releaseClient(of: pending.operation)
        }
    }

    mutating func serveReads(_ slot: Int) {
        let applied = nodes[slot].store.appliedIndex
        for context in nodes[slot].pendingReads.keys.sorted() {
            guard let read = nodes[slot].pendingReads[context], let index = read.index, index <= applied else {
                continue
            }
            nodes[slot].pendingReads[context] = nil
            let key = history[read.operation].key
            history[read.operation].operation.output = .read(nodes[slot].store.values[Int(key)!])
            history[read.operation].operation.returnedAt = now
            report.stats.reads += 1
            releaseClient(of: read.operation)
        }
    }

    // MARK: Network

    mutating func send(_ message: Raft.Message) {
        if percent(lossPercent) {
            report.stats.messagesDropped += 1
            return
        }
        queue.push(.deliver(message), at: now + uniform(1...maxDelay))
        if percent(duplicatePercent) {
            queue.push(.deliver(message), at: now + uniform(1...(3 * maxDelay)))
        }
    }

    func describe(_ message: Raft.Message) -> String {
        switch message.kind {
        case .append(let append):
            return
                "append t\(message.term) prev=\(append.previous) n=\(append.entries.count) commit=\(append.leaderCommit)"
        case .appendResponse(let response):
            return "appendResponse t\(message.term) ok=\(response.success) idx=\(response.index) "
                + "hint=\(response.hintIndex)@\(response.hintTerm)"
        case .vote(let request):
            return "\(request.preVote ? "prevote" : "vote") t\(message.term) last=\(request.lastLog)"
        case .voteResponse(let response):
            return "\(response.preVote ? "prevote" : "vote")Response t\(message.term) granted=\(response.granted)"
        case .heartbeat(let heartbeat):
            return "heartbeat t\(message.term) commit=\(heartbeat.commit) round=\(heartbeat.readRound)"
        case .heartbeatResponse(let response):
            return "heartbeatResponse t\(message.term) round=\(response.readRound)"
        case .snapshot(let snapshot):
            return "snapshot t\(message.term) last=\(snapshot.metadata.last)"
        case .timeoutNow:
            return "timeoutNow t\(message.term)"
        case .readIndex(let context):
            return "readIndex t\(message.term) ctx=\(context)"
        case .readIndexResponse(let context, let index):
            return "readIndexResponse t\(message.term) ctx=\(context) idx=\(index)"
        }
    }
}
