extension Raft.Node {
    /// Asks for a linearizable read (ReadIndex, thesis §6.4). On a leader, the read is granted once a heartbeat
    /// round confirms a majority still follows it, at the commit index of the moment of the request — and only once
    /// the leader has committed an entry of its term, so that index covers every earlier acknowledged write. On a
    /// follower, the request is forwarded to the leader. The grant arrives as a `ReadState` in a later `Ready`, or
    /// the context appears in `droppedReads`; a forwarded request can also be lost with its message, so the shell
    /// bounds its wait.
    ///
    /// - Returns: `.notLeader(nil)` when no leader is known.
    package mutating func requestRead(context: UInt64) -> Result<Void, Raft.ProposalRefusal> {
        if let haltReason { return .failure(.halted(haltReason)) }
        switch role {
        case .leader:
            handleReadRequest(context: context, from: id)
            return .success(())
        default:
            guard let leader else { return .failure(.notLeader(leaderHint: nil)) }
            send(.readIndex(context: context), to: leader)
            return .success(())
        }
    }

    mutating func handleReadRequest(context: UInt64, from requester: Raft.NodeID) {
        if options.injectedBugs.contains(.serveReadsWithoutLeadershipCheck) {
            grantRead(context: context, index: log.commitIndex, to: requester)
            return
        }
        guard hasCommittedInTerm else {
            readsAwaitingCommit.append((requester, context))
            return
        }
        if configuration.voters == [id] {
            // A lone voter is its own majority.
            grantRead(context: context, index: log.commitIndex, to: requester)
            return
        }
        // Every read requested before the next `ready()` shares one confirming round, started there rather than
        // waiting for the next heartbeat tick.
        pendingReads.append(
            PendingRead(round: readRound + 1, index: log.commitIndex, from: requester, context: context)
        )
        needsReadRound = true
    }

    mutating func serveReadsAwaitingCommit() {
        let waiting = readsAwaitingCommit
        readsAwaitingCommit = []
        for read in waiting {
            handleReadRequest(context: read.context, from: read.from)
        }
    }

    /// Grants every pending read whose round a majority of voters has acknowledged.
    mutating func releaseConfirmedReads() {
        guard !pendingReads.isEmpty else { return }
        let acked = configuration.voters.map { $0 == id ? readRound : (progress[$0]?.readRoundAcked ?? 0) }
            .sorted(by: >)
        guard !acked.isEmpty else { return }
        let confirmedRound = acked[configuration.quorum - 1]
        var released = 0
        for read in pendingReads {
            guard read.round <= confirmedRound else { break }
            grantRead(context: read.context, index: read.index, to: read.from)
            released += 1
        }
        pendingReads.removeFirst(released)
    }

    mutating func grantRead(context: UInt64, index: UInt64, to requester: Raft.NodeID) {
        if requester == id {
            readStates.append(Raft.ReadState(context: context, index: index))
        } else {
            send(.readIndexResponse(context: context, index: index), to: requester)
        }
    }

    /// Forgets reads that can no longer be confirmed (the node stopped leading); local ones are reported as dropped.
    mutating func dropPendingReads() {
        for read in pendingReads where read.from == id {
            droppedReads.append(read.context)
        }
        for read in readsAwaitingCommit where read.from == id {
            droppedReads.append(read.context)
        }
        pendingReads = []
        readsAwaitingCommit = []
    }
}
