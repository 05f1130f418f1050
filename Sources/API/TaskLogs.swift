package import ClusterState
package import HTTP

/// A request for a task container's output, to send to the agent that runs the task:
/// `GET /v1/tasks/{task}/logs?container=NAME&offset=N` with `Authorization: Bearer <the agent's credential>`.
package struct AgentLogRequest: Sendable, Equatable {
    /// The container instance the task is placed on.
    package var instanceID: String
    /// The agent's `host:port`, as it registered it.
    package var address: String
    /// The request target on the agent.
    package var target: String
    /// The container asked for (the default one resolved).
    package var container: String
    /// The agent's credential, presented so the agent knows a controller is asking.
    package var credential: String

    /// Creates a request.
    package init(instanceID: String, address: String, target: String, container: String, credential: String) {
        self.instanceID = instanceID
        self.address = address
        self.target = target
        self.container = container
        self.credential = credential
    }

    /// The headers of the request to the agent.
    package var headers: [HTTPHeader] {
        [
            HTTPHeader(name: "Authorization", value: "Bearer \(credential)"),
            HTTPHeader(name: "Accept", value: "application/json"),
        ]
    }
}

/// `GET /v1/clusters/{cluster}/tasks/{task}/logs`, served by any controller from its local (possibly stale) state:
/// the plan of the call to the task's agent, and how the agent's answer is relayed. Pure; the controller makes the
/// call off its node loop.
package enum TaskLogs {
    /// The agent request for `container`'s output of `task` from byte `offset` (`container` nil: the task's first
    /// essential container), or the error that stops it: 404 for an unknown cluster, task or container, 409 when
    /// no agent can be asked (not placed yet, or an instance that registered no address or credential).
    package static func plan(
        cluster: String,
        task reference: String,
        container: String?,
        offset: UInt64,
        in domain: Domain
    ) -> Result<AgentLogRequest, APIError> {
        guard domain.clusters[cluster] != nil else {
            return .failure(
                APIError(status: 404, code: "cluster_not_found", message: "cluster \(cluster) does not exist")
            )
        }
        guard let task = domain.task(reference, in: cluster) else {
            return .failure(
                APIError(
                    status: 404,
                    code: "task_not_found",
                    message: "task \(reference) does not exist in cluster \(cluster)"
                )
            )
        }
        let names = task.containers.map(\.name)
        let chosen: String
        if let container {
            guard names.contains(container) else {
                return .failure(
                    APIError(
                        status: 404,
                        code: "container_not_found",
                        message:
                            "task \(task.id) has no container \(container); its containers: "
                            + names.joined(separator: ", "),
                        field: "container"
                    )
                )
            }
            chosen = container
        } else {
            guard let first = task.containers.first(where: \.essential) ?? task.containers.first else {
                return .failure(conflict("task_has_no_containers", "task \(task.id) has no containers"))
            }
            chosen = first.name
        }
        guard let instanceID = task.instanceID else {
            return .failure(
                conflict(
                    "task_not_placed",
                    "task \(task.id) is not placed on a container instance yet (lastStatus \(task.lastStatus)); "
                        + "it has logs once an agent starts it"
                )
            )
        }
        guard let instance = domain.instances[instanceID] else {
            return .failure(
                conflict("container_instance_not_found", "task \(task.id)'s container instance \(instanceID) is gone")
            )
        }
        guard let address = instance.agentAddress else {
            return .failure(
                conflict(
                    "agent_address_unknown",
                    "container instance \(instance.id) registered no agentAddress, so no controller can reach its "
                        + "agent for logs; register the agent with its address (host:port)"
                )
            )
        }
        guard let credential = instance.agentCredential else {
            return .failure(
                conflict(
                    "agent_credential_missing",
                    "container instance \(instance.id) registered before agents had credentials, so its agent "
                        + "cannot tell a controller from anyone else; register the agent again"
                )
            )
        }
        let target =
            "/v1/tasks/\(percentEncoded(task.id))/logs?container=\(percentEncoded(chosen))&offset=\(offset)"
        return .success(
            AgentLogRequest(
                instanceID: instance.id,
                address: address,
                target: target,
                container: chosen,
                credential: credential
            )
        )
    }

    /// The agent's answer as the client's: its status and body unchanged (200 with the text, or the agent's JSON
    /// error); an answer that is not an HTTP status a client can get is 502.
    package static func relay(
        status: Int,
        contentType: String?,
        body: [UInt8],
        from request: AgentLogRequest
    )
        -> HTTPResponse
    {
        guard (200...599).contains(status) else {
            return APIError(
                status: 502,
                code: "agent_bad_response",
                message: "the agent at \(request.address) answered with status \(status)"
            ).response
        }
        return HTTPResponse(
            status: status,
            headers: [HTTPHeader(name: "Content-Type", value: contentType ?? "application/json")],
            body: body
        )
    }

    /// 502 when the agent at `request.address` cannot be reached or does not answer.
    package static func unreachable(_ request: AgentLogRequest, detail: String) -> APIError {
        APIError(
            status: 502,
            code: "agent_unreachable",
            message:
                "the agent of container instance \(request.instanceID) at \(request.address) did not answer: "
                + detail
        )
    }

    static func conflict(_ code: String, _ message: String) -> APIError {
        APIError(status: 409, code: code, message: message)
    }

    /// `text` with every byte but letters, digits, `-`, `_` and `.` percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = String(byte, radix: 16, uppercase: true)
                out += "%" + (digits.count == 1 ? "0" : "") + digits
            }
        }
        return out
    }
}
