package import ClusterState
import Synchronization

/// Why a runtime could not do something.
package struct RuntimeError: Error, Equatable, CustomStringConvertible {
    /// What went wrong, for the task's stopped reason and the log.
    package var description: String

    /// Creates an error.
    package init(_ description: String) {
        self.description = description
    }
}

/// Resolved secret environment variables of a task, by container name. Never logged.
package typealias TaskSecrets = [String: [ContainerDefinition.KeyValuePair]]

/// What runs a task's containers: `docker` (the Docker Engine API), `exec` (plain processes) and `sim` (scripted,
/// in memory). Every call is made from the agent's one loop thread and returns without waiting on a container.
package protocol ContainerRuntime: AnyObject {
    /// The runtime's name, for the log.
    var name: String { get }
    /// Takes over the containers an earlier run of the agent for `instance` left behind (running or exited), so a
    /// restarted agent neither starts duplicates nor loses track of what it must stop. Returns their task ids.
    /// Throws when the runtime cannot tell (its engine does not answer): the agent must not act, nor report a task
    /// gone, until it can.
    func adopt(instance: String) throws(RuntimeError) -> [String]
    /// Starts the task's containers, with `secrets` added to their environments; a failure means the task failed
    /// to start. A runtime may finish starting in the background: `poll` then shows the task `starting`.
    func start(_ task: TaskRecord, _ definition: TaskDefinitionSpec, secrets: TaskSecrets) throws(RuntimeError)
    /// Asks the task's containers to stop (SIGTERM, then SIGKILL after `timeoutSeconds`).
    func stop(_ task: String, timeoutSeconds: Int)
    /// The state of every task the runtime knows, by task id (advancing stops and health checks as it goes).
    func poll() -> [String: LocalContainer]
    /// Forgets an exited task and removes what is left of its containers.
    func remove(_ task: String)
    /// Reads containers' output; safe to use from other threads (the agent's log server).
    var logs: any LogReader { get }
}

/// A piece of a container's output.
package struct LogChunk: Sendable, Equatable, Codable {
    /// The task.
    package var task: String
    /// The container.
    package var container: String
    /// The output from the requested offset (lossy UTF-8).
    package var text: String
    /// The byte offset to ask for next.
    package var offset: Int
    /// Whether the container may still write more.
    package var running: Bool

    /// Creates a chunk.
    package init(task: String, container: String, text: String, offset: Int, running: Bool) {
        self.task = task
        self.container = container
        self.text = text
        self.offset = offset
        self.running = running
    }
}

/// Reads a container's output from a byte offset, at most `limit` bytes. Sendable: the agent serves logs from its
/// log server's thread while its loop runs the containers.
package protocol LogReader: Sendable {
    /// The output of `container` of `task` from byte `offset`; nil when the runtime has no such container.
    func read(task: String, container: String, offset: Int, limit: Int) throws(RuntimeError) -> LogChunk?
}

/// A value shared between the agent's loop and its background threads.
package final class Locked<Value: Sendable>: Sendable {
    let mutex: Mutex<Value>

    /// Holds `value`.
    package init(_ value: Value) {
        mutex = Mutex(value)
    }

    /// Runs `body` with the value locked.
    package func withLock<Result>(_ body: (inout sending Value) -> sending Result) -> sending Result {
        mutex.withLock(body)
    }
}
