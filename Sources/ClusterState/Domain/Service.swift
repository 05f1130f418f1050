/// A service's placement constraint: the same shape and rules as a task definition's (distinctInstance, or memberOf
/// with a cluster query expression).
package typealias ServicePlacementConstraint = TaskDefinitionSpec.PlacementConstraint

/// A placement strategy step (ECS: random; spread over instanceId, host or attribute:NAME; binpack on cpu or
/// memory).
package struct PlacementStrategy: Sendable, Equatable, Codable {
    /// random, spread or binpack.
    package var type: String
    /// What to spread over or pack on.
    package var field: String?

    /// Creates a strategy step.
    package init(type: String, field: String? = nil) {
        self.type = type
        self.field = field
    }
}

/// How a service rolls out new task definitions.
package struct DeploymentConfiguration: Sendable, Equatable, Codable {
    /// The circuit breaker: stop (and optionally roll back) a deployment whose tasks keep failing.
    package struct CircuitBreaker: Sendable, Equatable, Codable {
        /// Whether it is on.
        package var enable: Bool
        /// Whether a failed deployment rolls back to the last completed one.
        package var rollback: Bool
        /// Failed tasks that trip it (Gantry's addition; default ECS's `ceil(0.5 × desiredCount)` clamped to
        /// [3, 200]).
        package var threshold: Int?

        /// Creates a setting.
        package init(enable: Bool, rollback: Bool, threshold: Int? = nil) {
            self.enable = enable
            self.rollback = rollback
            self.threshold = threshold
        }

        /// The number of failed tasks that trips the breaker for `desiredCount`.
        package func failureThreshold(desiredCount: Int) -> Int {
            if let threshold { return threshold }
            return min(200, max(3, (desiredCount + 1) / 2))
        }
    }

    /// Upper bound of running + pending tasks during a deployment, in percent of desiredCount.
    package var maximumPercent: Int?
    /// Lower bound of healthy running tasks during a deployment, in percent of desiredCount.
    package var minimumHealthyPercent: Int?
    /// The circuit breaker.
    package var deploymentCircuitBreaker: CircuitBreaker?

    /// Creates a configuration.
    package init(
        maximumPercent: Int? = nil,
        minimumHealthyPercent: Int? = nil,
        deploymentCircuitBreaker: CircuitBreaker? = nil
    ) {
        self.maximumPercent = maximumPercent
        self.minimumHealthyPercent = minimumHealthyPercent
        self.deploymentCircuitBreaker = deploymentCircuitBreaker
    }

    /// Why a REPLICA service of `desiredCount` tasks could never replace a task under these bounds, or nil: the
    /// most tasks allowed (maximum, rounded down) must exceed the fewest healthy kept (minimum, rounded up).
    package func progressProblem(desiredCount: Int) -> String? {
        guard desiredCount > 0, let maximum = maximumPercent, let minimum = minimumHealthyPercent else { return nil }
        let most = max(desiredCount, desiredCount * maximum / 100)
        let fewest = (desiredCount * minimum + 99) / 100
        guard most <= fewest else { return nil }
        return "with desiredCount \(desiredCount), maximumPercent \(maximum) allows at most \(most) tasks and "
            + "minimumHealthyPercent \(minimum) keeps \(fewest) healthy, so no task could ever be replaced; "
            + "raise maximumPercent or lower minimumHealthyPercent"
    }
}

/// One deployment of a service: a task definition rolled out to a desired count.
package struct Deployment: Sendable, Equatable, Codable {
    /// `ecs-svc/<index>` (the log index of the command that started it).
    package var id: String
    /// PRIMARY (the newest), ACTIVE (older ones still with tasks) or INACTIVE.
    package var status: String
    /// The task definition ARN.
    package var taskDefinition: String
    /// Tasks it should run.
    package var desiredCount: Int
    /// Tasks placed, not yet running.
    package var pendingCount: Int
    /// Tasks running.
    package var runningCount: Int
    /// Tasks that failed to start or stopped unexpectedly.
    package var failedTasks: Int
    /// IN_PROGRESS, COMPLETED or FAILED.
    package var rolloutState: String
    /// Why it is in that state.
    package var rolloutStateReason: String
    /// Leader time of creation.
    package var createdAt: Int64
    /// Leader time of the last change.
    package var updatedAt: Int64
    /// Whether the scheduler or an operator started it to roll back to an earlier deployment.
    package var isRollback: Bool?
    /// Leader time it reached COMPLETED or FAILED.
    package var finishedAt: Int64?
    /// Leader time it left the service's deployments (INACTIVE).
    package var retiredAt: Int64?
}

/// A service event (the last 100 are kept).
package struct ServiceEvent: Sendable, Equatable, Codable {
    /// Unique within the service.
    package var id: String
    /// Leader time.
    package var createdAt: Int64
    /// What happened.
    package var message: String
}

/// A service: keeps `desiredCount` copies of a task definition running (REPLICA) or one per instance (DAEMON).
package struct Service: Sendable, Equatable, Codable {
    /// `arn:gantry:ecs:<region>:<account>:service/<cluster>/<name>`.
    package var serviceArn: String
    /// 1-255 letters, digits, `-`, `_`; unique among the cluster's ACTIVE and DRAINING services.
    package var serviceName: String
    /// The cluster ARN.
    package var clusterArn: String
    /// The PRIMARY deployment's task definition ARN.
    package var taskDefinition: String
    /// Tasks wanted (REPLICA), or instances covered (DAEMON, maintained by the scheduler).
    package var desiredCount: Int
    /// Tasks running.
    package var runningCount: Int
    /// Tasks placed, not running yet.
    package var pendingCount: Int
    /// Always EXTERNAL (on-prem, as ECS Anywhere).
    package var launchType: String
    /// REPLICA or DAEMON.
    package var schedulingStrategy: String
    /// Rollout bounds and the circuit breaker (defaults filled in).
    package var deploymentConfiguration: DeploymentConfiguration
    /// Placement strategy, in order.
    package var placementStrategy: [PlacementStrategy]
    /// Placement constraints.
    package var placementConstraints: [ServicePlacementConstraint]
    /// Seconds after a task starts during which failed health checks are ignored.
    package var healthCheckGracePeriodSeconds: Int
    /// ACTIVE, DRAINING (being deleted) or INACTIVE (deleted).
    package var status: String
    /// Deployments, newest (PRIMARY) first.
    package var deployments: [Deployment]
    /// The last 100 events, newest first.
    package var events: [ServiceEvent]
    /// Its tasks that have not STOPPED, whatever their desired status (nil in states written before it was kept,
    /// when services had no tasks): what `maximumPercent` bounds and what a deleted service waits for.
    package var liveTaskCount: Int?
    /// Its healthy tasks (`TaskRecord.isHealthy`): what `minimumHealthyPercent` bounds (nil as `liveTaskCount`).
    package var healthyTaskCount: Int?
    /// Deployments that left `deployments` (INACTIVE), newest first, the last 50: what an operator rolls back to.
    package var deploymentHistory: [Deployment]?
    /// Tags.
    package var tags: [Tag]
    /// Leader time of creation.
    package var createdAt: Int64
    /// Leader time of the last change.
    package var updatedAt: Int64
}

/// What CreateService asks for (ECS request fields).
package struct ServiceRequest: Sendable, Equatable, Codable {
    /// The service name.
    package var serviceName: String
    /// family, family:revision or ARN.
    package var taskDefinition: String
    /// Required for REPLICA, not allowed for DAEMON.
    package var desiredCount: Int?
    /// EXTERNAL if given.
    package var launchType: String?
    /// REPLICA (default) or DAEMON.
    package var schedulingStrategy: String?
    /// Rollout bounds.
    package var deploymentConfiguration: DeploymentConfiguration?
    /// At most 5 steps.
    package var placementStrategy: [PlacementStrategy]?
    /// At most 10.
    package var placementConstraints: [ServicePlacementConstraint]?
    /// 0 to 2,147,483,647 seconds.
    package var healthCheckGracePeriodSeconds: Int?
    /// Tags.
    package var tags: [Tag]?

    /// Creates a request.
    package init(serviceName: String, taskDefinition: String, desiredCount: Int? = nil) {
        self.serviceName = serviceName
        self.taskDefinition = taskDefinition
        self.desiredCount = desiredCount
    }
}

/// What UpdateService may change.
package struct ServiceUpdate: Sendable, Equatable, Codable {
    /// A new desired count.
    package var desiredCount: Int?
    /// A new task definition (starts a deployment).
    package var taskDefinition: String?
    /// New rollout bounds.
    package var deploymentConfiguration: DeploymentConfiguration?
    /// New placement strategy.
    package var placementStrategy: [PlacementStrategy]?
    /// New placement constraints.
    package var placementConstraints: [ServicePlacementConstraint]?
    /// New grace period.
    package var healthCheckGracePeriodSeconds: Int?
    /// Start a new deployment even with the same task definition.
    package var forceNewDeployment: Bool?

    /// An empty update.
    package init() {}
}
