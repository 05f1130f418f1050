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

    @Test("a task the state shows running here but the host has no trace of is reported stopped, never restarted")
    func lostContainer() {
        var core = AgentCore()
        let lost = assignment("l", epoch: 2, last: "RUNNING")
        #expect(core.plan(assignments: [lost], local: [:]).isEmpty, "not started again: it may run elsewhere")
        let reports = core.reports(assignments: [lost, assignment("p")], local: [:])
        #expect(reports.count == 1)
        #expect(reports.first?.task == "l" && reports.first?.status == "STOPPED" && reports.first?.epoch == 2)
        #expect(reports.first?.reason?.contains("gone from this host") == true)
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

/// The contract every runtime keeps, run against `docker` (a real engine: Podman's service in CI), `exec` (real
/// processes) and `sim`. The docker runtime needs an engine on GANTRY_DOCKER_SOCKET (default
/// /run/gantry-podman/docker.sock, which `deploy/podman-service start` provides) with the image
/// gantry/busybox:latest; without one those tests fail and say so.
@Suite("Runtime contract", .serialized)
struct RuntimeContractTests {
    static let dockerSocket = ProcessInfoLite.environment("GANTRY_DOCKER_SOCKET") ?? "/run/gantry-podman/docker.sock"
    static let image = "gantry/busybox:latest"

    static func definition(
        _ command: [String],
        image: String = "sim/ok",
        check: [String]? = nil,
        environment: [String: String] = [:],
        secrets: [String] = []
    ) -> TaskDefinitionSpec {
        var container = ContainerDefinition(name: "main", image: image)
        container.command = command
        if let check {
            container.healthCheck = ContainerDefinition.HealthCheck(command: check, interval: 1, retries: 1)
        }
        if !environment.isEmpty {
            container.environment = environment.sorted { $0.key < $1.key }.map {
                ContainerDefinition.KeyValuePair(name: $0.key, value: $0.value)
            }
        }
        if !secrets.isEmpty {
            container.secrets = secrets.map { ContainerDefinition.Secret(name: $0, valueFrom: "app/\($0)") }
        }
        return TaskDefinitionSpec(family: "t", containerDefinitions: [container])
    }

    static func temporaryDirectory() -> String {
        var template = Array("/tmp/gantry-agent-test-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// A fresh runtime of the kind named, adopted to a fresh instance id (as the agent does after registering).
    static func runtime(
        _ name: String,
        directory: String? = nil,
        instance: String? = nil
    ) throws -> any ContainerRuntime {
        let runtime: any ContainerRuntime
        switch name {
        case "docker":
            do throws(RuntimeError) {
                try DockerAPI(socket: dockerSocket).ping()
            } catch {
                Issue.record("no Docker Engine API on \(dockerSocket): \(error); run deploy/podman-service start")
                throw error
            }
            runtime = DockerRuntime(socket: dockerSocket, clock: Agent.milliseconds)
        case "exec": runtime = ExecRuntime(logDirectory: directory ?? temporaryDirectory(), clock: Agent.milliseconds)
        default: runtime = SimRuntime(clock: Agent.milliseconds)
        }
        _ = try runtime.adopt(instance: instance ?? "test-\(getpid())-\(Agent.milliseconds())")
        return runtime
    }

    /// Polls until `condition` holds on the task's state (at most 20 s).
    static func await(_ runtime: any ContainerRuntime, _ task: String, _ condition: (LocalContainer?) -> Bool) -> Bool {
        for _ in 0..<400 {
            if condition(runtime.poll()[task]) { return true }
            usleep(50_000)
        }
        return false
    }

    static func exited(_ state: LocalContainer?) -> Bool {
        if case .exited = state?.state { return true } else { return false }
    }

    /// A container that runs until stopped, exiting 0 on SIGTERM (also as PID 1 in a container).
    static let runs = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]

    @Test("start, run, stop, exit and forget", arguments: ["docker", "exec", "sim"])
    func lifecycle(runtimeName: String) throws {
        let runtime = try Self.runtime(runtimeName)
        let image = runtimeName == "sim" ? "sim/ok" : Self.image
        try runtime.start(assignment("t1"), Self.definition(Self.runs, image: image), secrets: [:])
        #expect(Self.await(runtime, "t1") { $0?.state == .running && $0?.epoch == 1 })
        runtime.stop("t1", timeoutSeconds: 5)
        #expect(Self.await(runtime, "t1") { Self.exited($0) })
        runtime.remove("t1")
        #expect(runtime.poll()["t1"] == nil)
    }

    @Test("a container's own exit code is reported", arguments: ["docker", "exec"])
    func exitCode(runtimeName: String) throws {
        let runtime = try Self.runtime(runtimeName)
        try runtime.start(assignment("e"), Self.definition(["sh", "-c", "exit 3"], image: Self.image), secrets: [:])
        #expect(Self.await(runtime, "e") { $0?.state == .exited(code: 3) })
        runtime.remove("e")
    }

    @Test("SIGKILL after the stop timeout when SIGTERM is ignored", arguments: ["docker", "exec"])
    func stopTimeout(runtimeName: String) throws {
        let runtime = try Self.runtime(runtimeName)
        let stubborn = ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"]
        try runtime.start(assignment("k"), Self.definition(stubborn, image: Self.image), secrets: [:])
        #expect(Self.await(runtime, "k") { $0?.state == .running })
        // Only once the trap is set (it said so) does ignoring SIGTERM hold.
        var ready = false
        for _ in 0..<200 where !ready {
            ready =
                (try? runtime.logs.read(task: "k", container: "main", offset: 0, limit: 100))??.text.contains("ready")
                == true
            if !ready { usleep(50_000) }
        }
        #expect(ready, "the container set its trap")
        let asked = Agent.milliseconds()
        runtime.stop("k", timeoutSeconds: 1)
        #expect(Self.await(runtime, "k") { Self.exited($0) })
        let took = Agent.milliseconds() - asked
        #expect(took >= 900, "stopped after \(took) ms, before the 1 s timeout")
        runtime.remove("k")
    }

    @Test(
        "environment and secrets reach the container; its output is readable from an offset",
        arguments: ["docker", "exec"]
    )
    func environmentAndLogs(runtimeName: String) throws {
        let runtime = try Self.runtime(runtimeName)
        let definition = Self.definition(
            ["sh", "-c", "echo plain=$PLAIN secret=$TOKEN; echo to-stderr >&2; exit 0"],
            image: Self.image,
            environment: ["PLAIN": "one"],
            secrets: ["TOKEN"]
        )
        try runtime.start(
            assignment("l"),
            definition,
            secrets: ["main": [ContainerDefinition.KeyValuePair(name: "TOKEN", value: "s3cr3t")]]
        )
        #expect(Self.await(runtime, "l") { $0?.state == .exited(code: 0) })
        let chunk = try #require(try runtime.logs.read(task: "l", container: "main", offset: 0, limit: 1 << 20))
        #expect(chunk.text.contains("plain=one secret=s3cr3t"), "output: \(chunk.text)")
        #expect(chunk.text.contains("to-stderr"))
        #expect(!chunk.running)
        let rest = try #require(try runtime.logs.read(task: "l", container: "main", offset: 6, limit: 3))
        #expect(rest.text == "one" && rest.offset == 9)
        #expect(try runtime.logs.read(task: "l", container: "other", offset: 0, limit: 10) == nil)
        runtime.remove("l")
    }

    @Test("health checks: CMD-SHELL passing is HEALTHY, CMD failing is UNHEALTHY", arguments: ["docker", "exec"])
    func healthChecks(runtimeName: String) throws {
        let runtime = try Self.runtime(runtimeName)
        try runtime.start(
            assignment("h"),
            Self.definition(Self.runs, image: Self.image, check: ["CMD-SHELL", "test 1 -eq 1"]),
            secrets: [:]
        )
        try runtime.start(
            assignment("u"),
            Self.definition(Self.runs, image: Self.image, check: ["CMD", "false"]),
            secrets: [:]
        )
        #expect(Self.await(runtime, "h") { $0?.health == "HEALTHY" })
        #expect(Self.await(runtime, "u") { $0?.health == "UNHEALTHY" })
        for task in ["h", "u"] {
            runtime.stop(task, timeoutSeconds: 2)
            _ = Self.await(runtime, task) { Self.exited($0) }
            runtime.remove(task)
        }
    }

    @Test("a task that cannot start fails with a reason", arguments: ["docker", "exec"])
    func failedStart(runtimeName: String) throws {
        let runtime = try Self.runtime(runtimeName)
        var definition = Self.definition(["true"], image: "gantry/no-such-image:0")
        if runtimeName == "exec" { definition.containerDefinitions[0].command = ["/no/such/program"] }
        do {
            try runtime.start(assignment("f"), definition, secrets: [:])
            // Asynchronous runtimes report the failure as an exit with a reason.
            #expect(Self.await(runtime, "f") { Self.exited($0) && $0?.reason != nil })
            #expect(runtime.poll()["f"]?.reason?.contains("no-such-image") == true)
            runtime.remove("f")
        } catch {
            #expect(error.description.contains("no/such/program"))
        }
    }

    @Test("a restarted agent adopts what the earlier run left running, and can stop it", arguments: ["docker", "exec"])
    func adopt(runtimeName: String) throws {
        let directory = Self.temporaryDirectory()
        let instance = "adopt-\(getpid())-\(Agent.milliseconds())"
        let task = "0123456789abcdef0123456789abcdef"
        let first = try Self.runtime(runtimeName, directory: directory, instance: instance)
        try first.start(assignment(task, epoch: 4), Self.definition(Self.runs, image: Self.image), secrets: [:])
        #expect(Self.await(first, task) { $0?.state == .running })
        // A new run of the agent, same instance (the first one's entries are simply not consulted).
        let second = try Self.runtime(runtimeName, directory: directory, instance: instance)
        #expect(try second.adopt(instance: instance) == [task])
        #expect(Self.await(second, task) { $0 == LocalContainer(task: task, epoch: 4, state: .running) })
        second.stop(task, timeoutSeconds: 5)
        #expect(Self.await(second, task) { Self.exited($0) })
        second.remove(task)
        _ = first.poll()
    }

    @Test("docker: with no engine answering, adoption fails rather than reporting an empty host")
    func adoptWithoutEngine() {
        let runtime = DockerRuntime(socket: "/nonexistent/docker.sock", clock: Agent.milliseconds)
        #expect(throws: RuntimeError.self) { try runtime.adopt(instance: "i") }
    }

    @Test("sim: scripted failures")
    func simSpecifics() throws {
        let runtime = SimRuntime(clock: Agent.milliseconds)
        try runtime.start(assignment("f"), Self.definition([], image: "sim/failstart"), secrets: [:])
        #expect(runtime.poll()["f"]?.state == .exited(code: 1))
        try runtime.start(
            assignment("u"),
            Self.definition([], image: "sim/unhealthy", check: ["CMD", "x"]),
            secrets: [:]
        )
        #expect(runtime.poll()["u"]?.health == "UNHEALTHY")
        let log = try #require(try runtime.logs.read(task: "f", container: "main", offset: 0, limit: 1_000))
        #expect(log.text.contains("sim/failstart") && log.text.contains("exited with code 1") && !log.running)
    }
}

/// The environment without Foundation.
enum ProcessInfoLite {
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
