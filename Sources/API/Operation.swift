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
    /// `GET /v1/openapi.json`: the API's OpenAPI document.
    case openAPIDocument
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
    /// `POST /v1/clusters/{cluster}/container-instances/{id}/heartbeat`: an agent is alive (kept in the leader's
    /// memory, not replicated).
    case heartbeat(cluster: String, instance: String)
    /// A replicated write (the leader stamps the time).
    case write(clientToken: String?, action: Command.Action)
    /// `GET /v1/parameters/{name}`.
    case getParameter(name: String, revealSecret: Bool)
    /// `GET /v1/parameters?prefix=`.
    case listParameters(prefix: String)
    /// A replicated domain write (clusters, task definitions, …); the leader adds the ARN prefix and the time.
    case domainWrite(clientToken: String?, command: DomainCommand)
    /// A domain read.
    case domainRead(DomainQuery)
    /// `GET /v1/clusters/{cluster}/container-instances/{id}/tasks/{task}/secrets`: the task's secrets resolved
    /// from the parameter store, for the agent that starts it.
    case taskSecrets(cluster: String, instance: String, task: String)
    /// `GET /v1/clusters/{cluster}/tasks/{task}/logs`: a container's output, which any controller fetches from the
    /// task's agent (`container` nil: the task's first essential container).
    case taskLogs(cluster: String, task: String, container: String?, offset: UInt64)

    /// Whether the operation reads replicated state (and so honours the read options).
    package var readsState: Bool {
        switch self {
        case .getParameter, .listParameters, .domainRead, .taskSecrets: return true
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
    /// The name of the token that authorized it, or `agent:<instance id>` (nil for open routes).
    package var principal: String?
    /// The agent credential that authorized it, for the controller to verify against the state before serving
    /// (`AgentAccess.verify`); nil when a token did.
    package var agent: AgentPrincipal?
}

/// One page of a list: at most `maxResults` items after the item named by `nextToken`.
package struct Page: Sendable, Equatable {
    /// 1 to 100.
    package var maxResults: Int
    /// The opaque token a previous page returned (hex of the last key it listed).
    package var nextToken: String?

    /// Creates a page request.
    package init(maxResults: Int = 100, nextToken: String? = nil) {
        self.maxResults = maxResults
        self.nextToken = nextToken
    }

    /// The keys of this page out of `keys` (sorted), and the token of the next page if more remain.
    package func slice(_ keys: [String]) -> (keys: [String], nextToken: String?) {
        var remaining = keys[...]
        if let token = nextToken, let after = Page.decodeToken(token) {
            remaining = keys[(keys.firstIndex { $0 > after } ?? keys.endIndex)...]
        }
        let page = Array(remaining.prefix(maxResults))
        let next = remaining.count > maxResults ? page.last.map(Page.encodeToken) : nil
        return (page, next)
    }

    package static func encodeToken(_ key: String) -> String {
        key.utf8.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    /// The key inside a token, or nil when it is not one of ours.
    package static func decodeToken(_ token: String) -> String? {
        let bytes = Array(token.utf8)
        guard bytes.count.isMultiple(of: 2) else { return nil }
        var decoded: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let value = UInt8(String(decoding: bytes[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            decoded.append(value)
            index += 2
        }
        return String(validating: decoded, as: UTF8.self)
    }
}

/// A read of the domain.
package enum DomainQuery: Sendable, Equatable {
    /// `GET /v1/clusters`.
    case listClusters(Page)
    /// `GET /v1/clusters/{name}`.
    case describeCluster(String)
    /// `GET /v1/tags?resourceArn=`.
    case listTags(arn: String)
    /// `GET /v1/task-definitions`.
    case listTaskDefinitions(familyPrefix: String?, status: String?, descending: Bool, page: Page)
    /// `GET /v1/task-definitions/{family | family:revision | ARN}`.
    case describeTaskDefinition(String)
    /// `GET /v1/task-definition-families`.
    case listTaskDefinitionFamilies(familyPrefix: String?, status: String?, page: Page)
    /// `GET /v1/clusters/{cluster}/container-instances`.
    case listContainerInstances(cluster: String, status: String?, page: Page)
    /// `GET /v1/clusters/{cluster}/container-instances/{id}`.
    case describeContainerInstance(cluster: String, id: String)
    /// `GET /v1/clusters/{cluster}/container-instances/{id}/tasks`: what the instance's agent should run — its
    /// tasks that have not stopped (a task it runs that is not listed is to be stopped).
    case instanceTasks(cluster: String, id: String, lastStatus: String?)
    /// `GET /v1/clusters/{cluster}/attributes`.
    case listAttributes(cluster: String, name: String?, value: String?)
    /// `GET /v1/clusters/{cluster}/services`.
    case listServices(cluster: String, page: Page)
    /// `GET /v1/clusters/{cluster}/services/{service}`.
    case describeService(cluster: String, service: String)
    /// `GET /v1/clusters/{cluster}/services/{service}/explain`: a dry run of the service's next placement.
    case explainService(cluster: String, service: String)
    /// `GET /v1/clusters/{cluster}/tasks` with ECS's ListTasks filters.
    case listTasks(cluster: String, filter: TaskFilter, page: Page)
    /// `GET /v1/clusters/{cluster}/tasks/{task}`.
    case describeTask(cluster: String, task: String)
}

/// ListTasks filters (all optional, combined with AND).
package struct TaskFilter: Sendable, Equatable {
    /// Tasks of this service.
    package var serviceName: String?
    /// Tasks of this task definition family.
    package var family: String?
    /// Tasks on this container instance (id or ARN).
    package var containerInstance: String?
    /// RUNNING (desired RUNNING) or STOPPED (desired STOPPED).
    package var desiredStatus: String?
    /// Tasks with this startedBy.
    package var startedBy: String?

    /// No filter.
    package init() {}
}
