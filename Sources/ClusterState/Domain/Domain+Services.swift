extension Domain {
    /// The service `name` of `cluster` that is not INACTIVE.
    package func liveService(_ name: String, in cluster: String) -> Service? {
        let key =
            name.hasPrefix("arn:")
            ? String(name.split(separator: "/").suffix(2).joined(separator: "/")) : "\(cluster)/\(name)"
        guard let service = services[key], service.status != "INACTIVE" else { return nil }
        return service
    }

    /// Applies the service commands.
    mutating func applyServiceCommand(_ command: DomainCommand, context: Context) -> DomainResult {
        switch command {
        case .createService(let clusterName, let request):
            guard let cluster = clusters[clusterName] else { return .clusterNotFound(clusterName) }
            if let problem = DomainRules.nameProblem(request.serviceName) { return .invalid("serviceName", problem) }
            let strategy = request.schedulingStrategy ?? "REPLICA"
            guard strategy == "REPLICA" || strategy == "DAEMON" else {
                return .invalid("schedulingStrategy", "must be REPLICA or DAEMON")
            }
            if let launchType = request.launchType, launchType != "EXTERNAL" {
                return .invalid("launchType", "must be EXTERNAL (the on-prem launch type, as in ECS Anywhere)")
            }
            let desired: Int
            if strategy == "REPLICA" {
                guard let count = request.desiredCount else {
                    return .invalid("desiredCount", "is required for a REPLICA service")
                }
                guard (0...10_000).contains(count) else { return .invalid("desiredCount", "must be 0 to 10000") }
                desired = count
            } else {
                guard request.desiredCount == nil else {
                    return .invalid("desiredCount", "must not be given for a DAEMON service (one task per instance)")
                }
                guard (request.placementStrategy ?? []).isEmpty else {
                    return .invalid("placementStrategy", "DAEMON services do not take a placement strategy")
                }
                desired = 0
            }
            let configuration: DeploymentConfiguration
            switch Self.deploymentConfiguration(request.deploymentConfiguration, daemon: strategy == "DAEMON") {
            case .success(let filled): configuration = filled
            case .failure(let refusal): return refusal.result
            }
            if let problem = configuration.progressProblem(desiredCount: desired) {
                return .invalid("deploymentConfiguration", problem)
            }
            if let refusal = Self.placementProblem(request.placementStrategy ?? [], request.placementConstraints ?? [])
            {
                return refusal.result
            }
            let grace = request.healthCheckGracePeriodSeconds ?? 0
            guard (0...2_147_483_647).contains(grace) else {
                return .invalid("healthCheckGracePeriodSeconds", "must be 0 to 2147483647")
            }
            if let refusal = DomainRules.tagsProblem(request.tags ?? []) { return refusal }
            guard liveService(request.serviceName, in: clusterName) == nil else {
                return .refused(
                    status: 409,
                    code: "service_exists",
                    message: "service \(request.serviceName) already exists in cluster \(clusterName)",
                    field: "serviceName"
                )
            }
            guard let taskDefinition = self.taskDefinition(request.taskDefinition) else {
                return .taskDefinitionNotFound(request.taskDefinition)
            }
            guard taskDefinition.status == "ACTIVE" else {
                return .invalid(
                    "taskDefinition",
                    "\(request.taskDefinition) is INACTIVE; register or pick an ACTIVE revision"
                )
            }
            let deployment = Deployment(
                id: "ecs-svc/\(context.index)",
                status: "PRIMARY",
                taskDefinition: taskDefinition.taskDefinitionArn,
                desiredCount: desired,
                pendingCount: 0,
                runningCount: 0,
                failedTasks: 0,
                rolloutState: "IN_PROGRESS",
                rolloutStateReason: "ECS deployment ecs-svc/\(context.index) in progress.",
                createdAt: context.time,
                updatedAt: context.time
            )
            let service = Service(
                serviceArn: "\(context.arnPrefix):service/\(clusterName)/\(request.serviceName)",
                serviceName: request.serviceName,
                clusterArn: cluster.clusterArn,
                taskDefinition: taskDefinition.taskDefinitionArn,
                desiredCount: desired,
                runningCount: 0,
                pendingCount: 0,
                launchType: "EXTERNAL",
                schedulingStrategy: strategy,
                deploymentConfiguration: configuration,
                placementStrategy: request.placementStrategy ?? [],
                placementConstraints: request.placementConstraints ?? [],
                healthCheckGracePeriodSeconds: grace,
                status: "ACTIVE",
                deployments: [deployment],
                events: [
                    ServiceEvent(
                        id: "\(context.index)",
                        createdAt: context.time,
                        message:
                            "(service \(request.serviceName)) was created with \(taskDefinition.family):\(taskDefinition.revision)."
                    )
                ],
                tags: request.tags ?? [],
                createdAt: context.time,
                updatedAt: context.time
            )
            services["\(clusterName)/\(request.serviceName)"] = service
            return .service(service)
        case .updateService(let clusterName, let name, let update):
            guard clusters[clusterName] != nil else { return .clusterNotFound(clusterName) }
            guard var service = liveService(name, in: clusterName) else { return .serviceNotFound(name, clusterName) }
            guard service.status == "ACTIVE" else { return .serviceDraining(name) }
            var messages: [String] = []
            if let count = update.desiredCount {
                guard service.schedulingStrategy == "REPLICA" else {
                    return .invalid(
                        "desiredCount",
                        "a DAEMON service runs one task per instance; its count cannot be set"
                    )
                }
                guard (0...10_000).contains(count) else { return .invalid("desiredCount", "must be 0 to 10000") }
                if count != service.desiredCount {
                    messages.append("desired count changed from \(service.desiredCount) to \(count)")
                }
                service.desiredCount = count
                service.deployments[0].desiredCount = count
            }
            if let requested = update.deploymentConfiguration {
                switch Self.deploymentConfiguration(requested, daemon: service.schedulingStrategy == "DAEMON") {
                case .success(let filled): service.deploymentConfiguration = filled
                case .failure(let refusal): return refusal.result
                }
            }
            if update.placementStrategy != nil || update.placementConstraints != nil {
                let strategy = update.placementStrategy ?? service.placementStrategy
                let constraints = update.placementConstraints ?? service.placementConstraints
                if service.schedulingStrategy == "DAEMON" && !strategy.isEmpty {
                    return .invalid("placementStrategy", "DAEMON services do not take a placement strategy")
                }
                if let refusal = Self.placementProblem(strategy, constraints) { return refusal.result }
                service.placementStrategy = strategy
                service.placementConstraints = constraints
            }
            if let grace = update.healthCheckGracePeriodSeconds {
                guard (0...2_147_483_647).contains(grace) else {
                    return .invalid("healthCheckGracePeriodSeconds", "must be 0 to 2147483647")
                }
                service.healthCheckGracePeriodSeconds = grace
            }
            var newDefinition: TaskDefinitionRecord?
            if let reference = update.taskDefinition {
                guard let record = taskDefinition(reference) else { return .taskDefinitionNotFound(reference) }
                guard record.status == "ACTIVE" else {
                    return .invalid("taskDefinition", "\(reference) is INACTIVE; register or pick an ACTIVE revision")
                }
                if record.taskDefinitionArn != service.taskDefinition { newDefinition = record }
            }
            if newDefinition != nil || update.forceNewDeployment == true {
                let arn = newDefinition?.taskDefinitionArn ?? service.taskDefinition
                Self.startDeployment(&service, taskDefinition: arn, rollback: false, context)
                messages.append(
                    "started deployment ecs-svc/\(context.index) of \(arn.split(separator: "/").last ?? "")"
                )
            }
            if service.schedulingStrategy == "REPLICA",
                let problem = service.deploymentConfiguration.progressProblem(desiredCount: service.desiredCount)
            {
                return .invalid(
                    update.deploymentConfiguration == nil ? "desiredCount" : "deploymentConfiguration",
                    problem
                )
            }
            service.updatedAt = context.time
            if !messages.isEmpty {
                Self.record(
                    &service,
                    "(service \(service.serviceName)) " + messages.joined(separator: "; ") + ".",
                    context
                )
            }
            services["\(clusterName)/\(service.serviceName)"] = service
            return .service(service)
        case .deleteService(let clusterName, let name, let force):
            guard clusters[clusterName] != nil else { return .clusterNotFound(clusterName) }
            guard var service = liveService(name, in: clusterName) else { return .serviceNotFound(name, clusterName) }
            guard force || service.desiredCount == 0 || service.schedulingStrategy == "DAEMON" else {
                return .refused(
                    status: 409,
                    code: "service_not_scaled_down",
                    message:
                        "service \(name) has desiredCount \(service.desiredCount); scale it to 0 first, or delete with force",
                    field: "service"
                )
            }
            service.desiredCount = 0
            let group = "service:\(service.serviceName)"
            let live = tasks.values.contains {
                $0.cluster == clusterName && $0.group == group && $0.lastStatus != "STOPPED"
            }
            service.status = live ? "DRAINING" : "INACTIVE"
            service.updatedAt = context.time
            for position in service.deployments.indices { service.deployments[position].desiredCount = 0 }
            Self.record(&service, "(service \(service.serviceName)) was deleted (\(service.status)).", context)
            services["\(clusterName)/\(service.serviceName)"] = service
            return .service(service)
        default:
            preconditionFailure("applyServiceCommand called with \(command)")
        }
    }

    /// A refusal carried through `Result`.
    struct Refusal: Error {
        var result: DomainResult
    }

    /// The configuration with ECS's defaults filled in, or the rule it breaks.
    static func deploymentConfiguration(
        _ requested: DeploymentConfiguration?,
        daemon: Bool
    ) -> Result<DeploymentConfiguration, Refusal> {
        var configuration = requested ?? DeploymentConfiguration()
        let maximum = configuration.maximumPercent ?? (daemon ? 100 : 200)
        let minimum = configuration.minimumHealthyPercent ?? (daemon ? 0 : 100)
        guard (0...100).contains(minimum) else {
            return .failure(
                Refusal(result: .invalid("deploymentConfiguration.minimumHealthyPercent", "must be 0 to 100"))
            )
        }
        guard (100...200).contains(maximum) else {
            return .failure(Refusal(result: .invalid("deploymentConfiguration.maximumPercent", "must be 100 to 200")))
        }
        if daemon && maximum != 100 {
            return .failure(
                Refusal(result: .invalid("deploymentConfiguration.maximumPercent", "must be 100 for a DAEMON service"))
            )
        }
        if maximum == minimum && minimum == 100 {
            return .failure(
                Refusal(
                    result: .invalid(
                        "deploymentConfiguration.maximumPercent",
                        "must exceed 100 when minimumHealthyPercent is 100, or no deployment could make progress"
                    )
                )
            )
        }
        configuration.maximumPercent = maximum
        configuration.minimumHealthyPercent = minimum
        if let threshold = configuration.deploymentCircuitBreaker?.threshold, !(1...10_000).contains(threshold) {
            return .failure(
                Refusal(
                    result: .invalid("deploymentConfiguration.deploymentCircuitBreaker.threshold", "must be 1 to 10000")
                )
            )
        }
        if configuration.deploymentCircuitBreaker == nil {
            configuration.deploymentCircuitBreaker = DeploymentConfiguration.CircuitBreaker(
                enable: false,
                rollback: false
            )
        }
        return .success(configuration)
    }

    /// Why a placement strategy or constraint list breaks ECS's rules, or nil.
    static func placementProblem(
        _ strategy: [PlacementStrategy],
        _ constraints: [ServicePlacementConstraint]
    ) -> Refusal? {
        guard strategy.count <= 5 else { return Refusal(result: .invalid("placementStrategy", "at most 5 steps")) }
        for (position, step) in strategy.enumerated() {
            let field = "placementStrategy[\(position)]"
            switch step.type {
            case "random":
                if step.field != nil { return Refusal(result: .invalid("\(field).field", "random takes no field")) }
            case "spread":
                guard let value = step.field,
                    value == "instanceId" || value == "host" || value.hasPrefix("attribute:") && value.count > 10
                else {
                    return Refusal(
                        result: .invalid("\(field).field", "spread needs instanceId, host or attribute:NAME")
                    )
                }
            case "binpack":
                guard step.field == "cpu" || step.field == "memory" else {
                    return Refusal(result: .invalid("\(field).field", "binpack needs cpu or memory"))
                }
            default:
                return Refusal(result: .invalid("\(field).type", "must be random, spread or binpack"))
            }
        }
        guard constraints.count <= 10 else { return Refusal(result: .invalid("placementConstraints", "at most 10")) }
        for (position, constraint) in constraints.enumerated() {
            let field = "placementConstraints[\(position)]"
            switch constraint.type {
            case "distinctInstance":
                if constraint.expression != nil {
                    return Refusal(result: .invalid("\(field).expression", "distinctInstance takes no expression"))
                }
            case "memberOf":
                guard let expression = constraint.expression, !expression.isEmpty, expression.utf8.count <= 2000 else {
                    return Refusal(
                        result: .invalid("\(field).expression", "memberOf needs an expression of 1 to 2000 characters")
                    )
                }
            default:
                return Refusal(result: .invalid("\(field).type", "must be distinctInstance or memberOf"))
            }
        }
        return nil
    }

    /// Adds an event, keeping the newest 100.
    static func record(_ service: inout Service, _ message: String, _ context: Context) {
        let id = "\(context.index)-\(service.events.count)"
        service.events.insert(ServiceEvent(id: id, createdAt: context.time, message: message), at: 0)
        if service.events.count > 100 { service.events.removeLast(service.events.count - 100) }
    }
}

extension DomainResult {
    static func serviceDraining(_ name: String) -> DomainResult {
        .refused(status: 409, code: "service_draining", message: "service \(name) is being deleted", field: "service")
    }

    static func serviceNotFound(_ name: String, _ cluster: String) -> DomainResult {
        .refused(
            status: 404,
            code: "service_not_found",
            message: "service \(name) does not exist in cluster \(cluster)",
            field: "service"
        )
    }
}
