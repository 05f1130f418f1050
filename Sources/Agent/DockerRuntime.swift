package import ClusterState
import Dispatch
import Glibc
import Synchronization

/// Containers through the Docker Engine API on a unix socket (Docker, or `podman system service`).
///
/// Each container of a task is created as `gantry-<task>-<container>` with labels naming the instance, task,
/// epoch, container, whether it is essential and its health check, so a restarted agent adopts what it left by
/// listing its instance's label instead of starting duplicates. Start (pulling a missing image first), health
/// checks (an exec in the container, `CMD` or `CMD-SHELL`, every `interval` after `startPeriod`, `retries`
/// failures in a row making it UNHEALTHY, `timeout` bounding each) run on background threads, so the agent's loop
/// never waits on the engine for long; a round costs one list call, plus an inspect for each container that has
/// just exited. Stop is SIGTERM, then SIGKILL after the task definition's `stopTimeout` (what `docker stop` does,
/// without holding the loop for the timeout). Ports, environment, secrets, cpu shares, memory limits, working
/// directory, user, hostname, privileged, read-only root, network mode (`host`, `none`, else the engine's default
/// bridge) and `dockerLabels` come from the task definition; `dependsOn`, volumes and ulimits are not applied yet.
package final class DockerRuntime: ContainerRuntime {
    struct Container {
        var name: String
        var id: String
        var essential: Bool
        var check: ContainerDefinition.HealthCheck?
        var health: String?
        var failures = 0
        var nextCheck: Int64 = 0
        var checking = false
        var exitCode: Int?
    }

    struct Entry {
        var epoch: Int
        var containers: [Container]
        var starting = false
        var stopTimeout: Int?
        var stopDeadline: Int64?
        var exitCode: Int?
        var reason: String?
    }

    /// What background threads hand back to the loop.
    enum Delivery: Sendable {
        case started(task: String, containers: [(name: String, id: String)])
        case failedToStart(task: String, reason: String)
        case checked(task: String, container: String, passed: Bool)
    }

    package let name = "docker"
    let api: DockerAPI
    let clock: () -> Int64
    var instance = "unregistered"
    var entries: [String: Entry] = [:]
    let mailbox = Locked<[Delivery]>([])

    /// A runtime talking to the engine on `socket`, reading time from `clock` (monotonic milliseconds).
    package init(socket: String, clock: @escaping () -> Int64) {
        self.api = DockerAPI(socket: socket)
        self.clock = clock
    }

    package var logs: any LogReader { DockerLogReader(api: api, instance: instance) }

    /// The container's name in the engine.
    static func containerName(_ task: String, _ container: String) -> String { "gantry-\(task)-\(container)" }

    package func adopt(instance: String) throws(RuntimeError) -> [String] {
        self.instance = instance
        let listed = try list()
        for container in listed {
            let labels = container.labels
            guard let task = labels["gantry.task"], let epoch = labels["gantry.epoch"].flatMap({ Int($0) }),
                let name = labels["gantry.container"]
            else { continue }
            let check = labels["gantry.health-check"].flatMap {
                try? CanonicalJSON.decode(ContainerDefinition.HealthCheck.self, from: Array($0.utf8))
            }
            var entry = entries[task] ?? Entry(epoch: epoch, containers: [])
            entry.containers.append(
                Container(
                    name: name,
                    id: container.id,
                    essential: labels["gantry.essential"] == "true",
                    check: check,
                    health: check == nil ? nil : "UNKNOWN"
                )
            )
            entries[task] = entry
        }
        return entries.keys.sorted()
    }

    package func start(
        _ task: TaskRecord,
        _ definition: TaskDefinitionSpec,
        secrets: TaskSecrets
    ) throws(RuntimeError) {
        guard entries[task.id] == nil else { throw RuntimeError("task \(task.id) is already known to the runtime") }
        let containers = definition.containerDefinitions.map { container in
            Container(
                name: container.name,
                id: "",
                essential: container.isEssential,
                check: container.healthCheck,
                health: container.healthCheck == nil ? nil : "UNKNOWN"
            )
        }
        entries[task.id] = Entry(epoch: task.epoch, containers: containers, starting: true)
        let api = api
        let instance = instance
        let mailbox = mailbox
        DispatchQueue.global().async {
            let delivery: Delivery
            do throws(RuntimeError) {
                let started = try Self.create(api, instance: instance, task, definition, secrets: secrets)
                delivery = .started(task: task.id, containers: started)
            } catch {
                delivery = .failedToStart(task: task.id, reason: error.description)
            }
            mailbox.withLock { $0.append(delivery) }
        }
    }

    /// Creates and starts the task's containers in order (off the loop); on any failure removes the ones made.
    static func create(
        _ api: DockerAPI,
        instance: String,
        _ task: TaskRecord,
        _ definition: TaskDefinitionSpec,
        secrets: TaskSecrets
    ) throws(RuntimeError) -> [(name: String, id: String)] {
        var made: [(name: String, id: String)] = []
        do throws(RuntimeError) {
            for container in definition.containerDefinitions {
                let body = CreateBody(
                    task: task,
                    definition: definition,
                    container: container,
                    secrets: secrets[container.name] ?? [],
                    instance: instance
                )
                let id = try createOne(api, name: containerName(task.id, container.name), body: body)
                made.append((container.name, id))
                try api.expect([204, 304], "POST", "/containers/\(id)/start")
            }
            return made
        } catch {
            for container in made { _ = try? api.call("DELETE", "/containers/\(container.id)?force=1&v=1") }
            throw error
        }
    }

    /// Creates one container, pulling its image if the engine lacks it and replacing a leftover of the same name.
    static func createOne(_ api: DockerAPI, name: String, body: CreateBody) throws(RuntimeError) -> String {
        struct Created: Decodable {
            var id: String
            enum CodingKeys: String, CodingKey { case id = "Id" }
        }
        let path = "/containers/create?name=\(DockerAPI.query(name))"
        let json = CanonicalJSON.encode(body)
        var response = try api.call("POST", path, json: json)
        if response.status == 404 {
            // No such image: pull it (as long as a pull takes; this is not the agent's loop), then create again.
            let pull = try api.call(
                "POST",
                "/images/create?fromImage=\(DockerAPI.query(body.image))",
                timeoutMilliseconds: 600_000
            )
            guard pull.status == 200, !String(decoding: pull.body, as: UTF8.self).contains("\"error\"") else {
                throw RuntimeError(
                    "image \(body.image) is not on this host and could not be pulled: "
                        + DockerAPI.message(pull.body)
                )
            }
            response = try api.call("POST", path, json: json)
        } else if response.status == 409 {
            // A container of that name is left from an earlier attempt at this very task: replace it.
            _ = try api.call("DELETE", "/containers/\(DockerAPI.query(name))?force=1&v=1")
            response = try api.call("POST", path, json: json)
        }
        guard response.status == 201 || response.status == 200,
            let created = try? CanonicalJSON.decode(Created.self, from: response.body)
        else {
            throw RuntimeError("docker create \(name): \(response.status) \(DockerAPI.message(response.body))")
        }
        return created.id
    }

    package func stop(_ task: String, timeoutSeconds: Int) {
        guard var entry = entries[task], entry.exitCode == nil, entry.stopDeadline == nil, entry.stopTimeout == nil
        else { return }
        if entry.starting {
            // Signalled once its containers exist.
            entry.stopTimeout = timeoutSeconds
        } else {
            signal(entry, "SIGTERM")
            entry.stopDeadline = clock() + Int64(max(0, timeoutSeconds)) * 1_000
        }
        entries[task] = entry
    }

    /// Sends `name` to the entry's containers that have not exited.
    func signal(_ entry: Entry, _ name: String) {
        for container in entry.containers where container.exitCode == nil {
            _ = try? api.call("POST", "/containers/\(container.id)/kill?signal=\(name)")
        }
    }

    package func poll() -> [String: LocalContainer] {
        let now = clock()
        for delivery in mailbox.withLock({ deliveries in
            defer { deliveries.removeAll() }
            return deliveries
        }) {
            receive(delivery, now: now)
        }
        let needsList = entries.values.contains { !$0.starting && $0.containers.contains { $0.exitCode == nil } }
        let listed = needsList ? (try? list()) : nil
        var states: [String: LocalContainer] = [:]
        for id in entries.keys.sorted() {
            var entry = entries[id]!
            if let listed, !entry.starting {
                update(&entry, listed: listed)
            }
            if let deadline = entry.stopDeadline, now >= deadline, entry.exitCode == nil {
                signal(entry, "SIGKILL")
            }
            if entry.exitCode == nil, !entry.starting,
                let essential = entry.containers.first(where: { $0.essential && $0.exitCode != nil })
            {
                entry.exitCode = entry.stopDeadline == nil ? essential.exitCode : 0
                if entry.stopDeadline == nil {
                    // An essential container exited: the task is over; stop the rest.
                    signal(entry, "SIGTERM")
                    entry.stopDeadline = now + 10_000
                }
            }
            if entry.exitCode == nil, !entry.starting {
                for position in entry.containers.indices {
                    scheduleCheck(task: id, &entry.containers[position], now: now)
                }
            }
            entries[id] = entry
            let checked = entry.containers.compactMap(\.health)
            let health: String?
            if checked.isEmpty {
                health = nil
            } else if checked.contains("UNHEALTHY") {
                health = "UNHEALTHY"
            } else {
                health = checked.allSatisfy { $0 == "HEALTHY" } ? "HEALTHY" : "UNKNOWN"
            }
            let state: LocalContainer.State
            if let code = entry.exitCode {
                state = .exited(code: code)
            } else if entry.starting {
                state = .starting
            } else {
                state = entry.stopDeadline != nil ? .stopping : .running
            }
            states[id] = LocalContainer(
                task: id,
                epoch: entry.epoch,
                state: state,
                health: health,
                reason: entry.reason
            )
        }
        return states
    }

    /// Applies what a background thread finished.
    func receive(_ delivery: Delivery, now: Int64) {
        switch delivery {
        case .started(let task, let made):
            guard var entry = entries[task] else { return }
            entry.starting = false
            for (name, id) in made {
                guard let position = entry.containers.firstIndex(where: { $0.name == name }) else { continue }
                entry.containers[position].id = id
                let startPeriod = entry.containers[position].check?.startPeriod ?? 0
                entry.containers[position].nextCheck = now + Int64(startPeriod) * 1_000
            }
            if let timeout = entry.stopTimeout {
                signal(entry, "SIGTERM")
                entry.stopDeadline = now + Int64(max(0, timeout)) * 1_000
            }
            entries[task] = entry
        case .failedToStart(let task, let reason):
            guard var entry = entries[task] else { return }
            entry.starting = false
            entry.exitCode = 1
            for position in entry.containers.indices { entry.containers[position].exitCode = 1 }
            entry.reason = String(reason.utf8.prefix(255)) ?? "failed to start"
            entries[task] = entry
        case .checked(let task, let name, let passed):
            guard var entry = entries[task],
                let position = entry.containers.firstIndex(where: { $0.name == name })
            else { return }
            entry.containers[position].checking = false
            if let check = entry.containers[position].check, entry.containers[position].exitCode == nil {
                if passed {
                    entry.containers[position].failures = 0
                    entry.containers[position].health = "HEALTHY"
                } else {
                    entry.containers[position].failures += 1
                    if entry.containers[position].failures
                        >= (check.retries ?? ContainerDefinition.HealthCheck.defaultRetries)
                    {
                        entry.containers[position].health = "UNHEALTHY"
                    }
                }
            }
            entries[task] = entry
        }
    }

    /// Marks the entry's containers that the engine shows exited (reading their exit codes) or no longer has.
    func update(_ entry: inout Entry, listed: [Listed]) {
        for position in entry.containers.indices where entry.containers[position].exitCode == nil {
            let id = entry.containers[position].id
            guard let found = listed.first(where: { $0.id == id }) else {
                entry.containers[position].exitCode = -1
                entry.reason = entry.reason ?? "container \(entry.containers[position].name) was removed outside gantry"
                continue
            }
            guard !["running", "created", "configured", "restarting", "paused", "stopping"].contains(found.state)
            else { continue }
            struct Inspected: Decodable {
                struct State: Decodable {
                    var running: Bool
                    var exitCode: Int
                    enum CodingKeys: String, CodingKey {
                        case running = "Running"
                        case exitCode = "ExitCode"
                    }
                }
                var state: State
                enum CodingKeys: String, CodingKey { case state = "State" }
            }
            if let response = try? api.call("GET", "/containers/\(id)/json"), response.status == 200,
                let inspected = try? CanonicalJSON.decode(Inspected.self, from: response.body)
            {
                if !inspected.state.running { entry.containers[position].exitCode = inspected.state.exitCode }
            } else {
                entry.containers[position].exitCode = -1
            }
        }
    }

    /// Starts the container's next health check on a background thread when it is due.
    func scheduleCheck(task: String, _ container: inout Container, now: Int64) {
        guard let check = container.check, container.exitCode == nil, !container.checking, now >= container.nextCheck
        else { return }
        container.checking = true
        container.nextCheck = now + Int64(check.interval ?? ContainerDefinition.HealthCheck.defaultInterval) * 1_000
        let api = api
        let mailbox = mailbox
        let id = container.id
        let name = container.name
        DispatchQueue.global().async {
            let passed = Self.runCheck(api, container: id, check: check)
            mailbox.withLock { $0.append(.checked(task: task, container: name, passed: passed)) }
        }
    }

    /// Runs one health check in the container; true when it exits 0 within its timeout.
    static func runCheck(_ api: DockerAPI, container: String, check: ContainerDefinition.HealthCheck) -> Bool {
        var command = Array(check.command.dropFirst())
        if check.command.first == "CMD-SHELL" { command = ["/bin/sh", "-c", command.joined(separator: " ")] }
        guard !command.isEmpty else { return false }
        struct ExecBody: Encodable {
            var cmd: [String]
            var attachStdout = true
            var attachStderr = true
            enum CodingKeys: String, CodingKey {
                case cmd = "Cmd"
                case attachStdout = "AttachStdout"
                case attachStderr = "AttachStderr"
            }
        }
        struct Created: Decodable {
            var id: String
            enum CodingKeys: String, CodingKey { case id = "Id" }
        }
        struct Inspected: Decodable {
            var running: Bool
            var exitCode: Int?
            enum CodingKeys: String, CodingKey {
                case running = "Running"
                case exitCode = "ExitCode"
            }
        }
        let timeout = (check.timeout ?? ContainerDefinition.HealthCheck.defaultTimeout) * 1_000
        guard
            let created = try? api.expect(
                [201],
                "POST",
                "/containers/\(container)/exec",
                json: CanonicalJSON.encode(
                    ExecBody(cmd: command)
                )
            ),
            let exec = try? CanonicalJSON.decode(Created.self, from: created.body),
            // Attached: the call returns when the command exits (or the timeout ends the wait: a failure).
            (try? api.expect(
                [200],
                "POST",
                "/exec/\(exec.id)/start",
                json: Array(#"{"Detach":false,"Tty":false}"#.utf8),
                timeoutMilliseconds: max(1_000, timeout)
            )) != nil,
            let inspected = try? api.expect([200], "GET", "/exec/\(exec.id)/json"),
            let state = try? CanonicalJSON.decode(Inspected.self, from: inspected.body)
        else { return false }
        return !state.running && state.exitCode == 0
    }

    package func remove(_ task: String) {
        guard let entry = entries[task], !entry.starting else { return }
        for container in entry.containers {
            _ = try? api.call("DELETE", "/containers/\(container.id)?force=1&v=1")
        }
        entries[task] = nil
    }

    /// A container as the engine lists it.
    struct Listed: Decodable {
        var id: String
        var state: String
        var labels: [String: String]
        enum CodingKeys: String, CodingKey {
            case id = "Id"
            case state = "State"
            case labels = "Labels"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            state = (try? container.decode(String.self, forKey: .state)) ?? "unknown"
            labels = (try? container.decode([String: String].self, forKey: .labels)) ?? [:]
        }
    }

    /// This instance's containers, running or not.
    func list() throws(RuntimeError) -> [Listed] {
        let filter = #"{"label":["gantry.instance=\#(instance)"]}"#
        let response = try api.expect([200], "GET", "/containers/json?all=1&filters=\(DockerAPI.query(filter))")
        do {
            return try CanonicalJSON.decode([Listed].self, from: response.body)
        } catch {
            throw RuntimeError("docker list: \(error)")
        }
    }
}

/// The body of `POST /containers/create`.
struct CreateBody: Encodable {
    struct Binding: Encodable {
        var hostPort: String
        enum CodingKeys: String, CodingKey { case hostPort = "HostPort" }
    }
    struct Empty: Encodable {}
    struct HostConfig: Encodable {
        var portBindings: [String: [Binding]]?
        var memory: Int?
        var memoryReservation: Int?
        var cpuShares: Int?
        var privileged: Bool?
        var readonlyRootfs: Bool?
        var networkMode: String?
        enum CodingKeys: String, CodingKey {
            case portBindings = "PortBindings"
            case memory = "Memory"
            case memoryReservation = "MemoryReservation"
            case cpuShares = "CpuShares"
            case privileged = "Privileged"
            case readonlyRootfs = "ReadonlyRootfs"
            case networkMode = "NetworkMode"
        }
    }

    var image: String
    var entrypoint: [String]?
    var cmd: [String]?
    var env: [String]
    var labels: [String: String]
    var workingDir: String?
    var user: String?
    var hostname: String?
    var exposedPorts: [String: Empty]?
    var hostConfig: HostConfig

    enum CodingKeys: String, CodingKey {
        case image = "Image"
        case entrypoint = "Entrypoint"
        case cmd = "Cmd"
        case env = "Env"
        case labels = "Labels"
        case workingDir = "WorkingDir"
        case user = "User"
        case hostname = "Hostname"
        case exposedPorts = "ExposedPorts"
        case hostConfig = "HostConfig"
    }

    init(
        task: TaskRecord,
        definition: TaskDefinitionSpec,
        container: ContainerDefinition,
        secrets: [ContainerDefinition.KeyValuePair],
        instance: String
    ) {
        let override = task.overrides.containerOverrides?.first { $0.name == container.name }
        image = container.image
        entrypoint = container.entryPoint
        cmd = override?.command ?? container.command
        env = ((container.environment ?? []) + (override?.environment ?? []) + secrets).map { "\($0.name)=\($0.value)" }
        var labels = container.dockerLabels ?? [:]
        labels["gantry.instance"] = instance
        labels["gantry.task"] = task.id
        labels["gantry.epoch"] = String(task.epoch)
        labels["gantry.container"] = container.name
        labels["gantry.essential"] = container.isEssential ? "true" : "false"
        labels["gantry.task-definition"] = task.taskDefinitionArn
        if let check = container.healthCheck {
            labels["gantry.health-check"] = String(decoding: CanonicalJSON.encode(check), as: UTF8.self)
        }
        self.labels = labels
        workingDir = container.workingDirectory
        user = container.user
        let network = definition.networkMode ?? TaskDefinitionSpec.defaultNetworkMode
        hostname = network == "host" ? nil : container.hostname
        var exposed: [String: Empty] = [:]
        var bindings: [String: [Binding]] = [:]
        if network != "none" {
            for mapping in container.portMappings ?? [] {
                let key = "\(mapping.containerPort)/\(mapping.protocol ?? "tcp")"
                exposed[key] = Empty()
                if network != "host" {
                    // 0 or absent: the engine picks a free port.
                    let port = mapping.hostPort ?? 0
                    bindings[key, default: []].append(Binding(hostPort: port == 0 ? "" : String(port)))
                }
            }
        }
        exposedPorts = exposed.isEmpty ? nil : exposed
        let memoryLimit = container.memory ?? (container.memoryReservation == nil ? definition.memoryMiB : nil)
        hostConfig = HostConfig(
            portBindings: bindings.isEmpty ? nil : bindings,
            memory: memoryLimit.map { $0 * 1_048_576 },
            memoryReservation: container.memoryReservation.map { $0 * 1_048_576 },
            cpuShares: container.cpu.flatMap { $0 >= 2 ? $0 : nil },
            privileged: container.privileged,
            readonlyRootfs: container.readonlyRootFilesystem,
            networkMode: network == "host" || network == "none" ? network : nil
        )
    }
}

/// Container output through the engine's logs call (stdout and stderr, demultiplexed), sliced from a byte offset.
struct DockerLogReader: LogReader {
    let api: DockerAPI
    let instance: String

    func read(task: String, container: String, offset: Int, limit: Int) throws(RuntimeError) -> LogChunk? {
        let name = DockerAPI.query(DockerRuntime.containerName(task, container))
        let inspected = try api.call("GET", "/containers/\(name)/json")
        guard inspected.status == 200 else { return nil }
        struct Inspected: Decodable {
            struct State: Decodable {
                var running: Bool
                enum CodingKeys: String, CodingKey { case running = "Running" }
            }
            var state: State
            var config: Config
            struct Config: Decodable {
                var labels: [String: String]?
                enum CodingKeys: String, CodingKey { case labels = "Labels" }
            }
            enum CodingKeys: String, CodingKey {
                case state = "State"
                case config = "Config"
            }
        }
        guard let facts = try? CanonicalJSON.decode(Inspected.self, from: inspected.body),
            facts.config.labels?["gantry.instance"] == instance
        else { return nil }
        let response = try api.expect([200], "GET", "/containers/\(name)/logs?stdout=1&stderr=1")
        let output = DockerAPI.demultiplex(response.body)
        let start = min(max(0, offset), output.count)
        let end = min(output.count, start + limit)
        return LogChunk(
            task: task,
            container: container,
            text: String(decoding: output[start..<end], as: UTF8.self),
            offset: end,
            running: facts.state.running
        )
    }
}
