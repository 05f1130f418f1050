import ClusterState
import Orchestration

/// A domain driven by hand: commands applied in order, orchestrator rounds, and agents that report on demand.
struct TestCluster {
    var domain = Domain()
    var index: UInt64 = 0
    var now: Int64 = 1_000_000
    let prefix = "arn:gantry:ecs:test:000000000000"
    let cluster = "c"

    /// A cluster with `instances` instances of 4 vCPU / 4 GiB in zones a, b, c…, and family `app` revision 1.
    init(instances: Int, healthCheck: Bool = false, memory: Int = 256, hostPort: Int? = nil) {
        apply(.createCluster(name: cluster, tags: []))
        for number in 1...max(instances, 1) where instances > 0 { addInstance(number) }
        register(healthCheck: healthCheck, memory: memory, hostPort: hostPort)
    }

    static func instanceID(_ number: Int) -> String {
        let digits = String(number, radix: 16)
        return String(repeating: "0", count: 32 - digits.count) + digits
    }

    mutating func addInstance(_ number: Int) {
        let zones = ["a", "b", "c"]
        let registration = InstanceRegistration(
            id: Self.instanceID(number),
            hostname: "host-\(number)",
            cpu: 4_096,
            memory: 4_096,
            availabilityZone: zones[(number - 1) % 3],
            agentVersion: "test"
        )
        apply(.registerContainerInstance(cluster: cluster, registration: registration))
    }

    /// Registers the next revision of family `app`.
    @discardableResult
    mutating func register(healthCheck: Bool = false, memory: Int = 256, hostPort: Int? = nil) -> DomainResult {
        var container = ContainerDefinition(name: "app", image: "app:latest")
        container.cpu = 256
        container.memory = memory
        if healthCheck { container.healthCheck = ContainerDefinition.HealthCheck(command: ["CMD", "true"]) }
        if let hostPort {
            container.portMappings = [ContainerDefinition.PortMapping(containerPort: 80, hostPort: hostPort)]
        }
        return apply(
            .registerTaskDefinition(spec: TaskDefinitionSpec(family: "app", containerDefinitions: [container]))
        )
    }

    @discardableResult
    mutating func apply(_ command: DomainCommand) -> DomainResult {
        index += 1
        return domain.apply(command, context: Domain.Context(time: now, arnPrefix: prefix, index: index))
    }

    /// Creates service `app` (REPLICA of `desired`, or DAEMON when nil).
    @discardableResult
    mutating func createService(
        desired: Int?,
        minimum: Int? = nil,
        maximum: Int? = nil,
        breaker: DeploymentConfiguration.CircuitBreaker? = nil,
        grace: Int? = nil
    ) -> DomainResult {
        var request = ServiceRequest(serviceName: "app", taskDefinition: "app:1", desiredCount: desired)
        if desired == nil { request.schedulingStrategy = "DAEMON" }
        request.deploymentConfiguration = DeploymentConfiguration(
            maximumPercent: maximum,
            minimumHealthyPercent: minimum,
            deploymentCircuitBreaker: breaker
        )
        request.healthCheckGracePeriodSeconds = grace
        return apply(.createService(cluster: cluster, request: request))
    }

    mutating func update(_ change: (inout ServiceUpdate) -> Void) {
        var update = ServiceUpdate()
        change(&update)
        apply(.updateService(cluster: cluster, service: "app", update: update))
    }

    /// One orchestrator round, its commands applied; returns them.
    @discardableResult
    mutating func round(liveness: Liveness? = nil) -> [DomainCommand] {
        let commands = Orchestrator.reconcile(domain, now: now, liveness: liveness, seed: 7)
        for command in commands { apply(command) }
        return commands
    }

    /// The agents report: placed tasks start (RUNNING, with `health` where there is a health check, or crash when
    /// `crashes` says so), and tasks no longer wanted stop.
    mutating func report(health: String = "HEALTHY", crashes: (TaskRecord) -> Bool = { _ in false }) {
        let byInstance = Dictionary(
            grouping: domain.tasks.values.filter { $0.instanceID != nil && $0.lastStatus != "STOPPED" }
        ) {
            $0.instanceID!
        }
        for (instance, tasks) in byInstance.sorted(by: { $0.key < $1.key }) {
            let reports = tasks.sorted { $0.id < $1.id }.compactMap { task -> TaskStateReport? in
                if task.desiredStatus == "STOPPED" {
                    return TaskStateReport(task: task.id, epoch: task.epoch, status: "STOPPED", exitCode: 0)
                }
                if crashes(task) {
                    return TaskStateReport(task: task.id, epoch: task.epoch, status: "STOPPED", exitCode: 1)
                }
                let checked = task.containers.contains { $0.hasHealthCheck == true }
                return TaskStateReport(
                    task: task.id,
                    epoch: task.epoch,
                    status: "RUNNING",
                    healthStatus: checked ? health : nil
                )
            }
            apply(.reportTaskStates(cluster: cluster, instance: instance, reports: reports))
        }
    }

    /// Rounds and reports, one second apart, `seconds` times.
    mutating func settle(seconds: Int = 30, health: String = "HEALTHY", crashes: (TaskRecord) -> Bool = { _ in false })
    {
        for _ in 0..<seconds {
            round()
            report(health: health, crashes: crashes)
            now += 1_000
        }
    }

    var service: Service { domain.services["\(cluster)/app"]! }

    /// The service's tasks that have not stopped.
    var live: [TaskRecord] { domain.tasks.values.filter { $0.serviceName == "app" && $0.lastStatus != "STOPPED" } }

    /// Healthy tasks of the service running revision `revision`.
    func healthy(revision: Int) -> Int {
        live.filter { $0.isHealthy && $0.taskDefinitionArn.hasSuffix(":\(revision)") }.count
    }
}
