import Raft
import Simulation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Reads an environment variable.
func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// The seeds the suite runs: `GANTRY_SIM_SEED` replays one; otherwise `GANTRY_SIM_SEEDS` (default 2,000) from 1.
func suiteSeeds() -> [UInt64] {
    if let one = environment("GANTRY_SIM_SEED").flatMap(UInt64.init) { return [one] }
    let count = environment("GANTRY_SIM_SEEDS").flatMap(UInt64.init) ?? 2_000
    return Array(1...max(count, 1))
}

/// Bugs planted for a replay (`GANTRY_SIM_BUGS=commitEntriesOfEarlierTerms,...`).
func replayBugs() -> Set<Raft.InjectedBug> {
    guard let names = environment("GANTRY_SIM_BUGS") else { return [] }
    return Set(names.split(separator: ",").compactMap { Raft.InjectedBug(rawValue: String($0)) })
}

/// Runs `seeds`, returning the failed reports (printing each with its replay command).
func runSeeds(
    _ seeds: [UInt64],
    bugs: Set<Raft.InjectedBug>,
    stopAtFirstFailure: Bool
) -> (
    failures: [Simulation.Report], totals: Simulation.Stats
) {
    let tracing = environment("GANTRY_SIM_TRACE") == "1"
    var failures: [Simulation.Report] = []
    var totals = Simulation.Stats()
    for seed in seeds {
        var configuration = Simulation.Configuration(seed: seed)
        configuration.raft.injectedBugs = bugs
        configuration.trace = tracing
        let report = Simulation.run(configuration)
        totals.add(report.stats)
        if !report.passed {
            if tracing { print(report.trace.joined(separator: "\n")) }
            print("\(report)\n  replay: \(Simulation.replayCommand(seed: seed, bugs: bugs))")
            failures.append(report)
            if stopAtFirstFailure { break }
        }
    }
    return (failures, totals)
}

extension Simulation.Stats {
    /// Adds another run's counters.
    mutating func add(_ other: Simulation.Stats) {
        ticks += other.ticks
        events += other.events
        leaders += other.leaders
        acknowledgedWrites += other.acknowledgedWrites
        unknownWrites += other.unknownWrites
        reads += other.reads
        crashes += other.crashes
        leaderKills += other.leaderKills
        partitions += other.partitions
        membershipChanges += other.membershipChanges
        transfers += other.transfers
        snapshotsInstalled += other.snapshotsInstalled
        messagesDropped += other.messagesDropped
        diskFaults += other.diskFaults
    }
}

/// The seeded simulation: every property after every step, liveness and linearizability at the end.
@Suite("Raft simulation")
struct SimulationSuiteTests {
    /// Seeds split into parts so Swift Testing runs them in parallel.
    static let parts = 8

    @Test(
        "every seed keeps election safety, log matching, leader completeness, state machine safety, durability, linearizable reads and liveness",
        arguments: 0..<parts
    )
    func seeds(part: Int) {
        let all = suiteSeeds()
        let mine = all.enumerated().filter { $0.offset % Self.parts == part }.map(\.element)
        let (failures, totals) = runSeeds(mine, bugs: replayBugs(), stopAtFirstFailure: false)
        print("simulation part \(part): \(mine.count) seeds, \(failures.count) failed; totals: \(totals)")
        #expect(failures.isEmpty, "failing seeds: \(failures.map(\.seed))")
        // The runs did real work: leaders were elected and writes were acknowledged and read.
        if !mine.isEmpty {
            #expect(totals.leaders > 0 && totals.acknowledgedWrites > 0 && totals.reads > 0)
        }
    }

    /// The bugs the random simulation must find. `commitEntriesOfEarlierTerms` is left to the deterministic
    /// Figure 8 tests in RaftTests: it only bites when an old-term entry reaches a majority without the new
    /// leader's own entry and a node with a conflicting newer entry then wins, which random schedules produce in
    /// roughly one seed in two thousand — too rare to assert on without tuning the simulation to the bug.
    static let bugsTheSimulationMustCatch: [Raft.InjectedBug] = [
        .grantVoteWithoutLogCheck, .serveReadsWithoutLeadershipCheck, .acknowledgeAppendsBeforePersisting,
    ]

    @Test(
        "the simulation catches each planted Raft bug within the default seed budget",
        arguments: bugsTheSimulationMustCatch
    )
    func catchesPlantedBug(bug: Raft.InjectedBug) {
        let budget = Array(UInt64(1)...2_000)
        let (failures, totals) = runSeeds(budget, bugs: [bug], stopAtFirstFailure: true)
        let caught = failures.first
        print(
            "planted bug \(bug.rawValue): \(caught.map { "caught by seed \($0.seed): \($0.failure!)" } ?? "NOT caught") after \(totals.events) events"
        )
        #expect(caught != nil, "the simulation did not catch \(bug.rawValue) in 2,000 seeds")
    }

    @Test("one seed always gives the same run")
    func deterministic() {
        let first = Simulation.run(Simulation.Configuration(seed: 42))
        let second = Simulation.run(Simulation.Configuration(seed: 42))
        #expect(first.description == second.description)
        #expect(first.stats.events > 1_000)
    }
}
