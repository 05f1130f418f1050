/// A resource tag, as ECS spells it (clusters, services and task definitions alike).
package struct Tag: Sendable, Equatable, Codable, Hashable {
    /// 1 to 128 characters, unique on the resource.
    package var key: String
    /// 0 to 256 characters; optional, as in ECS.
    package var value: String?

    /// Creates a tag.
    package init(key: String, value: String? = nil) {
        self.key = key
        self.value = value
    }
}

/// A cluster: the namespace for container instances, services and tasks.
package struct Cluster: Sendable, Equatable, Codable {
    /// `arn:gantry:ecs:<region>:<account>:cluster/<name>`.
    package var clusterArn: String
    /// 1 to 255 letters, digits, `-` and `_`.
    package var clusterName: String
    /// ACTIVE (clusters are deleted outright once empty).
    package var status: String
    /// Tags.
    package var tags: [Tag]
    /// Leader time of creation, ms since the epoch.
    package var createdAt: Int64
    /// Leader time of the last change.
    package var updatedAt: Int64
}

/// One revision of a task definition family. Immutable once registered except for its status.
package struct TaskDefinitionRecord: Sendable, Equatable, Codable {
    /// `arn:gantry:ecs:<region>:<account>:task-definition/<family>:<revision>`.
    package var taskDefinitionArn: String
    /// The family.
    package var family: String
    /// 1, 2, 3… per family, never reused.
    package var revision: Int
    /// ACTIVE, or INACTIVE once deregistered (still describable, not usable for new tasks or services).
    package var status: String
    /// The registered definition (validated and normalized).
    package var spec: TaskDefinitionSpec
    /// Leader time of registration.
    package var registeredAt: Int64
    /// Leader time of deregistration.
    package var deregisteredAt: Int64?
}

/// The family's bookkeeping: revisions and the next number.
package struct TaskDefinitionFamily: Sendable, Equatable, Codable {
    /// The family name.
    package var name: String
    /// Revisions that still exist, by number.
    package var revisions: [Int: TaskDefinitionRecord]
    /// The highest revision ever registered (numbers are never reused, even after deletes).
    package var lastRevision: Int

    /// The newest ACTIVE revision.
    package var latestActive: TaskDefinitionRecord? {
        revisions.values.filter { $0.status == "ACTIVE" }.max { $0.revision < $1.revision }
    }
}

/// The orchestrator's replicated domain state. Pure data plus `apply`.
package struct Domain: Sendable, Equatable, Codable {
    /// Clusters by name.
    package var clusters: [String: Cluster] = [:]
    /// Task definition families by name.
    package var families: [String: TaskDefinitionFamily] = [:]
    /// Container instances by id (ACTIVE, DRAINING and INACTIVE ones).
    package var instances: [String: ContainerInstance] = [:]
    /// Services by `<cluster>/<name>` (INACTIVE ones until the name is reused).
    package var services: [String: Service] = [:]
    /// Tasks by id (STOPPED ones until pruned).
    package var tasks: [String: TaskRecord] = [:]
    /// The ids of the tasks placed on each instance (STOPPED ones until pruned), by instance id: an index kept by
    /// apply, not stored in snapshots (rebuilt when one is read), so an agent's or a lost instance's tasks are
    /// found without scanning every task.
    package internal(set) var tasksByInstance: [String: Set<String>] = [:]

    /// An empty domain.
    package init() {}

    enum CodingKeys: String, CodingKey {
        case clusters, families, instances, services, tasks
    }

    /// Decodes the stored state and rebuilds the index.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clusters = try container.decode([String: Cluster].self, forKey: .clusters)
        families = try container.decode([String: TaskDefinitionFamily].self, forKey: .families)
        instances = try container.decode([String: ContainerInstance].self, forKey: .instances)
        services = try container.decode([String: Service].self, forKey: .services)
        tasks = try container.decode([String: TaskRecord].self, forKey: .tasks)
        reindex()
    }

    /// Rebuilds `tasksByInstance` from `tasks`.
    mutating func reindex() {
        tasksByInstance = [:]
        for task in tasks.values {
            if let instance = task.instanceID { tasksByInstance[instance, default: []].insert(task.id) }
        }
    }

    /// The tasks placed on `instance` (STOPPED ones until pruned), by id order.
    package func tasks(onInstance instance: String) -> [TaskRecord] {
        (tasksByInstance[instance] ?? []).sorted().compactMap { tasks[$0] }
    }
}
