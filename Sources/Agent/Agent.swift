import ClusterState
import Dispatch
import Glibc
import HTTP
import Synchronization

/// The agent's settings.
package struct AgentConfiguration: Sendable {
    /// Controllers' API addresses, tried in turn (any controller works: followers forward).
    package var controllers: [String] = []
    /// The join token (role `agent`; an operator token works too), used to register; afterwards the agent uses
    /// the per-agent credential the registration returned, kept in the state directory.
    package var token: String?
    /// Where the agent serves its containers' logs to the controllers (`host:port`), or nil for no log server.
    package var listen: String?
    /// The address the controllers should call for logs, when it differs from `listen` (a wildcard bind, NAT).
    package var advertise: String?
    /// Host ports the host itself holds, not to be given to tasks.
    package var reservedPorts: [Int] = []
    /// The cluster to join.
    package var cluster = "default"
    /// Where the agent keeps its instance id and container logs.
    package var stateDirectory = ""
    /// `docker`, `exec` or `sim`.
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
    /// The credential the registration returned (nil while registering, or for an agent registered with an
    /// operator token by an older controller).
    var credential: String?
    /// Each assigned task's container names, for the log server's default container.
    let containerNames = Locked<[String: [String]]>([:])
    var logServer: HTTPServer?
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
        let credentialPath = "\(configuration.stateDirectory)/credential"
        if let saved = Self.readFile(path), saved.utf8.count == 32 {
            credential = Self.readFile(credentialPath)
            log("re-attaching to container instance \(saved)")
            return saved
        }
        struct Registration: Encodable {
            var hostname: String
            var cpu: Int
            var memory: Int
            var reservedPorts: [Int]
            var agentVersion = "gantry-agent-0.2"
            var availabilityZone: String?
            var agentAddress: String?
        }
        let body = Self.encoded(
            Registration(
                hostname: configuration.hostname,
                cpu: configuration.cpu,
                memory: configuration.memory,
                reservedPorts: configuration.reservedPorts,
                availabilityZone: configuration.availabilityZone,
                agentAddress: configuration.advertise ?? configuration.listen
            )
        )
        for _ in 0..<(configuration.controllers.count * 20) {
            if let (status, bytes, _) = call("POST", "/v1/clusters/\(configuration.cluster)/container-instances", body)
            {
                struct Answer: Decodable {
                    var containerInstance: ContainerInstance
                    var agentCredential: String?
                }
                if status == 200, let answer = try? CanonicalJSON.decode(Answer.self, from: bytes) {
                    let id = answer.containerInstance.id
                    if let secret = answer.agentCredential {
                        // Readable by the agent's user only; written before the id, so an id on disk always has
                        // its credential beside it.
                        guard Self.writeFile(credentialPath, secret, mode: 0o600) else {
                            throw RuntimeError("cannot write \(credentialPath)")
                        }
                        credential = secret
                    }
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
        // Until the runtime can say what this host runs, the agent neither starts nor reports anything: a task
        // it cannot see would otherwise be reported gone.
        var adopted: [String]?
        while adopted == nil {
            do throws(RuntimeError) {
                adopted = try runtime.adopt(instance: id)
            } catch {
                log("cannot list this host's containers yet (\(error)); retrying")
                if shouldStop() { return }
                usleep(1_000_000)
            }
        }
        if let adopted, !adopted.isEmpty {
            log("adopted \(adopted.count) tasks an earlier run left on \(runtime.name): \(adopted)")
        }
        try startLogServer()
        defer { logServer?.stop() }
        while !shouldStop() {
            step(id)
        }
        log("stopping; containers keep running: a restarted agent adopts them")
    }

    /// Serves `GET /v1/tasks/{task}/logs?container=&offset=&limit=` on `listen` for the controllers, who present
    /// this agent's credential. Reads happen on a background queue, never on the agent's loop.
    func startLogServer() throws(RuntimeError) {
        guard let listen = configuration.listen else { return }
        guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]) else {
            throw RuntimeError("--listen \(listen): expected host:port")
        }
        let host = String(listen[..<colon])
        let reader = runtime.logs
        let secret = credential.map { Array("Bearer \($0)".utf8) }
        let names = containerNames
        let server = HTTPServer(host: host == "localhost" ? "127.0.0.1" : host, port: port, limits: HTTPParser.Limits())
        {
            request,
            responder in
            DispatchQueue.global().async {
                responder.respond(Self.serveLogs(request, reader: reader, secret: secret, names: names))
            }
        }
        do {
            _ = try server.start()
        } catch {
            throw RuntimeError("cannot serve logs on \(listen): \(error)")
        }
        logServer = server
        log("serving container logs on \(listen)")
    }

    /// One log request: authorized by the agent's credential, answered with a `LogChunk` or a JSON error.
    static func serveLogs(
        _ request: HTTPRequest,
        reader: any LogReader,
        secret: [UInt8]?,
        names: Locked<[String: [String]]>
    ) -> HTTPResponse {
        func answer(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
            HTTPResponse(
                status: status,
                headers: [HTTPHeader(name: "Content-Type", value: "application/json")],
                body: body
            )
        }
        func failure(_ status: Int, _ code: String, _ message: String) -> HTTPResponse {
            answer(status, CanonicalJSON.encode(["error": ["code": code, "message": message]]))
        }
        guard let secret else {
            return failure(403, "forbidden", "this agent has no credential to check callers against")
        }
        guard let presented = request.header("Authorization"), Self.constantTimeEquals(Array(presented.utf8), secret)
        else { return failure(401, "unauthorized", "the agent's logs need its credential as a bearer token") }
        let parts = request.target.split(separator: "?", maxSplits: 1)
        let path = parts[0].split(separator: "/")
        guard request.method == "GET", path.count == 4, path[0] == "v1", path[1] == "tasks", path[3] == "logs" else {
            return failure(404, "not_found", "the agent serves only GET /v1/tasks/{task}/logs")
        }
        let task = String(path[2])
        var query: [String: String] = [:]
        for pair in (parts.count > 1 ? parts[1] : "").split(separator: "&") {
            let field = pair.split(separator: "=", maxSplits: 1)
            query[String(field[0])] = field.count > 1 ? String(field[1]) : ""
        }
        guard let offset = Int(query["offset"] ?? "0"), offset >= 0 else {
            return failure(400, "invalid_request", "offset must be a non-negative integer")
        }
        guard let limit = Int(query["limit"] ?? "1048576"), (1...16_777_216).contains(limit) else {
            return failure(400, "invalid_request", "limit must be 1 to 16777216")
        }
        guard let container = query["container"] ?? names.withLock({ $0[task]?.first }) else {
            return failure(404, "not_found", "task \(task) is not on this agent")
        }
        do throws(RuntimeError) {
            guard let chunk = try reader.read(task: task, container: container, offset: offset, limit: limit) else {
                return failure(404, "not_found", "task \(task) has no container \(container) on this agent")
            }
            return answer(200, CanonicalJSON.encode(chunk))
        } catch {
            return failure(502, "runtime_error", error.description)
        }
    }

    /// Whether `a` equals `b`, in time that depends only on their lengths.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for position in 0..<max(a.count, b.count) {
            difference |= (position < a.count ? a[position] : 0) ^ (position < b.count ? b[position] : 0)
        }
        return difference == 0
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
                let names = Dictionary(
                    assignments.map { ($0.id, $0.containers.sorted { $0.essential && !$1.essential }.map(\.name)) },
                    uniquingKeysWith: { first, _ in first }
                )
                containerNames.withLock { $0 = names }
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
                    // nil: the controllers could not be asked this round; try again next round.
                    guard let secrets = try secrets(task, definition, instance: id) else { continue }
                    try runtime.start(task, definition, secrets: secrets)
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

    /// The task's secrets, resolved by the controllers from the parameter store (never logged); nil when no
    /// controller answered, an error when they refused (a missing parameter: the task fails to start).
    func secrets(
        _ task: TaskRecord,
        _ definition: TaskDefinitionSpec,
        instance: String
    ) throws(RuntimeError)
        -> TaskSecrets?
    {
        guard definition.containerDefinitions.contains(where: { !($0.secrets ?? []).isEmpty }) else { return [:] }
        let target = "/v1/clusters/\(configuration.cluster)/container-instances/\(instance)/tasks/\(task.id)/secrets"
        guard let (status, bytes, _) = call("GET", target, nil) else { return nil }
        struct Answer: Decodable { var secrets: TaskSecrets }
        if status == 200, let answer = try? CanonicalJSON.decode(Answer.self, from: bytes) { return answer.secrets }
        if (400..<500).contains(status) {
            struct Failure: Decodable {
                struct Detail: Decodable { var message: String }
                var error: Detail
            }
            let message = (try? CanonicalJSON.decode(Failure.self, from: bytes))?.error.message ?? "status \(status)"
            throw RuntimeError("secrets could not be resolved: \(message)")
        }
        return nil
    }

    /// One request to the current controller; on a connection failure or a 503 the next controller is tried once.
    func call(_ method: String, _ target: String, _ body: String?) -> (Int, [UInt8], UInt64?)? {
        var headers: [HTTPHeader] = []
        if let token = credential ?? configuration.token {
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

    static func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) -> Bool {
        let temporary = path + ".tmp"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0, let file = fdopen(descriptor, "w") else { return false }
        let bytes = Array((text + "\n").utf8)
        let written = fwrite(bytes, 1, bytes.count, file)
        fflush(file)
        fsync(fileno(file))
        fclose(file)
        return written == bytes.count && rename(temporary, path) == 0
    }
}
