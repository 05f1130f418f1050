import ClusterState
import Dispatch
import Orchestration
import Raft
import Wire

extension NodeLoop {
    /// Leader duty, every 200 ms: one round of the pure orchestrator (services reconciled, waiting tasks placed).
    /// The round runs on its own queue over a copy of the state (a copy-on-write value), so however long it takes
    /// the loop keeps heartbeating, replicating and serving reads; its commands come back as an event and are
    /// proposed if this node still leads in the same term. Apply re-checks every decision, so a round decided on a
    /// state that moved on meanwhile is refused, never applied; the next round waits for the previous round's
    /// commands to apply.
    func orchestrate() {
        guard role == .leader, !orchestrationRunning else { return }
        let now = Clock.monotonicMilliseconds()
        guard now >= nextPlacementRound, placementProposalIndex <= state.appliedIndex else { return }
        nextPlacementRound = now + 200
        // Nothing changed since the last round: only time-based decisions (grace periods, the stability window)
        // could differ, so an unchanged state is looked at again once a second, not every 200 ms.
        if state.appliedIndex == lastOrchestratedIndex && now < lastOrchestratedAt + 1_000 { return }
        lastOrchestratedIndex = state.appliedIndex
        lastOrchestratedAt = now
        orchestrationRunning = true
        let domain = state.domain
        let term = node.term
        let index = state.appliedIndex
        let inbox = self.inbox
        let liveness = self.liveness
        var generator = SystemRandomNumberGenerator()
        let seed = generator.next()
        orchestrationQueue.async {
            let commands = Orchestrator.reconcile(domain, now: Clock.wallMilliseconds(), liveness: liveness, seed: seed)
            inbox.post(.orchestrated(commands: commands, term: term, index: index))
        }
    }

    /// Proposes a round's commands if this node still leads in the term the round was computed for.
    func proposeOrchestrated(_ commands: [DomainCommand], term: UInt64, index: UInt64) {
        orchestrationRunning = false
        guard role == .leader, node.term == term else { return }
        for command in commands {
            let envelope = DomainEnvelope(arnPrefix: configuration.arnPrefix, command: command)
            guard
                case .success(let position) = node.propose(
                    Command(time: Clock.wallMilliseconds(), action: .domain(envelope)).encoded()
                )
            else { return }
            metrics.proposals += 1
            placementProposalIndex = max(placementProposalIndex, position.index)
        }
    }
}
