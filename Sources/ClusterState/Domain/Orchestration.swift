/// An agent's report of one task's state.
package struct TaskStateReport: Sendable, Equatable, Codable {
    /// The task's id.
    package var task: String
    /// The epoch of the assignment the agent acted on; a report for an older epoch is ignored.
    package var epoch: Int
    /// RUNNING or STOPPED.
    package var status: String
    /// HEALTHY, UNHEALTHY or UNKNOWN: the task's containers that have a health check.
    package var healthStatus: String?
    /// The essential container's exit code once stopped.
    package var exitCode: Int?
    /// Why it stopped (at most 255 characters).
    package var reason: String?

    /// Creates a report.
    package init(
        task: String,
        epoch: Int,
        status: String,
        healthStatus: String? = nil,
        exitCode: Int? = nil,
        reason: String? = nil
    ) {
        self.task = task
        self.epoch = epoch
        self.status = status
        self.healthStatus = healthStatus
        self.exitCode = exitCode
        self.reason = reason
    }

    /// Why this report breaks a rule, as (field, rule), or nil.
    package func problem() -> (String, String)? {
        if task.isEmpty || task.utf8.count > 64 { return ("task", "must be a task id") }
        if epoch < 1 { return ("epoch", "must be at least 1 (the epoch of the task's assignment)") }
        if status != "RUNNING" && status != "STOPPED" { return ("status", "must be RUNNING or STOPPED") }
        if let health = healthStatus, !["HEALTHY", "UNHEALTHY", "UNKNOWN"].contains(health) {
            return ("healthStatus", "must be HEALTHY, UNHEALTHY or UNKNOWN")
        }
        if let code = exitCode, !(-255...255).contains(code) { return ("exitCode", "must be -255 to 255") }
        if let reason, reason.utf8.count > 255 { return ("reason", "must be at most 255 characters") }
        return nil
    }
}

/// One decision of the service reconciler, re-checked when applied (a decision made on a state that has since
/// changed is skipped, never applied).
package enum OrchestrationStep: Sendable, Equatable, Codable {
    /// Create `count` tasks of the deployment for placement; only if the deployment still has `expectedLive`
    /// pending + running tasks.
    case startTasks(deployment: String, count: Int, expectedLive: Int)
    /// Create one task of the (DAEMON) deployment on each instance, placed at once; only if the deployment still
    /// has `expectedLive` pending + running tasks and each task fits.
    case startDaemonTasks(deployment: String, instances: [String], expectedLive: Int)
    /// Stop these tasks of the service (ServiceSchedulerInitiated), in order, skipping a healthy one whose stop
    /// would leave fewer than `keepHealthy` healthy tasks (the minimum is re-checked here, on the state as it is);
    /// `failed` counts them against the circuit breaker (failed health checks).
    case stopTasks(tasks: [String], reason: String, failed: Bool, keepHealthy: Int)
    /// A DAEMON service's desired count: the instances it covers.
    case setDaemonCount(Int)
    /// The PRIMARY deployment reached its desired healthy count with the old ones drained.
    case completeDeployment(String)
    /// The circuit breaker tripped: the deployment is FAILED; with `rollbackTo` a rollback deployment of that task
    /// definition becomes PRIMARY.
    case failDeployment(String, reason: String, rollbackTo: String?)
    /// A deployment other than the PRIMARY with no tasks left leaves the list for the history.
    case retireDeployment(String)
    /// A DRAINING (deleted) service with no tasks left becomes INACTIVE.
    case finishDelete
    /// A service event.
    case event(String)
}

extension Domain {
    /// Applies the commands of the orchestration loop: agent reports, liveness, reconciler steps, rollbacks.
    mutating func applyOrchestrationCommand(_ command: DomainCommand, context: Context) -> DomainResult {
        switch command {
        case .reportTaskStates(let cluster, let instance, let reports):
            return applyReports(cluster, instance, reports, context)
        case .setAgentConnected(let cluster, let reference, let connected):
            guard var instance = instance(reference, in: cluster) else {
                return .instanceNotFound(reference, cluster)
            }
            guard instance.status != "INACTIVE", instance.agentConnected != connected else {
                return .containerInstance(instance)
            }
            instance.agentConnected = connected
            touch(&instance, context)
            if !connected {
                let stranded = self.tasks(onInstance: instance.id).filter { $0.desiredStatus == "RUNNING" }
                for var task in stranded {
                    task.requestStop(
                        code: "ServiceSchedulerInitiated",
                        reason: "container instance \(instance.id) lost contact with its agent",
                        at: context.time
                    )
                    store(task, context)
                }
            }
            return .containerInstance(instances[instance.id]!)
        case .orchestrate(let cluster, let name, let steps):
            guard let cluster = clusters[cluster] else { return .clusterNotFound(cluster) }
            guard var service = liveService(name, in: cluster.clusterName) else {
                return .serviceNotFound(name, cluster.clusterName)
            }
            let key = "\(cluster.clusterName)/\(service.serviceName)"
            var ordinal = 0
            for step in steps {
                applyStep(step, &service, key: key, cluster: cluster, ordinal: &ordinal, context)
                service = services[key]!
            }
            return .service(services[key]!)
        case .rollbackService(let clusterName, let name, let to):
            guard clusters[clusterName] != nil else { return .clusterNotFound(clusterName) }
            guard var service = liveService(name, in: clusterName) else { return .serviceNotFound(name, clusterName) }
            guard service.status == "ACTIVE" else { return .serviceDraining(name) }
            let target: String
            if let to {
                let reference = Int(to) != nil ? "\(Self.family(of: service.taskDefinition)):\(to)" : to
                guard let record = taskDefinition(reference) else { return .taskDefinitionNotFound(reference) }
                target = record.taskDefinitionArn
            } else {
                guard let completed = service.lastCompletedDeployment else {
                    return .refused(
                        status: 409,
                        code: "no_completed_deployment",
                        message: "service \(name) has no COMPLETED deployment to roll back to; give --to <revision>",
                        field: "to"
                    )
                }
                target = completed.taskDefinition
            }
            Self.startDeployment(&service, taskDefinition: target, rollback: true, context)
            Self.record(
                &service,
                "(service \(service.serviceName)) operator rolled back to \(Self.shortName(target)) "
                    + "(deployment \(service.deployments[0].id)).",
                context
            )
            services["\(clusterName)/\(service.serviceName)"] = service
            return .service(service)
        default:
            preconditionFailure("applyOrchestrationCommand called with \(command)")
        }
    }

    /// Applies an agent's reports. Reports for another instance, an older epoch or a task already STOPPED are
    /// ignored; a task that stops while still wanted is a failure of its deployment.
    private mutating func applyReports(
        _ cluster: String,
        _ reference: String,
        _ reports: [TaskStateReport],
        _ context: Context
    ) -> DomainResult {
        guard clusters[cluster] != nil else { return .clusterNotFound(cluster) }
        guard let instance = instance(reference, in: cluster) else { return .instanceNotFound(reference, cluster) }
        guard reports.count <= 1000 else { return .invalid("reports", "at most 1000 reports at a time") }
        for (position, report) in reports.enumerated() {
            if let (field, rule) = report.problem() { return .invalid("reports[\(position)].\(field)", rule) }
        }
        var changed: [TaskRecord] = []
        for report in reports {
            guard var task = tasks[report.task], task.cluster == cluster, task.instanceID == instance.id,
                task.epoch == report.epoch, task.lastStatus != "STOPPED"
            else { continue }
            let before = task
            if report.status == "RUNNING" {
                if task.isStarting {
                    task.lastStatus = "RUNNING"
                    task.startedAt = context.time
                }
                for position in task.containers.indices {
                    task.containers[position].lastStatus = "RUNNING"
                    if task.containers[position].hasHealthCheck == true, let health = report.healthStatus {
                        task.containers[position].healthStatus = health
                    }
                }
            } else {
                let wanted = task.desiredStatus == "RUNNING"
                if wanted {
                    task.desiredStatus = "STOPPED"
                    task.stopCode = task.startedAt == nil ? "TaskFailedToStart" : "EssentialContainerExited"
                    task.stoppedReason =
                        report.reason
                        ?? (report.exitCode.map { "Essential container in task exited with code \($0)" }
                            ?? "Essential container in task exited")
                    task.stoppingAt = context.time
                }
                task.markStopped(at: context.time)
                for position in task.containers.indices where task.containers[position].essential {
                    task.containers[position].exitCode = report.exitCode
                }
                if wanted { countFailure(of: task, context) }
            }
            guard task != before else { continue }
            task.version += 1
            store(task, context)
            changed.append(task)
        }
        return .tasks(changed)
    }

    /// Counts a failed task against its deployment (the circuit breaker's input).
    private mutating func countFailure(of task: TaskRecord, _ context: Context) {
        guard let name = task.serviceName, let deployment = task.startedBy else { return }
        let key = "\(task.cluster)/\(name)"
        guard var service = services[key], let position = service.deployments.firstIndex(where: { $0.id == deployment })
        else { return }
        service.deployments[position].failedTasks += 1
        service.deployments[position].updatedAt = context.time
        services[key] = service
    }

    private mutating func applyStep(
        _ step: OrchestrationStep,
        _ service: inout Service,
        key: String,
        cluster: Cluster,
        ordinal: inout Int,
        _ context: Context
    ) {
        let draining = service.status != "ACTIVE"
        switch step {
        case .startTasks(let id, let count, let expected):
            guard !draining, count > 0, count <= 10_000, let deployment = service.deployments.first,
                deployment.id == id, deployment.rolloutState != "FAILED",
                deployment.pendingCount + deployment.runningCount == expected,
                (service.liveTaskCount ?? 0) + count <= service.maximumTaskCount,
                let definition = taskDefinition(deployment.taskDefinition)
            else { return }
            for _ in 0..<count {
                store(newServiceTask(definition, cluster, service, deployment: id, ordinal: &ordinal, context), context)
            }
        case .startDaemonTasks(let id, let targets, let expected):
            guard !draining, let deployment = service.deployments.first, deployment.id == id,
                deployment.rolloutState != "FAILED", deployment.pendingCount + deployment.runningCount == expected,
                (service.liveTaskCount ?? 0) + Set(targets).count <= service.maximumTaskCount,
                let definition = taskDefinition(deployment.taskDefinition)
            else { return }
            for target in Set(targets).sorted() {
                var task = newServiceTask(definition, cluster, service, deployment: id, ordinal: &ordinal, context)
                tasks[task.id] = task
                let problem = placementProblem(cluster.clusterName, TaskPlacement(task: task.id, instance: target))
                tasks[task.id] = nil
                guard problem == nil, let instance = instances[target] else { continue }
                task.containerInstanceArn = instance.containerInstanceArn
                task.lastStatus = "PENDING"
                task.epoch = 1
                store(task, context)
            }
        case .stopTasks(let ids, let reason, let failed, let keep):
            for id in ids {
                guard var task = tasks[id], task.cluster == cluster.clusterName,
                    task.group == "service:\(service.serviceName)", task.desiredStatus == "RUNNING"
                else { continue }
                if task.isHealthy && (services[key]?.healthyTaskCount ?? 0) - 1 < keep { continue }
                task.requestStop(
                    code: "ServiceSchedulerInitiated",
                    reason: String(reason.utf8.prefix(255)) ?? reason,
                    at: context.time
                )
                if failed { countFailure(of: task, context) }
                store(task, context)
            }
        case .setDaemonCount(let count):
            guard service.schedulingStrategy == "DAEMON", !draining, count >= 0, count != service.desiredCount
            else { return }
            service.desiredCount = count
            service.deployments[0].desiredCount = count
            services[key] = service
        case .completeDeployment(let id):
            guard let position = service.deployments.firstIndex(where: { $0.id == id }), position == 0,
                service.deployments[0].rolloutState == "IN_PROGRESS"
            else { return }
            service.deployments[0].rolloutState = "COMPLETED"
            service.deployments[0].rolloutStateReason = "ECS deployment \(id) completed."
            service.deployments[0].finishedAt = context.time
            service.deployments[0].updatedAt = context.time
            Self.record(&service, "(service \(service.serviceName)) deployment \(id) completed.", context)
            Self.record(&service, "(service \(service.serviceName)) has reached a steady state.", context)
            services[key] = service
        case .failDeployment(let id, let reason, let rollbackTo):
            guard let position = service.deployments.firstIndex(where: { $0.id == id }), position == 0,
                service.deployments[0].rolloutState == "IN_PROGRESS"
            else { return }
            service.deployments[0].rolloutState = "FAILED"
            service.deployments[0].rolloutStateReason = reason
            service.deployments[0].finishedAt = context.time
            service.deployments[0].updatedAt = context.time
            Self.record(&service, "(service \(service.serviceName)) deployment \(id) failed: \(reason)", context)
            if let target = rollbackTo, !draining, taskDefinition(target) != nil {
                Self.startDeployment(&service, taskDefinition: target, rollback: true, context)
                Self.record(
                    &service,
                    "(service \(service.serviceName)) rolling back to \(Self.shortName(target)) "
                        + "(deployment \(service.deployments[0].id)).",
                    context
                )
            }
            services[key] = service
        case .retireDeployment(let id):
            guard let position = service.deployments.firstIndex(where: { $0.id == id }), position > 0,
                service.deployments[position].pendingCount + service.deployments[position].runningCount == 0
            else { return }
            var retired = service.deployments.remove(at: position)
            retired.status = "INACTIVE"
            retired.desiredCount = 0
            retired.retiredAt = context.time
            retired.updatedAt = context.time
            if retired.rolloutState == "IN_PROGRESS" {
                retired.rolloutStateReason =
                    "Superseded by deployment \(service.deployments[0].id) before it completed."
                retired.finishedAt = context.time
            }
            var history = service.deploymentHistory ?? []
            history.insert(retired, at: 0)
            service.deploymentHistory = Array(history.prefix(50))
            services[key] = service
        case .finishDelete:
            guard draining, (service.liveTaskCount ?? 0) == 0 else { return }
            service.status = "INACTIVE"
            service.updatedAt = context.time
            Self.record(&service, "(service \(service.serviceName)) has no tasks left and is INACTIVE.", context)
            services[key] = service
        case .event(let message):
            guard !message.isEmpty else { return }
            Self.record(&service, String(message.utf8.prefix(1024)) ?? message, context)
            services[key] = service
        }
    }

    /// A new, unplaced task of `service`'s deployment, numbered by `ordinal` within the command.
    func newServiceTask(
        _ definition: TaskDefinitionRecord,
        _ cluster: Cluster,
        _ service: Service,
        deployment: String,
        ordinal: inout Int,
        _ context: Context
    ) -> TaskRecord {
        defer { ordinal += 1 }
        return newTask(
            definition,
            cluster: cluster,
            group: "service:\(service.serviceName)",
            startedBy: deployment,
            overrides: TaskOverrides(),
            ordinal: ordinal,
            context: context
        )
    }

    /// Makes a new PRIMARY deployment of `taskDefinition`; the old PRIMARY becomes ACTIVE.
    static func startDeployment(_ service: inout Service, taskDefinition: String, rollback: Bool, _ context: Context) {
        for position in service.deployments.indices where service.deployments[position].status == "PRIMARY" {
            service.deployments[position].status = "ACTIVE"
            service.deployments[position].updatedAt = context.time
        }
        let id = "ecs-svc/\(context.index)"
        var deployment = Deployment(
            id: id,
            status: "PRIMARY",
            taskDefinition: taskDefinition,
            desiredCount: service.desiredCount,
            pendingCount: 0,
            runningCount: 0,
            failedTasks: 0,
            rolloutState: "IN_PROGRESS",
            rolloutStateReason: "ECS deployment \(id) in progress.",
            createdAt: context.time,
            updatedAt: context.time
        )
        if rollback { deployment.isRollback = true }
        service.deployments.insert(deployment, at: 0)
        service.taskDefinition = taskDefinition
        service.updatedAt = context.time
    }

    /// `family:revision` of a task definition ARN.
    static func shortName(_ arn: String) -> String {
        String(arn.split(separator: "/").last ?? Substring(arn))
    }

    /// The family of a task definition ARN.
    static func family(of arn: String) -> String {
        String(shortName(arn).split(separator: ":").first ?? "")
    }
}

extension Service {
    /// The most tasks (pending + running, all deployments) a rollout may have: `maximumPercent` of the desired
    /// count, rounded down (ECS), and never below the desired count.
    package var maximumTaskCount: Int {
        max(desiredCount, desiredCount * (deploymentConfiguration.maximumPercent ?? 200) / 100)
    }

    /// The fewest healthy tasks a rollout keeps: `minimumHealthyPercent` of the desired count, rounded up (ECS).
    package var minimumHealthyCount: Int {
        (desiredCount * (deploymentConfiguration.minimumHealthyPercent ?? 100) + 99) / 100
    }

    /// The newest deployment other than the PRIMARY that COMPLETED (still listed or in the history).
    package var lastCompletedDeployment: Deployment? {
        (deployments.dropFirst() + (deploymentHistory ?? [])).first { $0.rolloutState == "COMPLETED" }
    }
}
