import Raft

#if canImport(Glibc)
import Glibc
#endif

/// A 3-node Raft cluster driven in one thread: Readys are "persisted" into in-memory arrays, messages go straight
/// into the recipient's inbox. It measures the core alone: no disk, no network, no serialization.
enum RaftCoreBenchmark {
    /// One run's figures.
    struct Result {
        /// Committed (applied at the leader) proposals per wall-clock second.
        var proposalsPerSecond: Double
        /// Heap allocations of the whole process during the run, per proposal.
        var allocationsPerProposal: Double
    }

    /// Runs `proposals` proposals with at most `window` uncommitted at any time.
    static func run(proposals: Int, payloadBytes: Int, window: Int) -> Result {
        var cluster = Cluster()
        cluster.electLeader()
        let payload = [UInt8](repeating: 0xAB, count: payloadBytes)
        let start = monotonicSeconds()
        let (_, allocations) = AllocationCounter.count {
            cluster.drive(proposals: proposals, payload: payload, window: window)
        }
        let elapsed = monotonicSeconds() - start
        cluster.checkAgreement()
        return Result(
            proposalsPerSecond: Double(proposals) / elapsed,
            allocationsPerProposal: Double(allocations) / Double(proposals)
        )
    }

    struct Cluster {
        var nodes: [Raft.Node]
        /// Each node's stored log, as a shell would keep it (here in memory).
        var stored: [[Raft.Entry]] = [[], [], []]
        var inbox: [Raft.Message] = []
        var committedAtLeader = 0

        init() {
            var options = Raft.Options()
            options.maxInflightMessages = 64
            let configuration = Raft.Configuration(voters: [1, 2, 3])
            nodes = (1...3).map { Raft.Node(id: UInt64($0), options: options, bootstrap: configuration, seed: 1) }
        }

        mutating func electLeader() {
            var rounds = 0
            while !nodes.contains(where: { $0.role == .leader }) {
                precondition(rounds < 10_000, "no leader elected")
                rounds += 1
                nodes[0].tick()
                processAll()
            }
            // Let the leader commit its empty entry.
            for _ in 0..<3 { processAll() }
            committedAtLeader = 0
        }

        var leaderSlot: Int { nodes.firstIndex { $0.role == .leader }! }

        mutating func drive(proposals: Int, payload: [UInt8], window: Int) {
            let leader = leaderSlot
            var proposed = 0
            var batch: [[UInt8]] = []
            while committedAtLeader < proposals {
                let room = min(window - (proposed - committedAtLeader), proposals - proposed)
                if room > 0 {
                    batch.removeAll(keepingCapacity: true)
                    for _ in 0..<room { batch.append(payload) }
                    guard case .success = nodes[leader].proposeBatch(batch) else { fatalError("proposal refused") }
                    proposed += room
                }
                processAll()
            }
        }

        /// Checks that every node applied the same log: the benchmark measured real replication.
        mutating func checkAgreement() {
            for _ in 0..<5 { processAll() }
            let applied = nodes.map(\.appliedIndex)
            precondition(Set(applied).count == 1, "nodes disagree after the run: applied \(applied)")
            let terms = applied.indices.map { stored[$0].last?.term }
            precondition(Set(terms).count == 1, "nodes stored different last terms: \(terms)")
        }

        /// One round: every node's Ready is handled, then every message is delivered.
        mutating func processAll() {
            for slot in nodes.indices {
                let ready = nodes[slot].ready()
                if let first = ready.entries.first {
                    // Stored entries are contiguous: the overwrite position is arithmetic, not a search.
                    let base = stored[slot].first?.index ?? first.index
                    let keep = min(stored[slot].count, Int(first.index - min(base, first.index)))
                    stored[slot].removeSubrange(keep...)
                    stored[slot].append(contentsOf: ready.entries)
                }
                inbox.append(contentsOf: ready.messages)
                if nodes[slot].role == .leader {
                    for entry in ready.committedEntries {
                        if case .command = entry.payload { committedAtLeader += 1 }
                    }
                }
                nodes[slot].advance()
                // Keep memory flat: compact what every node applied, as a real shell would after snapshotting.
                let applied = nodes[slot].appliedIndex
                if applied > nodes[slot].log.snapshot.index + 50_000 {
                    nodes[slot].compact(through: applied, snapshotData: [])
                    stored[slot].removeAll { $0.index <= applied }
                }
            }
            let messages = inbox
            inbox.removeAll(keepingCapacity: true)
            for message in messages {
                nodes[Int(message.to - 1)].step(message)
            }
        }
    }
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
