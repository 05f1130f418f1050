// The nemesis: seeded faults, each logged with its start, its stop and its target.
import FoundationEssentials
import Glibc
import HTTP

struct FaultSummary {
    var count = 0
    var leaderKills = 0
    var lastHealed: UInt64?
    /// Fault windows (start, stop), for availability during and outside faults.
    var windows: [(UInt64, UInt64)] = []
    /// What a node did that it must not: serve on a corrupted log, go on after a failed fsync.
    var problems: [String] = []
}

final class Nemesis {
    let cluster: Cluster
    let topology: Topology
    let scenario: Scenario
    let kinds: [FaultKind]
    let agents: Agents?
    var random: Random
    var summary = FaultSummary()

    init(_ cluster: Cluster, scenario: Scenario, agents: Agents?) {
        self.cluster = cluster
        self.agents = agents
        topology = cluster.topology
        self.scenario = scenario
        let netns = cluster.topology.mode == .netns
        kinds = scenario.kinds.filter {
            (netns || !$0.needsNetworkNamespaces) && (cluster.libfiu || !$0.needsLibfiu)
                && (agents != nil || !$0.needsAgents)
        }
        random = Random(state: cluster.options.seed &* 7_919)
    }

    var count: Int { cluster.options.nodes }

    func log(_ line: String) { cluster.log("fault \(summary.count): \(line)") }

    /// Something a node did that it must not: fails the run.
    func problem(_ text: String) {
        summary.problems.append(text)
        log("PROBLEM: \(text)")
    }

    /// The node's exit status once it exits by itself, polled every 100 ms up to `milliseconds`; nil if it runs on.
    func awaitExit(_ node: Int, milliseconds: Int) -> Int32? {
        for _ in 0..<(milliseconds / 100) {
            sleepMilliseconds(100)
            if let status = cluster.exited(node) { return status }
        }
        return nil
    }

    /// The nodes a target names, given the current leader.
    func resolve(_ target: Target, leader: Int) -> [Int] {
        let all = Array(1...count)
        switch target {
        case .leader: return [leader]
        case .one: return [random.pick(all.filter { $0 != leader })]
        case .minority: return random.choose((count - 1) / 2, of: all).sorted()
        case .majority: return random.choose(count / 2 + 1, of: all).sorted()
        case .all: return all
        }
    }

    func describe(_ nodes: [Int], _ target: Target) -> String {
        "\(target.rawValue) (node\(nodes.count == 1 ? "" : "s") \(nodes.map(String.init).joined(separator: ", ")))"
    }

    /// Injects faults until `deadline`.
    func run(deadline: UInt64) -> FaultSummary {
        sleepMilliseconds(2_000)
        // The last fault starts early enough to end (holds are at most 5 s) with time left to measure recovery.
        while nowNanoseconds() + 8_000_000_000 < deadline && !kinds.isEmpty {
            let (leaderNode, term) = cluster.leader()
            guard let leader = leaderNode else {
                sleepMilliseconds(300)
                continue
            }
            let kind = random.pick(kinds)
            var target = random.pick(scenario.targets)
            summary.count += 1
            let start = nowNanoseconds()
            switch kind {
            case .kill, .crashUnsynced:
                let nodes = resolve(target, leader: leader)
                if nodes.contains(leader) { summary.leaderKills += 1 }
                log("kill -9 \(describe(nodes, target)) (leader node \(leader), term \(term))")
                for node in nodes { cluster.signal(node, SIGKILL) }
                if kind == .crashUnsynced {
                    for node in nodes {
                        let tear = random.below(2) == 0
                        log(
                            "node \(node): \(Disk.dropUnsynced(cluster.dataDirectory(node), tear: tear, random: &random))"
                        )
                    }
                }
                sleepMilliseconds(500 + random.below(1_000))
                for node in nodes { cluster.start(node) }
                log("healed: restarted \(nodes.map(String.init).joined(separator: ", "))")
            case .pause:
                if target == .majority || target == .all { target = .minority }
                let nodes = resolve(target, leader: leader)
                let pause = 1_000 + random.below(2_000)
                log("SIGSTOP \(describe(nodes, target)) for \(pause) ms (leader node \(leader), term \(term))")
                for node in nodes { cluster.signal(node, SIGSTOP) }
                sleepMilliseconds(pause)
                for node in nodes { cluster.signal(node, SIGCONT) }
                log("healed: SIGCONT")
            case .partition:
                partition(leader: leader, term: term)
            case .loss:
                let nodes = target == .leader ? [leader] : Array(1...count)
                let percent = 20 + random.below(21)
                let hold = 3_000 + random.below(3_000)
                log(
                    "\(percent)% packet loss into \(describe(nodes, target == .leader ? .leader : .all)) for \(hold) ms"
                )
                for node in nodes { topology.loss(at: node, percent: percent) }
                sleepMilliseconds(hold)
                topology.healNetwork()
                log("healed: no loss")
            case .bitflip:
                bitflip(follower: random.pick(Array(1...count).filter { $0 != leader }))
            case .agentKill:
                guard let agents else { break }
                let process = random.below(Agents.processes)
                let down = 1_000 + random.below(2_000)
                log(
                    "kill -9 agent process \(agents.host(process)) (\(Agents.instancesPerProcess) instances) for \(down) ms"
                )
                agents.kill(process)
                sleepMilliseconds(down)
                agents.start(process)
                log("healed: agent process \(agents.host(process)) restarted")
            case .clock:
                let nodes = resolve(target, leader: leader)
                let set = { (node: Int, body: String) in
                    let status = self.cluster.request(node, "POST", "/v1/test/clock", body: body, timeout: 1_000)?
                        .status
                    if status != 200 { self.log("node \(node) did not take the clock change (\(status ?? 0))") }
                }
                if random.below(2) == 0 {
                    let offset = (5_000 + random.below(115_000)) * (random.below(2) == 0 ? 1 : -1)
                    let hold = 3_000 + random.below(3_000)
                    log(
                        "wall clock of \(describe(nodes, target)) set \(offset) ms off for \(hold) ms (leader node \(leader))"
                    )
                    for node in nodes { set(node, #"{"wallOffsetMs":\#(offset)}"#) }
                    sleepMilliseconds(hold)
                    for node in nodes { set(node, #"{"wallOffsetMs":0}"#) }
                    log("healed: wall clocks true again")
                } else {
                    let jump = 1_000 + random.below(4_000)
                    log(
                        "monotonic clock of \(describe(nodes, target)) jumps \(jump) ms forward (leader node \(leader))"
                    )
                    for node in nodes { set(node, #"{"monotonicJumpMs":\#(jump)}"#) }
                }
            case .membership:
                membership(follower: random.pick(Array(1...count).filter { $0 != leader }), leader: leader, term: term)
            case .agentPartition:
                guard let agents else { break }
                let process = random.below(Agents.processes)
                if topology.mode == .netns && random.below(3) != 0 {
                    let hold = 4_000 + random.below(4_000)
                    log("agent process \(agents.host(process)) cut off from every controller for \(hold) ms")
                    topology.isolateAgent(process + 1)
                    sleepMilliseconds(hold)
                    topology.healNetwork()
                    log("healed: agent process \(agents.host(process)) reachable again")
                } else {
                    let hold = 2_000 + random.below(3_000)
                    log("SIGSTOP agent process \(agents.host(process)) for \(hold) ms")
                    agents.signal(process, SIGSTOP)
                    sleepMilliseconds(hold)
                    agents.signal(process, SIGCONT)
                    log("healed: agent process \(agents.host(process)) continued")
                }
            case .fsyncEIO, .writeENOSPC:
                let node = target == .leader ? leader : random.pick(Array(1...count).filter { $0 != leader })
                ioError(kind, node: node, isLeader: node == leader)
            }
            let stop = nowNanoseconds()
            summary.windows.append((start, stop))
            summary.lastHealed = stop
            sleepMilliseconds(1_000 + random.below(1_500))
        }
        return summary
    }

    /// One of five shapes, held 2–5 s: the leader isolated, random halves, a majorities ring (5 nodes), one-way
    /// (the leader hears nobody, or nobody hears the leader), a bridge (two sides that share one node).
    func partition(leader: Int, term: UInt64) {
        let shapes =
            count == 5
            ? ["isolate-leader", "halves", "ring", "one-way", "bridge"]
            : ["isolate-leader", "halves", "one-way", "bridge"]
        let shape = random.pick(shapes)
        let others = Array(1...count).filter { $0 != leader }
        var cut: [(Int, Int)] = []  // (from, at): `at` drops what `from` sends
        var description = ""
        func both(_ a: Int, _ b: Int) { cut += [(a, b), (b, a)] }
        switch shape {
        case "isolate-leader":
            for node in others { both(leader, node) }
            description = "leader node \(leader) | \(others.map(String.init).joined(separator: " "))"
        case "halves":
            let order = random.choose(count, of: Array(1...count))
            let small = Array(order.prefix(count / 2)).sorted()
            let large = Array(order.dropFirst(count / 2)).sorted()
            for a in small { for b in large { both(a, b) } }
            description =
                "\(small.map(String.init).joined(separator: " ")) | \(large.map(String.init).joined(separator: " "))"
        case "ring":
            let order = random.choose(count, of: Array(1...count))
            for i in 0..<count {
                for j in (i + 1)..<count where j - i != 1 && j - i != count - 1 { both(order[i], order[j]) }
            }
            description =
                "ring \(order.map(String.init).joined(separator: "-"))-\(order[0]): each node hears only its neighbours"
        case "one-way":
            if random.below(2) == 0 {
                for node in others { cut.append((node, leader)) }
                description = "leader node \(leader) hears nobody (its messages still go out)"
            } else {
                for node in others { cut.append((leader, node)) }
                description = "nobody hears leader node \(leader) (it still hears them)"
            }
        default:
            let order = random.choose(count, of: Array(1...count))
            let middle = order[count / 2]
            let left = Array(order.prefix(count / 2)).sorted()
            let right = Array(order.dropFirst(count / 2 + 1)).sorted()
            for a in left { for b in right { both(a, b) } }
            description =
                "bridge \(left.map(String.init).joined(separator: " ")) | \(middle) | \(right.map(String.init).joined(separator: " ")): only node \(middle) hears both sides"
        }
        let hold = 2_000 + random.below(3_000)
        log("partition \(shape): \(description), for \(hold) ms (term \(term))")
        for (from, at) in cut { topology.drop(from: from, at: at) }
        sleepMilliseconds(hold)
        topology.healNetwork()
        log("healed: network whole")
    }

    /// Kills a follower, flips a bit in its durable log and restarts it: it must refuse to start (a corrupt log is
    /// never served or replicated). Healed by undoing the flip and restarting it.
    func bitflip(follower node: Int) {
        cluster.signal(node, SIGKILL)
        guard let flip = Disk.flipBit(cluster.dataDirectory(node), random: &random) else {
            log("bit flip on node \(node) skipped: no durable log reported yet")
            cluster.start(node)
            return
        }
        log("kill -9 follower node \(node), flip bit \(flip.bit) of byte \(flip.offset) of \(flip.path), restart")
        cluster.nodes[node - 1].heldDown = true
        let logPath = "\(cluster.directory)/node\(node).log"
        let logged = readFile(logPath)?.count ?? 0
        cluster.start(node)
        let status = awaitExit(node, milliseconds: 5_000)
        // Only what this start wrote: the log holds the node's earlier lives too.
        let text = String(decoding: (readFile(logPath) ?? []).dropFirst(logged), as: UTF8.self)
        if let status, status != 0, status < 128, text.contains("corrupt data in wal-") {
            log("node \(node) refused its corrupted log (exit \(status))")
        } else {
            problem("node \(node) did not refuse a log with a flipped bit (\(flip.path) byte \(flip.offset))")
            cluster.signal(node, SIGKILL)
        }
        sleepMilliseconds(1_000 + random.below(1_000))
        Disk.toggle(flip)
        cluster.nodes[node - 1].heldDown = false
        cluster.start(node)
        log("healed: flip undone, node \(node) restarted")
    }

    /// Makes the node's next fdatasync fail with EIO, or its next pwrite with ENOSPC (libfiu): it must stop rather
    /// than acknowledge what is not durable. Restarted afterwards without the fault.
    func ioError(_ kind: FaultKind, node: Int, isLeader: Bool) {
        guard let pid = cluster.nodes[node - 1].pid, cluster.exited(node) == nil else { return }
        let point = kind == .fsyncEIO ? "posix/io/sync/fdatasync,failinfo=5" : "posix/io/rw/pwrite,failinfo=28"
        log(
            "\(kind == .fsyncEIO ? "fdatasync → EIO" : "pwrite → ENOSPC") on \(isLeader ? "leader" : "follower") node \(node)"
        )
        if isLeader { summary.leaderKills += 1 }
        // Bounded: fiu-ctrl would wait forever on the control pipe of a process that died meanwhile.
        _ = command(
            [
                "/usr/bin/timeout", "10", "/usr/bin/fiu-ctrl", "-f", "\(cluster.directory)/fiu-ctrl", "-c",
                "enable name=\(point)", String(pid),
            ],
            log: "\(cluster.directory)/commands.log"
        )
        let status = awaitExit(node, milliseconds: 8_000)
        if let status, status != 0, status < 128 {
            log("node \(node) stopped (exit \(status))")
        } else {
            problem("node \(node) went on after an injected \(kind.rawValue) (or wrote nothing in 8 s)")
            cluster.signal(node, SIGKILL)
        }
        sleepMilliseconds(500 + random.below(1_000))
        cluster.start(node)
        log("healed: node \(node) restarted")
    }

    /// Removes a follower from the configuration, wipes it, and adds it back as a new member that catches up from
    /// the leader (by snapshot or log); half the time the leader is killed while the node is out. The node must be a
    /// voter again within 20 s.
    func membership(follower node: Int, leader: Int, term: UInt64) {
        log("membership: remove follower node \(node) (leader node \(leader), term \(term))")
        guard cluster.insist("DELETE", "/v1/operator/raft/members/\(node)", ok: [200, 404]) != nil else {
            problem("removing node \(node) from the configuration was never acknowledged")
            return
        }
        cluster.signal(node, SIGCONT)
        cluster.signal(node, SIGKILL)
        _ = system("rm -rf '\(cluster.dataDirectory(node))'")
        log("node \(node) removed, stopped and wiped")
        if random.below(2) == 0, let current = cluster.leader().id {
            log("kill -9 leader node \(current) while node \(node) is out")
            summary.leaderKills += 1
            cluster.signal(current, SIGKILL)
            sleepMilliseconds(500 + random.below(1_000))
            cluster.start(current)
            log("node \(current) restarted")
        }
        let address = "\(topology.host(node)):\(topology.peerPort(node))"
        guard
            cluster.insist(
                "POST",
                "/v1/operator/raft/members",
                body: #"{"id":\#(node),"address":"\#(address)"}"#,
                ok: [200, 409]
            ) != nil
        else {
            problem("adding node \(node) back was never acknowledged")
            return
        }
        cluster.nodes[node - 1].joined = true
        cluster.start(node)
        let until = nowNanoseconds() + 20_000_000_000
        while nowNanoseconds() < until {
            let running = cluster.nodes.filter { $0.pid != nil && !$0.paused }.map(\.id)
            if let asked = running.randomElement(),
                let text = cluster.request(asked, "GET", "/v1/operator/raft", timeout: 1_000)?.bodyText,
                voters(text).contains(node)
            {
                log("healed: node \(node) is a voter again")
                return
            }
            sleepMilliseconds(250)
        }
        problem("node \(node) was not a voter again 20 s after it was added back")
    }
}

/// The voters in a `GET /v1/operator/raft` answer.
func voters(_ text: String) -> Set<Int> {
    struct View: Decodable {
        struct Member: Decodable {
            var id: Int
            var suffrage: String
        }
        var members: [Member]
    }
    guard let view = try? JSONDecoder().decode(View.self, from: Data(text.utf8)) else { return [] }
    return Set(view.members.filter { $0.suffrage == "voter" }.map(\.id))
}
