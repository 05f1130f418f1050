// gantry-chaos: runs one chaos scenario against real `gantry controller` processes on loopback, records what the
// clients saw, injects seeded faults, heals, and checks the history (linearizability per key, with the open-ended
// operations of unknown outcome; final reads from every node). Writes the run's folder and appends one row to the
// report. `chaos/run` drives it; see chaos/README.md.
import ChaosCheck
import Dispatch
import Glibc
import HTTP
import Synchronization

// MARK: Options

struct Options {
    var scenario = "leader-kill"
    var seed: UInt64 = 1
    var nodes = 3
    var seconds = 30
    var binary = ""
    var output = "chaos-out"
    var report = ""
    var plantedBug: String?
    var clients = 6
    var keys = 3
    var basePort = 31_000

    static func parse(_ words: [String]) -> Options {
        var options = Options()
        var index = 0
        func value() -> String {
            index += 1
            guard index < words.count else { fail("\(words[index - 1]) needs a value") }
            return words[index]
        }
        while index < words.count {
            switch words[index] {
            case "--scenario": options.scenario = value()
            case "--seed": options.seed = UInt64(value()) ?? { fail("--seed must be a whole number") }()
            case "--nodes": options.nodes = Int(value()) ?? { fail("--nodes must be 3 or 5") }()
            case "--seconds": options.seconds = Int(value()) ?? { fail("--seconds must be a whole number") }()
            case "--binary": options.binary = value()
            case "--out": options.output = value()
            case "--report": options.report = value()
            case "--planted-bug": options.plantedBug = value()
            case "--clients": options.clients = Int(value()) ?? { fail("--clients must be a whole number") }()
            case "--base-port": options.basePort = Int(value()) ?? { fail("--base-port must be a port") }()
            default: fail("unknown option \(words[index])")
            }
            index += 1
        }
        guard [3, 5].contains(options.nodes) else { fail("--nodes must be 3 or 5") }
        guard (5...3_600).contains(options.seconds) else { fail("--seconds must be 5 to 3600") }
        guard (1...32).contains(options.clients) else { fail("--clients must be 1 to 32") }
        guard Scenario.all.contains(options.scenario) else {
            fail("--scenario must be one of \(Scenario.all.joined(separator: ", "))")
        }
        guard !options.binary.isEmpty else { fail("--binary (the gantry executable) is required") }
        // At most 8 clients per key, as the checker's budget assumes.
        options.keys = max(options.keys, (options.clients + 7) / 8)
        return options
    }
}

func fail(_ message: String) -> Never {
    let line = "gantry-chaos: \(message)\n"
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    exit(2)
}

enum Scenario {
    static let all = ["leader-kill", "leader-pause", "follower-pause", "mixed"]
}

// MARK: Time and randomness

func nowNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// SplitMix64: seeded, so a run replays its choices.
struct Random {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

// MARK: The cluster

final class Cluster: @unchecked Sendable {
    struct Node {
        var id: Int
        var peerPort: Int
        var apiPort: Int
        var pid: pid_t?
        var paused = false
    }

    let options: Options
    let directory: String
    let token = "chaos-admin-token-000001"
    /// The API ports, by node id − 1: fixed, so the clients' threads read them while the fault thread changes
    /// `nodes` (which only the fault thread and, before and after it, the main thread touch).
    let apiPorts: [Int]
    let lock = Mutex(())
    var nodes: [Node] = []
    let started = nowNanoseconds()
    var faultLog: [String] = []

    init(_ options: Options, directory: String) {
        self.options = options
        self.directory = directory
        apiPorts = (1...options.nodes).map { options.basePort + 100 + $0 }
        for id in 1...options.nodes {
            nodes.append(Node(id: id, peerPort: options.basePort + id, apiPort: options.basePort + 100 + id))
        }
        let tokens = #"{"tokens":[{"name":"chaos","role":"admin","token":"\#(token)"}]}"#
        writeFile("\(directory)/tokens.json", tokens)
        writeFile("\(directory)/secret", "chaos-cluster-secret-0123456789")
    }

    var members: String { nodes.map { "\($0.id)=127.0.0.1:\($0.peerPort)" }.joined(separator: ",") }

    func start(_ id: Int) {
        let node = nodes[id - 1]
        let arguments = [
            options.binary, "controller", "--node-id", String(id), "--cluster-id", "chaos",
            "--data-dir", "\(directory)/node\(id)", "--peer-address", "127.0.0.1:\(node.peerPort)",
            "--api-address", "127.0.0.1:\(node.apiPort)", "--members", members, "--heartbeat-ms", "100",
            "--election-ms", "1000", "--request-timeout-ms", "2000", "--tokens-file", "\(directory)/tokens.json",
            "--peer-secret-file", "\(directory)/secret",
        ]
        var environment = ["PATH=/usr/bin:/bin"]
        if let bug = options.plantedBug { environment.append("GANTRY_PLANTED_BUG=\(bug)") }
        nodes[id - 1].pid = spawn(arguments, log: "\(directory)/node\(id).log", environment: environment)
        nodes[id - 1].paused = false
    }

    func signal(_ id: Int, _ signal: Int32) {
        guard let pid = nodes[id - 1].pid else { return }
        kill(pid, signal)
        if signal == SIGKILL || signal == SIGTERM {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            nodes[id - 1].pid = nil
        }
        if signal == SIGSTOP { nodes[id - 1].paused = true }
        if signal == SIGCONT { nodes[id - 1].paused = false }
    }

    /// The node every running, unpaused node names as leader, and the highest term seen.
    func leader() -> (id: Int?, term: UInt64) {
        var votes: [Int: Int] = [:]
        var term: UInt64 = 0
        for node in nodes where node.pid != nil && !node.paused {
            guard let response = request(node.id, "GET", "/v1/status", timeout: 500), response.status == 200 else {
                continue
            }
            let text = response.bodyText
            if let leader = number(text, "leader"), leader > 0 { votes[Int(leader), default: 0] += 1 }
            term = max(term, number(text, "term") ?? 0)
        }
        return (votes.max { $0.value < $1.value }?.key, term)
    }

    func request(
        _ id: Int,
        _ method: String,
        _ target: String,
        body: String = "",
        timeout: Int = 2_000
    )
        -> HTTPClientResponse?
    {
        attempt(id, method, target, body: body, timeout: timeout).response
    }

    /// One request; `sent` is false only when no connection could be made, so the server never saw it.
    func attempt(
        _ id: Int,
        _ method: String,
        _ target: String,
        body: String = "",
        timeout: Int = 2_000
    )
        -> (response: HTTPClientResponse?, sent: Bool)
    {
        let client = HTTPClient(host: "127.0.0.1", port: UInt16(apiPorts[id - 1]), timeoutMilliseconds: timeout)
        defer { client.close() }
        var headers = [HTTPHeader(name: "Authorization", value: "Bearer \(token)")]
        if !body.isEmpty { headers.append(HTTPHeader(name: "Content-Type", value: "application/json")) }
        do {
            return (try client.send(method: method, target: target, headers: headers, body: Array(body.utf8)), true)
        } catch .connectFailed {
            return (nil, false)
        } catch {
            return (nil, true)
        }
    }

    func log(_ line: String) {
        let elapsed = Double(nowNanoseconds() - started) / 1e9
        let entry = "\(String(format: elapsed)) s  \(line)"
        lock.withLock { _ in faultLog.append(entry) }
        print("gantry-chaos: \(entry)")
        fflush(nil)
    }

    func stopAll() {
        for node in nodes where node.pid != nil {
            signal(node.id, SIGCONT)
            signal(node.id, SIGKILL)
        }
    }
}

func number(_ text: String, _ key: String) -> UInt64? {
    guard let range = text.ranges(of: "\"\(key)\":").first else { return nil }
    return UInt64(text[range.upperBound...].prefix { $0.isNumber })
}

extension String {
    init(format seconds: Double) {
        let tenths = Int((seconds * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}

func writeFile(_ path: String, _ text: String) {
    guard let file = fopen(path, "w") else { fail("cannot write \(path)") }
    fputs(text, file)
    fclose(file)
}

func spawn(_ arguments: [String], log: String, environment: [String]) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, &envp) == 0 else {
        fail("cannot start \(arguments[0])")
    }
    return pid
}

// MARK: The workload

/// What the clients saw, in order of completion.
final class Recorder: Sendable {
    struct Entry: Sendable {
        var key: String
        var operation: HistoryOperation<RegisterInput, RegisterOutput>
        var node: Int
        var ok: Bool
    }

    let entries = Mutex<[Entry]>([])
    let nextID = Atomic<Int>(0)

    func id() -> Int { nextID.add(1, ordering: .relaxed).newValue }

    func record(_ entry: Entry) { entries.withLock { $0.append(entry) } }
}

/// One client: writes unique values and reads, at random nodes, until `deadline`.
func runClient(_ number: Int, _ cluster: Cluster, _ recorder: Recorder, _ options: Options, deadline: UInt64) {
    var random = Random(state: options.seed &* 1_000_003 &+ UInt64(number))
    let key = "k\(number % options.keys)"
    var written: UInt64 = 0
    while nowNanoseconds() < deadline {
        // A little think time: enough operations to see every fault, few enough to check quickly.
        usleep(UInt32(2_000 + random.below(8_000)))
        let node = 1 + random.below(options.nodes)
        let write = random.below(2) == 0
        let id = recorder.id()
        let invoked = nowNanoseconds()
        if write {
            written += 1
            let value = UInt64(number) << 32 | written
            let (response, sent) = cluster.attempt(
                node,
                "PUT",
                "/v1/parameters/chaos/\(key)",
                body: #"{"value":"\#(value)"}"#
            )
            let returned = nowNanoseconds()
            // Never sent (the node is down): it cannot have taken effect, so it is not part of the history.
            guard sent else { continue }
            let ok = response?.status == 200
            // Refused before reaching a leader (400/404/409) never happens here; anything but 200 may have applied.
            recorder.record(
                Recorder.Entry(
                    key: key,
                    operation: HistoryOperation(
                        id: id,
                        client: number,
                        input: .write(value),
                        output: ok ? .written : nil,
                        invokedAt: invoked,
                        returnedAt: ok ? returned : nil
                    ),
                    node: node,
                    ok: ok
                )
            )
        } else {
            let response = cluster.request(node, "GET", "/v1/parameters/chaos/\(key)")
            let returned = nowNanoseconds()
            var output: RegisterOutput?
            if response?.status == 404 {
                output = .read(nil)
            } else if response?.status == 200, let text = response?.bodyText,
                let range = text.ranges(of: #""value":""#).first,
                let value = UInt64(text[range.upperBound...].prefix { $0 != "\"" })
            {
                output = .read(value)
            }
            // A read with no answer has no effect: it is left out of the history.
            guard let output else { continue }
            recorder.record(
                Recorder.Entry(
                    key: key,
                    operation: HistoryOperation(
                        id: id,
                        client: number,
                        input: .read,
                        output: output,
                        invokedAt: invoked,
                        returnedAt: returned
                    ),
                    node: node,
                    ok: true
                )
            )
        }
    }
}

// MARK: Faults

/// Injects the scenario's faults until `deadline`, each logged with its start and stop.
func runFaults(_ cluster: Cluster, _ options: Options, deadline: UInt64) -> (count: Int, lastHealed: UInt64?) {
    var random = Random(state: options.seed &* 7_919)
    var count = 0
    var lastHealed: UInt64?
    usleep(2_000_000)
    while nowNanoseconds() + 3_000_000_000 < deadline {
        var kind = options.scenario
        if kind == "mixed" { kind = ["leader-kill", "leader-pause", "follower-pause"][random.below(3)] }
        let (leader, term) = cluster.leader()
        guard let leader else {
            usleep(300_000)
            continue
        }
        let target = kind == "follower-pause" ? (leader % options.nodes) + 1 : leader
        count += 1
        switch kind {
        case "leader-kill":
            cluster.log("fault \(count): kill -9 leader node \(target) (term \(term))")
            cluster.signal(target, SIGKILL)
            usleep(UInt32(500_000 + random.below(1_000_000)))
            cluster.start(target)
            cluster.log("fault \(count) healed: node \(target) restarted")
            lastHealed = nowNanoseconds()
        default:
            let pause = 1_000_000 + random.below(2_000_000)
            cluster.log(
                "fault \(count): SIGSTOP \(kind == "leader-pause" ? "leader" : "follower") node \(target) for \(pause / 1_000) ms (term \(term))"
            )
            cluster.signal(target, SIGSTOP)
            usleep(UInt32(pause))
            cluster.signal(target, SIGCONT)
            cluster.log("fault \(count) healed: node \(target) continued")
            lastHealed = nowNanoseconds()
        }
        usleep(UInt32(1_000_000 + random.below(1_500_000)))
    }
    return (count, lastHealed)
}

// MARK: The run

/// Runs the scenario; 0 when it passed (for a planted bug: when the violation was caught).
func run(_ options: Options) -> Int32 {
    let name = "\(options.scenario)-n\(options.nodes)-s\(options.seed)\(options.plantedBug.map { "-bug-\($0)" } ?? "")"
    let directory = "\(options.output)/\(name)"
    mkdir(options.output, 0o755)
    _ = system("rm -rf '\(directory)'")
    mkdir(directory, 0o755)
    let cluster = Cluster(options, directory: directory)
    signal(SIGPIPE, SIG_IGN)
    for id in 1...options.nodes { cluster.start(id) }
    var initialTerm: UInt64 = 0
    for _ in 0..<100 {
        let (leader, term) = cluster.leader()
        if leader != nil {
            initialTerm = term
            break
        }
        usleep(100_000)
    }
    cluster.log(
        "cluster of \(options.nodes) up (term \(initialTerm)); \(options.clients) clients on \(options.keys) keys"
    )
    let recorder = Recorder()
    let runStart = nowNanoseconds()
    let deadline = runStart + UInt64(options.seconds) * 1_000_000_000
    let group = DispatchGroup()
    for number in 0..<options.clients {
        DispatchQueue.global().async(group: group) { runClient(number, cluster, recorder, options, deadline: deadline) }
    }
    let (faults, lastHealed) = runFaults(cluster, options, deadline: deadline)
    group.wait()
    let faultsEnded = nowNanoseconds()

    // Heal: every node running and continued, then a leader.
    for node in cluster.nodes {
        if node.pid == nil { cluster.start(node.id) } else if node.paused { cluster.signal(node.id, SIGCONT) }
    }
    var healed: UInt64?
    var finalTerm: UInt64 = 0
    for _ in 0..<150 {
        let (leader, term) = cluster.leader()
        finalTerm = term
        if leader != nil {
            healed = nowNanoseconds()
            break
        }
        usleep(100_000)
    }
    cluster.log("healed; leader \(healed == nil ? "NOT found" : "found") (term \(finalTerm))")
    // Final reads of every key from every node, linearizable, with retries while the cluster settles.
    for node in 1...options.nodes {
        for key in 0..<options.keys {
            for _ in 0..<40 {
                let invoked = nowNanoseconds()
                guard let response = cluster.request(node, "GET", "/v1/parameters/chaos/k\(key)"),
                    response.status == 200 || response.status == 404
                else {
                    usleep(250_000)
                    continue
                }
                var value: UInt64?
                if let range = response.bodyText.ranges(of: #""value":""#).first {
                    value = UInt64(response.bodyText[range.upperBound...].prefix { $0 != "\"" })
                }
                recorder.record(
                    Recorder.Entry(
                        key: "k\(key)",
                        operation: HistoryOperation(
                            id: recorder.id(),
                            client: 1_000 + node,
                            input: .read,
                            output: .read(value),
                            invokedAt: invoked,
                            returnedAt: nowNanoseconds()
                        ),
                        node: node,
                        ok: true
                    )
                )
                break
            }
        }
    }
    cluster.stopAll()

    let entries = recorder.entries.withLock { $0 }
    let verdict = summarize(checkKeyedRegisters(entries.map { KeyedOperation(key: $0.key, operation: $0.operation) }))
    let writes = entries.filter { if case .write = $0.operation.input { return true } else { return false } }
    let acknowledged = writes.filter(\.ok).count
    let unknown = writes.count - acknowledged
    let reads = entries.count - writes.count
    // Availability and the longest stretch with no successful operation, while faults ran.
    let successes = entries.filter { $0.ok && $0.operation.client < 1_000 }.compactMap(\.operation.returnedAt).sorted()
    var longest: UInt64 = 0
    var previous = runStart
    for time in successes where time <= faultsEnded {
        longest = max(longest, time - previous)
        previous = time
    }
    let attempted = entries.filter { $0.operation.client < 1_000 }.count
    let availability = attempted == 0 ? 0 : Double(successes.count) / Double(attempted)
    let verdictText: String
    let violated: Bool
    switch verdict {
    case .linearizable:
        verdictText = "linearizable"
        violated = false
    case .illegal(let witness):
        verdictText = "ILLEGAL: \(witness.description)"
        violated = true
    case .unknown(let explored):
        verdictText = "UNKNOWN after \(explored) states (a failure)"
        violated = true
    }
    let expectViolation = options.plantedBug != nil
    let passed = expectViolation ? violated : (!violated && healed != nil)
    // Recovery: from the end of the last fault to the first write acknowledged after it (the clients still run).
    let firstAckAfter =
        lastHealed.flatMap { healedAt in
            writes.filter { $0.ok && $0.operation.invokedAt >= healedAt }.compactMap(\.operation.returnedAt).min()
                .map { $0 - healedAt }
        }
    let recovery =
        healed == nil
        ? "never (no leader after healing)"
        : firstAckAfter.map { "\($0 / 1_000_000) ms" } ?? "no write after the last fault"
    var history = ""
    for entry in entries.sorted(by: { $0.operation.invokedAt < $1.operation.invokedAt }) {
        let operation = entry.operation
        history +=
            #"{"id":\#(operation.id),"client":\#(operation.client),"node":\#(entry.node),"key":"\#(entry.key)","#
            + #""input":"\#(operation.input)","output":"\#(operation.output.map { "\($0)" } ?? "unknown")","#
            + #""invokedNs":\#(operation.invokedAt - runStart),"returnedNs":\#(operation.returnedAt.map { String($0 - runStart) } ?? "null")}"#
            + "\n"
    }
    writeFile("\(directory)/history.jsonl", history)
    writeFile("\(directory)/faults.log", cluster.faultLog.joined(separator: "\n") + "\n")
    let replay =
        "chaos/run one --scenario \(options.scenario) --nodes \(options.nodes) --seed \(options.seed) --seconds "
        + "\(options.seconds)\(options.plantedBug.map { " --planted-bug \($0)" } ?? "")"
    let row =
        "| \(name) | \(faults) | \(acknowledged) / \(unknown) / \(reads) | \(Int(availability * 100))% | "
        + "\(String(format: Double(longest) / 1e9)) s | \(finalTerm - initialTerm) | \(recovery) | \(verdictText.prefix(160)) | "
        + "\(expectViolation ? (violated ? "violation caught (planted bug)" : "FAIL: planted bug NOT caught") : (passed ? "pass" : "FAIL")) | `\(replay)` |\n"
    let summary = """
        # \(name)

        | faults | acknowledged writes | unknown writes | reads | availability | longest gap | elections | recovery |
        | --- | --- | --- | --- | --- | --- | --- | --- |
        | \(faults) | \(acknowledged) | \(unknown) | \(reads) | \(Int(availability * 100))% | \(String(format: Double(longest) / 1e9)) s | \(finalTerm - initialTerm) | \(recovery) |

        Verdict: \(verdictText)

        Replay: `\(replay)`

        """
    writeFile("\(directory)/report.md", summary)
    if !options.report.isEmpty, let file = fopen(options.report, "a") {
        fputs(row, file)
        fclose(file)
    }
    print("gantry-chaos: \(name): \(verdictText); \(passed ? "PASS" : "FAIL")")
    return passed ? 0 : 1
}

exit(run(Options.parse(Array(CommandLine.arguments.dropFirst()))))
