import ClusterState
import Orchestration
import Raft
import Wire

extension NodeLoop {
    /// Leader duty, every 200 ms: one round of the pure orchestrator on the local state (services reconciled,
    /// waiting tasks placed), its commands proposed. Apply re-checks every decision, so a round decided on a stale
    /// state is refused, never applied; and the next round waits until the previous round's commands have applied.
    func orchestrate() {
        guard role == .leader else { return }
        let now = Clock.monotonicMilliseconds()
        guard now >= nextPlacementRound, placementProposalIndex <= state.appliedIndex else { return }
        nextPlacementRound = now + 200
        var generator = SystemRandomNumberGenerator()
        // Agents do not heartbeat yet (issue 8 brings them), so no instance is judged lost here: liveness is nil.
        let commands = Orchestrator.reconcile(
            state.domain,
            now: Clock.wallMilliseconds(),
            liveness: nil,
            seed: generator.next()
        )
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
