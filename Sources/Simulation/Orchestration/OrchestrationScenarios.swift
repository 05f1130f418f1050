import ClusterState
import Orchestration

extension OrchestrationWorld {
    /// A task definition revision of family `app` whose container behaves as `behaviour`.
    func appDefinition(_ behaviour: SimBehaviour, healthCheck: Bool, hostPort: Int?) -> TaskDefinitionSpec {
        var container = ContainerDefinition(name: "app", image: "sim/\(behaviour.rawValue)")
        container.cpu = 256
        container.memory = 256
        if healthCheck { container.healthCheck = ContainerDefinition.HealthCheck(command: ["CMD", "true"]) }
        if let hostPort {
            container.portMappings = [ContainerDefinition.PortMapping(containerPort: 80, hostPort: hostPort)]
        }
        return TaskDefinitionSpec(family: "app", containerDefinitions: [container])
    }

    mutating func at(_ seconds: Double, _ action: OperatorAction) {
        script.append((Self.start + Int64(seconds * 1_000), action))
    }

    /// The scenario's hosts, operator script and fault settings, all drawn from the seed.
    mutating func buildScript() {
        let zones = ["a", "b", "c"]
        let hosts = Int(uniform(5...8))
        for number in 0..<hosts {
            let id = String(repeating: "0", count: 24) + String(format8(number + 1))
            agents.append(
                SimAgent(
                    registration: InstanceRegistration(
                        id: id,
                        hostname: "host-\(number + 1)",
                        cpu: 4_096,
                        memory: 4_096,
                        availabilityZone: zones[number % zones.count],
                        agentVersion: "sim-1"
                    )
                )
            )
        }
        at(0, .propose(.createCluster(name: cluster, tags: [])))
        let healthCheck = chance(50)
        let daemonPort: Int? = scenario == .daemon && chance(50) ? 8080 : nil
        at(
            0.01,
            .propose(.registerTaskDefinition(spec: appDefinition(.ok, healthCheck: healthCheck, hostPort: daemonPort)))
        )
        let lateJoiners = scenario == .daemon ? 2 : 0
        for position in 0..<(hosts - lateJoiners) { at(0.05 + Double(position) * 0.02, .join(agent: position)) }
        var request = ServiceRequest(serviceName: "app", taskDefinition: "app:1", desiredCount: Int(uniform(3...8)))
        let bounds: [(Int, Int)] = [(100, 200), (50, 100), (50, 150), (0, 100), (75, 125)]
        let (minimum, maximum) = bounds[Int(random.next() % UInt64(bounds.count))]
        request.deploymentConfiguration = DeploymentConfiguration(
            maximumPercent: maximum,
            minimumHealthyPercent: minimum,
            deploymentCircuitBreaker: DeploymentConfiguration.CircuitBreaker(enable: true, rollback: true)
        )
        // Bounds that could never replace a task are refused by apply; pick a count they can work with.
        while request.deploymentConfiguration?.progressProblem(desiredCount: request.desiredCount ?? 0) != nil {
            request.desiredCount = (request.desiredCount ?? 0) + 1
        }
        if chance(50) {
            request.placementStrategy = [PlacementStrategy(type: "spread", field: "attribute:ecs.availability-zone")]
        }
        switch scenario {
        case .converge:
            at(1, .propose(.createService(cluster: cluster, request: request)))
            for moment in [20.0, 40.0, 55.0] {
                var update = ServiceUpdate()
                update.desiredCount = Int(uniform(0...12))
                at(moment, .propose(.updateService(cluster: cluster, service: "app", update: update)))
            }
        case .rolling:
            at(1, .propose(.createService(cluster: cluster, request: request)))
            let second: SimBehaviour = chance(50) ? .slow : .ok
            at(
                15,
                .propose(.registerTaskDefinition(spec: appDefinition(second, healthCheck: healthCheck, hostPort: nil)))
            )
            at(15, .propose(.registerTaskDefinition(spec: appDefinition(.ok, healthCheck: healthCheck, hostPort: nil))))
            var update = ServiceUpdate()
            update.taskDefinition = "app:2"
            at(20, .propose(.updateService(cluster: cluster, service: "app", update: update)))
            update.taskDefinition = "app:3"
            at(Double(uniform(24...45)), .propose(.updateService(cluster: cluster, service: "app", update: update)))
            expectation.finalRevision = 3
        case .breaker:
            at(1, .propose(.createService(cluster: cluster, request: request)))
            let bad: [SimBehaviour] = healthCheck ? [.crash, .failstart, .unhealthy] : [.crash, .failstart]
            let behaviour = bad[Int(random.next() % UInt64(bad.count))]
            at(
                20,
                .propose(
                    .registerTaskDefinition(spec: appDefinition(behaviour, healthCheck: healthCheck, hostPort: nil))
                )
            )
            var update = ServiceUpdate()
            update.taskDefinition = "app:2"
            at(25, .propose(.updateService(cluster: cluster, service: "app", update: update)))
            expectation.finalRevision = 1
            expectation.failedRevision = 2
        case .daemon:
            var daemon = ServiceRequest(serviceName: "app", taskDefinition: "app:1")
            daemon.schedulingStrategy = "DAEMON"
            at(1, .propose(.createService(cluster: cluster, request: daemon)))
            at(15, .join(agent: hosts - 2))
            at(30, .join(agent: hosts - 1))
            let drained = agents[Int(random.next() % UInt64(3))].id
            at(25, .propose(.updateContainerInstanceState(cluster: cluster, id: drained, status: "DRAINING")))
            at(50, .propose(.updateContainerInstanceState(cluster: cluster, id: drained, status: "ACTIVE")))
            at(
                34,
                .propose(
                    .registerTaskDefinition(spec: appDefinition(.ok, healthCheck: healthCheck, hostPort: daemonPort))
                )
            )
            var update = ServiceUpdate()
            update.taskDefinition = "app:2"
            at(35, .propose(.updateService(cluster: cluster, service: "app", update: update)))
            expectation.finalRevision = 2
        case .failover:
            at(1, .propose(.createService(cluster: cluster, request: request)))
            allowAgentLoss = false
            faultsFrom = Self.start + 20_000
        }
        script.sort { $0.at < $1.at }
    }

    func format8(_ number: Int) -> String {
        let digits = String(number, radix: 16)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// At the end, with every agent back and no fault for a minute: the service has converged to what its script
    /// asked, and no agent runs a container the state does not want.
    mutating func finalChecks() {
        defer {
            if !report.violations.isEmpty, let service = domain.services["\(cluster)/app"] {
                report.finalState =
                    (service.deployments + (service.deploymentHistory ?? [])).map {
                        "\($0.id) \($0.status) \($0.taskDefinition.split(separator: "/").last ?? "") "
                            + "\($0.rolloutState) failed=\($0.failedTasks) pending=\($0.pendingCount) "
                            + "running=\($0.runningCount) \($0.rolloutStateReason)"
                    } + service.events.prefix(15).map { "event t=\($0.createdAt - Self.start): \($0.message)" }
            }
        }
        guard report.violations.isEmpty else { return }
        guard let service = domain.services["\(cluster)/app"], let primary = service.deployments.first else {
            violation("the service was never created")
            return
        }
        let revision = Int(primary.taskDefinition.split(separator: ":").last ?? "") ?? 0
        if let failed = expectation.failedRevision, !expectation.rollbackPossible {
            // Nothing had COMPLETED to roll back to: the breaker must have stopped launching, and said so.
            if revision != failed || primary.rolloutState != "FAILED"
                || !primary.rolloutStateReason.contains("no COMPLETED deployment")
            {
                violation("with nothing to roll back to, PRIMARY app:\(revision) is \(primary.rolloutState)")
            }
            let launched = domain.tasks.values.filter {
                $0.startedBy == primary.id && $0.lastStatus != "STOPPED" && $0.desiredStatus == "RUNNING"
            }
            if !launched.isEmpty { violation("\(launched.count) tasks of the failed deployment still wanted") }
            return
        }
        if revision != expectation.finalRevision {
            violation("PRIMARY runs app:\(revision), expected app:\(expectation.finalRevision)")
        }
        if primary.rolloutState != "COMPLETED" {
            violation("PRIMARY deployment \(primary.id) is \(primary.rolloutState): \(primary.rolloutStateReason)")
        }
        if service.deployments.count != 1 { violation("\(service.deployments.count) deployments left, expected 1") }
        let live = domain.tasks.values.filter { $0.serviceName == "app" && $0.lastStatus != "STOPPED" }
        let healthy = live.filter { $0.isHealthy && $0.startedBy == primary.id }
        var desired = service.desiredCount
        if service.schedulingStrategy == "DAEMON" {
            let eligible = domain.instances.values.filter { $0.status == "ACTIVE" && $0.agentConnected }
            desired = eligible.count
            if Set(healthy.compactMap(\.instanceID)) != Set(eligible.map(\.id)) {
                violation("DAEMON tasks do not cover exactly the \(eligible.count) eligible instances")
            }
        }
        if live.count != desired || healthy.count != desired {
            violation("\(live.count) live and \(healthy.count) healthy tasks at the end, desired \(desired)")
        }
        if let failed = expectation.failedRevision {
            let all = service.deployments + (service.deploymentHistory ?? [])
            let tripped = all.contains {
                $0.rolloutState == "FAILED" && $0.taskDefinition.hasSuffix("app:\(failed)")
            }
            if !tripped { violation("no FAILED deployment of app:\(failed): the circuit breaker never tripped") }
            if primary.isRollback != true { violation("the final deployment is not marked as a rollback") }
        }
        for agent in agents where agent.joined {
            for (id, container) in agent.containers {
                guard case .running = container.phase else { continue }
                let task = domain.tasks[id]
                if task == nil || task?.desiredStatus != "RUNNING" {
                    violation("agent \(agent.id) still runs task \(id), which the state does not want")
                }
            }
        }
    }
}
