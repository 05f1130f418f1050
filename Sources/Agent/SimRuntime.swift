package import ClusterState

/// Simulated containers with scripted behaviour, chosen by the first container's image: `sim/ok` (runs),
/// `sim/slow` (healthy after 3 s), `sim/crash` (exits 1 two seconds after starting), `sim/failstart` (exits 1 at
/// once), `sim/unhealthy` (runs, fails its health check). Time comes from `clock` (milliseconds), so tests drive it.
package final class SimRuntime: ContainerRuntime {
    struct Entry {
        var behaviour: String
        var epoch: Int
        var startedAt: Int64
        var hasHealthCheck: Bool
        var stopAt: Int64?
        var exitCode: Int?
    }

    package let name = "sim"
    let clock: () -> Int64
    var entries: [String: Entry] = [:]

    /// A runtime reading time from `clock`.
    package init(clock: @escaping () -> Int64) {
        self.clock = clock
    }

    package func start(_ task: TaskRecord, _ definition: TaskDefinitionSpec) throws(RuntimeError) {
        let image = definition.containerDefinitions.first?.image ?? "sim/ok"
        let behaviour = image.hasPrefix("sim/") ? String(image.dropFirst(4)) : "ok"
        entries[task.id] = Entry(
            behaviour: behaviour,
            epoch: task.epoch,
            startedAt: clock(),
            hasHealthCheck: definition.containerDefinitions.contains { $0.healthCheck != nil },
            stopAt: nil,
            exitCode: behaviour == "failstart" ? 1 : nil
        )
    }

    package func stop(_ task: String, timeoutSeconds: Int) {
        guard var entry = entries[task], entry.exitCode == nil, entry.stopAt == nil else { return }
        entry.stopAt = clock() + 100
        entries[task] = entry
    }

    package func poll() -> [String: LocalContainer] {
        let now = clock()
        var states: [String: LocalContainer] = [:]
        for (id, entry) in entries {
            var entry = entry
            if entry.exitCode == nil, let stopAt = entry.stopAt, now >= stopAt { entry.exitCode = 0 }
            if entry.exitCode == nil, entry.behaviour == "crash", now >= entry.startedAt + 2_000 { entry.exitCode = 1 }
            entries[id] = entry
            var health: String?
            if entry.hasHealthCheck {
                switch entry.behaviour {
                case "unhealthy": health = "UNHEALTHY"
                case "slow": health = now >= entry.startedAt + 3_000 ? "HEALTHY" : "UNKNOWN"
                default: health = "HEALTHY"
                }
            }
            let state: LocalContainer.State =
                entry.exitCode.map { .exited(code: $0) } ?? (entry.stopAt != nil ? .stopping : .running)
            states[id] = LocalContainer(task: id, epoch: entry.epoch, state: state, health: health)
        }
        return states
    }

    package func remove(_ task: String) {
        entries[task] = nil
    }
}
