extension Domain {
    /// What apply needs besides the command: the entry's leader time and the ARN prefix.
    package struct Context: Sendable, Equatable {
        /// Leader time of the command.
        package var time: Int64
        /// `arn:gantry:ecs:<region>:<account>`.
        package var arnPrefix: String
        /// The log index of the command: ids derived from it are the same on every node.
        package var index: UInt64

        /// Creates a context.
        package init(time: Int64, arnPrefix: String, index: UInt64 = 0) {
            self.time = time
            self.arnPrefix = arnPrefix
            self.index = index
        }
    }

    /// Applies `command`. Every rule is checked here again (whatever reached the log), and a refusal changes
    /// nothing.
    package mutating func apply(_ command: DomainCommand, context: Context) -> DomainResult {
        switch command {
        case .createCluster(let name, let tags):
            if let problem = DomainRules.nameProblem(name) { return .invalid("clusterName", problem) }
            if let refusal = DomainRules.tagsProblem(tags) { return refusal }
            if let existing = clusters[name] {
                // CreateCluster is idempotent in ECS: the same name returns the cluster that exists.
                return .cluster(existing)
            }
            let cluster = Cluster(
                clusterArn: "\(context.arnPrefix):cluster/\(name)",
                clusterName: name,
                status: "ACTIVE",
                tags: tags,
                createdAt: context.time,
                updatedAt: context.time
            )
            clusters[name] = cluster
            return .cluster(cluster)
        case .deleteCluster(let name):
            guard let cluster = clusters[name] else { return .clusterNotFound(name) }
            let liveServices = services.values.filter { $0.clusterArn == cluster.clusterArn && $0.status != "INACTIVE" }
            guard liveServices.isEmpty else {
                return .refused(
                    status: 409,
                    code: "cluster_contains_services",
                    message: "cluster \(name) still has \(liveServices.count) services; delete them first",
                    field: "cluster"
                )
            }
            let liveTasks = tasks.values.filter { $0.cluster == name && $0.lastStatus != "STOPPED" }.count
            guard liveTasks == 0 else {
                return .refused(
                    status: 409,
                    code: "cluster_contains_tasks",
                    message: "cluster \(name) still has \(liveTasks) tasks that have not stopped; stop them first",
                    field: "cluster"
                )
            }
            let registered = instances.values.filter { $0.cluster == name && $0.status != "INACTIVE" }.count
            guard registered == 0 else {
                return .refused(
                    status: 409,
                    code: "cluster_contains_container_instances",
                    message:
                        "cluster \(name) still has \(registered) registered container instances; deregister them first",
                    field: "cluster"
                )
            }
            clusters[name] = nil
            instances = instances.filter { $0.value.cluster != name }
            services = services.filter { $0.value.clusterArn != cluster.clusterArn }
            tasks = tasks.filter { $0.value.cluster != name }
            reindex()
            return .clusterDeleted(cluster)
        case .registerTaskDefinition(let spec):
            let problems = TaskDefinitionValidator.validate(spec)
            if let first = problems.first {
                let message = problems.map(\.message).joined(separator: "; ")
                return .refused(status: 400, code: "invalid_field", message: message, field: first.field)
            }
            let normalized = spec.normalized()
            var family =
                families[normalized.family]
                ?? TaskDefinitionFamily(name: normalized.family, revisions: [:], lastRevision: 0)
            let revision = family.lastRevision + 1
            let record = TaskDefinitionRecord(
                taskDefinitionArn: "\(context.arnPrefix):task-definition/\(normalized.family):\(revision)",
                family: normalized.family,
                revision: revision,
                status: "ACTIVE",
                spec: normalized,
                registeredAt: context.time,
                deregisteredAt: nil
            )
            family.revisions[revision] = record
            family.lastRevision = revision
            families[normalized.family] = family
            return .taskDefinition(record)
        case .deregisterTaskDefinition(let familyName, let revision):
            guard var record = families[familyName]?.revisions[revision] else {
                return .taskDefinitionNotFound("\(familyName):\(revision)")
            }
            guard record.status == "ACTIVE" else { return .taskDefinition(record) }
            record.status = "INACTIVE"
            record.deregisteredAt = context.time
            families[familyName]!.revisions[revision] = record
            return .taskDefinition(record)
        case .deleteTaskDefinition(let familyName, let revision):
            guard let record = families[familyName]?.revisions[revision] else {
                return .taskDefinitionNotFound("\(familyName):\(revision)")
            }
            guard record.status == "INACTIVE" else {
                return .refused(
                    status: 409,
                    code: "task_definition_active",
                    message: "task definition \(familyName):\(revision) is ACTIVE; deregister it before deleting it",
                    field: "taskDefinition"
                )
            }
            families[familyName]!.revisions[revision] = nil
            var deleted = record
            deleted.status = "DELETE_IN_PROGRESS"
            return .taskDefinition(deleted)
        case .tagResource(let arn, let tags):
            return retag(arn) { current in
                var merged = current.filter { old in !tags.contains { $0.key == old.key } }
                merged += tags
                return merged
            }
        case .untagResource(let arn, let keys):
            return retag(arn) { current in current.filter { !keys.contains($0.key) } }
        case .registerContainerInstance, .deregisterContainerInstance, .updateContainerInstanceState,
            .putAttributes, .deleteAttributes:
            return applyInstanceCommand(command, context: context)
        case .createService, .updateService, .deleteService:
            return applyServiceCommand(command, context: context)
        case .runTask, .stopTask, .pruneStoppedTasks:
            return applyTaskCommand(command, context: context)
        case .placeTasks(let cluster, let placements):
            return applyPlacements(cluster, placements, context: context)
        case .reportTaskStates, .setAgentConnected, .orchestrate, .rollbackService:
            return applyOrchestrationCommand(command, context: context)
        }
    }

    /// The tags of the cluster, service or task definition revision `arn` names, or nil when none does.
    package func tags(of arn: String) -> [Tag]? {
        if let cluster = clusters.values.first(where: { $0.clusterArn == arn }) { return cluster.tags }
        if let service = services.values.first(where: { $0.serviceArn == arn && $0.status != "INACTIVE" }) {
            return service.tags
        }
        if arn.hasPrefix("arn:"), arn.contains(":task-definition/"), let record = taskDefinition(arn),
            record.taskDefinitionArn == arn
        {
            return record.spec.tags ?? []
        }
        return nil
    }

    /// Replaces the tags of the resource `arn` names with `change(current)`, checked against ECS's tag rules.
    mutating func retag(_ arn: String, _ change: ([Tag]) -> [Tag]) -> DomainResult {
        guard let current = tags(of: arn) else {
            return .refused(
                status: 404,
                code: "resource_not_found",
                message: "no cluster, service or task definition has the ARN \(arn)",
                field: "resourceArn"
            )
        }
        let updated = change(current)
        if let refusal = DomainRules.tagsProblem(updated) { return refusal }
        if let name = clusters.first(where: { $0.value.clusterArn == arn })?.key {
            clusters[name]!.tags = updated
        } else if let key = services.first(where: { $0.value.serviceArn == arn && $0.value.status != "INACTIVE" })?.key
        {
            services[key]!.tags = updated
        } else if let record = taskDefinition(arn) {
            families[record.family]!.revisions[record.revision]!.spec.tags = updated
        }
        return .tags(updated)
    }

    /// Resolves `family`, `family:revision` or a task definition ARN: `family` alone means the latest ACTIVE one.
    package func taskDefinition(_ reference: String) -> TaskDefinitionRecord? {
        var name = reference
        if let slash = reference.lastIndex(of: "/"), reference.hasPrefix("arn:") {
            name = String(reference[reference.index(after: slash)...])
        }
        let parts = name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let family = families[String(parts[0])] else { return nil }
        if parts.count == 2 {
            guard let revision = Int(parts[1]) else { return nil }
            return family.revisions[revision]
        }
        return family.latestActive
    }
}

extension DomainResult {
    static func invalid(_ field: String, _ rule: String) -> DomainResult {
        .refused(status: 400, code: "invalid_field", message: "\(field): \(rule)", field: field)
    }

    static func clusterNotFound(_ name: String) -> DomainResult {
        .refused(status: 404, code: "cluster_not_found", message: "cluster \(name) does not exist", field: "cluster")
    }

    static func taskDefinitionNotFound(_ reference: String) -> DomainResult {
        .refused(
            status: 404,
            code: "task_definition_not_found",
            message: "task definition \(reference) does not exist",
            field: "taskDefinition"
        )
    }
}

/// Naming and tagging rules shared by the API (for early 400s) and apply.
package enum DomainRules {
    /// Why `name` is not a valid cluster or service name (1 to 255 letters, digits, `-`, `_`), or nil.
    package static func nameProblem(_ name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 255 else { return "must be 1 to 255 characters" }
        let valid = name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
        return valid ? nil : "may contain only letters, digits, '-' and '_'"
    }

    /// A refusal for tags that break ECS's rules: at most 50, keys 1-128 characters and unique, values ≤ 256.
    static func tagsProblem(_ tags: [Tag]) -> DomainResult? {
        guard tags.count <= 50 else { return .invalid("tags", "at most 50 tags") }
        var seen = Set<String>()
        for (position, tag) in tags.enumerated() {
            guard (1...128).contains(tag.key.count) else {
                return .invalid("tags[\(position)].key", "must be 1 to 128 characters")
            }
            guard (tag.value ?? "").count <= 256 else {
                return .invalid("tags[\(position)].value", "must be at most 256 characters")
            }
            guard seen.insert(tag.key).inserted else {
                return .invalid("tags[\(position)].key", "repeats an earlier key")
            }
        }
        return nil
    }
}
