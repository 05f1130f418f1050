import Orchestration
import Simulation
import Testing

/// The orchestration seeds: `GANTRY_ORCH_SEED` replays one; otherwise `GANTRY_ORCH_SEEDS` (default 200) from 1.
func orchestrationSeeds() -> [UInt64] {
    if let one = environment("GANTRY_ORCH_SEED").flatMap(UInt64.init) { return [one] }
    let count = environment("GANTRY_ORCH_SEEDS").flatMap(UInt64.init) ?? 200
    return Array(1...max(count, 1))
}

/// The orchestrator under leader kills and agent losses, with simulated agents: every invariant after every
/// command, convergence at the end.
@Suite("Orchestration simulation")
struct OrchestrationSimulationTests {
    static let parts = 4

    @Test("seeded scenarios keep every invariant and converge", arguments: 0..<parts)
    func seeds(part: Int) {
        let seeds = orchestrationSeeds().filter { Int($0 % UInt64(Self.parts)) == part }
        var failures: [OrchestrationSimulation.Report] = []
        var perScenario: [OrchestrationSimulation.Scenario: Int] = [:]
        for seed in seeds {
            let report = OrchestrationSimulation.run(OrchestrationSimulation.Configuration(seed: seed))
            perScenario[report.scenario, default: 0] += 1
            if environment("GANTRY_ORCH_PRINT") == "1" { print(report) }
            if !report.violations.isEmpty {
                print(report.finalState.map { "  \($0)" }.joined(separator: "\n"))
                print("\(report)\n  replay: GANTRY_ORCH_SEED=\(seed) swift test --filter OrchestrationSimulationTests")
                failures.append(report)
            }
        }
        #expect(
            failures.isEmpty,
            "\(failures.count) of \(seeds.count) seeds failed; first: \(failures.first.map { "\($0)" } ?? "")"
        )
        if seeds.count >= 20 {
            // Every scenario ran.
            #expect(perScenario.count == OrchestrationSimulation.Scenario.allCases.count)
        }
    }

    @Test("the checks catch a planted bug", arguments: PlantedOrchestrationBug.allCases)
    func plantedBug(bug: PlantedOrchestrationBug) {
        let scenario: OrchestrationSimulation.Scenario = bug == .noFailoverGrace ? .failover : .rolling
        var caught: [OrchestrationSimulation.Report] = []
        for seed in UInt64(1)...20 {
            let report = OrchestrationSimulation.run(
                OrchestrationSimulation.Configuration(seed: seed, scenario: scenario, planted: [bug])
            )
            if environment("GANTRY_ORCH_PRINT") == "1" { print(report) }
            if !report.violations.isEmpty { caught.append(report) }
        }
        #expect(caught.count >= 5, "only \(caught.count) of 20 seeds caught \(bug)")
        print("planted \(bug): caught in \(caught.count) of 20 seeds; first: \(caught.first.map { "\($0)" } ?? "none")")
    }

    @Test("the same seed gives the same run")
    func deterministic() {
        for seed in UInt64(1)...5 {
            let first = OrchestrationSimulation.run(OrchestrationSimulation.Configuration(seed: seed))
            let second = OrchestrationSimulation.run(OrchestrationSimulation.Configuration(seed: seed))
            #expect("\(first)" == "\(second)")
            #expect(first.applied > 20)
        }
    }

    @Test("faults happen: leaders die and agents drop out across the seeds")
    func faultsHappen() {
        var kills = 0
        var losses = 0
        for seed in UInt64(1)...10 {
            let report = OrchestrationSimulation.run(OrchestrationSimulation.Configuration(seed: seed))
            kills += report.leaderKills
            losses += report.agentLosses
        }
        #expect(kills >= 10)
        #expect(losses >= 5)
    }
}
