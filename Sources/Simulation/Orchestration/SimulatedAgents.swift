import ClusterState
import Orchestration

/// How a simulated container behaves, from its image: `sim/ok`, `sim/slow` (health takes 3 s), `sim/crash` (exits
/// 2 s after starting), `sim/failstart` (never starts), `sim/unhealthy` (runs, fails its health check).
enum SimBehaviour: String {
    case ok, slow, crash, failstart, unhealthy

    init(image: String) {
        self = SimBehaviour(rawValue: String(image.split(separator: "/").last ?? "")) ?? .ok
    }
}

/// A simulated container.
struct SimContainer {
    enum Phase: Equatable {
        case starting(readyAt: Int64)
        case running(since: Int64)
        case stopping(at: Int64)
        case stopped(exitCode: Int)
    }

    var behaviour: SimBehaviour
    var phase: Phase
    var hasHealthCheck: Bool
    var epoch: Int
}

/// A simulated agent: it registers its host, heartbeats to the leader, runs what is assigned to it and reports
/// every change. Cut off, it keeps its containers running (static stability) and reconciles when it is back.
struct SimAgent {
    var registration: InstanceRegistration
    var joined = false
    /// Cut off from the controllers until then.
    var cutUntil: Int64 = 0
    /// After a leader change, when this agent's connection finds the new leader (heartbeats and reports go to
    /// the leader; assignments are read from any controller meanwhile).
    var reconnectAt: Int64 = 0
    var containers: [String: SimContainer] = [:]
    /// When each task's state was last reported (reports are repeated until the state shows them).
    var reportedAt: [String: Int64] = [:]

    var id: String { registration.id ?? "" }
}

extension OrchestrationWorld {
    mutating func agentTick(_ position: Int) {
        guard agents[position].joined else { return }
        var agent = agents[position]
        // The containers go on whatever the network does.
        for (id, container) in agent.containers {
            var container = container
            switch container.phase {
            case .starting(let readyAt) where now >= readyAt:
                container.phase = container.behaviour == .failstart ? .stopped(exitCode: 1) : .running(since: now)
            case .running(let since) where container.behaviour == .crash && now >= since + 2_000:
                container.phase = .stopped(exitCode: 137)
            case .stopping(let at) where now >= at:
                container.phase = .stopped(exitCode: 0)
            default:
                break
            }
            agent.containers[id] = container
        }
        defer { agents[position] = agent }
        guard now >= agent.cutUntil else { return }
        let reachesLeader = leaderUp && now >= agent.reconnectAt
        if reachesLeader { liveness.lastHeartbeat[agent.id] = now }
        let assigned = domain.tasks(onInstance: agent.id)
        var reports: [TaskStateReport] = []
        for task in assigned {
            if task.lastStatus == "STOPPED" {
                agent.containers[task.id] = nil
                agent.reportedAt[task.id] = nil
                continue
            }
            if var container = agent.containers[task.id] {
                if task.desiredStatus == "STOPPED" {
                    switch container.phase {
                    case .starting, .running:
                        container.phase = .stopping(at: now + uniform(50...400))
                        agent.containers[task.id] = container
                    default: break
                    }
                }
            } else if task.desiredStatus == "RUNNING" && task.lastStatus == "PENDING" {
                // Fencing: never start an assignment older than one already seen for this task.
                let definition = domain.taskDefinition(task.taskDefinitionArn)
                let image = definition?.spec.containerDefinitions.first?.image ?? "sim/ok"
                agent.containers[task.id] = SimContainer(
                    behaviour: SimBehaviour(image: image),
                    phase: .starting(readyAt: now + uniform(100...1_500)),
                    hasHealthCheck: task.containers.contains { $0.hasHealthCheck == true },
                    epoch: task.epoch
                )
            }
            guard let state = reportable(task, agent.containers[task.id]) else { continue }
            if reachesLeader && now - (agent.reportedAt[task.id] ?? .min / 2) >= 1_000 {
                reports.append(state)
                agent.reportedAt[task.id] = now
            }
        }
        if !reports.isEmpty && reachesLeader {
            propose(.reportTaskStates(cluster: cluster, instance: agent.id, reports: reports), byLeader: false)
        }
    }

    /// The report that would bring the state in line with the container, or nil when it already is.
    func reportable(_ task: TaskRecord, _ container: SimContainer?) -> TaskStateReport? {
        guard let container else {
            // Assigned but never run here, and no longer wanted: report it stopped.
            return task.desiredStatus == "STOPPED"
                ? TaskStateReport(task: task.id, epoch: task.epoch, status: "STOPPED", reason: "never started")
                : nil
        }
        switch container.phase {
        case .stopped(let code):
            return TaskStateReport(task: task.id, epoch: task.epoch, status: "STOPPED", exitCode: code)
        case .running(let started):
            var health: String?
            if container.hasHealthCheck {
                switch container.behaviour {
                case .unhealthy: health = "UNHEALTHY"
                case .slow: health = now >= started + 3_000 ? "HEALTHY" : "UNKNOWN"
                default: health = "HEALTHY"
                }
            }
            let shown = task.containers.first { $0.hasHealthCheck == true }?.healthStatus
            if task.lastStatus == "RUNNING" && (health == nil || shown == health) { return nil }
            return TaskStateReport(task: task.id, epoch: task.epoch, status: "RUNNING", healthStatus: health)
        case .starting, .stopping:
            return nil
        }
    }
}
