extension Raft.Node {
    /// Proposes a single-server membership change (thesis §4.1). Refused unless:
    /// - this node leads and no leadership transfer is in progress;
    /// - the previous configuration entry has committed (one change at a time);
    /// - this leader has committed an entry of its own term (otherwise two leaders of different terms could each
    ///   append an uncommitted change and their quorums need not overlap — the bug Ongaro reported in 2015);
    /// - the change adds or removes at most one voter and names a sensible member.
    ///
    /// The new configuration takes effect on each node as soon as the entry is in its log. A leader that removes
    /// itself keeps leading until the entry commits, then steps down and hands over (thesis §4.2.2).
    package mutating func proposeConfigurationChange(
        _ change: Raft.ConfigurationChange
    ) -> Result<Raft.LogPosition, Raft.ProposalRefusal> {
        if let refusal = proposalRefusal() { return .failure(refusal) }
        guard configurationIndex <= log.commitIndex else {
            return .failure(.configurationChangePending(index: configurationIndex))
        }
        guard hasCommittedInTerm else { return .failure(.leaderNotCommittedInTerm) }
        switch configuration.applying(change) {
        case .failure(let refusal):
            return .failure(refusal)
        case .success(let next):
            return .success(appendAsLeader([.configuration(next)]))
        }
    }

    /// Makes `next` the configuration in force, from the entry at `index`.
    mutating func apply(configuration next: Raft.Configuration, at index: UInt64) {
        configuration = next
        configurationIndex = index
        guard role == .leader else { return }
        for member in next.members where progress[member] == nil {
            var peer = Raft.Progress(next: log.lastIndex + 1)
            peer.recentActive = true
            progress[member] = peer
        }
        for member in progress.keys.sorted() where !next.contains(member) {
            progress[member] = nil
        }
        if let target = transferTarget, !next.isVoter(target) { abortTransfer() }
        // A smaller quorum may let the commit index or pending reads move on.
        if maybeCommit() { needsBroadcast = true }
        releaseConfirmedReads()
    }

    /// Recomputes the configuration from the log after a truncation removed the entry it came from.
    mutating func reloadConfigurationFromLog() {
        var index = log.lastIndex
        while index > log.snapshot.index {
            if case .configuration(let found) = log.entry(at: index)!.payload {
                configuration = found
                configurationIndex = index
                return
            }
            index -= 1
        }
        if configurationIndex > log.snapshot.index {
            // No configuration entry is left after the snapshot: the snapshot's (or the bootstrap) configuration.
            configuration = configurationBeforeLog
            configurationIndex = log.snapshot.index
        }
    }

    /// The configuration in force at `index`, which must be at or after the snapshot.
    func configuration(at index: UInt64) -> Raft.Configuration {
        var probe = index
        while probe > log.snapshot.index {
            if case .configuration(let found) = log.entry(at: probe)!.payload { return found }
            probe -= 1
        }
        return configurationBeforeLog
    }

    // MARK: Leadership transfer

    /// Hands leadership to `target` (thesis §3.10): new proposals are refused while the transfer runs; the leader
    /// brings the target's log up to date, then sends it TimeoutNow so it campaigns at once. The transfer is
    /// abandoned after an election timeout, or if the leader steps down.
    package mutating func transferLeadership(to target: Raft.NodeID) -> Result<Void, Raft.ProposalRefusal> {
        guard role == .leader else { return .failure(.notLeader(leaderHint: leader)) }
        guard target != id else { return .success(()) }
        guard configuration.isVoter(target) else {
            return .failure(.invalidConfigurationChange("node \(target) is not a voter and cannot lead"))
        }
        guard haltReason == nil else { return .failure(.halted(haltReason!)) }
        if transferTarget != target {
            transferTarget = target
            transferElapsed = 0
        }
        if progress[target]!.match == log.lastIndex {
            send(.timeoutNow, to: target)
        } else {
            sendAppends(to: target, evenIfEmpty: true)
        }
        return .success(())
    }

    mutating func abortTransfer() {
        transferTarget = nil
        transferElapsed = 0
    }
}
