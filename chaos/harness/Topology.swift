// Where the nodes live: a network namespace each, joined by a bridge in a switch namespace, with the clients (this
// process) in a namespace of their own — or, as a fallback, all on loopback. Only namespaces this run created (named
// `gch-<run id>-…`) are ever touched, and only the rules inside them.
import Glibc

final class Topology: @unchecked Sendable {
    enum Mode: String {
        case netns, loopback
    }

    private(set) var mode: Mode
    let runID: String
    let nodes: Int
    let basePort: Int
    /// Where the `ip`/`iptables` commands' output goes.
    let commandLog: String
    /// The namespaces this run created, in creation order.
    private(set) var created: [String] = []

    /// Builds the topology; in `auto` mode falls back to loopback (saying why) when namespaces cannot be made.
    init(_ options: Options, commandLog: String) {
        runID = options.runID
        nodes = options.nodes
        basePort = options.basePort
        self.commandLog = commandLog
        var mode: Mode = options.topology == "loopback" ? .loopback : .netns
        self.mode = mode
        if mode == .netns {
            if let problem = buildNamespaces() {
                tearDown()
                if options.topology == "netns" { fail("cannot build the network namespaces: \(problem)") }
                print("gantry-chaos: network namespaces unavailable (\(problem)); falling back to loopback")
                mode = .loopback
            }
        }
        self.mode = mode
    }

    func namespace(_ member: String) -> String { "gch-\(runID)-\(member)" }

    /// The address node `node` binds to.
    func host(_ node: Int) -> String { mode == .netns ? "10.231.0.\(10 + node)" : "127.0.0.1" }

    func peerPort(_ node: Int) -> Int { mode == .netns ? 7_001 : basePort + node }

    func apiPort(_ node: Int) -> Int { mode == .netns ? 7_101 : basePort + 100 + node }

    /// `arguments`, run inside node `node`'s namespace.
    func wrap(_ node: Int, _ arguments: [String]) -> [String] {
        mode == .netns ? ["/usr/sbin/ip", "netns", "exec", namespace("n\(node)")] + arguments : arguments
    }

    /// The simulated-agent processes get a namespace each (so that one can be cut off from the controllers).
    static let agentNamespaces = 2

    func agentHost(_ agent: Int) -> String { "10.231.0.\(100 + agent)" }

    /// `arguments`, run inside agent process `agent`'s namespace (1-based).
    func wrapAgent(_ agent: Int, _ arguments: [String]) -> [String] {
        mode == .netns ? ["/usr/sbin/ip", "netns", "exec", namespace("a\(agent)")] + arguments : arguments
    }

    private func ip(_ words: [String]) -> Bool { command(["/usr/sbin/ip"] + words, log: commandLog) }

    /// Creates the switch, one namespace per node and one for the clients; nil on success, else the problem.
    private func buildNamespaces() -> String? {
        guard getuid() == 0 else { return "not root" }
        let members = (1...nodes).map { "n\($0)" } + ["cl"] + (1...Topology.agentNamespaces).map { "a\($0)" }
        let sw = namespace("sw")
        for name in [sw] + members.map(namespace) {
            guard ip(["netns", "add", name]) else { return "ip netns add \(name) failed (see \(commandLog))" }
            created.append(name)
        }
        guard ip(["-n", sw, "link", "add", "br0", "type", "bridge"]), ip(["-n", sw, "link", "set", "br0", "up"])
        else { return "cannot make the bridge in \(sw)" }
        for (position, member) in members.enumerated() {
            let inside = namespace(member)
            let address =
                member == "cl"
                ? "10.231.0.100" : member.hasPrefix("a") ? agentHost(Int(member.dropFirst())!) : host(position + 1)
            guard
                ip(["-n", sw, "link", "add", "p-\(member)", "type", "veth", "peer", "name", "eth0", "netns", inside]),
                ip(["-n", sw, "link", "set", "p-\(member)", "master", "br0", "up"]),
                ip(["-n", inside, "addr", "add", "\(address)/24", "dev", "eth0"]),
                ip(["-n", inside, "link", "set", "eth0", "up"]),
                ip(["-n", inside, "link", "set", "lo", "up"])
            else { return "cannot wire \(inside) to the bridge" }
        }
        return nil
    }

    /// Moves this process (still single-threaded) into the clients' namespace, so that every client thread it
    /// starts reaches the nodes over the bridge and nothing else.
    func enterClientNamespace() {
        guard mode == .netns else { return }
        let path = "/var/run/netns/\(namespace("cl"))"
        let descriptor = open(path, O_RDONLY)
        // setns(2) is not in the Glibc module's view (it needs _GNU_SOURCE); it is in libc all the same.
        typealias SetNamespace = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { fail("libc has no setns") }
        let setns = unsafeBitCast(symbol, to: SetNamespace.self)
        let cloneNewNet: Int32 = 0x4000_0000
        guard descriptor >= 0, setns(descriptor, cloneNewNet) == 0 else {
            fail("cannot enter the clients' namespace \(path): \(String(cString: strerror(errno)))")
        }
        close(descriptor)
    }

    /// Deletes the namespaces this run created (their veths go with them).
    func tearDown() {
        for name in created.reversed() { _ = ip(["netns", "del", name]) }
        created = []
    }

    // MARK: Network faults (netns only)

    private func iptables(_ node: Int, _ words: [String]) {
        _ = command(wrap(node, ["/usr/sbin/iptables", "-w", "5"] + words), log: commandLog)
    }

    /// Node `at` drops every packet from node `from` (one direction of a partition).
    func drop(from: Int, at: Int) {
        iptables(at, ["-A", "INPUT", "-s", host(from), "-j", "DROP"])
    }

    /// Every node drops every packet from agent process `agent`: its instances fall silent to the controllers while
    /// its simulated containers run on.
    func isolateAgent(_ agent: Int) {
        for node in 1...nodes { iptables(node, ["-A", "INPUT", "-s", agentHost(agent), "-j", "DROP"]) }
    }

    /// Node `at` drops `percent` % of the packets from the other nodes, at random.
    func loss(at: Int, percent: Int) {
        for from in 1...nodes where from != at {
            iptables(
                at,
                [
                    "-A", "INPUT", "-s", host(from), "-m", "statistic", "--mode", "random", "--probability",
                    "0.\(percent < 10 ? "0" : "")\(percent)", "-j", "DROP",
                ]
            )
        }
    }

    /// Removes every rule this run added (they live only in its node namespaces).
    func healNetwork() {
        guard mode == .netns else { return }
        for node in 1...nodes { iptables(node, ["-F", "INPUT"]) }
    }
}
