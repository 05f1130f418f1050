/// A port a container's mapping is bound to on the host.
package struct NetworkBinding: Sendable, Equatable, Codable {
    /// The container's port.
    package var containerPort: Int
    /// The host port.
    package var hostPort: Int
    /// tcp or udp.
    package var `protocol`: String
}

/// A container of a task, as the agent reports it.
package struct TaskContainer: Sendable, Equatable, Codable {
    /// The container definition's name.
    package var name: String
    /// The image.
    package var image: String
    /// PENDING, RUNNING or STOPPED.
    package var lastStatus: String
    /// The exit code once stopped.
    package var exitCode: Int?
    /// Why it stopped.
    package var reason: String?
    /// HEALTHY, UNHEALTHY or UNKNOWN.
    package var healthStatus: String
    /// Host port bindings.
    package var networkBindings: [NetworkBinding]
    /// Whether the task stops when this container stops.
    package var essential: Bool
    /// Whether its definition has a health check (then it counts as healthy only once HEALTHY).
    package var hasHealthCheck: Bool?

    /// Creates a container record.
    package init(
        name: String,
        image: String,
        lastStatus: String,
        exitCode: Int?,
        reason: String?,
        healthStatus: String,
        networkBindings: [NetworkBinding],
        essential: Bool,
        hasHealthCheck: Bool? = nil
    ) {
        self.name = name
        self.image = image
        self.lastStatus = lastStatus
        self.exitCode = exitCode
        self.reason = reason
        self.healthStatus = healthStatus
        self.networkBindings = networkBindings
        self.essential = essential
        self.hasHealthCheck = hasHealthCheck
    }
}

/// Per-run changes to a task's containers (ECS `overrides.containerOverrides`).
package struct TaskOverrides: Sendable, Equatable, Codable {
    /// One container's overrides.
    package struct ContainerOverride: Sendable, Equatable, Codable {
        /// Which container.
        package var name: String
        /// A replacement command.
        package var command: [String]?
        /// Extra environment variables.
        package var environment: [ContainerDefinition.KeyValuePair]?

        /// Creates an override.
        package init(name: String, command: [String]? = nil, environment: [ContainerDefinition.KeyValuePair]? = nil) {
            self.name = name
            self.command = command
            self.environment = environment
        }
    }

    /// The containers' overrides.
    package var containerOverrides: [ContainerOverride]?

    /// No overrides.
    package init() {}
}

/// A task: one run of a task definition.
package struct TaskRecord: Sendable, Equatable, Codable {
    /// `arn:gantry:ecs:<region>:<account>:task/<cluster>/<id>`.
    package var taskArn: String
    /// 32 hex digits, derived from the log index of the command that created it.
    package var id: String
    /// The cluster ARN.
    package var clusterArn: String
    /// The cluster's name.
    package var cluster: String
    /// The task definition ARN.
    package var taskDefinitionArn: String
    /// The container instance it is placed on (nil until placed).
    package var containerInstanceArn: String?
    /// `service:<name>` for service tasks, `family:<family>` otherwise (or the caller's).
    package var group: String
    /// Who started it: the service's deployment id, or the caller's string.
    package var startedBy: String?
    /// Per-run overrides.
    package var overrides: TaskOverrides
    /// PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED.
    package var lastStatus: String
    /// RUNNING or STOPPED.
    package var desiredStatus: String
    /// The containers.
    package var containers: [TaskContainer]
    /// TaskFailedToStart, EssentialContainerExited, UserInitiated or ServiceSchedulerInitiated.
    package var stopCode: String?
    /// Why it stopped.
    package var stoppedReason: String?
    /// Task-level cpu units and memory MiB reserved on its instance.
    package var cpu: Int
    /// See `cpu`.
    package var memory: Int
    /// The fencing epoch: bumped whenever the task is (re)assigned, so a stale agent's reports are refused.
    package var epoch: Int
    /// Leader times.
    package var createdAt: Int64
    /// Set when it reached RUNNING.
    package var startedAt: Int64?
    /// Set when stopping was requested.
    package var stoppingAt: Int64?
    /// Set when it reached STOPPED.
    package var stoppedAt: Int64?
    /// +1 on every change.
    package var version: Int
    /// The fixed host ports it binds, as `tcp/80`, fixed when it is created (so they are released on stop even if
    /// its task definition is deleted meanwhile).
    package var hostPorts: [String]?

    /// The lifecycle position of `lastStatus` (PROVISIONING 0 … STOPPED 7).
    package var stage: Int { Self.lifecycle.firstIndex(of: lastStatus) ?? 0 }
    /// Whether it has not reached RUNNING yet.
    package var isStarting: Bool { stage < 3 }
    /// The instance id it is placed on, or nil.
    package var instanceID: String? {
        guard let arn = containerInstanceArn else { return nil }
        guard let slash = arn.utf8.lastIndex(of: UInt8(ascii: "/")) else { return arn }
        return String(arn[arn.utf8.index(after: slash)...])
    }
    /// Wanted, RUNNING, and HEALTHY in every container that has a health check: what `minimumHealthyPercent`
    /// counts.
    package var isHealthy: Bool {
        desiredStatus == "RUNNING" && lastStatus == "RUNNING"
            && containers.allSatisfy { !($0.hasHealthCheck ?? false) || $0.healthStatus == "HEALTHY" }
    }
    /// Asks the task to stop: desired STOPPED with `code` and `reason`; a task never placed stops at once (nothing
    /// runs anywhere). Bumps the version.
    package mutating func requestStop(code: String, reason: String, at time: Int64) {
        desiredStatus = "STOPPED"
        stopCode = code
        stoppedReason = reason
        stoppingAt = time
        if containerInstanceArn == nil { markStopped(at: time) }
        version += 1
    }

    /// Marks the task and its containers STOPPED.
    package mutating func markStopped(at time: Int64) {
        lastStatus = "STOPPED"
        stoppedAt = time
        for position in containers.indices { containers[position].lastStatus = "STOPPED" }
    }

    /// The service name for tasks of a service (group `service:<name>`), or nil.
    package var serviceName: String? {
        group.hasPrefix("service:") ? String(group.dropFirst("service:".count)) : nil
    }

    /// A task that exists only in a computation (placement counting what it just placed): no ids, unplaced.
    package static func placeholder(group: String, cpu: Int, memory: Int) -> TaskRecord {
        TaskRecord(
            taskArn: "",
            id: "",
            clusterArn: "",
            cluster: "",
            taskDefinitionArn: "",
            containerInstanceArn: nil,
            group: group,
            startedBy: nil,
            overrides: TaskOverrides(),
            lastStatus: "PROVISIONING",
            desiredStatus: "RUNNING",
            containers: [],
            stopCode: nil,
            stoppedReason: nil,
            cpu: cpu,
            memory: memory,
            epoch: 0,
            createdAt: 0,
            startedAt: nil,
            stoppingAt: nil,
            stoppedAt: nil,
            version: 0
        )
    }

    /// The task lifecycle, in order.
    package static let lifecycle = [
        "PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED",
    ]
}

/// What RunTask asks for.
package struct RunTaskRequest: Sendable, Equatable, Codable {
    /// family, family:revision or ARN.
    package var taskDefinition: String
    /// 1 to 10 tasks.
    package var count: Int?
    /// Free text, 1-128 characters.
    package var startedBy: String?
    /// The task group (default `family:<family>`).
    package var group: String?
    /// Per-run overrides.
    package var overrides: TaskOverrides?
    /// EXTERNAL if given.
    package var launchType: String?
    /// ECS StartTask: one task on each of these container instances (ids or ARNs, 1 to 10), placed at once rather
    /// than by the scheduler; all or none.
    package var containerInstances: [String]?

    /// Creates a request.
    package init(taskDefinition: String, count: Int? = nil) {
        self.taskDefinition = taskDefinition
        self.count = count
    }
}
