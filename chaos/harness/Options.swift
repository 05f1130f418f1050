// The harness's options and its catalogue of scenarios.
import Glibc

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
    var setClients = 2
    var keys = 3
    var basePort = 31_000
    /// `netns` (a namespace per node, a bridge, a client namespace), `loopback`, or `auto` (netns when it works).
    var topology = "auto"
    /// Names this run's namespaces (`gch-<run id>-…`); chaos/run passes one so that its trap can clean up.
    var runID = ""

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
            case "--set-clients":
                options.setClients = Int(value()) ?? { fail("--set-clients must be a whole number") }()
            case "--base-port": options.basePort = Int(value()) ?? { fail("--base-port must be a port") }()
            case "--topology": options.topology = value()
            case "--run-id": options.runID = value()
            default: fail("unknown option \(words[index])")
            }
            index += 1
        }
        guard [3, 5].contains(options.nodes) else { fail("--nodes must be 3 or 5") }
        guard (5...3_600).contains(options.seconds) else { fail("--seconds must be 5 to 3600") }
        guard (1...32).contains(options.clients) else { fail("--clients must be 1 to 32") }
        guard (0...8).contains(options.setClients) else { fail("--set-clients must be 0 to 8") }
        guard Scenario.named(options.scenario) != nil else {
            fail("--scenario must be one of \(Scenario.all.map(\.name).joined(separator: ", "))")
        }
        guard ["auto", "netns", "loopback"].contains(options.topology) else {
            fail("--topology must be auto, netns or loopback")
        }
        if let bug = options.plantedBug, !["local-linearizable-reads", "ack-on-propose"].contains(bug) {
            fail("--planted-bug must be local-linearizable-reads or ack-on-propose")
        }
        guard options.runID.allSatisfy({ $0.isLetter || $0.isNumber }), options.runID.count <= 12 else {
            fail("--run-id must be at most 12 letters and digits")
        }
        if options.runID.isEmpty { options.runID = String(UInt32(getpid()) & 0xFFFFFF, radix: 16) }
        guard !options.binary.isEmpty else { fail("--binary (the gantry executable) is required") }
        // At most 8 clients per key, as the checker's budget assumes.
        options.keys = max(options.keys, (options.clients + 7) / 8)
        return options
    }
}

/// A kind of fault the nemesis injects.
enum FaultKind: String, CaseIterable {
    /// kill -9 of the target nodes, restarted 0.5–1.5 s later.
    case kill
    /// SIGSTOP of the target nodes for 1–3 election timeouts, then SIGCONT.
    case pause
    /// kill -9, then the log cut back to the offsets the node last reported durable (what a power cut at that
    /// moment could leave), sometimes with a torn record after it; restarted 0.5–1.5 s later.
    case crashUnsynced = "crash-unsynced"
    /// Network partitions: the leader isolated, random halves, a majorities ring, one-way, a bridge.
    case partition
    /// Packet loss (20–40 %) between nodes.
    case loss
    /// A flipped bit in one follower's durable log: on restart it must refuse to serve; healed by undoing the flip.
    case bitflip
    /// fdatasync fails with EIO (libfiu) on the target: it must stop, not go on; restarted afterwards.
    case fsyncEIO = "fsync-eio"
    /// pwrite fails with ENOSPC (libfiu) on the target: it must stop; restarted afterwards.
    case writeENOSPC = "write-enospc"
    /// kill -9 of one of the two simulated-agent processes (3 instances each), restarted 1–3 s later.
    case agentKill = "agent-kill"
    /// One agent process cut off from every controller for 4–8 s (past the 3 s instance TTL), or SIGSTOPped for
    /// 2–5 s: its containers run on while the controllers place their tasks elsewhere.
    case agentPartition = "agent-partition"
    /// A follower removed from the configuration, its data wiped, and added back as a new (empty) member; half the
    /// time the leader is killed between the removal and the addition.
    case membership
    /// Clock faults through the test-only endpoint: the wall clock set 5–120 s off for 3–6 s, or the monotonic clock
    /// made to jump 1–5 s forward (a burst of timer ticks).
    case clock

    var needsNetworkNamespaces: Bool { self == .partition || self == .loss }
    var needsLibfiu: Bool { self == .fsyncEIO || self == .writeENOSPC }
    var needsAgents: Bool { self == .agentKill || self == .agentPartition }
}

/// Which nodes a fault hits.
enum Target: String {
    case leader, one, minority, majority, all
}

struct Scenario {
    var name: String
    var kinds: [FaultKind]
    /// The targets to choose from (per fault); partitions choose their own shapes.
    var targets: [Target]

    static let all: [Scenario] = [
        Scenario(name: "leader-kill", kinds: [.kill], targets: [.leader]),
        Scenario(name: "leader-pause", kinds: [.pause], targets: [.leader]),
        Scenario(name: "follower-pause", kinds: [.pause], targets: [.one]),
        Scenario(name: "mixed", kinds: [.kill, .pause], targets: [.leader, .leader, .one]),
        Scenario(name: "kill", kinds: [.kill], targets: [.leader, .one, .minority, .majority, .all]),
        Scenario(name: "crash", kinds: [.crashUnsynced], targets: [.leader, .one, .minority, .majority, .all]),
        Scenario(name: "partition", kinds: [.partition], targets: [.leader]),
        Scenario(name: "partition-leader", kinds: [.partition], targets: [.leader]),
        Scenario(name: "loss", kinds: [.loss], targets: [.all, .leader]),
        Scenario(name: "disk", kinds: [.bitflip, .fsyncEIO, .writeENOSPC], targets: [.leader, .one]),
        Scenario(name: "membership", kinds: [.membership], targets: [.one]),
        Scenario(name: "clock", kinds: [.clock], targets: [.leader, .one, .all]),
        Scenario(
            name: "orchestrator",
            kinds: [.kill, .pause, .partition, .agentKill, .agentPartition, .agentPartition],
            targets: [.leader, .leader, .one]
        ),
        Scenario(
            name: "nemesis",
            kinds: FaultKind.allCases,
            targets: [.leader, .leader, .one, .minority, .majority]
        ),
    ]

    static func named(_ name: String) -> Scenario? { all.first { $0.name == name } }

    var needsNetworkNamespaces: Bool { kinds.allSatisfy(\.needsNetworkNamespaces) }
    /// Whether the orchestrator workload (simulated agents, services) runs besides the registers and the set.
    var orchestration: Bool { kinds.contains(where: \.needsAgents) }
}
