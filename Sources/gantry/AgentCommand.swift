import Agent
import Dispatch
import Glibc
import Synchronization

let agentUsage = """
    Usage: gantry agent --controllers HOST:PORT[,...] --cluster NAME --state-dir DIR [options]

    Registers this host as a container instance of NAME (once: the instance id and the agent's own credential are
    kept in DIR, so a restart re-attaches to the same instance), heartbeats to the leader, runs the tasks assigned
    to it and reports their states. Any controller works (followers forward); on failure the next one in the list
    is tried. With no controller reachable, running tasks keep running.

      --controllers LIST   controllers' API addresses, comma-separated
      --token TOKEN        join token (role agent) or operator token, for the registration (or GANTRY_TOKEN);
                           afterwards the agent acts with the credential the registration returned
      --cluster NAME       the cluster to join (it must exist)
      --state-dir DIR      instance id, credential and (exec) container logs (created if missing)
      --runtime NAME       docker: containers through the Docker Engine API (Docker, or podman system service);
                           exec (default): plain processes — entryPoint + command on this host, NO isolation,
                           for development and tests; sim: scripted containers (image sim/ok, sim/slow,
                           sim/crash, sim/failstart, sim/unhealthy)
      --docker-socket P    the engine's unix socket (default GANTRY_DOCKER_SOCKET or /var/run/docker.sock)
      --listen HOST:PORT   serve container logs to the controllers here (gantry task logs); default: no logs
      --advertise H:PORT   the address the controllers call for logs, if not --listen's (e.g. with a 0.0.0.0
                           bind); an IPv4 address
      --hostname NAME      registered hostname (default: this host's name)
      --cpu N              CPU units offered, 1024 per core (default: this host's cores × 1024; sim: 1024)
      --memory N           memory offered in MiB (default: this host's memory less 256; sim: 1024)
      --zone NAME          ecs.availability-zone attribute
      --heartbeat-ms N     between heartbeats (default 2000)
      --sim-instances N    with --runtime sim: N simulated instances in this process, each its own agent
                           (hostname NAME-sim-I, state in DIR/sim-I), for scale and chaos tests (1 to 5000)

    Host ports that something on this host already listens on (TCP) are registered as reserved, so no task is
    placed on them. Stops cleanly on SIGTERM or SIGINT (its containers keep running).
    """

func runAgent(_ words: [String]) throws(CommandError) {
    if words.contains("--help") || words.contains("-h") {
        print(agentUsage)
        return
    }
    let arguments = try Arguments(
        words,
        valued: [
            "controllers", "token", "cluster", "state-dir", "runtime", "hostname", "cpu", "memory", "zone",
            "heartbeat-ms", "docker-socket", "listen", "advertise", "sim-instances",
        ],
        booleans: []
    )
    guard arguments.positional.isEmpty else {
        throw CommandError("gantry agent takes no positional arguments (got '\(arguments.positional[0])')")
    }
    var configuration = AgentConfiguration()
    guard let controllers = arguments["controllers"] else {
        throw CommandError("gantry agent: --controllers is required")
    }
    configuration.controllers = controllers.split(separator: ",").map(String.init)
    guard let cluster = arguments["cluster"] else { throw CommandError("gantry agent: --cluster is required") }
    configuration.cluster = cluster
    guard let directory = arguments["state-dir"] else { throw CommandError("gantry agent: --state-dir is required") }
    configuration.stateDirectory = directory
    configuration.token = arguments["token"] ?? environment("GANTRY_TOKEN")
    configuration.runtime = arguments["runtime"] ?? "exec"
    guard ["docker", "exec", "sim"].contains(configuration.runtime) else {
        throw CommandError("gantry agent: --runtime must be docker, exec or sim")
    }
    let simulated = configuration.runtime == "sim"
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, 255)
    configuration.hostname =
        arguments["hostname"] ?? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    configuration.cpu = simulated ? 1_024 : HostFacts.cpuUnits()
    configuration.memory = simulated ? 1_024 : HostFacts.memoryMiB()
    if let value = try arguments.integer("cpu") {
        guard (1...1_048_576).contains(value) else { throw CommandError("gantry agent: --cpu must be 1 to 1048576") }
        configuration.cpu = value
    }
    if let value = try arguments.integer("memory") {
        guard (6...16_777_216).contains(value) else {
            throw CommandError("gantry agent: --memory must be 6 to 16777216")
        }
        configuration.memory = value
    }
    configuration.availabilityZone = arguments["zone"]
    if let value = try arguments.integer("heartbeat-ms") {
        guard (100...60_000).contains(value) else {
            throw CommandError("gantry agent: --heartbeat-ms must be 100 to 60000")
        }
        configuration.heartbeatMilliseconds = value
    }
    if let listen = arguments["listen"] {
        guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]),
            port > 0, !listen[..<colon].isEmpty
        else { throw CommandError("gantry agent: --listen must be HOST:PORT with a port 1-65535") }
        configuration.listen = listen
    }
    if let advertise = arguments["advertise"] {
        guard configuration.listen != nil else { throw CommandError("gantry agent: --advertise needs --listen") }
        guard let colon = advertise.lastIndex(of: ":"), let port = UInt16(advertise[advertise.index(after: colon)...]),
            port > 0, !advertise[..<colon].isEmpty
        else { throw CommandError("gantry agent: --advertise must be HOST:PORT with a port 1-65535") }
        configuration.advertise = advertise
    }
    var instances = 1
    if let value = try arguments.integer("sim-instances") {
        guard simulated else { throw CommandError("gantry agent: --sim-instances needs --runtime sim") }
        guard (1...5_000).contains(value) else {
            throw CommandError("gantry agent: --sim-instances must be 1 to 5000")
        }
        instances = value
    }
    let socket = arguments["docker-socket"] ?? environment("GANTRY_DOCKER_SOCKET") ?? "/var/run/docker.sock"
    mkdir(directory, 0o755)
    var status = stat()
    guard stat(directory, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
        throw CommandError("gantry agent: --state-dir \(directory) is not a directory", exitCode: 1)
    }
    if configuration.runtime == "docker" {
        do throws(RuntimeError) {
            try DockerAPI(socket: socket).ping()
        } catch {
            throw CommandError(
                "gantry agent: no Docker Engine API answers on \(socket) (\(error)); start Docker, or "
                    + "deploy/podman-service start, or pass --docker-socket",
                exitCode: 1
            )
        }
    }
    if !simulated { configuration.reservedPorts = HostFacts.listeningPorts() }
    signal(SIGPIPE, SIG_IGN)
    // The agents are threads that look for a pending stop signal each round: block the signals in every thread.
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGTERM)
    sigaddset(&signals, SIGINT)
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    let stopSignals = signals
    let log: @Sendable (String) -> Void = { line in printError("gantry[agent] \(line)") }
    if instances > 1 {
        try runSimulatedInstances(configuration, count: instances, stopSignals: stopSignals, log: log)
        return
    }
    let runtime: any ContainerRuntime
    switch configuration.runtime {
    case "sim": runtime = SimRuntime(clock: Agent.milliseconds, record: simRecorder(hostname: configuration.hostname))
    case "docker": runtime = DockerRuntime(socket: socket, clock: Agent.milliseconds)
    default: runtime = ExecRuntime(logDirectory: "\(directory)/logs", clock: Agent.milliseconds)
    }
    let agent = Agent(configuration, runtime: runtime, log: log)
    do throws(RuntimeError) {
        try agent.run {
            var pending = stopSignals
            var zero = timespec()
            return sigtimedwait(&pending, nil, &zero) > 0
        }
    } catch {
        throw CommandError("gantry agent: \(error)", exitCode: 1)
    }
}

/// `--sim-instances N`: N agents, one thread each, each with its own simulated runtime and state directory; the
/// main thread waits for SIGTERM/SIGINT and then stops them all.
func runSimulatedInstances(
    _ configuration: AgentConfiguration,
    count: Int,
    stopSignals: sigset_t,
    log: @escaping @Sendable (String) -> Void
) throws(CommandError) {
    let stopping = Atomic<Bool>(false)
    let failures = Mutex<[String]>([])
    let finished = DispatchGroup()
    for number in 1...count {
        var own = configuration
        own.stateDirectory = "\(configuration.stateDirectory)/sim-\(number)"
        own.hostname = "\(configuration.hostname)-sim-\(number)"
        own.listen = nil
        mkdir(own.stateDirectory, 0o755)
        let settings = own
        finished.enter()
        startThread {
            defer { finished.leave() }
            let runtime = SimRuntime(clock: Agent.milliseconds, record: simRecorder(hostname: settings.hostname))
            let agent = Agent(settings, runtime: runtime) { line in
                log("sim-\(number): \(line)")
            }
            do throws(RuntimeError) {
                try agent.run { stopping.load(ordering: .relaxed) }
            } catch {
                failures.withLock { $0.append("sim-\(number): \(error)") }
            }
        }
    }
    log("running \(count) simulated instances")
    var pending = stopSignals
    while finished.wait(timeout: .now()) == .timedOut {
        var tick = timespec(tv_sec: 0, tv_nsec: 200_000_000)
        if sigtimedwait(&pending, nil, &tick) > 0 {
            stopping.store(true, ordering: .relaxed)
            break
        }
        pending = stopSignals
    }
    finished.wait()
    let failed = failures.withLock { $0 }
    if !failed.isEmpty {
        throw CommandError(
            "gantry agent: \(failed.count) of \(count) simulated instances failed: \(failed[0])",
            exitCode: 1
        )
    }
}

/// Runs `body` on a new detached thread with a 512 KiB stack (GCD's pool is for work that does not block).
func startThread(_ body: @escaping @Sendable () -> Void) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, 512 * 1024)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread,
        &attributes,
        { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        },
        box
    )
    precondition(result == 0, "pthread_create failed: \(result)")
}

/// What this host offers, read from the system.
enum HostFacts {
    /// Online CPUs × 1024.
    static func cpuUnits() -> Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) * 1_024
    }

    /// MemTotal in MiB, less 256 MiB for the system and the agent (at least 6).
    static func memoryMiB() -> Int {
        guard let text = readText("/proc/meminfo") else { return 1_024 }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return max(6, min(16_777_216, kib / 1_024 - 256)) }
        }
        return 1_024
    }

    /// TCP ports something on this host listens on (from /proc/net/tcp and tcp6), sorted.
    static func listeningPorts() -> [Int] {
        var ports = Set<Int>()
        for path in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = readText(path) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // sl local_address rem_address st …: state 0A is LISTEN; the port is the hex after the colon.
                guard fields.count > 3, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                    let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16), port > 0
                else { continue }
                ports.insert(port)
            }
        }
        return ports.sorted()
    }

    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// With `GANTRY_SIM_RECORD=PATH` (the chaos suite sets it), each simulated container's start and end as a line of
/// PATH: `start|stop <CLOCK_MONOTONIC ns> <hostname> <task> <epoch>`, one write per line (O_APPEND), so that the
/// instances of one process, and several processes, share the file.
func simRecorder(hostname: String) -> ((String, String, Int) -> Void)? {
    guard let raw = getenv("GANTRY_SIM_RECORD") else { return nil }
    let descriptor = open(String(cString: raw), O_WRONLY | O_CREAT | O_APPEND, 0o644)
    guard descriptor >= 0 else { return nil }
    return { event, task, epoch in
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        let line = "\(event) \(nanoseconds) \(hostname) \(task) \(epoch)\n"
        _ = line.utf8CString.withUnsafeBufferPointer { write(descriptor, $0.baseAddress, $0.count - 1) }
    }
}
