import Agent
import Glibc

let agentUsage = """
    Usage: gantry agent --controllers HOST:PORT[,...] --cluster NAME --state-dir DIR [options]

    Registers this host as a container instance of NAME (once: the instance id is kept in DIR, so a restart
    re-attaches to the same instance), heartbeats to the leader, runs the tasks assigned to it and reports their
    states. Any controller works (followers forward); on failure the next one in the list is tried. With no
    controller reachable, running tasks keep running.

      --controllers LIST   controllers' API addresses, comma-separated
      --token TOKEN        API token (or GANTRY_TOKEN); an operator token until agent credentials (issue 8)
      --cluster NAME       the cluster to join (it must exist)
      --state-dir DIR      the instance id and container logs (created if missing)
      --runtime NAME       exec (default): plain processes — entryPoint + command on this host, NO isolation,
                           for development and tests; sim: scripted containers (image sim/ok, sim/slow,
                           sim/crash, sim/failstart, sim/unhealthy)
      --hostname NAME      registered hostname (default: this host's name)
      --cpu N              CPU units offered, 1024 per core (default 1024)
      --memory N           memory offered in MiB (default 1024)
      --zone NAME          ecs.availability-zone attribute
      --heartbeat-ms N     between heartbeats (default 2000)

    Stops cleanly on SIGTERM or SIGINT (its containers keep running).
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
            "heartbeat-ms",
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
    guard ["exec", "sim"].contains(configuration.runtime) else {
        throw CommandError("gantry agent: --runtime must be exec or sim (docker arrives with issue 8)")
    }
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, 255)
    configuration.hostname =
        arguments["hostname"] ?? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
    mkdir(directory, 0o755)
    var status = stat()
    guard stat(directory, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
        throw CommandError("gantry agent: --state-dir \(directory) is not a directory", exitCode: 1)
    }
    signal(SIGPIPE, SIG_IGN)
    // The agent is one thread: block the stop signals and look for a pending one each round.
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGTERM)
    sigaddset(&signals, SIGINT)
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    let stopSignals = signals
    let log: @Sendable (String) -> Void = { line in printError("gantry[agent] \(line)") }
    let runtime: any ContainerRuntime
    if configuration.runtime == "sim" {
        runtime = SimRuntime(clock: Agent.milliseconds)
    } else {
        let exec = ExecRuntime(logDirectory: "\(directory)/logs", clock: Agent.milliseconds)
        let adopted = exec.adopt()
        if !adopted.isEmpty { log("adopted \(adopted.count) running tasks left by an earlier run: \(adopted)") }
        runtime = exec
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
