package import ClusterState

/// Why a runtime could not do something.
package struct RuntimeError: Error, Equatable, CustomStringConvertible {
    /// What went wrong, for the task's stopped reason and the log.
    package var description: String

    /// Creates an error.
    package init(_ description: String) {
        self.description = description
    }
}

/// What runs a task's containers: `exec` (plain processes), `sim` (scripted, in memory) and, next, `docker`.
/// Every call is made from the agent's one loop thread.
package protocol ContainerRuntime: AnyObject {
    /// The runtime's name, for the log.
    var name: String { get }
    /// Starts the task's containers; a failure means the task failed to start.
    func start(_ task: TaskRecord, _ definition: TaskDefinitionSpec) throws(RuntimeError)
    /// Asks the task's containers to stop (SIGTERM, then SIGKILL after `timeoutSeconds`).
    func stop(_ task: String, timeoutSeconds: Int)
    /// The state of every task the runtime knows, by task id (advancing stops and health checks as it goes).
    func poll() -> [String: LocalContainer]
    /// Forgets an exited task.
    func remove(_ task: String)
}
