/// One placement the leader decided: the task, the instance.
package struct TaskPlacement: Sendable, Equatable, Codable {
    /// The task's id.
    package var task: String
    /// The container instance's id.
    package var instance: String

    /// Creates a placement.
    package init(task: String, instance: String) {
        self.task = task
        self.instance = instance
    }
}

/// What apply made of a batch of placements.
package struct PlacementOutcome: Sendable, Equatable, Codable {
    /// Placements applied.
    package var accepted: [TaskPlacement]
    /// Placements refused, with the reason (the state changed since the leader decided).
    package var refused: [Refused]

    /// A refused placement.
    package struct Refused: Sendable, Equatable, Codable {
        /// The placement.
        package var placement: TaskPlacement
        /// Why.
        package var reason: String
    }
}

extension Domain {
    /// The fixed host ports a task of `spec` binds, as `tcp/80` (host mode binds the container ports).
    package static func fixedHostPorts(_ spec: TaskDefinitionSpec) -> [String] {
        let hostMode = spec.networkMode == "host"
        return spec.containerDefinitions.flatMap { container in
            (container.portMappings ?? []).compactMap { mapping -> String? in
                let port = hostMode ? mapping.containerPort : (mapping.hostPort ?? 0)
                return port == 0 ? nil : "\(mapping.protocol ?? "tcp")/\(port)"
            }
        }
    }

    /// Applies the leader's placements, re-checking each against the state as it is now (optimistic concurrency,
    /// as Nomad's plan applier): the task must still be unplaced and wanted, the instance ACTIVE with its agent, and
    /// the task must still fit in cpu, memory and host ports. A placement decided on stale state is refused, never
    /// applied, so no instance is ever overcommitted.
    mutating func applyPlacements(_ cluster: String, _ placements: [TaskPlacement], context: Context) -> DomainResult {
        guard clusters[cluster] != nil else { return .clusterNotFound(cluster) }
        var outcome = PlacementOutcome(accepted: [], refused: [])
        for placement in placements {
            if let reason = placementProblem(cluster, placement) {
                outcome.refused.append(PlacementOutcome.Refused(placement: placement, reason: reason))
                continue
            }
            var task = tasks[placement.task]!
            task.containerInstanceArn = instances[placement.instance]!.containerInstanceArn
            task.lastStatus = "PENDING"
            task.epoch += 1
            task.version += 1
            if task.hostPorts == nil {
                task.hostPorts = taskDefinition(task.taskDefinitionArn).map { Self.fixedHostPorts($0.spec) } ?? []
            }
            store(task, context)
            outcome.accepted.append(placement)
        }
        return .placements(outcome)
    }

    /// Why `placement` cannot be applied now, or nil.
    func placementProblem(_ cluster: String, _ placement: TaskPlacement) -> String? {
        guard let task = tasks[placement.task], task.cluster == cluster else {
            return "task \(placement.task) does not exist"
        }
        guard task.containerInstanceArn == nil else { return "task \(task.id) is already placed" }
        guard task.desiredStatus == "RUNNING", task.lastStatus == "PROVISIONING" else {
            return "task \(task.id) is no longer waiting for placement"
        }
        guard let instance = instances[placement.instance], instance.cluster == cluster else {
            return "container instance \(placement.instance) does not exist"
        }
        guard instance.status == "ACTIVE" else { return "container instance \(instance.id) is \(instance.status)" }
        guard instance.agentConnected else { return "container instance \(instance.id) has no connected agent" }
        let remaining = { (name: String) in instance.remainingResources.first { $0.name == name } }
        guard (remaining("CPU")?.integerValue ?? 0) >= task.cpu else {
            return "container instance \(instance.id) lacks \(task.cpu) CPU units now"
        }
        guard (remaining("MEMORY")?.integerValue ?? 0) >= task.memory else {
            return "container instance \(instance.id) lacks \(task.memory) MiB memory now"
        }
        let used = Set(
            (remaining("PORTS")?.stringSetValue ?? []).map { "tcp/\($0)" }
                + (remaining("PORTS_UDP")?.stringSetValue ?? []).map { "udp/\($0)" }
        )
        let ports = task.hostPorts ?? taskDefinition(task.taskDefinitionArn).map { Self.fixedHostPorts($0.spec) } ?? []
        if let taken = ports.first(where: { used.contains($0) }) {
            return "container instance \(instance.id) has host port \(taken) taken now"
        }
        return nil
    }
}
