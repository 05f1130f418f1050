import API
import Dispatch
import HTTP
import Synchronization

/// Fetches task logs from agents for `GET /v1/clusters/{cluster}/tasks/{task}/logs`. The node loop plans each call
/// from its state (`TaskLogs.plan`) and hands it here; the blocking HTTP call runs on this proxy's own queue, never
/// on the node loop (a slow or dead agent must not delay heartbeats, appends or reads), and the reply is sent from
/// that queue (`Reply` may be called from any thread).
final class AgentLogProxy: Sendable {
    /// The most calls to agents in flight at once; more are answered 503 at once rather than queued without bound.
    let maxInFlight: Int
    /// The bound on connecting to the agent and on each read and write.
    let timeoutMilliseconds: Int
    /// The largest agent answer relayed.
    let maxBodyBytes: Int
    let inFlight = Atomic<Int>(0)
    /// Concurrent: one slow agent does not hold up the logs of another; `maxInFlight` bounds the threads.
    let queue = DispatchQueue(label: "gantry-agent-logs", qos: .userInitiated, attributes: .concurrent)

    /// A proxy with the given bounds.
    init(maxInFlight: Int = 16, timeoutMilliseconds: Int, maxBodyBytes: Int = 8 << 20) {
        precondition(maxInFlight > 0 && timeoutMilliseconds > 0, "AgentLogProxy: bounds must be positive")
        self.maxInFlight = maxInFlight
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxBodyBytes = maxBodyBytes
    }

    /// Sends `request` to its agent off the calling thread and replies with the agent's answer, relayed unchanged,
    /// or 502 when the agent cannot be reached (503 when too many calls are in flight).
    func fetch(_ request: AgentLogRequest, reply: @escaping Reply) {
        guard inFlight.add(1, ordering: .relaxed).newValue <= maxInFlight else {
            inFlight.subtract(1, ordering: .relaxed)
            reply(
                APIError.unavailable("\(maxInFlight) task log requests are already waiting on agents; retry shortly")
                    .response
            )
            return
        }
        queue.async { [self] in
            defer { inFlight.subtract(1, ordering: .relaxed) }
            reply(call(request))
        }
    }

    /// The blocking call and its relayed answer.
    func call(_ request: AgentLogRequest) -> HTTPResponse {
        do {
            let client = try HTTPClient(
                address: request.address,
                timeoutMilliseconds: timeoutMilliseconds,
                limits: HTTPResponseParser.Limits(maxBodyBytes: maxBodyBytes)
            )
            defer { client.close() }
            var headers = request.headers
            headers.append(HTTPHeader(name: "Connection", value: "close"))
            let answer = try client.send(method: "GET", target: request.target, headers: headers)
            return TaskLogs.relay(
                status: answer.status,
                contentType: answer.header("Content-Type"),
                body: answer.body,
                from: request
            )
        } catch {
            return TaskLogs.unreachable(request, detail: error.description).response
        }
    }
}
