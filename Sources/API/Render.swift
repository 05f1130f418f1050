package import ClusterState
package import HTTP

/// Turns apply results and state into API responses. Pure.
package enum Render {
    /// The JSON view of a parameter. `value` is omitted for secrets in lists and for callers without the role.
    struct ParameterView: Encodable {
        var name: String
        var value: String?
        var secret: Bool
        var version: UInt64
        var created: Int64
        var modified: Int64
        var modifiedIndex: UInt64
    }

    static func view(_ parameter: Parameter, includeValue: Bool) -> ParameterView {
        ParameterView(
            name: parameter.name,
            value: includeValue ? parameter.value : nil,
            secret: parameter.secret,
            version: parameter.version,
            created: parameter.created,
            modified: parameter.modified,
            modifiedIndex: parameter.modifiedIndex
        )
    }

    /// The answer to a write, given the index it was applied at.
    package static func commandResult(_ result: CommandResult, index: UInt64) -> HTTPResponse {
        struct Written: Encodable {
            var name: String
            var version: UInt64
            var index: UInt64
            var deleted: Bool?
        }
        struct Updated: Encodable {
            var id: UInt64
            var index: UInt64
        }
        switch result {
        case .parameterWritten(let name, let version):
            return JSON.response(Written(name: name, version: version, index: index))
        case .parameterDeleted(let name, let version):
            return JSON.response(Written(name: name, version: version, index: index, deleted: true))
        case .versionConflict(let name, let expected, let actual):
            let message =
                actual == 0
                ? "parameter \(name) does not exist, but cas=\(expected) expected version \(expected)"
                : "parameter \(name) is at version \(actual), but cas=\(expected) expected version \(expected)"
            return APIError(
                status: 409,
                code: "version_conflict",
                message: message,
                field: "cas",
                details: ["currentVersion": String(actual)]
            ).response
        case .parameterNotFound(let name):
            return APIError(status: 404, code: "not_found", message: "parameter \(name) does not exist").response
        case .memberAddressUpdated(let id):
            return JSON.response(Updated(id: id, index: index))
        case .rejected(let field, let reason):
            return APIError.invalid(field, reason).response
        case .domain(let result):
            return DomainRender.result(result, index: index)
        }
    }

    /// The answer to `GET /v1/parameters/{name}`.
    package static func parameter(_ parameter: Parameter?, name: String, revealSecret: Bool) -> HTTPResponse {
        guard let parameter else {
            return APIError(status: 404, code: "not_found", message: "parameter \(name) does not exist").response
        }
        if parameter.secret && !revealSecret {
            return APIError(
                status: 403,
                code: "forbidden",
                message: "parameter \(name) is secret; reading its value needs role operator"
            ).response
        }
        return JSON.response(view(parameter, includeValue: true))
    }

    /// The answer to `GET .../container-instances/{id}/tasks/{task}/secrets`:
    /// `{"secrets": {"<container>": [{"name": "ENV_NAME", "value": "..."}]}}`, or the problem as 404/409.
    package static func taskSecrets(
        _ result: Result<[String: [ContainerDefinition.KeyValuePair]], TaskSecretsProblem>
    ) -> HTTPResponse {
        switch result {
        case .success(let secrets):
            return JSON.response(["secrets": secrets])
        case .failure(let problem):
            return taskSecretsError(problem).response
        }
    }

    static func taskSecretsError(_ problem: TaskSecretsProblem) -> APIError {
        switch problem {
        case .clusterNotFound(let cluster):
            return APIError(status: 404, code: "cluster_not_found", message: "cluster \(cluster) does not exist")
        case .instanceNotFound(let instance, let cluster):
            return APIError(
                status: 404,
                code: "container_instance_not_found",
                message: "container instance \(instance) is not registered in cluster \(cluster)"
            )
        case .taskNotFound(let task, let cluster):
            return APIError(
                status: 404,
                code: "task_not_found",
                message: "task \(task) does not exist in cluster \(cluster)"
            )
        case .taskNotOnInstance(let task, let instance, let placedOn):
            let place = placedOn.map { "container instance \($0)" } ?? "no container instance yet"
            return APIError(
                status: 409,
                code: "task_not_on_instance",
                message: "task \(task) is placed on \(place), not on \(instance); only its own agent gets its secrets"
            )
        case .taskStopped(let task):
            return APIError(
                status: 409,
                code: "task_stopped",
                message: "task \(task) has stopped; its secrets are no longer handed out"
            )
        case .taskDefinitionNotFound(let task, let definition):
            return APIError(
                status: 409,
                code: "task_definition_not_found",
                message: "task \(task)'s task definition \(definition) no longer exists"
            )
        case .parameterNotFound(let container, let secret, let parameter):
            return APIError(
                status: 409,
                code: "parameter_not_found",
                message:
                    "container \(container)'s secret \(secret) reads parameter \(parameter), which does not exist; "
                    + "create it (gantry parameter put \(parameter) VALUE --secret)",
                field: "secrets"
            )
        }
    }

    /// The answer to `GET /v1/parameters?prefix=`: secrets are listed without their values.
    package static func parameterList(_ parameters: [Parameter]) -> HTTPResponse {
        struct List: Encodable { var parameters: [ParameterView] }
        return JSON.response(List(parameters: parameters.map { view($0, includeValue: !$0.secret) }))
    }
}

/// `GET /v1/status`.
package struct NodeStatusView: Codable, Sendable, Equatable {
    /// This node's id.
    package var id: UInt64
    /// The cluster id.
    package var clusterID: String
    /// follower, preCandidate, candidate or leader.
    package var role: String
    /// Current term.
    package var term: UInt64
    /// The leader this node knows of (0: none).
    package var leader: UInt64
    /// Highest committed index known here.
    package var commitIndex: UInt64
    /// Highest index applied to the state machine here.
    package var appliedIndex: UInt64
    /// Milliseconds since this node last heard from the leader (0 on the leader; -1: never).
    package var lastContactMilliseconds: Int64
    /// Gantry's version.
    package var version: String
    /// Why the node halted, if it did.
    package var halted: String?

    /// Creates a status.
    package init(
        id: UInt64,
        clusterID: String,
        role: String,
        term: UInt64,
        leader: UInt64,
        commitIndex: UInt64,
        appliedIndex: UInt64,
        lastContactMilliseconds: Int64,
        version: String,
        halted: String?
    ) {
        self.id = id
        self.clusterID = clusterID
        self.role = role
        self.term = term
        self.leader = leader
        self.commitIndex = commitIndex
        self.appliedIndex = appliedIndex
        self.lastContactMilliseconds = lastContactMilliseconds
        self.version = version
        self.halted = halted
    }
}

/// `GET /v1/operator/raft`.
package struct RaftMembersView: Codable, Sendable, Equatable {
    /// One member.
    package struct Member: Codable, Sendable, Equatable {
        /// Node id.
        package var id: UInt64
        /// Peer address, when known.
        package var address: String?
        /// voter or learner.
        package var suffrage: String
        /// Whether it is the leader.
        package var leader: Bool
        /// Highest index known replicated there (leader's view; nil when asked of a follower).
        package var matchIndex: UInt64?
        /// Entries behind the leader's last index (nil when asked of a follower).
        package var lag: UInt64?
        /// probe, replicate or snapshot (leader's view).
        package var replication: String?
        /// Whether it answered recently (leader's view).
        package var active: Bool?

        /// Creates a member row.
        package init(
            id: UInt64,
            address: String?,
            suffrage: String,
            leader: Bool,
            matchIndex: UInt64?,
            lag: UInt64?,
            replication: String?,
            active: Bool?
        ) {
            self.id = id
            self.address = address
            self.suffrage = suffrage
            self.leader = leader
            self.matchIndex = matchIndex
            self.lag = lag
            self.replication = replication
            self.active = active
        }
    }

    /// The leader (0: unknown).
    package var leader: UInt64
    /// Term.
    package var term: UInt64
    /// Leader's last log index, when answered by the leader.
    package var lastIndex: UInt64?
    /// Members, voters first, by id.
    package var members: [Member]

    /// Creates a view.
    package init(leader: UInt64, term: UInt64, lastIndex: UInt64?, members: [Member]) {
        self.leader = leader
        self.term = term
        self.lastIndex = lastIndex
        self.members = members
    }
}
