import API
import Glibc
import HTTP

/// An answer of `GET /v1/clusters/{cluster}/tasks/{task}/logs` (the agent's, relayed by the controller).
struct TaskLogsBody: Decodable {
    /// The task's id.
    var task: String?
    /// The container the text is from.
    var container: String?
    /// The output from the requested offset on.
    var text: String
    /// The byte offset just past `text`: where the next request starts.
    var offset: UInt64
    /// Whether the container is still running (more output may come).
    var running: Bool
}

/// `gantry task logs`: prints a container's output from the start; with `follow`, asks again every second from
/// where the last answer ended, until the container has stopped and no new text came (or SIGINT ends the process).
func runTaskLogs(_ client: Client, _ target: String, container: String?, follow: Bool) throws(CommandError) {
    var container = container
    var offset: UInt64 = 0
    while true {
        let query = queryString([("container", container), ("offset", String(offset))])
        let response = try client.expectSuccess("GET", target + query)
        let logs = try decodeBody(TaskLogsBody.self, response)
        if client.json {
            printJSON(response)
        } else {
            writeStandardOutput(Array(logs.text.utf8))
        }
        // Keep asking for the container the controller chose, even if the task's default would change.
        if container == nil { container = logs.container }
        offset = logs.offset
        guard follow, logs.running || !logs.text.isEmpty else { return }
        usleep(1_000_000)
    }
}
