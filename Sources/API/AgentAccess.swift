package import ClusterState

/// An agent credential presented on a request, as the router found it. The router checks only its shape, that the
/// route accepts agents and that the credential's instance is the one the path names; the controller then holds it
/// against the replicated state with `AgentAccess.verify` before serving the request (the router is pure and never
/// sees the state).
package struct AgentPrincipal: Sendable, Equatable {
    /// The container instance the credential names (and so acts for).
    package var instanceID: String
    /// The cluster the route's path names; nil for routes outside a cluster (task definitions).
    package var cluster: String?
    /// The credential as presented.
    package var credential: String

    /// Creates a principal.
    package init(instanceID: String, cluster: String?, credential: String) {
        self.instanceID = instanceID
        self.cluster = cluster
        self.credential = credential
    }

    /// The principal's name in `APIRequest.principal` (never the secret).
    package var name: String { "agent:\(instanceID)" }
}

/// Who may call a route: tokens holding `role` (or more); join tokens only where `joinTokens` says so; agent
/// credentials only where `agent` says so, and then only for their own instance.
struct Access {
    /// Which agent credentials a route accepts.
    enum AgentGrant: Equatable {
        /// The credential of the instance with this id or ARN (the one the path names).
        case instance(String)
        /// Any valid agent credential (reads that are not about one instance: task definitions).
        case anyInstance
    }

    /// The least role a token needs.
    var role: Role
    /// Whether a join token (role agent) may call the route.
    var joinTokens = false
    /// Which agent credentials may call the route (nil: none).
    var agent: AgentGrant?

    /// Tokens of role readonly or more.
    static let readonly = Access(role: .readonly)
    /// Tokens of role operator or more.
    static let `operator` = Access(role: .operator)
    /// Admin tokens.
    static let admin = Access(role: .admin)
    /// Registering a container instance: operator tokens and join tokens.
    static let registration = Access(role: .operator, joinTokens: true)

    /// Tokens of `role` or more, and the agent credential of `instance` (an id or ARN).
    static func agentOr(_ role: Role, instance: String) -> Access {
        Access(role: role, agent: .instance(instance))
    }

    /// Tokens of `role` or more, and any agent credential.
    static func anyAgentOr(_ role: Role) -> Access {
        Access(role: role, agent: .anyInstance)
    }
}

/// What the caller proved: the token's name, or the agent's principal.
struct Authorization {
    /// The token's or the agent's name.
    var principal: String
    /// Set when an agent credential authorized the request (the controller still verifies it).
    var agent: AgentPrincipal?
}

/// Checks an agent credential against the replicated state. Pure.
package enum AgentAccess {
    /// The outcome of `verify`.
    package enum Verdict: Sendable, Equatable {
        /// The credential is the instance's, and the instance is registered (ACTIVE or DRAINING).
        case valid
        /// No instance with the credential's id is known here: 401, unless a controller whose state may be behind
        /// asks the leader (an agent that just registered through another controller).
        case unknownInstance(APIError)
        /// 401 (wrong credential, deregistered instance) or 403 (another cluster).
        case refused(APIError)
    }

    /// Whether `principal`'s credential is the one `domain` holds for its instance, compared in time independent
    /// of where the bytes differ.
    package static func verify(_ principal: AgentPrincipal, in domain: Domain) -> Verdict {
        let invalid = APIError(
            status: 401,
            code: "unauthorized",
            message:
                "the agent credential is not valid for container instance \(principal.instanceID); "
                + "register the agent again with a join token"
        )
        guard let instance = domain.instances[principal.instanceID] else { return .unknownInstance(invalid) }
        guard let stored = instance.agentCredential,
            constantTimeEquals(Array(stored.utf8), Array(principal.credential.utf8))
        else { return .refused(invalid) }
        guard instance.status != "INACTIVE" else {
            return .refused(
                APIError(
                    status: 401,
                    code: "unauthorized",
                    message:
                        "container instance \(instance.id) is deregistered (INACTIVE), so its agent credential no "
                        + "longer works; register the agent again with a join token"
                )
            )
        }
        if let cluster = principal.cluster, cluster != instance.cluster {
            return .refused(
                APIError(
                    status: 403,
                    code: "forbidden",
                    message:
                        "agent credential of instance \(instance.id) (cluster \(instance.cluster)) cannot act in "
                        + "cluster \(cluster)"
                )
            )
        }
        return .valid
    }
}
