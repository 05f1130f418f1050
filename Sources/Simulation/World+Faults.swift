import ChaosCheck
import Raft
import RaftStorage

extension World {
    // MARK: Clients

    var liveSlots: [Int] { nodes.indices.filter { nodes[$0].raft != nil } }

    /// The operation's client is free for its next operation.
    mutating func releaseClient(of operation: Int) {
        guard let client = clientOfOperation.removeValue(forKey: operation) else { return }
        idleClients.append(client)
    }

    /// The operation's outcome is unknown: its client may never learn it, so a new client takes its place.
    mutating func retireClient(of operation: Int) {
        guard clientOfOperation.removeValue(forKey: operation) != nil else { return }
        idleClients.append(nextClient)
        nextClient += 1
    }

    /// A random idle client's write or read at a random live node.
    mutating func clientOperation() throws(Violation) {
        guard !idleClients.isEmpty, let slot = pick(liveSlots) else { return }
        let client = idleClients.remove(at: Int(random.next() % UInt64(idleClients.count)))
        defer { if clientOfOperation[history.count - 1] != client { idleClients.append(client) } }
        let key = Int(random.next() % UInt64(RegisterStore.keyCount))
        let operationSlot = history.count
        let operationID = UInt64(operationSlot + 1)
        if percent(55) {
            let write = RegisterStore.Write(operation: operationID, key: key, value: operationID)
            guard case .success(let position) = nodes[slot].raft!.propose(write.encoded) else { return }
            history.append(operation(slot: operationSlot, client: client, key: key, input: .write(operationID)))
            clientOfOperation[operationSlot] = client
            nodes[slot].pendingWrites[position.index] = (position.term, operationSlot)
            trace("n\(nodes[slot].id) client write k\(key)=\(operationID) at \(position)")
        } else {
            guard case .success = nodes[slot].raft!.requestRead(context: operationID) else { return }
            history.append(operation(slot: operationSlot, client: client, key: key, input: .read))
            clientOfOperation[operationSlot] = client
            nodes[slot].pendingReads[operationID] = (operationSlot, nil)
            trace("n\(nodes[slot].id) client read k\(key) op \(operationID)")
        }
        try pump(slot)
    }

    func operation(slot: Int, client: Int, key: Int, input: RegisterInput) -> KeyedOperation {
        KeyedOperation(
            key: String(key),
            operation: HistoryOperation(
                id: slot,
                client: client,
                input: input,
                output: nil,
                invokedAt: now,
                returnedAt: nil
            )
        )
    }

    /// Checks the client history for linearizability. Reads that never returned had no effect and are left out, as
    /// are writes known to have been lost; writes of unknown outcome stay in, open-ended.
    func checkHistory() throws(Violation) {
        let checked = history.filter { entry in
            guard !failedOperations.contains(entry.operation.id) else { return false }
            if case .read = entry.operation.input { return entry.operation.returnedAt != nil }
            return true
        }
        let verdict = summarize(checkKeyedRegisters(checked))
        if verdict != .linearizable {
            for entry in checked {
                let operation = entry.operation
                trace(
                    "history key=\(entry.key) op=\(operation.id) \(operation.input) -> "
                        + "\(operation.output.map { "\($0)" } ?? "?") [\(operation.invokedAt), "
                        + "\(operation.returnedAt.map { "\($0)" } ?? "open")]"
                )
            }
        }
        switch verdict {
        case .linearizable:
            return
        case .illegal(let witness):
            throw Violation(message: "linearizability: \(witness.description)")
        case .unknown(let explored):
            throw Violation(message: "linearizability: unknown after exploring \(explored) states")
        }
    }

    // MARK: Faults

    var leaderSlot: Int? {
        nodes.indices.filter { nodes[$0].raft?.role == .leader }.max { nodes[$0].raft!.term < nodes[$1].raft!.term }
    }

    /// Starts one random fault; most also clear the previous network fault.
    mutating func injectFault() throws(Violation) {
        let ids = nodes.map(\.id)
        let choice = random.next() % 15
        if choice < 8 && percent(60) { healNetwork() }
        switch choice {
        case 0:
            healNetwork()
            trace("fault: heal network")
        case 1:
            var shuffled = ids
            shuffled.shuffle(using: &random)
            let cut = Int(uniform(1...UInt64(ids.count - 1)))
            partition(Array(shuffled[..<cut]), Array(shuffled[cut...]))
            trace("fault: partition \(shuffled[..<cut]) | \(shuffled[cut...])")
        case 2:
            guard let leader = leaderSlot else { return }
            let leaderID = nodes[leader].id
            partition([leaderID], ids.filter { $0 != leaderID })
            trace("fault: isolate leader n\(leaderID)")
        case 3:
            guard let leader = leaderSlot else { return }
            let leaderID = nodes[leader].id
            let outbound = percent(50)
            for other in ids where other != leaderID {
                blockedLinks.insert(outbound ? (leaderID << 32 | other) : (other << 32 | leaderID))
            }
            report.stats.partitions += 1
            trace("fault: one-way partition, leader n\(leaderID) cannot \(outbound ? "send" : "receive")")
        case 4:
            // Bridge: two sides that cannot see each other, and one node that sees both.
            var shuffled = ids
            shuffled.shuffle(using: &random)
            let bridge = shuffled[0]
            let rest = Array(shuffled.dropFirst())
            let half = rest.count / 2
            partition(Array(rest[..<half]), Array(rest[half...]))
            trace("fault: bridge n\(bridge) between \(rest[..<half]) and \(rest[half...])")
        case 5:
            // Majorities ring: each node sees only its neighbours on a ring, so every node sees a majority
            // (with five nodes) but no two nodes see the same one.
            var shuffled = ids
            shuffled.shuffle(using: &random)
            for (position, node) in shuffled.enumerated() {
                for (otherPosition, other) in shuffled.enumerated() where other != node {
                    let distance = min(
                        (position - otherPosition + ids.count) % ids.count,
                        (otherPosition - position + ids.count) % ids.count
                    )
                    if distance > 1 { blockedLinks.insert(node << 32 | other) }
                }
            }
            report.stats.partitions += 1
            trace("fault: majorities ring \(shuffled)")
        case 6:
            lossPercent = uniform(5...35)
            duplicatePercent = uniform(0...10)
            trace("fault: lossy network loss=\(lossPercent)% dup=\(duplicatePercent)%")
        case 7, 8:
            // Crash one node, or (rarely) several, and restart them later.
            let victims = percent(15) ? uniform(1...UInt64(ids.count)) : 1
            var candidates = liveSlots
            candidates.shuffle(using: &random)
            for slot in candidates.prefix(Int(victims)) {
                let crashedID = nodes[slot].id
                crash(slot)
                queue.push(.restart(node: slot), at: now + ticks(uniform(2...40)))
                try noticeConnectionLost(crashedID)
            }
        case 9:
            guard let leader = leaderSlot else { return }
            let leaderID = nodes[leader].id
            trace("fault: kill leader n\(leaderID)")
            crash(leader)
            queue.push(.restart(node: leader), at: now + ticks(uniform(2...40)))
            try noticeConnectionLost(leaderID)
        case 10, 11:
            guard let leader = leaderSlot, let raft = nodes[leader].raft else { return }
            if choice == 10 {
                guard let victim = pick(raft.configuration.voters), raft.configuration.voters.count > 2 else { return }
                let result = nodes[leader].raft!.proposeConfigurationChange(.remove(victim))
                trace("fault: remove n\(victim): \(result)")
            } else {
                guard let target = pick(raft.configuration.voters.filter { $0 != raft.id }) else { return }
                report.stats.transfers += 1
                let result = nodes[leader].raft!.transferLeadership(to: target)
                trace("fault: transfer leadership n\(raft.id) -> n\(target): \(result)")
            }
            try pump(leader)
        case 12:
            // A connection to a live leader resets: its follower wrongly suspects it died (see
            // `Raft.Node.leaderConnectionLost`); pre-vote must keep this from disturbing the leader.
            guard let slot = pick(liveSlots), let raft = nodes[slot].raft, raft.role == .follower,
                let leader = raft.leader
            else { return }
            trace("fault: n\(raft.id) wrongly suspects its leader n\(leader) died")
            nodes[slot].raft!.leaderConnectionLost(leader)
            try pump(slot)
        case 13:
            // The machine under a node dies during one of its next disk calls: unsynced data is lost or torn.
            guard let slot = pick(liveSlots) else { return }
            let fileSystem = nodes[slot].fileSystem
            armedDiskFaults.insert(slot)
            fileSystem.crash(
                atOperation: fileSystem.operationCount + Int(uniform(1...4)),
                mode: percent(50) ? .tornWrites : .loseUnsynced
            )
            trace("fault: n\(nodes[slot].id)'s machine will crash within its next disk calls")
        case 14:
            // An fsync fails with EIO: the node must stop accepting writes.
            guard let slot = pick(liveSlots) else { return }
            armedDiskFaults.insert(slot)
            nodes[slot].fileSystem.failNext(percent(50) ? .sync : .write, errno: 5)
            trace("fault: n\(nodes[slot].id)'s next write or fsync fails with EIO")
        default:
            // Pause: a node stops (SIGSTOP-like) by losing all traffic both ways for a while.
            guard let victim = pick(ids) else { return }
            partition([victim], ids.filter { $0 != victim })
            trace("fault: pause n\(victim)")
        }
    }

    mutating func partition(_ left: [Raft.NodeID], _ right: [Raft.NodeID]) {
        for a in left {
            for b in right {
                blockedLinks.insert(a << 32 | b)
                blockedLinks.insert(b << 32 | a)
            }
        }
        report.stats.partitions += 1
    }

    mutating func healNetwork() {
        blockedLinks = []
        isolatedUntil = [:]
        lossPercent = 0
        duplicatePercent = 0
    }

    /// Ends the faulty phase: network healed, every crashed node restarted.
    mutating func healEverything() throws(Violation) {
        faultsOver = true
        healNetwork()
        // Disk faults still armed would fire after the heal: restart those nodes, which disarms them.
        for slot in armedDiskFaults.sorted() where nodes[slot].raft != nil { crash(slot) }
        armedDiskFaults = []
        for slot in nodes.indices where nodes[slot].raft == nil { try start(slot) }
        trace("heal: every fault cleared")
    }

    /// The operator's loop: re-adds removed nodes as learners and promotes caught-up learners, one change at a time.
    mutating func repairMembership() throws(Violation) {
        guard let leader = leaderSlot, let raft = nodes[leader].raft else { return }
        guard raft.configurationIndex <= raft.log.commitIndex else { return }
        let missing = nodes.map(\.id).filter { !raft.configuration.contains($0) }
        var result: Result<Raft.LogPosition, Raft.ProposalRefusal>?
        if let learner = raft.configuration.learners.first,
            let peer = raft.peers.first(where: { $0.id == learner }),
            peer.match + 5 >= raft.log.lastIndex
        {
            result = nodes[leader].raft!.proposeConfigurationChange(.promote(learner))
            trace("operator: promote n\(learner): \(result!)")
        } else if let node = missing.first, raft.configuration.learners.isEmpty {
            result = nodes[leader].raft!.proposeConfigurationChange(.addLearner(node))
            trace("operator: add learner n\(node): \(result!)")
        }
        if case .success = result { report.stats.membershipChanges += 1 }
        try pump(leader)
    }

    // MARK: Liveness and convergence

    /// A leader of the highest term any live node knows, that has committed an entry of its term.
    func stableLeader() -> Int? {
        let highest = nodes.compactMap { $0.raft?.term }.max() ?? 0
        return nodes.indices.first { slot in
            guard let raft = nodes[slot].raft else { return false }
            return raft.role == .leader && raft.term == highest && raft.log.term(at: raft.log.commitIndex) == raft.term
        }
    }

    /// Whether the cluster is whole and quiet: every node a voter, every node has applied the same commit index,
    /// which covers every acknowledged write, and every state machine is identical.
    mutating func converged() throws(Violation) -> Bool {
        convergenceProblem().isEmpty
    }

    func convergenceProblem() -> String {
        guard let leader = stableLeader(), let raft = nodes[leader].raft else { return "no stable leader" }
        if raft.configuration.voters.count != nodes.count {
            return "membership not whole: \(raft.configuration)"
        }
        let required = max(acknowledged.map(\.index).max() ?? 0, raft.log.commitIndex)
        for node in nodes {
            guard node.raft != nil else { return "node \(node.id) is down" }
            if node.store.appliedIndex < required {
                return "node \(node.id) applied \(node.store.appliedIndex) of \(required) (acknowledged writes up to "
                    + "\(acknowledged.map(\.index).max() ?? 0))"
            }
            if node.store.values != nodes[leader].store.values {
                return "node \(node.id) state \(node.store.values) differs from leader's \(nodes[leader].store.values)"
            }
        }
        return ""
    }

    /// Like a kernel closing a dead process's sockets: most of `crashedID`'s followers notice at once (some do not,
    /// as when a machine, not a process, dies).
    mutating func noticeConnectionLost(_ crashedID: Raft.NodeID) throws(Violation) {
        for slot in liveSlots where nodes[slot].raft?.leader == crashedID && percent(70) {
            nodes[slot].raft!.leaderConnectionLost(crashedID)
            try pump(slot)
        }
    }
}
