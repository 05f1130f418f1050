package import ClusterState
import Synchronization

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
        var journaled = false
    }

    package let name = "sim"
    let clock: () -> Int64
    /// Told each start and each end of a simulated container ("start"/"stop", task id, epoch): the chaos suite's
    /// record of what ran where and when.
    let record: ((_ event: String, _ task: String, _ epoch: Int) -> Void)?
    var entries: [String: Entry] = [:]

    /// A runtime reading time from `clock`, telling `record` (if any) of every start and end.
    package init(clock: @escaping () -> Int64, record: ((String, String, Int) -> Void)? = nil) {
        self.clock = clock
        self.record = record
    }

    let journal = SimLogReader()

    package var logs: any LogReader { journal }

    package func adopt(instance: String) throws(RuntimeError) -> [String] {
        // Simulated containers live in the agent's memory: a restarted agent has none to adopt.
        []
    }

    package func start(_ task: TaskRecord, _ definition: TaskDefinitionSpec, secrets: TaskSecrets) throws(RuntimeError)
    {
        let image = definition.containerDefinitions.first?.image ?? "sim/ok"
        let behaviour = image.hasPrefix("sim/") ? String(image.dropFirst(4)) : "ok"
        let container = definition.containerDefinitions.first?.name ?? "main"
        journal.write(task.id, container, "sim: started \(image) (behaviour \(behaviour)) for epoch \(task.epoch)\n")
        if let previous = entries[task.id], !previous.journaled { record?("stop", task.id, previous.epoch) }
        record?("start", task.id, task.epoch)
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
            if let code = entry.exitCode, !entry.journaled {
                record?("stop", id, entry.epoch)
                journal.write(id, nil, "sim: exited with code \(code)\n")
                journal.finish(id)
                entry.journaled = true
            }
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
        if let entry = entries[task], !entry.journaled { record?("stop", task, entry.epoch) }
        entries[task] = nil
        journal.forget(task)
    }
}

/// What the simulated containers "print": a line when each starts and when it exits.
final class SimLogReader: LogReader {
    struct Log {
        var container: String
        var bytes: [UInt8] = []
        var running = true
    }

    let logs = Mutex<[String: Log]>([:])

    func write(_ task: String, _ container: String?, _ line: String) {
        logs.withLock { logs in
            var log = logs[task] ?? Log(container: container ?? "main")
            log.bytes += Array(line.utf8)
            logs[task] = log
        }
    }

    func finish(_ task: String) {
        logs.withLock { $0[task]?.running = false }
    }

    func forget(_ task: String) {
        logs.withLock { $0[task] = nil }
    }

    func read(task: String, container: String, offset: Int, limit: Int) throws(RuntimeError) -> LogChunk? {
        logs.withLock { logs in
            guard let log = logs[task], log.container == container else { return nil }
            let start = min(max(0, offset), log.bytes.count)
            let end = min(log.bytes.count, start + limit)
            return LogChunk(
                task: task,
                container: container,
                text: String(decoding: log.bytes[start..<end], as: UTF8.self),
                offset: end,
                running: log.running
            )
        }
    }
}
