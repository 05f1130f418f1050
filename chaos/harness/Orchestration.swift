// The orchestrator workload: simulated agents (two `gantry agent --runtime sim` processes of 3 instances each) run
// the tasks of services that a client creates, scales, updates and deletes through the controllers. The agents
// record every simulated container's start and end with its epoch (GANTRY_SIM_RECORD); afterwards no task may have
// run twice at once under one epoch, and every service must reach its desired count within a deadline of healing.
import ChaosCheck
import FoundationEssentials
import Glibc
import HTTP
import Synchronization

final class Agents: @unchecked Sendable {
    static let joinToken = "chaos-agent-join-token-0001"
    static let processes = 2
    static let instancesPerProcess = 3

    let cluster: Cluster
    /// Guarded by `lock`: the agent processes' PIDs, and when each was killed (its containers died with it).
    let lock = Mutex(())
    var pids: [pid_t?] = Array(repeating: nil, count: Agents.processes)
    var kills: [(host: String, at: UInt64)] = []

    init(_ cluster: Cluster) { self.cluster = cluster }

    var record: String { "\(cluster.directory)/tasks.log" }

    func host(_ process: Int) -> String { "agent\(process + 1)" }

    func start(_ process: Int) {
        let topology = cluster.topology
        let controllers = (1...cluster.options.nodes).map { "\(topology.host($0)):\(topology.apiPort($0))" }
        let pid = spawn(
            topology.wrapAgent(
                process + 1,
                [
                    cluster.options.binary, "agent", "--controllers", controllers.joined(separator: ","), "--cluster",
                    "chaos", "--state-dir", "\(cluster.directory)/\(host(process))", "--runtime", "sim",
                    "--sim-instances", String(Agents.instancesPerProcess), "--hostname", host(process),
                    "--heartbeat-ms", "500",
                ]
            ),
            log: "\(cluster.directory)/\(host(process)).log",
            environment: [
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GANTRY_TOKEN=\(Agents.joinToken)", "GANTRY_SIM_RECORD=\(record)",
            ]
        )
        appendFile("\(cluster.options.output)/.pids-\(cluster.options.runID)", "\(pid)\n")
        lock.withLock { _ in pids[process] = pid }
    }

    /// kill -9 of one agent process: its instances go silent and their simulated containers die with it.
    func kill(_ process: Int) {
        guard let pid = lock.withLock({ _ in pids[process] }) else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        lock.withLock { _ in
            pids[process] = nil
            kills.append((host(process), nowNanoseconds()))
        }
    }

    func signal(_ process: Int, _ signal: Int32) {
        guard let pid = lock.withLock({ _ in pids[process] }) else { return }
        Glibc.kill(pid, signal)
    }

    func stopAll() {
        for process in 0..<Agents.processes {
            signal(process, SIGCONT)
            kill(process)
        }
    }

    /// The simulated containers' lives from the agents' record, each ended by its stop line or by the kill of its
    /// agent process, whichever came first.
    func runs() -> [TaskRun] {
        let killed = lock.withLock { _ in kills }
        var open: [String: TaskRun] = [:]
        var runs: [TaskRun] = []
        for line in (readText(record) ?? "").split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 5, let time = UInt64(words[1]), let epoch = UInt64(words[4]) else { continue }
            let host = String(words[2])
            let key = "\(host) \(words[3])"
            if words[0] == "start" {
                if var previous = open.removeValue(forKey: key) {
                    previous.stop = time
                    runs.append(previous)
                }
                open[key] = TaskRun(task: String(words[3]), epoch: epoch, host: host, start: time, stop: nil)
            } else if var run = open.removeValue(forKey: key) {
                run.stop = time
                runs.append(run)
            }
        }
        runs += open.values
        // A run that outlived its agent process's kill ended there.
        return runs.map { run in
            var run = run
            let process = run.host.split(separator: "-").first.map(String.init) ?? run.host
            if let kill = killed.filter({ $0.host == process && $0.at > run.start }).map(\.at).min(),
                run.stop.map({ $0 > kill }) ?? true
            {
                run.stop = kill
            }
            return run
        }
    }
}

/// The services the client believes in: name → desired count (nil once deleted), and which ones had an unknown
/// outcome since their last acknowledged write (the final pass makes every one definite).
final class ServiceBook: Sendable {
    let desired = Mutex<[String: Int]>([:])
    /// Services whose deletion had no definite answer: the final pass deletes them again.
    let doomed = Mutex<Set<String>>([])
    let operations = Atomic<Int>(0)
    let acknowledged = Atomic<Int>(0)
    /// Answers by status (0: none), for the report.
    let statuses = Mutex<[Int: Int]>([:])
}

func send(_ cluster: Cluster, _ method: String, _ target: String, _ body: String = "") -> Int? {
    let node = 1 + Int.random(in: 0..<cluster.options.nodes)
    return cluster.request(node, method, target, body: body, timeout: 3_000)?.status
}

/// Until a call succeeds (or `attempts` run out): for set-up and the final pass, after healing.
func insist(_ cluster: Cluster, _ method: String, _ target: String, _ body: String = "", ok: [Int] = [200]) -> Bool {
    for _ in 0..<40 {
        if let status = send(cluster, method, target, body), ok.contains(status) { return true }
        sleepMilliseconds(250)
    }
    return false
}

func taskDefinition(_ revision: Int) -> String {
    #"{"family":"app","containerDefinitions":[{"name":"main","image":"sim/ok","memory":64,"cpu":64,"#
        + #""environment":[{"name":"REVISION","value":"\#(revision)"}]}]}"#
}

/// Creates the ECS cluster `chaos` and the first task definition.
func prepareOrchestration(_ cluster: Cluster) -> Bool {
    insist(cluster, "POST", "/v1/clusters", #"{"clusterName":"chaos"}"#, ok: [200, 409])
        && insist(cluster, "POST", "/v1/task-definitions", taskDefinition(1))
}

/// Creates, scales, updates and deletes services until `deadline`.
func runOrchestrationClient(_ cluster: Cluster, _ book: ServiceBook, deadline: UInt64) {
    var random = Random(state: cluster.options.seed &* 3_000_017)
    var revision = 1
    var next = 0
    while nowNanoseconds() < deadline {
        sleepMilliseconds(200 + random.below(500))
        let live = book.desired.withLock { $0.filter { _ in true } }
        let roll = random.below(10)
        book.operations.add(1, ordering: .relaxed)
        var status: Int?
        if live.count < 2 || (roll == 0 && live.count < 5) {
            next += 1
            let name = "s\(next)"
            let count = 1 + random.below(5)
            status = send(
                cluster,
                "POST",
                "/v1/clusters/chaos/services",
                #"{"serviceName":"\#(name)","taskDefinition":"app","desiredCount":\#(count)}"#
            )
            // Created or not, it is in the book: the final pass settles it (409: it exists).
            book.desired.withLock { $0[name] = count }
        } else if roll == 1 && live.count > 2 {
            let name = random.pick(live.keys.sorted())
            status = send(cluster, "DELETE", "/v1/clusters/chaos/services/\(name)?force=true")
            book.desired.withLock { $0[name] = nil }
            if status != 200 { book.doomed.withLock { _ = $0.insert(name) } }
        } else if roll == 2 {
            revision += 1
            status = send(cluster, "POST", "/v1/task-definitions", taskDefinition(revision))
            let name = random.pick(live.keys.sorted())
            if status == 200 {
                status = send(cluster, "PUT", "/v1/clusters/chaos/services/\(name)", #"{"taskDefinition":"app"}"#)
            }
        } else {
            let name = random.pick(live.keys.sorted())
            let count = random.below(7)
            status = send(cluster, "PUT", "/v1/clusters/chaos/services/\(name)", #"{"desiredCount":\#(count)}"#)
            book.desired.withLock { $0[name] = count }
        }
        if status == 200 { book.acknowledged.add(1, ordering: .relaxed) }
        book.statuses.withLock { $0[status ?? 0, default: 0] += 1 }
    }
}

/// A service's desired and running counts, from `{"service":{...}}` (its deployments carry counts of their own).
func serviceCounts(_ text: String) -> (desired: Int, running: Int)? {
    struct Answer: Decodable {
        struct Service: Decodable {
            var desiredCount: Int
            var runningCount: Int
        }
        var service: Service
    }
    guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(text.utf8)) else { return nil }
    return (answer.service.desiredCount, answer.service.runningCount)
}

struct Convergence {
    var seconds: Double?
    var problems: [String] = []
    var services = 0
    var tasks = 0
}

/// After healing: makes every service's desired count definite (one acknowledged write each, since a write of
/// unknown outcome may or may not have applied), then waits up to `deadlineSeconds` for every service to run its
/// desired count, by the controllers' account and by the agents' (their running simulated containers).
func converge(_ cluster: Cluster, _ book: ServiceBook, agents: Agents, deadlineSeconds: Int) -> Convergence {
    var result = Convergence()
    let desired = book.desired.withLock { $0 }
    for name in book.doomed.withLock({ $0 }).sorted()
    where !insist(cluster, "DELETE", "/v1/clusters/chaos/services/\(name)?force=true", ok: [200, 404]) {
        result.problems.append("service \(name): could not delete it after healing")
    }
    for (name, count) in desired.sorted(by: { $0.key < $1.key }) {
        let made = insist(
            cluster,
            "POST",
            "/v1/clusters/chaos/services",
            #"{"serviceName":"\#(name)","taskDefinition":"app","desiredCount":\#(count)}"#,
            ok: [200, 400, 409]
        )
        let scaled =
            made && insist(cluster, "PUT", "/v1/clusters/chaos/services/\(name)", #"{"desiredCount":\#(count)}"#)
        if !scaled { result.problems.append("service \(name): could not set its desired count \(count) after healing") }
    }
    result.services = desired.count
    result.tasks = desired.values.reduce(0, +)
    let started = nowNanoseconds()
    var last = ""
    while nowNanoseconds() - started < UInt64(deadlineSeconds) * 1_000_000_000 {
        var behind: [String] = []
        for (name, count) in desired.sorted(by: { $0.key < $1.key }) {
            let response = cluster.request(
                1 + Int.random(in: 0..<cluster.options.nodes),
                "GET",
                "/v1/clusters/chaos/services/\(name)"
            )
            guard let text = response?.bodyText, response?.status == 200, let counts = serviceCounts(text) else {
                behind.append("\(name): no answer")
                continue
            }
            if counts.desired != count || counts.running != count {
                behind.append("\(name): desired \(counts.desired), running \(counts.running), expected \(count)")
            }
        }
        let running = agents.runs().filter { $0.stop == nil }.count
        if running != result.tasks { behind.append("agents run \(running) tasks, expected \(result.tasks)") }
        if behind.isEmpty {
            result.seconds = Double(nowNanoseconds() - started) / 1e9
            return result
        }
        last = behind.prefix(3).joined(separator: "; ")
        sleepMilliseconds(500)
    }
    result.problems.append("not at desired count \(deadlineSeconds) s after healing: \(last)")
    return result
}
