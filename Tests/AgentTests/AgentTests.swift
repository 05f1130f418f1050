import Agent
import ClusterState
import Glibc
import Testing

/// A task record as the controllers list it to an agent.
func assignment(_ id: String, epoch: Int = 1, desired: String = "RUNNING", last: String = "PENDING") -> TaskRecord {
    var task = TaskRecord.placeholder(group: "service:web", cpu: 1, memory: 1)
    task.id = id
    task.epoch = epoch
    task.desiredStatus = desired
    task.lastStatus = last
    return task
}

@Suite("Agent core: what to run, stop and report")
struct AgentCoreTests {
    @Test("starts new assignments, stops unwanted ones, forgets exited leftovers")
    func plan() {
        var core = AgentCore()
        let local = [
            "b": LocalContainer(task: "b", epoch: 1, state: .running),
            "gone": LocalContainer(task: "gone", epoch: 1, state: .running),
            "old": LocalContainer(task: "old", epoch: 1, state: .exited(code: 0)),
        ]
        let actions = core.plan(
            assignments: [assignment("a"), assignment("b", desired: "STOPPED", last: "RUNNING")],
            local: local
        )
        #expect(actions == [.start(assignment("a")), .stop(task: "b"), .stop(task: "gone"), .forget(task: "old")])
    }

    @Test("fencing: an assignment older than one already seen is never started")
    func fencing() {
        var core = AgentCore()
        _ = core.plan(
            assignments: [assignment("a", epoch: 3)],
            local: ["a": LocalContainer(task: "a", epoch: 3, state: .running)]
        )
        // The container went away; a stale view of the assignment (epoch 2) comes back: not started.
        #expect(core.plan(assignments: [assignment("a", epoch: 2)], local: [:]).isEmpty)
        #expect(core.plan(assignments: [assignment("a", epoch: 3)], local: [:]) == [.start(assignment("a", epoch: 3))])
    }

    @Test("reports carry the container's epoch: exits, starts, health changes and never-started stops")
    func reports() {
        let core = AgentCore()
        var running = assignment("r")
        running.containers = [
            TaskContainer(
                name: "c",
                image: "i",
                lastStatus: "RUNNING",
                exitCode: nil,
                reason: nil,
                healthStatus: "UNKNOWN",
                networkBindings: [],
                essential: true,
                hasHealthCheck: true
            )
        ]
        running.lastStatus = "RUNNING"
        let reports = core.reports(
            assignments: [
                assignment("x"), running, assignment("n", desired: "STOPPED"), assignment("e", epoch: 2),
                assignment("s"),
            ],
            local: [
                "x": LocalContainer(task: "x", epoch: 1, state: .exited(code: 3)),
                "r": LocalContainer(task: "r", epoch: 1, state: .running, health: "HEALTHY"),
                "e": LocalContainer(task: "e", epoch: 1, state: .running),
                "s": LocalContainer(task: "s", epoch: 1, state: .starting),
            ]
        )
        #expect(
            reports == [
                TaskStateReport(task: "n", epoch: 1, status: "STOPPED", reason: "never started"),
                TaskStateReport(task: "r", epoch: 1, status: "RUNNING", healthStatus: "HEALTHY"),
                TaskStateReport(task: "x", epoch: 1, status: "STOPPED", exitCode: 3),
            ]
        )
    }
}

/// The contract every runtime keeps, run against `exec` (real processes) and `sim`.
@Suite("Runtime contract", .serialized)
struct RuntimeContractTests {
    static func definition(_ command: [String], image: String = "sim/ok", check: [String]? = nil) -> TaskDefinitionSpec
    {
        var container = ContainerDefinition(name: "main", image: image)
        container.command = command
        if let check {
            container.healthCheck = ContainerDefinition.HealthCheck(command: check, interval: 5, retries: 1)
        }
        return TaskDefinitionSpec(family: "t", containerDefinitions: [container])
    }

    static func temporaryDirectory() -> String {
        var template = Array("/tmp/gantry-agent-test-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Polls until `condition` holds on the task's state (at most 10 s).
    static func await(_ runtime: any ContainerRuntime, _ task: String, _ condition: (LocalContainer?) -> Bool) -> Bool {
        for _ in 0..<200 {
            if condition(runtime.poll()[task]) { return true }
            usleep(50_000)
        }
        return false
    }

    @Test("start, run, stop, exit and forget", arguments: ["exec", "sim"])
    func lifecycle(runtimeName: String) throws {
        let runtime: any ContainerRuntime =
            runtimeName == "exec"
            ? ExecRuntime(logDirectory: Self.temporaryDirectory(), clock: Agent.milliseconds)
            : SimRuntime(clock: Agent.milliseconds)
        try runtime.start(assignment("t1"), Self.definition(["sleep", "30"]))
        #expect(Self.await(runtime, "t1") { $0?.state == .running && $0?.epoch == 1 })
        runtime.stop("t1", timeoutSeconds: 5)
        #expect(Self.await(runtime, "t1") { if case .exited = $0?.state { return true } else { return false } })
        runtime.remove("t1")
        #expect(runtime.poll()["t1"] == nil)
    }

    @Test("exec: an exit code is reported, a missing command refused, health checks run")
    func execSpecifics() throws {
        let runtime = ExecRuntime(logDirectory: Self.temporaryDirectory(), clock: Agent.milliseconds)
        try runtime.start(assignment("e"), Self.definition(["sh", "-c", "exit 3"]))
        #expect(Self.await(runtime, "e") { $0?.state == .exited(code: 3) })
        #expect(throws: RuntimeError.self) { try runtime.start(assignment("m"), Self.definition([])) }
        try runtime.start(assignment("h"), Self.definition(["sleep", "30"], check: ["CMD-SHELL", "true"]))
        #expect(Self.await(runtime, "h") { $0?.health == "HEALTHY" })
        try runtime.start(assignment("u"), Self.definition(["sleep", "30"], check: ["CMD", "false"]))
        #expect(Self.await(runtime, "u") { $0?.health == "UNHEALTHY" })
        for task in ["h", "u"] { runtime.remove(task) }
    }

    @Test("sim: scripted failures")
    func simSpecifics() throws {
        let runtime = SimRuntime(clock: Agent.milliseconds)
        try runtime.start(assignment("f"), Self.definition([], image: "sim/failstart"))
        #expect(runtime.poll()["f"]?.state == .exited(code: 1))
        try runtime.start(assignment("u"), Self.definition([], image: "sim/unhealthy", check: ["CMD", "x"]))
        #expect(runtime.poll()["u"]?.health == "UNHEALTHY")
    }
}

@Suite("Exec runtime adoption", .serialized)
struct AdoptionTests {
    @Test("a restarted agent adopts what the earlier run left running, and can stop it")
    func adopt() throws {
        let directory = RuntimeContractTests.temporaryDirectory()
        let first = ExecRuntime(logDirectory: directory, clock: Agent.milliseconds)
        try first.start(
            assignment("0123456789abcdef0123456789abcdef", epoch: 4),
            RuntimeContractTests.definition(["sleep", "30"])
        )
        #expect(RuntimeContractTests.await(first, "0123456789abcdef0123456789abcdef") { $0?.state == .running })
        // A new run of the agent, same directory (the first one's entries are simply not consulted).
        let second = ExecRuntime(logDirectory: directory, clock: Agent.milliseconds)
        #expect(second.adopt() == ["0123456789abcdef0123456789abcdef"])
        #expect(
            second.poll()["0123456789abcdef0123456789abcdef"]
                == LocalContainer(task: "0123456789abcdef0123456789abcdef", epoch: 4, state: .running)
        )
        second.stop("0123456789abcdef0123456789abcdef", timeoutSeconds: 5)
        #expect(
            RuntimeContractTests.await(second, "0123456789abcdef0123456789abcdef") {
                if case .exited = $0?.state { return true } else { return false }
            }
        )
        _ = first.poll()
    }
}
