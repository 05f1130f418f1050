import ClusterState
import Testing

/// A domain with cluster `c`, two instances (1 vCPU / 1 GiB), family `app` (256 CPU, 256 MiB, host port 8080) and
/// service `app` of `desired`, its tasks created by hand with `orchestrate` steps.
struct ApplyBench {
    var domain = Domain()
    var index: UInt64 = 0
    var now: Int64 = 10_000

    static let first = String(repeating: "0", count: 31) + "1"
    static let second = String(repeating: "0", count: 31) + "2"

    init(desired: Int, minimum: Int = 100, maximum: Int = 200) {
        apply(.createCluster(name: "c", tags: []))
        for id in [Self.first, Self.second] {
            apply(
                .registerContainerInstance(
                    cluster: "c",
                    registration: InstanceRegistration(
                        id: id,
                        hostname: id,
                        cpu: 1_024,
                        memory: 1_024,
                        agentVersion: "t"
                    )
                )
            )
        }
        var container = ContainerDefinition(name: "app", image: "app")
        container.cpu = 256
        container.memory = 256
        container.portMappings = [ContainerDefinition.PortMapping(containerPort: 80, hostPort: 8080)]
        apply(.registerTaskDefinition(spec: TaskDefinitionSpec(family: "app", containerDefinitions: [container])))
        var request = ServiceRequest(serviceName: "app", taskDefinition: "app:1", desiredCount: desired)
        request.deploymentConfiguration = DeploymentConfiguration(
            maximumPercent: maximum,
            minimumHealthyPercent: minimum
        )
        apply(.createService(cluster: "c", request: request))
    }

    @discardableResult
    mutating func apply(_ command: DomainCommand) -> DomainResult {
        index += 1
        now += 100
        return domain.apply(command, context: Domain.Context(time: now, arnPrefix: "arn:gantry:ecs:t:1", index: index))
    }

    var service: Service { domain.services["c/app"]! }
    var deployment: String { service.deployments[0].id }

    mutating func step(_ steps: OrchestrationStep...) {
        apply(.orchestrate(cluster: "c", service: "app", steps: steps))
    }

    /// Starts `count` tasks and places them one per instance, alternating.
    mutating func startPlaced(_ count: Int) -> [TaskRecord] {
        let live = service.deployments[0].pendingCount + service.deployments[0].runningCount
        step(.startTasks(deployment: deployment, count: count, expectedLive: live))
        let waiting = domain.tasks.values.filter { $0.containerInstanceArn == nil && $0.lastStatus == "PROVISIONING" }
            .sorted { $0.id < $1.id }
        let placements = waiting.enumerated().map {
            TaskPlacement(task: $0.element.id, instance: $0.offset % 2 == 0 ? Self.first : Self.second)
        }
        apply(.placeTasks(cluster: "c", placements: placements))
        return waiting.map { domain.tasks[$0.id]! }
    }

    mutating func report(_ task: TaskRecord, _ status: String, epoch: Int? = nil, code: Int? = nil) -> DomainResult {
        apply(
            .reportTaskStates(
                cluster: "c",
                instance: task.instanceID!,
                reports: [TaskStateReport(task: task.id, epoch: epoch ?? task.epoch, status: status, exitCode: code)]
            )
        )
    }

    func free(_ instance: String, _ name: String) -> Int? {
        domain.instances[instance]!.remainingResources.first { $0.name == name }?.integerValue
    }

    func ports(_ instance: String) -> [String] {
        domain.instances[instance]!.remainingResources.first { $0.name == "PORTS" }?.stringSetValue ?? []
    }
}

@Suite("Domain: agent reports, reconciler steps and their re-checks")
struct OrchestrationApplyTests {
    @Test("a RUNNING report starts the task; a STOPPED one releases its cpu, memory and host port")
    func reportsAndRelease() {
        var bench = ApplyBench(desired: 2)
        let tasks = bench.startPlaced(2)
        #expect(bench.free(ApplyBench.first, "CPU") == 1_024 - 256)
        #expect(bench.ports(ApplyBench.first) == ["8080"])
        _ = bench.report(tasks[0], "RUNNING")
        #expect(bench.domain.tasks[tasks[0].id]?.lastStatus == "RUNNING")
        #expect(bench.domain.instances[ApplyBench.first]?.runningTasksCount == 1)
        #expect(bench.service.runningCount == 1 && bench.service.pendingCount == 1)
        _ = bench.report(tasks[0], "STOPPED", code: 137)
        let stopped = bench.domain.tasks[tasks[0].id]!
        #expect(stopped.lastStatus == "STOPPED" && stopped.stopCode == "EssentialContainerExited")
        #expect(stopped.containers[0].exitCode == 137)
        #expect(bench.free(ApplyBench.first, "CPU") == 1_024)
        #expect(bench.free(ApplyBench.first, "MEMORY") == 1_024)
        #expect(bench.ports(ApplyBench.first).isEmpty)
        #expect(bench.service.deployments[0].failedTasks == 1)
        #expect(bench.service.liveTaskCount == 1)
    }

    @Test("reports for another epoch, from another instance, or about a stopped task change nothing")
    func fencing() {
        var bench = ApplyBench(desired: 1)
        let task = bench.startPlaced(1)[0]
        #expect(bench.report(task, "RUNNING", epoch: task.epoch + 1) == .tasks([]), "not the current assignment")
        let elsewhere = bench.apply(
            .reportTaskStates(
                cluster: "c",
                instance: ApplyBench.second,
                reports: [TaskStateReport(task: task.id, epoch: task.epoch, status: "RUNNING")]
            )
        )
        #expect(elsewhere == .tasks([]))
        #expect(bench.domain.tasks[task.id]?.lastStatus == "PENDING")
        _ = bench.report(task, "STOPPED")
        let before = bench.domain
        #expect(bench.report(task, "RUNNING") == .tasks([]))
        #expect(bench.domain.tasks == before.tasks)
    }

    @Test("a bad report is refused naming the field")
    func badReport() {
        var bench = ApplyBench(desired: 1)
        let task = bench.startPlaced(1)[0]
        let result = bench.apply(
            .reportTaskStates(
                cluster: "c",
                instance: ApplyBench.first,
                reports: [
                    TaskStateReport(task: task.id, epoch: 1, status: "RUNNING"),
                    TaskStateReport(task: task.id, epoch: 1, status: "GONE"),
                ]
            )
        )
        guard case .refused(400, _, _, "reports[1].status") = result else {
            Issue.record("expected a 400 naming reports[1].status, got \(result)")
            return
        }
        #expect(bench.domain.tasks[task.id]?.lastStatus == "PENDING", "nothing applied")
    }

    @Test("starting tasks is refused on a stale count or beyond maximumPercent")
    func startRechecks() {
        var bench = ApplyBench(desired: 2, maximum: 150)
        _ = bench.startPlaced(2)
        let count = bench.domain.tasks.count
        bench.step(.startTasks(deployment: bench.deployment, count: 1, expectedLive: 0))
        #expect(bench.domain.tasks.count == count, "the leader saw 0 live tasks; there are 2")
        bench.step(.startTasks(deployment: bench.deployment, count: 2, expectedLive: 2))
        #expect(bench.domain.tasks.count == count, "4 tasks would exceed 150% of 2 = 3")
        bench.step(.startTasks(deployment: bench.deployment, count: 1, expectedLive: 2))
        #expect(bench.domain.tasks.count == count + 1)
    }

    @Test("a stop that would leave fewer healthy tasks than promised is skipped")
    func stopKeepsMinimum() {
        var bench = ApplyBench(desired: 2)
        let tasks = bench.startPlaced(2)
        for task in tasks { _ = bench.report(task, "RUNNING") }
        #expect(bench.service.healthyTaskCount == 2)
        bench.step(.stopTasks(tasks: tasks.map(\.id), reason: "r", failed: false, keepHealthy: 1))
        #expect(bench.domain.tasks[tasks[0].id]?.desiredStatus == "STOPPED")
        #expect(bench.domain.tasks[tasks[1].id]?.desiredStatus == "RUNNING")
        #expect(bench.service.healthyTaskCount == 1)
    }

    @Test("an instance whose agent is lost has its tasks stopped; deregistering needs force while tasks live")
    func lostAndDeregistered() {
        var bench = ApplyBench(desired: 2)
        let tasks = bench.startPlaced(2)
        bench.apply(.setAgentConnected(cluster: "c", instance: ApplyBench.first, connected: false))
        let lost = bench.domain.tasks[tasks[0].id]!
        #expect(lost.desiredStatus == "STOPPED" && lost.lastStatus == "PENDING", "stopped when the agent returns")
        #expect(lost.stoppedReason?.contains("lost contact") == true)
        let refused = bench.apply(.deregisterContainerInstance(cluster: "c", id: ApplyBench.second, force: false))
        guard case .refused(409, "instance_has_tasks", _, _) = refused else {
            Issue.record("expected 409, got \(refused)")
            return
        }
        bench.apply(.deregisterContainerInstance(cluster: "c", id: ApplyBench.second, force: true))
        #expect(bench.domain.tasks[tasks[1].id]?.lastStatus == "STOPPED")
        #expect(bench.free(ApplyBench.second, "MEMORY") == 1_024)
        #expect(bench.service.liveTaskCount == 1)
    }

    @Test("the new counters and fields survive the snapshot encoding")
    func snapshot() throws {
        var bench = ApplyBench(desired: 2)
        let tasks = bench.startPlaced(2)
        _ = bench.report(tasks[0], "RUNNING")
        // Snapshots carry the domain as canonical JSON.
        let restored = try CanonicalJSON.decode(Domain.self, from: CanonicalJSON.encode(bench.domain))
        #expect(restored == bench.domain)
        #expect(restored.services["c/app"]?.liveTaskCount == 2)
    }
}
