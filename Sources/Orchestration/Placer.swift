package import ClusterState
package import Scheduler

/// The placement round: every task waiting for an instance, grouped by cluster, task definition and group, placed
/// by the pure placement core on the state as it is. The result is proposed as commands; apply re-checks each
/// placement, so a round decided on a stale state is refused, never applied.
package enum Placer {
    /// What one round decided.
    package struct Round: Sendable, Equatable {
        /// `placeTasks` commands: per cluster with placements, at most 5,000 placements each.
        package var commands: [DomainCommand] = []
        /// Why tasks could not be placed, by service key (`<cluster>/<name>`).
        package var unplaced: [String: Unplaced] = [:]
    }

    /// Tasks of one service that found no instance, and the reason of the last of them.
    package struct Unplaced: Sendable, Equatable {
        /// How many.
        package var count: Int
        /// "3 instances lacked 512 MiB memory; 2 failed memberOf(attribute:zone == b)".
        package var reason: String
    }

    /// Places the waiting tasks of `domain`; `seed` drives the `random` strategy (one per round, chosen by the
    /// leader).
    /// At most `limit` tasks are placed per round, so one round's work (and the command carrying it) stays
    /// bounded however many tasks wait; the rest wait for the next round.
    package static func round(_ domain: Domain, index: DomainIndex, seed: UInt64, limit: Int = .max) -> Round {
        var round = Round()
        var budget = limit
        for cluster in index.waitingByCluster.keys.sorted() where budget > 0 {
            var candidates = index.candidates(in: cluster, domain)
            var plan: [TaskPlacement] = []
            let groups = Dictionary(grouping: index.waitingByCluster[cluster]!) {
                "\($0.taskDefinitionArn)|\($0.group)"
            }
            for key in groups.keys.sorted() where budget > 0 {
                // Ordered by id through a permutation: sorting the records themselves moves them, a large cost
                // with thousands waiting.
                let group = groups[key]!
                let order = group.indices.sorted { group[$0].id < group[$1].id }.prefix(budget)
                let tasks = order.map { group[$0] }
                budget -= tasks.count
                guard let request = request(for: tasks[0], domain) else { continue }
                let decisions = Placement.place(
                    request,
                    count: tasks.count,
                    on: candidates,
                    seed: seed &+ UInt64(plan.count)
                )
                var unplaced = 0
                var reason = ""
                for (task, decision) in zip(tasks, decisions) {
                    switch decision {
                    case .placed(let instance):
                        plan.append(TaskPlacement(task: task.id, instance: instance))
                        if let position = candidates.firstIndex(where: { $0.instance.id == instance }) {
                            candidates[position].freeCPU -= request.cpu
                            candidates[position].freeMemory -= request.memory
                            candidates[position].usedPorts.formUnion(request.ports)
                            candidates[position].tasks.append(task)
                        }
                    case .unplaced(let why):
                        unplaced += 1
                        reason = why
                    }
                }
                if unplaced > 0, let name = tasks[0].serviceName {
                    round.unplaced["\(cluster)/\(name)", default: Unplaced(count: 0, reason: reason)].count += unplaced
                }
            }
            // At most 5,000 placements a command, so no log entry grows past a few hundred KiB.
            for chunk in stride(from: 0, to: plan.count, by: 5_000) {
                let part = Array(plan[chunk..<min(plan.count, chunk + 5_000)])
                round.commands.append(.placeTasks(cluster: cluster, placements: part))
            }
        }
        return round
    }

    /// What a task of this definition and group asks of placement: its resources and ports, the task definition's
    /// constraints plus its service's, and the service's strategy.
    package static func request(for task: TaskRecord, _ domain: Domain) -> PlacementRequest? {
        guard let definition = domain.taskDefinition(task.taskDefinitionArn) else { return nil }
        var constraints = definition.spec.placementConstraints ?? []
        var strategy: [PlacementStrategy] = []
        if let name = task.serviceName, let service = domain.liveService(name, in: task.cluster) {
            constraints += service.placementConstraints
            strategy = service.placementStrategy
        }
        return PlacementRequest(
            cpu: task.cpu,
            memory: task.memory,
            ports: task.hostPorts ?? Domain.fixedHostPorts(definition.spec),
            group: task.group,
            constraints: constraints,
            strategy: strategy
        )
    }
}

/// One pass over the domain's tasks, grouped the ways a round needs them (the rounds run every 200 ms on the
/// leader; nothing in them scans all tasks more than once).
package struct DomainIndex: Sendable {
    /// Tasks waiting for an instance, by cluster.
    package var waitingByCluster: [String: [TaskRecord]] = [:]
    /// Tasks that have not stopped, by instance id ("" for unplaced).
    package var liveByInstance: [String: [TaskRecord]] = [:]
    /// Tasks that have not stopped, by service key `<cluster>/<name>`.
    package var liveByService: [String: [TaskRecord]] = [:]

    /// Indexes `domain`.
    package init(_ domain: Domain) {
        for task in domain.tasks.values where task.lastStatus != "STOPPED" {
            if task.containerInstanceArn == nil && task.lastStatus == "PROVISIONING" && task.desiredStatus == "RUNNING"
            {
                waitingByCluster[task.cluster, default: []].append(task)
            }
            liveByInstance[task.instanceID ?? "", default: []].append(task)
            if let name = task.serviceName { liveByService["\(task.cluster)/\(name)", default: []].append(task) }
        }
    }

    /// The cluster's registered instances as placement candidates, by id.
    package func candidates(in cluster: String, _ domain: Domain) -> [PlacementCandidate] {
        domain.instances.values.filter { $0.cluster == cluster && $0.status != "INACTIVE" }
            .sorted { $0.id < $1.id }
            .map { PlacementCandidate(instance: $0, tasks: liveByInstance[$0.id] ?? []) }
    }
}
