extension Raft.Node {
    // MARK: Proposals

    /// Appends a command to the log if this node leads. Returns the entry's position: the command took effect
    /// exactly when the entry at that index with that term is applied; an entry of another term at that index means
    /// it was lost with a leader change. Refused proposals were not appended.
    package mutating func propose(_ command: [UInt8]) -> Result<Raft.LogPosition, Raft.ProposalRefusal> {
        proposeBatch([command]).map { $0[0] }
    }

    /// Appends several commands at once; all are accepted or none.
    package mutating func proposeBatch(
        _ commands: [[UInt8]]
    ) -> Result<[Raft.LogPosition], Raft.ProposalRefusal> {
        if let refusal = proposalRefusal() { return .failure(refusal) }
        let first = log.lastIndex + 1
        appendAsLeader(commands.map { .command($0) })
        return .success(commands.indices.map { Raft.LogPosition(index: first + UInt64($0), term: term) })
    }

    func proposalRefusal() -> Raft.ProposalRefusal? {
        if let haltReason { return .halted(haltReason) }
        guard role == .leader else { return .notLeader(leaderHint: leader) }
        if let target = transferTarget { return .transferInProgress(to: target) }
        return nil
    }

    // MARK: Leader: sending

    /// Sends what each member is missing, as far as flow control allows. Called from `ready()`, so every proposal
    /// made since the last `ready()` travels in one append per follower.
    mutating func flushAppends() {
        guard haltReason == nil, role == .leader else { return }
        if needsReadRound {
            needsReadRound = false
            readRound += 1
            broadcastHeartbeat(fromTick: false)
        }
        guard needsBroadcast else { return }
        needsBroadcast = false
        for member in configuration.members where member != id {
            sendAppends(to: member, evenIfEmpty: true)
        }
    }

    /// Sends appends to `member` until it is paused or up to date. With `evenIfEmpty`, sends one (empty) append when
    /// nothing new is pending, to carry the commit index or to probe.
    mutating func sendAppends(to member: Raft.NodeID, evenIfEmpty: Bool) {
        // Taken out of the dictionary while it is mutated, so its in-flight buffer is never copied.
        guard var peer = progress.removeValue(forKey: member) else { return }
        defer { progress[member] = peer }
        var sentOne = false
        while !peer.isPaused(maxInflight: options.maxInflightMessages) {
            let hasNew = peer.next <= log.lastIndex
            if !hasNew && (sentOne || !evenIfEmpty) { return }
            let previousIndex = peer.next - 1
            guard let previousTerm = log.term(at: previousIndex),
                let entries = log.slice(from: peer.next, through: log.lastIndex, maxBytes: options.maxMessageBytes)
            else {
                guard let snapshot else {
                    preconditionFailure("log compacted at \(log.snapshot) but no snapshot is held")
                }
                send(.snapshot(snapshot), to: member)
                peer.becomeSnapshot(snapshot.metadata.last.index)
                return
            }
            let append = Raft.Append(
                previous: Raft.LogPosition(index: previousIndex, term: previousTerm),
                entries: entries,
                leaderCommit: log.commitIndex
            )
            send(.append(append), to: member)
            sentOne = true
            switch peer.state {
            case .replicate:
                if let last = entries.last {
                    peer.next = last.index + 1
                    peer.inflight.append(last.index)
                }
            case .probe:
                peer.probeSent = true
            case .snapshot:
                preconditionFailure("sending appends to a member awaiting a snapshot")
            }
            if peer.state == .probe { return }
        }
    }

    /// Sends heartbeats. Only the tick's heartbeats may free a slot of a full window (see
    /// `handleHeartbeatResponse`), so read rounds cannot be used to overrun flow control.
    mutating func broadcastHeartbeat(fromTick: Bool) {
        for member in configuration.members where member != id {
            guard let peer = progress[member] else { continue }
            if fromTick { progress[member]!.heartbeatMayFreeSlot = true }
            let heartbeat = Raft.Heartbeat(commit: min(peer.match, log.commitIndex), readRound: readRound)
            send(.heartbeat(heartbeat), to: member)
        }
    }

    // MARK: Leader: responses

    mutating func handleAppendResponse(_ response: Raft.AppendResponse, from member: Raft.NodeID) {
        // Taken out of the table while mutated (so its in-flight buffer is not copied) and put back on every path
        // before anything else reads the table.
        guard var peer = progress.removeValue(forKey: member) else { return }
        peer.recentActive = true
        if !response.success {
            // Fast back-off: skip every entry of a term the follower does not have.
            let probeFrom: UInt64
            if response.hintTerm > 0 {
                probeFrom = log.lastIndex(atOrBelow: response.hintIndex, withTermAtMost: response.hintTerm).index
            } else {
                probeFrom = response.hintIndex
            }
            if peer.decrease(rejected: response.index, probeFrom: probeFrom) {
                if peer.state == .replicate { peer.becomeProbe() }
                progress[member] = peer
                sendAppends(to: member, evenIfEmpty: true)
            } else {
                progress[member] = peer
            }
            return
        }
        guard response.index <= log.lastIndex else {
            // A follower cannot hold entries this leader lacks unless Leader Completeness is already broken.
            haltReason =
                "node \(member) acknowledged index \(response.index) beyond this leader's last index \(log.lastIndex) "
                + "in term \(term); Leader Completeness is broken"
            progress[member] = peer
            return
        }
        let advanced = peer.update(matched: response.index)
        switch peer.state {
        case .probe:
            // In this term the follower's log can only grow along ours, so any success proves a match.
            peer.becomeReplicate()
        case .snapshot:
            if peer.match >= peer.pendingSnapshot {
                peer.becomeProbe()
                peer.becomeReplicate()
            }
        case .replicate:
            break
        }
        progress[member] = peer
        if advanced && maybeCommit() {
            needsBroadcast = true
        }
        sendAppends(to: member, evenIfEmpty: false)
        if member == transferTarget && peer.match == log.lastIndex {
            send(.timeoutNow, to: member)
        }
    }

    mutating func handleHeartbeatResponse(_ response: Raft.HeartbeatResponse, from member: Raft.NodeID) {
        guard var peer = progress.removeValue(forKey: member) else { return }
        peer.recentActive = true
        switch peer.state {
        case .probe:
            peer.probeSent = false
        case .replicate:
            // A full window whose appends were lost would stall forever: let one more append out. It reaches past
            // the gap, the follower rejects it, and the leader falls back to probing from the match.
            if peer.inflight.count >= options.maxInflightMessages && peer.heartbeatMayFreeSlot {
                peer.inflight.freeFirst()
                peer.heartbeatMayFreeSlot = false
            }
        case .snapshot:
            break
        }
        peer.readRoundAcked = max(peer.readRoundAcked, response.readRound)
        progress[member] = peer
        if peer.match < log.lastIndex {
            sendAppends(to: member, evenIfEmpty: true)
        } else if member == transferTarget {
            // The TimeoutNow may have been lost: say it again while the transfer lasts.
            send(.timeoutNow, to: member)
        }
        releaseConfirmedReads()
    }

    /// Advances the commit index to the highest index stored on a majority of voters, if that entry is of the
    /// current term (§5.4.2: entries of earlier terms are committed only indirectly). Returns whether it moved.
    mutating func maybeCommit() -> Bool {
        let matches = configuration.voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        guard !matches.isEmpty else { return false }
        let candidate = matches[configuration.quorum - 1]
        guard candidate > log.commitIndex else { return false }
        let countsOldTerms = options.injectedBugs.contains(.commitEntriesOfEarlierTerms)
        guard countsOldTerms || log.term(at: candidate) == term else { return false }
        let hadCommittedInTerm = hasCommittedInTerm
        log.commitIndex = candidate
        committed(previouslyCommittedInTerm: hadCommittedInTerm)
        return true
    }

    /// Follow-ups of a commit advance on the leader.
    mutating func committed(previouslyCommittedInTerm: Bool) {
        if !previouslyCommittedInTerm && hasCommittedInTerm {
            serveReadsAwaitingCommit()
        }
        // Thesis §4.2.2: a leader removed from the configuration steps down once the removal commits; it hands
        // over to the most up-to-date voter at once rather than leaving the cluster to time out.
        if !configuration.contains(id) && configurationIndex <= log.commitIndex {
            var successor: Raft.NodeID?
            var successorMatch: UInt64 = 0
            for voter in configuration.voters where successor == nil || (progress[voter]?.match ?? 0) > successorMatch {
                successor = voter
                successorMatch = progress[voter]?.match ?? 0
            }
            // The append carrying the commit must go out before the leader forgets its progress.
            flushAppendsNow()
            if let successor { send(.timeoutNow, to: successor) }
            becomeFollower(term: term, leader: nil)
        }
    }

    mutating func flushAppendsNow() {
        needsBroadcast = true
        flushAppends()
    }

    // MARK: Follower

    mutating func handleAppend(_ append: Raft.Append, from leaderID: Raft.NodeID) {
        if append.previous.index < log.commitIndex {
            // Everything up to our commit index must already match the leader's log; a leader that says otherwise
            // lost a committed entry, and this node stops rather than follow it.
            for entry in append.entries where entry.index <= log.commitIndex {
                if let held = log.term(at: entry.index), held != entry.term {
                    haltReason =
                        "leader \(leaderID) of term \(term) sent \(entry.position), which conflicts with committed "
                        + "entry \(entry.index)@\(held); State Machine Safety is broken"
                    return
                }
            }
            send(.appendResponse(Raft.AppendResponse(success: true, index: log.commitIndex)), to: leaderID)
            return
        }
        guard log.contains(append.previous) else {
            // §5.3 consistency check failed. Hint: our last index at or below the rejected one with a term no
            // greater than the leader's entry there, so the leader skips the whole conflicting term.
            let hint = log.lastIndex(atOrBelow: append.previous.index, withTermAtMost: append.previous.term)
            send(
                .appendResponse(
                    Raft.AppendResponse(
                        success: false,
                        index: append.previous.index,
                        hintIndex: hint.index,
                        hintTerm: hint.term
                    )
                ),
                to: leaderID
            )
            return
        }
        guard storeFromLeader(append.entries, from: leaderID) else { return }
        let lastNew = append.previous.index + UInt64(append.entries.count)
        let newCommit = min(append.leaderCommit, lastNew)
        if newCommit > log.commitIndex { log.commitIndex = newCommit }
        send(.appendResponse(Raft.AppendResponse(success: true, index: lastNew)), to: leaderID)
    }

    /// Stores entries that follow a matching position: skips those already present, truncates at the first
    /// conflict (§5.3 step 3) and appends the rest. Returns false, halting the node, if the leader asked to replace
    /// a committed entry: that can only happen if the cluster already broke Leader Completeness, and a node that
    /// obeyed would silently diverge from what it applied.
    mutating func storeFromLeader(_ entries: [Raft.Entry], from leaderID: Raft.NodeID) -> Bool {
        var firstNew = entries.startIndex
        while firstNew < entries.endIndex, log.contains(entries[firstNew].position) {
            firstNew += 1
        }
        guard firstNew < entries.endIndex else { return true }
        let conflictIndex = entries[firstNew].index
        if conflictIndex <= log.commitIndex {
            haltReason =
                "leader \(leaderID) of term \(term) sent \(entries[firstNew].position), which conflicts with committed "
                + "entry \(conflictIndex)@\(log.term(at: conflictIndex) ?? 0); State Machine Safety is broken"
            return false
        }
        if conflictIndex <= log.lastIndex {
            log.truncate(from: conflictIndex)
            unpersistedFrom = min(unpersistedFrom, conflictIndex)
            persistedIndex = min(persistedIndex, conflictIndex - 1)
            if configurationIndex >= conflictIndex { reloadConfigurationFromLog() }
        }
        let rest = Array(entries[firstNew...])
        log.append(rest)
        for entry in rest {
            if case .configuration(let next) = entry.payload { apply(configuration: next, at: entry.index) }
        }
        return true
    }

    mutating func handleHeartbeat(_ heartbeat: Raft.Heartbeat, from leaderID: Raft.NodeID) {
        // The leader only sends a commit index we are known to hold; still never pass our last index.
        let newCommit = min(heartbeat.commit, log.lastIndex)
        if newCommit > log.commitIndex { log.commitIndex = newCommit }
        send(.heartbeatResponse(Raft.HeartbeatResponse(readRound: heartbeat.readRound)), to: leaderID)
    }

    mutating func handleSnapshot(_ incoming: Raft.Snapshot, from leaderID: Raft.NodeID) {
        let last = incoming.metadata.last
        if last.index <= log.commitIndex {
            send(.appendResponse(Raft.AppendResponse(success: true, index: log.commitIndex)), to: leaderID)
            return
        }
        if log.contains(last) {
            // We already hold the snapshot's last entry: just learn that it is committed (§7: "retain the log
            // entries following it").
            log.commitIndex = last.index
            send(.appendResponse(Raft.AppendResponse(success: true, index: log.commitIndex)), to: leaderID)
            return
        }
        log.reset(to: last)
        snapshot = incoming
        receivedSnapshot = incoming
        unpersistedFrom = last.index + 1
        persistedIndex = min(persistedIndex, last.index)
        appliedHandedOff = last.index
        configuration = incoming.metadata.configuration
        configurationIndex = last.index
        send(.appendResponse(Raft.AppendResponse(success: true, index: last.index)), to: leaderID)
    }

    // MARK: Compaction

    /// Tells the node that the shell has saved a snapshot of the state machine as of `index` (which must be
    /// applied), so entries up to it can be released. Followers that later need them are sent this snapshot.
    package mutating func compact(through index: UInt64, snapshotData: [UInt8]) {
        precondition(index <= appliedIndex, "cannot compact past the applied index \(appliedIndex)")
        guard index > log.snapshot.index else { return }
        let metadata = Raft.SnapshotMetadata(
            last: Raft.LogPosition(index: index, term: log.term(at: index)!),
            configuration: configuration(at: index)
        )
        snapshot = Raft.Snapshot(metadata: metadata, data: snapshotData)
        log.compact(through: index)
    }
}
