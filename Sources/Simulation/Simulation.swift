import ChaosCheck
package import Raft

/// A deterministic simulation of a Raft cluster: several `Raft.Node`s under virtual time, over a simulated network
/// (loss, duplication, reordering, delay, partitions of every shape) and simulated disks (a crash loses whatever was
/// not yet persisted), with random client writes and linearizable reads recorded as a history, membership changes,
/// leadership transfers and compaction. One seed determines the whole run; `Simulation.run(_:)` checks the safety
/// properties after every step and liveness and linearizability at the end.
package enum Simulation {
    /// What to simulate.
    package struct Configuration: Sendable {
        /// The seed of every random choice.
        package var seed: UInt64
        /// Number of nodes (3 or 5 in the default suite).
        package var nodeCount: Int
        /// Virtual time units per nominal tick; a heartbeat interval is one tick.
        package var unitsPerTick: UInt64 = 100
        /// Length of the faulty part of the run, in ticks.
        package var faultTicks: UInt64 = 300
        /// Ticks allowed, after every fault heals, for a leader to emerge.
        package var livenessTicks: UInt64 = 60
        /// Ticks allowed, after a leader emerges, for every node to apply every acknowledged write and for the
        /// membership to be whole again.
        package var convergenceTicks: UInt64 = 200
        /// Raft options for every node (`injectedBugs` plants bugs).
        package var raft = Raft.Options()
        /// Mean virtual units between client operations.
        package var clientInterval: UInt64 = 20
        /// Entries applied beyond the last snapshot before a node compacts.
        package var compactionThreshold: UInt64 = 64
        /// Draw `maxMessageBytes` and `maxInflightMessages` from the seed (overriding `raft`'s).
        package var randomizeFlowControl = true
        /// Record a human-readable trace of every event (for replaying one seed).
        package var trace = false

        /// A configuration with the suite's defaults; odd seeds run 5 nodes, even seeds 3.
        package init(seed: UInt64, nodeCount: Int? = nil) {
            self.seed = seed
            self.nodeCount = nodeCount ?? (seed % 2 == 1 ? 5 : 3)
        }
    }

    /// How a run went.
    package struct Report: Sendable, CustomStringConvertible {
        /// The seed.
        package var seed: UInt64
        /// Nodes simulated.
        package var nodeCount: Int
        /// The first violated property, if any.
        package var failure: String?
        /// Counters of what happened.
        package var stats = Stats()
        /// The trace, when requested.
        package var trace: [String] = []

        /// Whether every check held.
        package var passed: Bool { failure == nil }

        /// One line.
        package var description: String {
            let verdict = failure.map { "FAILED: \($0)" } ?? "ok"
            return "seed \(seed) (\(nodeCount) nodes): \(verdict) — \(stats)"
        }
    }

    /// Counters of a run.
    package struct Stats: Sendable, CustomStringConvertible {
        /// Virtual time at the end, in ticks.
        package var ticks: UInt64 = 0
        /// Events processed.
        package var events = 0
        /// Leaders elected (distinct terms with a leader).
        package var leaders = 0
        /// Writes acknowledged to clients.
        package var acknowledgedWrites = 0
        /// Writes whose outcome stayed unknown (their node crashed).
        package var unknownWrites = 0
        /// Reads served.
        package var reads = 0
        /// Node crashes.
        package var crashes = 0
        /// Of which the victim was the leader.
        package var leaderKills = 0
        /// Partitions started.
        package var partitions = 0
        /// Membership changes committed.
        package var membershipChanges = 0
        /// Leadership transfers requested.
        package var transfers = 0
        /// Snapshots installed from a leader.
        package var snapshotsInstalled = 0
        /// Messages dropped by loss or partitions.
        package var messagesDropped = 0
        /// Nodes stopped by an injected disk fault (a crash during a write, or a failed write or fsync).
        package var diskFaults = 0

        /// Zero counters.
        package init() {}

        /// One line.
        package var description: String {
            "ticks=\(ticks) events=\(events) leaders=\(leaders) acked=\(acknowledgedWrites) "
                + "unknown=\(unknownWrites) reads=\(reads) crashes=\(crashes) leaderKills=\(leaderKills) "
                + "partitions=\(partitions) membership=\(membershipChanges) transfers=\(transfers) "
                + "snapshots=\(snapshotsInstalled) dropped=\(messagesDropped) diskFaults=\(diskFaults)"
        }
    }

    /// Runs one seed to the end, or to the first violated property.
    package static func run(_ configuration: Configuration) -> Report {
        var world = World(configuration)
        return world.run()
    }

    /// The command that replays one seed.
    package static func replayCommand(seed: UInt64, bugs: Set<Raft.InjectedBug> = []) -> String {
        let bugPart = bugs.isEmpty ? "" : "GANTRY_SIM_BUGS=\(bugs.map(\.rawValue).sorted().joined(separator: ",")) "
        return "GANTRY_SIM_SEED=\(seed) \(bugPart)GANTRY_SIM_TRACE=1 swift test --filter SimulationSuiteTests/seeds"
    }
}

/// A property violation; ends the run.
struct Violation: Error {
    var message: String
}
