extension Domain {
    /// The task `reference` (id or ARN) of `cluster`.
    package func task(_ reference: String, in cluster: String) -> TaskRecord? {
        let id = reference.hasPrefix("arn:") ? String(reference.split(separator: "/").last ?? "") : reference
        guard let task = tasks[id], task.cluster == cluster else { return nil }
        return task
    }

    /// Applies the task commands.
    mutating func applyTaskCommand(_ command: DomainCommand, context: Context) -> DomainResult {
        switch command {
        case .runTask(let clusterName, let request):
            guard let cluster = clusters[clusterName] else { return .clusterNotFound(clusterName) }
            let count = request.count ?? 1
            guard (1...10).contains(count) else { return .invalid("count", "must be 1 to 10") }
            if let startedBy = request.startedBy, !(1...128).contains(startedBy.utf8.count) {
                return .invalid("startedBy", "must be 1 to 128 characters")
            }
            if let group = request.group, !(1...255).contains(group.utf8.count) {
                return .invalid("group", "must be 1 to 255 characters")
            }
            if let launchType = request.launchType, launchType != "EXTERNAL" {
                return .invalid("launchType", "must be EXTERNAL (the on-prem launch type, as in ECS Anywhere)")
            }
            guard let definition = taskDefinition(request.taskDefinition) else {
                return .taskDefinitionNotFound(request.taskDefinition)
            }
            guard definition.status == "ACTIVE" else {
                return .invalid("taskDefinition", "\(request.taskDefinition) is INACTIVE and cannot start new tasks")
            }
            let containerNames = Set(definition.spec.containerDefinitions.map(\.name))
            for (position, override) in (request.overrides?.containerOverrides ?? []).enumerated()
            where !containerNames.contains(override.name) {
                return .invalid(
                    "overrides.containerOverrides[\(position)].name",
                    "must name a container of \(definition.family):\(definition.revision)"
                )
            }
            if let targets = request.containerInstances {
                guard (1...10).contains(targets.count) else {
                    return .invalid("containerInstances", "must name 1 to 10 container instances")
                }
                guard request.count == nil || request.count == targets.count else {
                    return .invalid("count", "must be absent or the number of containerInstances")
                }
            }
            let created = (0..<(request.containerInstances?.count ?? count)).map { ordinal in
                newTask(
                    definition,
                    cluster: cluster,
                    group: request.group ?? "family:\(definition.family)",
                    startedBy: request.startedBy,
                    overrides: request.overrides ?? TaskOverrides(),
                    ordinal: ordinal,
                    context: context
                )
            }
            guard let targets = request.containerInstances else {
                for task in created { tasks[task.id] = task }
                return .tasks(created)
            }
            // StartTask: each task straight onto its instance, every placement checked as the scheduler's are;
            // if one cannot be placed, nothing changes.
            let before = self
            var placed: [TaskRecord] = []
            for (position, (task, target)) in zip(created, targets).enumerated() {
                tasks[task.id] = task
                let instance = String(target.split(separator: "/").last ?? Substring(target))
                let placement = TaskPlacement(task: task.id, instance: instance)
                if let reason = placementProblem(clusterName, placement) {
                    self = before
                    return .refused(
                        status: 409,
                        code: "cannot_start",
                        message: "containerInstances[\(position)]: \(reason)",
                        field: "containerInstances[\(position)]"
                    )
                }
                _ = applyPlacements(clusterName, [placement], context: context)
                placed.append(tasks[task.id]!)
            }
            return .tasks(placed)
        case .stopTask(let clusterName, let reference, let reason):
            guard clusters[clusterName] != nil else { return .clusterNotFound(clusterName) }
            if let reason, reason.utf8.count > 255 { return .invalid("reason", "must be at most 255 characters") }
            guard var task = task(reference, in: clusterName) else {
                return .refused(
                    status: 404,
                    code: "task_not_found",
                    message: "task \(reference) does not exist in cluster \(clusterName)",
                    field: "task"
                )
            }
            guard task.desiredStatus != "STOPPED" else { return .tasks([task]) }
            task.requestStop(code: "UserInitiated", reason: reason ?? "Task stopped by user", at: context.time)
            store(task, context)
            return .tasks([task])
        case .pruneStoppedTasks(let before):
            let doomed = tasks.values.filter { $0.lastStatus == "STOPPED" && ($0.stoppedAt ?? .max) < before }.map(\.id)
            for id in doomed {
                if let instance = tasks[id]?.instanceID { tasksByInstance[instance]?.remove(id) }
                tasks[id] = nil
            }
            return .pruned(doomed.count)
        default:
            preconditionFailure("applyTaskCommand called with \(command)")
        }
    }

    /// A new, unplaced task of `definition`.
    func newTask(
        _ definition: TaskDefinitionRecord,
        cluster: Cluster,
        group: String,
        startedBy: String?,
        overrides: TaskOverrides,
        ordinal: Int,
        context: Context
    ) -> TaskRecord {
        let id = Self.hex16(context.index) + Self.hex16(UInt64(ordinal))
        let spec = definition.spec
        let containerCPU = spec.containerDefinitions.reduce(0) { $0 + ($1.cpu ?? 0) }
        let containerMemory = spec.containerDefinitions.reduce(0) { $0 + ($1.memoryReservation ?? $1.memory ?? 0) }
        return TaskRecord(
            taskArn: "\(context.arnPrefix):task/\(cluster.clusterName)/\(id)",
            id: id,
            clusterArn: cluster.clusterArn,
            cluster: cluster.clusterName,
            taskDefinitionArn: definition.taskDefinitionArn,
            containerInstanceArn: nil,
            group: group,
            startedBy: startedBy,
            overrides: overrides,
            lastStatus: "PROVISIONING",
            desiredStatus: "RUNNING",
            containers: spec.containerDefinitions.map { container in
                TaskContainer(
                    name: container.name,
                    image: container.image,
                    lastStatus: "PENDING",
                    exitCode: nil,
                    reason: nil,
                    healthStatus: "UNKNOWN",
                    networkBindings: [],
                    essential: container.isEssential,
                    hasHealthCheck: container.healthCheck != nil
                )
            },
            stopCode: nil,
            stoppedReason: nil,
            cpu: spec.cpuUnits ?? containerCPU,
            memory: spec.memoryMiB ?? containerMemory,
            epoch: 0,
            createdAt: context.time,
            startedAt: nil,
            stoppingAt: nil,
            stoppedAt: nil,
            version: 1,
            hostPorts: Self.fixedHostPorts(spec)
        )
    }

    /// A task of `definition` as it would be created in `cluster` (no ids): what placement needs to judge it.
    package func newTaskPreview(_ definition: TaskDefinitionRecord, group: String, cluster: String) -> TaskRecord {
        let stand = Cluster(
            clusterArn: "",
            clusterName: cluster,
            status: "ACTIVE",
            tags: [],
            createdAt: 0,
            updatedAt: 0
        )
        return newTask(
            definition,
            cluster: stand,
            group: group,
            startedBy: nil,
            overrides: TaskOverrides(),
            ordinal: 0,
            context: Context(time: 0, arnPrefix: "")
        )
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
