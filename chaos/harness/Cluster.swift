// The controllers: started, signalled and asked by the harness; only the PIDs it started are ever signalled.
import Glibc
import HTTP
import Synchronization

final class Cluster: @unchecked Sendable {
    struct Node {
        var id: Int
        var pid: pid_t?
        var paused = false
        /// Left down on purpose (a corrupted log it must refuse): healing restarts it only after the repair.
        var heldDown = false
        /// Rejoined as a new member (membership fault): started with --join from then on.
        var joined = false
    }

    let options: Options
    let topology: Topology
    let directory: String
    let token = "chaos-admin-token-000001"
    /// Whether the nodes run with libfiu's POSIX preload (the scenario injects fsync/write errors).
    let libfiu: Bool
    let lock = Mutex(())
    /// Touched by the fault thread, and by the main thread before and after it; the clients use only `topology`.
    var nodes: [Node] = []
    let started = nowNanoseconds()
    var faultLog: [String] = []

    init(_ options: Options, topology: Topology, directory: String, libfiu: Bool) {
        self.options = options
        self.topology = topology
        self.directory = directory
        self.libfiu = libfiu
        nodes = (1...options.nodes).map { Node(id: $0) }
        let tokens =
            #"{"tokens":[{"name":"chaos","role":"admin","token":"\#(token)"},"#
            + #"{"name":"agents","role":"agent","token":"\#(Agents.joinToken)"}]}"#
        writeFile("\(directory)/tokens.json", tokens)
        writeFile("\(directory)/secret", "chaos-cluster-secret-0123456789")
    }

    var members: String {
        nodes.map { "\($0.id)=\(topology.host($0.id)):\(topology.peerPort($0.id))" }.joined(separator: ",")
    }

    func dataDirectory(_ id: Int) -> String { "\(directory)/node\(id)" }

    func start(_ id: Int) {
        let arguments = topology.wrap(
            id,
            [
                options.binary, "controller", "--node-id", String(id), "--cluster-id", "chaos",
                "--data-dir", dataDirectory(id),
                "--peer-address", "\(topology.host(id)):\(topology.peerPort(id))",
                "--api-address", "\(topology.host(id)):\(topology.apiPort(id))", "--members", members,
                "--heartbeat-ms", "100", "--election-ms", "1000", "--request-timeout-ms", "2000",
                "--instance-ttl-ms", "3000",
                "--tokens-file", "\(directory)/tokens.json", "--peer-secret-file", "\(directory)/secret",
            ] + (nodes[id - 1].joined ? ["--join"] : [])
        )
        var environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GANTRY_TEST_MODE=1"]
        if let bug = options.plantedBug { environment.append("GANTRY_PLANTED_BUG=\(bug)") }
        if libfiu {
            environment.append("LD_PRELOAD=/usr/lib/fiu/fiu_run_preload.so /usr/lib/fiu/fiu_posix_preload.so")
            environment.append("FIU_CTRL_FIFO=\(directory)/fiu-ctrl")
        }
        let pid = spawn(arguments, log: "\(directory)/node\(id).log", environment: environment)
        appendFile("\(options.output)/.pids-\(options.runID)", "\(pid)\n")
        nodes[id - 1].pid = pid
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

    /// Whether node `id` exited by itself (reaped now); its exit status if so.
    func exited(_ id: Int) -> Int32? {
        guard let pid = nodes[id - 1].pid else { return nil }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        nodes[id - 1].pid = nil
        // Killed by a signal: 128 + the signal, as a shell reports it.
        return status & 0x7F != 0 ? 128 + (status & 0x7F) : (status >> 8) & 0xFF
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
        timeout: Int = 2_000,
        clientToken: String? = nil
    )
        -> (response: HTTPClientResponse?, sent: Bool)
    {
        let client = HTTPClient(
            host: topology.host(id),
            port: UInt16(topology.apiPort(id)),
            timeoutMilliseconds: timeout
        )
        defer { client.close() }
        var headers = [HTTPHeader(name: "Authorization", value: "Bearer \(token)")]
        if !body.isEmpty { headers.append(HTTPHeader(name: "Content-Type", value: "application/json")) }
        if let clientToken { headers.append(HTTPHeader(name: "X-Gantry-Client-Token", value: clientToken)) }
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

    /// Retries a call at random running nodes until it answers with one of `ok` (about 10 s at most).
    func insist(_ method: String, _ target: String, body: String = "", ok: [Int] = [200]) -> HTTPClientResponse? {
        for _ in 0..<40 {
            let running = nodes.filter { $0.pid != nil && !$0.paused }.map(\.id)
            guard let node = running.randomElement() else { break }
            if let response = request(node, method, target, body: body, timeout: 1_000), ok.contains(response.status) {
                return response
            }
            sleepMilliseconds(250)
        }
        return nil
    }

    func stopAll() {
        for node in nodes where node.pid != nil {
            signal(node.id, SIGCONT)
            signal(node.id, SIGKILL)
        }
    }
}
