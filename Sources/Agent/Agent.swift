import ClusterState
import Glibc
import HTTP

/// The agent's settings.
package struct AgentConfiguration: Sendable {
    /// Controllers' API addresses, tried in turn (any controller works: followers forward).
    package var controllers: [String] = []
    /// The API token.
    package var token: String?
    /// The cluster to join.
    package var cluster = "default"
    /// Where the agent keeps its instance id and container logs.
    package var stateDirectory = ""
    /// `exec` or `sim`.
    package var runtime = "exec"
    /// What to register.
    package var hostname = "localhost"
    /// CPU units offered (1024 per core).
    package var cpu = 1_024
    /// Memory offered, MiB.
    package var memory = 1_024
    /// `ecs.availability-zone`, if any.
    package var availabilityZone: String?
    /// Between heartbeats.
    package var heartbeatMilliseconds = 2_000

    /// Defaults.
    package init() {}
}

/// `gantry agent`: registers the host as a container instance (once: the id is kept in the state directory, so a
/// restart re-attaches), heartbeats to the leader, waits for its assignments with blocking reads on whichever
/// controller it talks to (rotating through the list when one fails), runs them through the runtime and reports
/// every change. With no controller reachable it keeps its containers running (static stability) and reconciles
/// when it is back. One thread does everything; the decisions are `AgentCore`'s.
package final class Agent {
    let configuration: AgentConfiguration
    let runtime: any ContainerRuntime
    var core = AgentCore()
    var current = 0
    var instanceID: String?
    var definitions: [String: TaskDefinitionSpec] = [:]
    var appliedIndex: UInt64 = 0
    var assignments: [TaskRecord] = []
    var reportedAt: [String: Int64] = [:]
    var failedStarts: [String: TaskStateReport] = [:]
    var nextHeartbeat: Int64 = 0
    let log: @Sendable (String) -> Void

    /// An agent using `runtime`, logging through `log`.
    package init(
        _ configuration: AgentConfiguration,
        runtime: any ContainerRuntime,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.configuration = configuration
        self.runtime = runtime
        self.log = log
    }

    /// The instance id, from the state directory or a new registration.
    package func register() throws(RuntimeError) -> String {
        let path = "\(configuration.stateDirectory)/instance-id"
        if let saved = Self.readFile(path), saved.utf8.count == 32 {
            log("re-attaching to container instance \(saved)")
            return saved
        }
        struct Registration: Encodable {
            var hostname: String
            var cpu: Int
            var memory: Int
            var agentVersion = "gantry-agent-0.1"
            var availabilityZone: String?
        }
        let body = Self.encoded(
            Registration(
                hostname: configuration.hostname,
                cpu: configuration.cpu,
                memory: configuration.memory,
                availabilityZone: configuration.availabilityZone
            )
        )
        for _ in 0..<(configuration.controllers.count * 20) {
            if let (status, bytes, _) = call("POST", "/v1/clusters/\(configuration.cluster)/container-instances", body)
            {
                struct Answer: Decodable { var containerInstance: ContainerInstance }
                if status == 200, let answer = try? CanonicalJSON.decode(Answer.self, from: bytes) {
                    let id = answer.containerInstance.id
                    guard Self.writeFile(path, id) else { throw RuntimeError("cannot write \(path)") }
                    log("registered as container instance \(id)")
                    return id
                }
                if (400..<500).contains(status) {
                    throw RuntimeError("registration refused (\(status)): \(String(decoding: bytes, as: UTF8.self))")
                }
            }
            usleep(500_000)
        }
        throw RuntimeError("no controller answered the registration")
    }

    /// Runs until `shouldStop` says so (asked once a round).
    package func run(until shouldStop: () -> Bool) throws(RuntimeError) {
        let id = try register()
        instanceID = id
        while !shouldStop() {
            step(id)
        }
        log("stopping; containers keep running: a restarted agent adopts them")
    }

    /// One round: heartbeat if due, wait up to a second for the assignments to change, act, report.
    func step(_ id: String) {
        let now = Self.milliseconds()
        if now >= nextHeartbeat {
            nextHeartbeat = now + Int64(configuration.heartbeatMilliseconds)
            _ = call("POST", "/v1/clusters/\(configuration.cluster)/container-instances/\(id)/heartbeat", "")
        }
        let target =
            "/v1/clusters/\(configuration.cluster)/container-instances/\(id)/tasks?consistency=stale"
            + "&index=\(appliedIndex + 1)&wait=1s"
        if let (status, bytes, index) = call("GET", target, nil) {
            struct Answer: Decodable { var tasks: [TaskRecord] }
            if status == 200, let answer = try? CanonicalJSON.decode(Answer.self, from: bytes) {
                assignments = answer.tasks
                if let index { appliedIndex = index }
            }
        } else {
            usleep(200_000)
        }
        var local = runtime.poll()
        for action in core.plan(assignments: assignments, local: local) {
            switch action {
            case .start(let task):
                guard let definition = definition(task.taskDefinitionArn) else { continue }
                do throws(RuntimeError) {
                    try runtime.start(task, definition)
                    log("started task \(task.id) (epoch \(task.epoch)) on \(runtime.name)")
                } catch {
                    log("task \(task.id) failed to start: \(error)")
                    failedStarts[task.id] = TaskStateReport(
                        task: task.id,
                        epoch: task.epoch,
                        status: "STOPPED",
                        exitCode: 1,
                        reason: String(error.description.utf8.prefix(255)) ?? "failed to start"
                    )
                }
            case .stop(let task):
                let timeout =
                    assignments.first { $0.id == task }.flatMap { definitionIfKnown($0.taskDefinitionArn) }?
                    .containerDefinitions.compactMap(\.stopTimeout).max() ?? 30
                runtime.stop(task, timeoutSeconds: timeout)
                log("stopping task \(task)")
            case .forget(let task):
                runtime.remove(task)
                reportedAt[task] = nil
            }
        }
        local = runtime.poll()
        var reports = core.reports(assignments: assignments, local: local)
        for task in assignments where failedStarts[task.id] != nil && local[task.id] == nil {
            reports.append(failedStarts[task.id]!)
        }
        failedStarts = failedStarts.filter { id, _ in assignments.contains { $0.id == id } }
        let due = reports.filter { now - (reportedAt[$0.task] ?? .min / 2) >= 1_000 }
        guard !due.isEmpty else { return }
        let body = Self.encoded(["reports": due])
        if let (status, _, _) = call(
            "POST",
            "/v1/clusters/\(configuration.cluster)/container-instances/\(id)/task-states",
            body
        ),
            status == 200
        {
            for report in due { reportedAt[report.task] = now }
        }
    }

    func definition(_ arn: String) -> TaskDefinitionSpec? {
        if let known = definitions[arn] { return known }
        let reference = String(arn.split(separator: "/").last ?? Substring(arn))
        guard let (status, bytes, _) = call("GET", "/v1/task-definitions/\(reference)?consistency=stale", nil),
            status == 200
        else { return nil }
        struct Answer: Decodable { var taskDefinition: TaskDefinitionSpec }
        guard let answer = try? CanonicalJSON.decode(Answer.self, from: bytes) else { return nil }
        definitions[arn] = answer.taskDefinition
        return answer.taskDefinition
    }

    func definitionIfKnown(_ arn: String) -> TaskDefinitionSpec? { definitions[arn] }

    /// One request to the current controller; on a connection failure or a 503 the next controller is tried once.
    func call(_ method: String, _ target: String, _ body: String?) -> (Int, [UInt8], UInt64?)? {
        var headers: [HTTPHeader] = []
        if let token = configuration.token {
            headers.append(HTTPHeader(name: "Authorization", value: "Bearer \(token)"))
        }
        if body != nil { headers.append(HTTPHeader(name: "Content-Type", value: "application/json")) }
        for _ in 0..<max(1, configuration.controllers.count) {
            let address = configuration.controllers[current % configuration.controllers.count]
            guard let client = try? HTTPClient(address: address, timeoutMilliseconds: 5_000) else {
                current += 1
                continue
            }
            defer { client.close() }
            guard
                let response = try? client.send(
                    method: method,
                    target: target,
                    headers: headers,
                    body: Array((body ?? "").utf8)
                ),
                response.status != 503
            else {
                current += 1
                continue
            }
            let index = response.headers.first { $0.name.lowercased() == "x-gantry-applied-index" }
                .flatMap { UInt64($0.value) }
            return (response.status, response.body, index)
        }
        return nil
    }

    /// A request body: the same canonical JSON the controllers read.
    static func encoded(_ value: some Encodable) -> String {
        String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
    }

    /// Monotonic milliseconds.
    package static func milliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }

    static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = fread(&buffer, 1, buffer.count, file)
        return String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\n").first.map(String.init)
    }

    static func writeFile(_ path: String, _ text: String) -> Bool {
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "w") else { return false }
        let bytes = Array((text + "\n").utf8)
        let written = fwrite(bytes, 1, bytes.count, file)
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        return written == bytes.count && rename(temporary, path) == 0
    }
}
