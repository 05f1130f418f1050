import ClusterState
import Raft
import Scheduler
import Wire

extension NodeLoop {
    /// Leader duty: places tasks waiting for an instance. Decides on the local state with the pure placement core and
    /// proposes the result as one `placeTasks` command per cluster; apply re-checks every placement, so a decision on
    /// stale state is refused, never applied. At most one placement proposal is in flight at a time.
    func placePendingTasks() {
        guard role == .leader else { return }
        let now = Clock.monotonicMilliseconds()
        guard now >= nextPlacementRound, placementProposalIndex <= state.appliedIndex else { return }
        nextPlacementRound = now + 200
        let waiting = state.domain.tasks.values.filter {
            $0.containerInstanceArn == nil && $0.lastStatus == "PROVISIONING" && $0.desiredStatus == "RUNNING"
        }
        guard !waiting.isEmpty else { return }
        let domain = state.domain
        for cluster in Set(waiting.map(\.cluster)).sorted() {
            // One pass over the tasks, not one per instance: this runs every 200 ms on the node loop.
            let live = Dictionary(
                grouping: domain.tasks.values.filter { $0.cluster == cluster && $0.lastStatus != "STOPPED" }
            ) { $0.containerInstanceArn ?? "" }
            let candidates = domain.instances.values.filter { $0.cluster == cluster && $0.status != "INACTIVE" }
                .sorted { $0.id < $1.id }
                .map { PlacementCandidate(instance: $0, tasks: live[$0.containerInstanceArn] ?? []) }
            var plan: [TaskPlacement] = []
            let groups = Dictionary(grouping: waiting.filter { $0.cluster == cluster }) {
                "\($0.taskDefinitionArn)|\($0.group)"
            }
            for key in groups.keys.sorted() {
                let tasks = groups[key]!.sorted { $0.id < $1.id }
                guard let definition = domain.taskDefinition(tasks[0].taskDefinitionArn) else { continue }
                var constraints = definition.spec.placementConstraints ?? []
                var strategy: [PlacementStrategy] = []
                if tasks[0].group.hasPrefix("service:"),
                    let service = domain.liveService(String(tasks[0].group.dropFirst("service:".count)), in: cluster)
                {
                    constraints += service.placementConstraints
                    strategy = service.placementStrategy
                }
                let request = PlacementRequest(
                    cpu: tasks[0].cpu,
                    memory: tasks[0].memory,
                    ports: Domain.fixedHostPorts(definition.spec),
                    group: tasks[0].group,
                    constraints: constraints,
                    strategy: strategy
                )
                var generator = SystemRandomNumberGenerator()
                let decisions = Placement.place(request, count: tasks.count, on: candidates, seed: generator.next())
                for (task, decision) in zip(tasks, decisions) {
                    if case .placed(let instance) = decision {
                        plan.append(TaskPlacement(task: task.id, instance: instance))
                    }
                }
            }
            guard !plan.isEmpty else { continue }
            let envelope = DomainEnvelope(
                arnPrefix: configuration.arnPrefix,
                command: .placeTasks(cluster: cluster, placements: plan)
            )
            if case .success(let position) = node.propose(
                Command(time: Clock.wallMilliseconds(), action: .domain(envelope)).encoded()
            ) {
                metrics.proposals += 1
                placementProposalIndex = max(placementProposalIndex, position.index)
            }
        }
    }
}
