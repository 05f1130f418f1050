package import ClusterState

/// What the agent knows of one container it started.
package struct LocalContainer: Sendable, Equatable {
    /// The state the runtime reports.
    package enum State: Sendable, Equatable {
        /// Started, not yet confirmed running.
        case starting
        /// Running.
        case running
        /// Asked to stop, not yet exited.
        case stopping
        /// Exited with this code.
        case exited(code: Int)
    }

    /// The task's id.
    package var task: String
    /// The epoch of the assignment it was started for.
    package var epoch: Int
    /// Where it is.
    package var state: State
    /// HEALTHY, UNHEALTHY or UNKNOWN when the task definition has a health check, else nil.
    package var health: String?
    /// Why it exited, when the runtime knows more than the exit code (an image that could not be found, say).
    package var reason: String?

    /// Creates a record.
    package init(task: String, epoch: Int, state: State, health: String? = nil, reason: String? = nil) {
        self.task = task
        self.epoch = epoch
        self.state = state
        self.health = health
        self.reason = reason
    }
}

/// What the agent should do.
package enum AgentAction: Sendable, Equatable {
    /// Start the task's containers.
    case start(TaskRecord)
    /// Stop the task's containers.
    case stop(task: String)
    /// Forget an exited container whose task the state no longer lists (remove it from the runtime).
    case forget(task: String)
}

/// The agent's decisions, pure: from the controllers' assignments (this instance's tasks that have not stopped)
/// and the local containers, what to start, stop and forget, and what to report. Fencing: a task is never started
/// for an epoch older than one already seen for it, and every report carries the epoch of the container it is
/// about, so a report from a stale assignment is refused by apply.
package struct AgentCore: Sendable {
    /// The highest epoch seen for each task.
    package var highestEpoch: [String: Int] = [:]

    /// Creates a core with no history.
    package init() {}

    /// The actions for this round. `local` is every container the runtime knows, by task id.
    package mutating func plan(assignments: [TaskRecord], local: [String: LocalContainer]) -> [AgentAction] {
        var actions: [AgentAction] = []
        var listed = Set<String>()
        for task in assignments.sorted(by: { $0.id < $1.id }) {
            listed.insert(task.id)
            let seen = highestEpoch[task.id] ?? 0
            if task.epoch > seen { highestEpoch[task.id] = task.epoch }
            let container = local[task.id]
            if task.desiredStatus == "RUNNING" {
                guard container == nil, task.lastStatus == "PENDING", task.epoch >= seen else { continue }
                actions.append(.start(task))
            } else if let container, container.state == .starting || container.state == .running {
                actions.append(.stop(task: task.id))
            }
        }
        for (id, container) in local.sorted(by: { $0.key < $1.key }) where !listed.contains(id) {
            // Not listed: stopped in the state, pruned, or given to another instance while this one was cut off.
            switch container.state {
            case .starting, .running: actions.append(.stop(task: id))
            case .stopping: break
            case .exited: actions.append(.forget(task: id))
            }
        }
        return actions
    }

    /// The reports that would bring the state in line with the local containers.
    package func reports(assignments: [TaskRecord], local: [String: LocalContainer]) -> [TaskStateReport] {
        var reports: [TaskStateReport] = []
        for task in assignments.sorted(by: { $0.id < $1.id }) {
            guard let container = local[task.id] else {
                if task.desiredStatus == "STOPPED" {
                    // Assigned, never started here, no longer wanted.
                    reports.append(
                        TaskStateReport(task: task.id, epoch: task.epoch, status: "STOPPED", reason: "never started")
                    )
                } else if !task.isStarting {
                    // The state says it runs here, but the runtime (which adopted everything this host has) has no
                    // trace of it: removed behind the agent's back, or gone with the host. Report it so it is
                    // replaced rather than counted as running forever.
                    reports.append(
                        TaskStateReport(
                            task: task.id,
                            epoch: task.epoch,
                            status: "STOPPED",
                            reason: "its container is gone from this host (removed outside gantry, or lost)"
                        )
                    )
                }
                continue
            }
            guard container.epoch == task.epoch else { continue }
            switch container.state {
            case .exited(let code):
                reports.append(
                    TaskStateReport(
                        task: task.id,
                        epoch: container.epoch,
                        status: "STOPPED",
                        exitCode: code,
                        reason: container.reason
                    )
                )
            case .running:
                let shown = task.containers.first { $0.hasHealthCheck == true }?.healthStatus
                if task.lastStatus != "RUNNING" || (container.health != nil && container.health != shown) {
                    reports.append(
                        TaskStateReport(
                            task: task.id,
                            epoch: container.epoch,
                            status: "RUNNING",
                            healthStatus: container.health
                        )
                    )
                }
            case .starting, .stopping:
                break
            }
        }
        return reports
    }
}
