import ClusterState
package import Orchestration
import Raft

/// The control plane's orchestration under faults, in virtual time: the replicated domain state (commands applied
/// in log order, as every controller applies them), a leader running the real `Orchestrator` every 200 ms, simulated
/// agents running scripted containers, and an operator script — with leader kills (the leader's memory and its
/// uncommitted proposals lost, a new leader elected after a pause) and agent losses (an agent cut off for seconds,
/// its containers running on). Raft itself is simulated elsewhere (`Simulation.run`, 2,000 seeds in CI); here the
/// log is modelled by what orchestration depends on: committed commands apply in order on every node, uncommitted
/// ones may be lost or committed by the next leader.
package enum OrchestrationSimulation {
    /// What a seed exercises.
    package enum Scenario: String, CaseIterable, Sendable {
        /// A REPLICA service scaled up and down while leaders die and agents drop out.
        case converge
        /// A rolling update within the service's percent bounds, under the same faults.
        case rolling
        /// A bad revision (crash loop, failed start or failed health checks) tripping the breaker into a rollback.
        case breaker
        /// A DAEMON service following instances joining, draining and dropping out.
        case daemon
        /// A steady service through several leader failovers: no healthy task may be rescheduled.
        case failover
    }

    /// One run's settings.
    package struct Configuration: Sendable {
        /// Everything random in the run derives from it.
        package var seed: UInt64
        /// The scenario (default: chosen by the seed).
        package var scenario: Scenario?
        /// Bugs planted in the orchestrator, to show the checks catch them.
        package var planted: Set<PlantedOrchestrationBug> = []

        /// Creates a configuration.
        package init(seed: UInt64, scenario: Scenario? = nil, planted: Set<PlantedOrchestrationBug> = []) {
            self.seed = seed
            self.scenario = scenario
            self.planted = planted
        }
    }

    /// What a run found.
    package struct Report: Sendable, CustomStringConvertible {
        /// The seed.
        package var seed: UInt64
        /// The scenario run.
        package var scenario: Scenario
        /// Broken invariants, first first; empty when the run passed.
        package var violations: [String] = []
        /// Commands applied.
        package var applied = 0
        /// Leaders killed.
        package var leaderKills = 0
        /// Agents cut off.
        package var agentLosses = 0
        /// Tasks created.
        package var tasksCreated = 0
        /// The virtual time the run ended at (ms).
        package var endedAt: Int64 = 0
        /// For failed runs: the service's deployments and latest events at the end.
        package var finalState: [String] = []

        /// One line, with the command to replay it.
        package var description: String {
            let verdict = violations.isEmpty ? "ok" : "FAILED: \(violations.prefix(3).joined(separator: " | "))"
            return
                "orchestration seed \(seed) (\(scenario.rawValue)): \(applied) commands, \(tasksCreated) tasks, "
                + "\(leaderKills) leader kills, \(agentLosses) agent losses — \(verdict)"
        }
    }

    /// Runs one seed to the end.
    package static func run(_ configuration: Configuration) -> Report {
        var world = OrchestrationWorld(configuration)
        world.run()
        return world.report
    }
}
