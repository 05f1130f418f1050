package import ClusterState

/// What an admin API request asks the controller to do, once routed, authorized and validated.
package enum Operation: Sendable, Equatable {
    /// `GET /healthz`: the process is up.
    case health
    /// `GET /readyz`: a leader is known and local state has caught up.
    case ready
    /// `GET /metrics`: Prometheus text.
    case metrics
    /// `GET /v1/status`: this node's view.
    case status
    /// `GET /v1/operator/raft`: members and replication.
    case raftMembers
    /// `POST /v1/operator/raft/members`: add a controller (as a learner, promoted once caught up).
    case addMember(id: UInt64, address: String)
    /// `DELETE /v1/operator/raft/members/{id}`: remove a controller.
    case removeMember(id: UInt64)
    /// `POST /v1/operator/raft/transfer`: hand leadership to `to` (nil: the most caught-up voter).
    case transferLeadership(to: UInt64?)
    /// `GET /v1/operator/snapshot`: a backup of the replicated state.
    case snapshot
    /// A replicated write (the leader stamps the time).
    case write(clientToken: String?, action: Command.Action)
    /// `GET /v1/parameters/{name}`.
    case getParameter(name: String, revealSecret: Bool)
    /// `GET /v1/parameters?prefix=`.
    case listParameters(prefix: String)

    /// Whether the operation reads replicated state (and so honours the read options).
    package var readsState: Bool {
        switch self {
        case .getParameter, .listParameters: return true
        default: return false
        }
    }
}

/// How a read wants to be served.
package struct ReadOptions: Sendable, Equatable {
    /// Linearizable (the default) or stale.
    package enum Consistency: String, Sendable, Equatable {
        /// Confirmed with the leader (ReadIndex), then served from local state.
        case linearizable
        /// Served from local state at once; headers say how old it may be.
        case stale
    }

    /// The consistency asked for.
    package var consistency: Consistency = .linearizable
    /// Blocking read: answer once the applied index exceeds this (or the wait ends).
    package var waitIndex: UInt64?
    /// The longest a blocking read waits, in milliseconds.
    package var waitMilliseconds: Int = 0

    /// The longest wait allowed.
    package static let maxWaitMilliseconds = 5 * 60 * 1000
    /// The wait of a blocking read that names none.
    package static let defaultWaitMilliseconds = 30 * 1000

    /// Default options: linearizable, not blocking.
    package init() {}
}

/// A routed request.
package struct APIRequest: Sendable, Equatable {
    /// What to do.
    package var operation: Operation
    /// How to read (reads only).
    package var read: ReadOptions
    /// The route's label for metrics, e.g. `PUT /v1/parameters/{name}`.
    package var route: String
    /// The name of the token that authorized it (nil for open routes).
    package var principal: String?
}
