import ClusterState

/// The route table. Invariant: one entry per label `Router.route` can return, spelled the same
/// (`OpenAPITests` routes a sample request per entry and checks the label, and scans the router's sources).
extension OpenAPI {
    /// Every route of the admin API, in the order of the README's table and then the domain resources.
    package static let routes: [DocumentedRoute] =
        nodeRoutes + membershipRoutes + parameterRoutes + clusterRoutes + taskDefinitionRoutes + instanceRoutes
        + workloadRoutes + tagRoutes

    static let tagRoutes: [DocumentedRoute] = [
        DocumentedRoute(
            method: "GET",
            path: "/v1/tags",
            role: .readonly,
            operationID: "listTags",
            summary: "The tags of a cluster, service or task definition revision, by ARN.",
            tag: .tags,
            parameters: [
                OpenAPI.Parameter(
                    name: "resourceArn",
                    location: "query",
                    required: true,
                    description: "The resource's ARN.",
                    schema: .string(minLength: 1)
                )
            ],
            success: .json("TagsResponse", "The tags.", headers: readHeaders),
            errors: [400, 404],
            readsState: true
        ),
        DocumentedRoute(
            method: "PUT",
            path: "/v1/tags",
            role: .operator,
            operationID: "tagResource",
            summary: "Add tags to a resource (a tag with an existing key replaces it); at most 50 in all.",
            tag: .tags,
            body: .ref("TagResourceRequest"),
            success: .json("TagsResponse", "The resource's tags now."),
            errors: [400, 404],
            writes: true
        ),
        DocumentedRoute(
            method: "POST",
            path: "/v1/tags/delete",
            role: .operator,
            operationID: "untagResource",
            summary: "Remove the tags with these keys from a resource (absent keys are ignored).",
            tag: .tags,
            body: .ref("UntagResourceRequest"),
            success: .json("TagsResponse", "The resource's tags now."),
            errors: [400, 404],
            writes: true
        ),
    ]

    static let nodeRoutes: [DocumentedRoute] = [
        DocumentedRoute(
            method: "GET",
            path: "/healthz",
            role: nil,
            operationID: "health",
            summary: "The process is up (answered without touching Raft).",
            tag: .node,
            success: .json("Status", "`{\"status\":\"ok\"}`.")
        ),
        DocumentedRoute(
            method: "GET",
            path: "/readyz",
            role: nil,
            operationID: "ready",
            summary: "A leader is known, heard from recently, and local state has caught up.",
            tag: .node,
            success: .json("Status", "`{\"status\":\"ready\"}`."),
            errors: [503]
        ),
        DocumentedRoute(
            method: "GET",
            path: "/metrics",
            role: .readonly,
            operationID: "metrics",
            summary: "Prometheus metrics: Raft, proposals, fsync, reads, peers, HTTP requests by route and status.",
            tag: .node,
            success: OpenAPI.Success(
                description: "Prometheus text exposition format 0.0.4.",
                mediaType: "text/plain",
                schema: .string()
            )
        ),
        DocumentedRoute(
            method: "GET",
            path: "/v1/status",
            role: .readonly,
            operationID: "status",
            summary: "This node's id, role, term, leader, commit and applied index, last contact.",
            tag: .node,
            success: .json("NodeStatus", "This node's view.")
        ),
        DocumentedRoute(
            method: "GET",
            path: documentPath,
            role: nil,
            operationID: "openAPIDocument",
            summary: "This OpenAPI document.",
            tag: .node,
            success: .json("OpenAPIDocument", "The OpenAPI 3.0.3 document of this controller's API.")
        ),
    ]

    static let membershipRoutes: [DocumentedRoute] = [
        DocumentedRoute(
            method: "GET",
            path: "/v1/operator/raft",
            role: .readonly,
            operationID: "listRaftMembers",
            summary: "Members, voters and learners, match index and lag (the leader's view, from any node).",
            tag: .membership,
            success: .json("RaftMembers", "The membership."),
            errors: [503]
        ),
        DocumentedRoute(
            method: "POST",
            path: "/v1/operator/raft/members",
            role: .admin,
            operationID: "addRaftMember",
            summary: "Add a controller as a learner; the leader promotes it once caught up.",
            tag: .membership,
            body: .ref("AddMemberRequest"),
            success: .json("ConfigurationChange", "The learner was added."),
            errors: [409],
            writes: true
        ),
        DocumentedRoute(
            method: "DELETE",
            path: "/v1/operator/raft/members/{id}",
            role: .admin,
            operationID: "removeRaftMember",
            summary: "Remove a controller.",
            tag: .membership,
            parameters: [.path("id", "The node id.", .integer(minimum: 1))],
            success: .json("ConfigurationChange", "The member was removed."),
            errors: [404, 409],
            writes: true
        ),
        DocumentedRoute(
            method: "POST",
            path: "/v1/operator/raft/transfer",
            role: .admin,
            operationID: "transferLeadership",
            summary: "Move leadership (default: to the most caught-up voter).",
            tag: .membership,
            body: .ref("TransferRequest"),
            bodyOptional: true,
            success: .json("TransferResult", "The new leader."),
            errors: [409, 504],
            writes: true
        ),
        DocumentedRoute(
            method: "GET",
            path: "/v1/operator/snapshot",
            role: .admin,
            operationID: "downloadSnapshot",
            summary: "A backup of the replicated state (served by the leader; CRC-protected).",
            tag: .membership,
            success: OpenAPI.Success(
                description: "The backup file.",
                mediaType: "application/octet-stream",
                schema: .binary,
                headers: [
                    "X-Gantry-Index": HeaderObject(
                        description: "The applied index the backup holds.",
                        schema: .integer(minimum: 0)
                    )
                ]
            ),
            errors: [503]
        ),
    ]

    static let parameterRoutes: [DocumentedRoute] = {
        let name = Parameter.path(
            "name",
            "The parameter's name: `/`-separated segments of letters, digits, `-`, `_` and `.`, at most 256 bytes.",
            .string(minLength: 1, maxLength: ParameterRules.maxNameBytes, pattern: parameterNamePattern)
        )
        let cas = Parameter.query(
            "cas",
            "Compare-and-set: 0 only if absent, N only at version N (409 otherwise).",
            .integer(minimum: 0)
        )
        return [
            DocumentedRoute(
                method: "GET",
                path: "/v1/parameters",
                role: .readonly,
                operationID: "listParameters",
                summary: "List parameters (secret values are never listed).",
                tag: .parameters,
                parameters: [
                    .query(
                        "prefix",
                        "Only names starting with this.",
                        .string(maxLength: ParameterRules.maxNameBytes, pattern: "^[A-Za-z0-9._/-]*$")
                    )
                ],
                success: .json("ParameterList", "The parameters, by name.", headers: readHeaders),
                readsState: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "/v1/parameters/{name}",
                role: .readonly,
                operationID: "getParameter",
                summary: "Read a parameter (a secret value needs role operator).",
                tag: .parameters,
                parameters: [name],
                success: .json("Parameter", "The parameter.", headers: readHeaders),
                errors: [404],
                readsState: true
            ),
            DocumentedRoute(
                method: "PUT",
                path: "/v1/parameters/{name}",
                role: .operator,
                operationID: "putParameter",
                summary: "Write a parameter.",
                tag: .parameters,
                parameters: [name, cas],
                body: .ref("ParameterWrite"),
                bodyExample: ["value": "hello", "secret": false],
                success: .json("ParameterWritten", "The version written."),
                errors: [409],
                links: [
                    "GetParameter": Link("getParameter", ["name": "$request.path.name"]),
                    "DeleteParameter": Link("deleteParameter", ["name": "$request.path.name"]),
                ],
                writes: true
            ),
            DocumentedRoute(
                method: "DELETE",
                path: "/v1/parameters/{name}",
                role: .operator,
                operationID: "deleteParameter",
                summary: "Delete a parameter.",
                tag: .parameters,
                parameters: [name, cas],
                success: .json("ParameterWritten", "The version deleted."),
                errors: [404, 409],
                writes: true
            ),
        ]
    }()

    /// `{cluster}`.
    static let clusterParameter = Parameter.path("cluster", "The cluster's name.", .string(pattern: identifierPattern))

    /// `maxResults` and `nextToken`.
    static let pageParameters: [Parameter] = [
        .query("maxResults", "Page size, default 100.", .integer(minimum: 1, maximum: 100)),
        .query("nextToken", "The `nextToken` of the previous page.", .string(pattern: pageTokenPattern)),
    ]

    /// What can follow a create: the cluster's name feeds every route under it.
    static let clusterLinks: [String: Link] = {
        let name = ["cluster": "$response.body#/cluster/clusterName"]
        return [
            "DescribeCluster": Link("describeCluster", name),
            "DeleteCluster": Link("deleteCluster", name),
            "RegisterContainerInstance": Link("registerContainerInstance", name),
            "ListContainerInstances": Link("listContainerInstances", name),
            "ListAttributes": Link("listAttributes", name),
            "CreateService": Link("createService", name),
            "RunTask": Link("runTask", name),
        ]
    }()

    /// A valid ECS task definition, as the register route's example.
    static let taskDefinitionExample: JSONExample = [
        "family": "web",
        "containerDefinitions": [
            [
                "name": "web",
                "image": "nginx:1.27",
                "cpu": 128,
                "memory": 256,
                "essential": true,
                "portMappings": [["containerPort": 80, "hostPort": 0, "protocol": "tcp"]],
                "environment": [["name": "MODE", "value": "production"]],
                "secrets": [["name": "DB_PASSWORD", "valueFrom": "app/db/password"]],
                "healthCheck": [
                    "command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
                    "interval": 30, "timeout": 5, "retries": 3,
                ],
                "logConfiguration": ["logDriver": "json-file", "options": ["max-size": "10m"]],
                "mountPoints": [["sourceVolume": "data", "containerPath": "/data", "readOnly": false]],
            ]
        ],
        "volumes": [["name": "data", "host": ["sourcePath": "/srv/web"]]],
        "placementConstraints": [["type": "distinctInstance"]],
        "requiresCompatibilities": ["EXTERNAL"],
        "tags": [["key": "team", "value": "web"]],
    ]

    static let clusterRoutes: [DocumentedRoute] = [
        DocumentedRoute(
            method: "POST",
            path: "/v1/clusters",
            role: .operator,
            operationID: "createCluster",
            summary: "Create a cluster (idempotent: an existing name returns that cluster).",
            tag: .clusters,
            body: .ref("CreateClusterRequest"),
            bodyExample: ["clusterName": "default", "tags": [["key": "team", "value": "web"]]],
            success: .json("ClusterResponse", "The cluster."),
            links: clusterLinks,
            writes: true
        ),
        DocumentedRoute(
            method: "GET",
            path: "/v1/clusters",
            role: .readonly,
            operationID: "listClusters",
            summary: "List clusters by name.",
            tag: .clusters,
            parameters: pageParameters,
            success: .json("ClusterList", "One page of clusters.", headers: readHeaders),
            readsState: true
        ),
        DocumentedRoute(
            method: "GET",
            path: "/v1/clusters/{cluster}",
            role: .readonly,
            operationID: "describeCluster",
            summary: "Describe a cluster.",
            tag: .clusters,
            parameters: [clusterParameter],
            success: .json("ClusterResponse", "The cluster.", headers: readHeaders),
            errors: [404],
            readsState: true
        ),
        DocumentedRoute(
            method: "DELETE",
            path: "/v1/clusters/{cluster}",
            role: .operator,
            operationID: "deleteCluster",
            summary: "Delete a cluster (refused while container instances are registered in it).",
            tag: .clusters,
            parameters: [clusterParameter],
            success: .json("ClusterResponse", "The cluster as it was."),
            errors: [404, 409],
            writes: true
        ),
    ]

    static let taskDefinitionRoutes: [DocumentedRoute] = {
        let reference = Parameter.path(
            "taskDefinition",
            "`family` (its latest ACTIVE revision), `family:revision`, or the revision's ARN.",
            .string(pattern: taskDefinitionReferencePattern)
        )
        let revision = Parameter.path(
            "taskDefinition",
            "`family:revision` or the revision's ARN.",
            .string(pattern: "^([A-Za-z0-9_-]{1,255}:[1-9][0-9]{0,8}|arn:.+)$")
        )
        let registered = ["taskDefinition": "$response.body#/taskDefinition/taskDefinitionArn"]
        let familyPrefix = Parameter.query("familyPrefix", "Only families starting with this.", .string())
        let status = Parameter.query("status", "Only revisions (families) in this state.", activeOrInactive)
        return [
            DocumentedRoute(
                method: "POST",
                path: "/v1/task-definitions",
                role: .operator,
                operationID: "registerTaskDefinition",
                summary: "Register a new revision of a family (ECS RegisterTaskDefinition's body).",
                tag: .taskDefinitions,
                body: .ref("RegisterTaskDefinitionRequest"),
                bodyExample: taskDefinitionExample,
                success: .json("TaskDefinitionResponse", "The registered revision."),
                links: [
                    "DescribeTaskDefinition": Link("describeTaskDefinition", registered),
                    "DeregisterTaskDefinition": Link("deregisterTaskDefinition", registered),
                ],
                writes: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "/v1/task-definitions",
                role: .readonly,
                operationID: "listTaskDefinitions",
                summary: "List revisions' ARNs by family and revision.",
                tag: .taskDefinitions,
                parameters: [
                    familyPrefix, status,
                    .query("sort", "By family then revision; default ASC.", .string(oneOf: ["ASC", "DESC"])),
                ] + pageParameters,
                success: .json("TaskDefinitionList", "One page of ARNs.", headers: readHeaders),
                readsState: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "/v1/task-definitions/{taskDefinition}",
                role: .readonly,
                operationID: "describeTaskDefinition",
                summary: "Describe a revision.",
                tag: .taskDefinitions,
                parameters: [reference],
                success: .json("TaskDefinitionResponse", "The revision.", headers: readHeaders),
                errors: [404],
                readsState: true,
                alsoAllowed: "Also any valid agent credential (agents read the definitions of the tasks they start)."
            ),
            DocumentedRoute(
                method: "POST",
                path: "/v1/task-definitions/{taskDefinition}/deregister",
                role: .operator,
                operationID: "deregisterTaskDefinition",
                summary: "Mark a revision INACTIVE (idempotent).",
                tag: .taskDefinitions,
                parameters: [revision],
                success: .json("TaskDefinitionResponse", "The revision, INACTIVE."),
                errors: [404],
                links: [
                    "DeleteTaskDefinition": Link(
                        "deleteTaskDefinition",
                        ["taskDefinition": "$request.path.taskDefinition"]
                    )
                ],
                writes: true
            ),
            DocumentedRoute(
                method: "DELETE",
                path: "/v1/task-definitions/{taskDefinition}",
                role: .operator,
                operationID: "deleteTaskDefinition",
                summary: "Delete an INACTIVE revision.",
                tag: .taskDefinitions,
                parameters: [revision],
                success: .json("TaskDefinitionResponse", "The revision, DELETE_IN_PROGRESS."),
                errors: [404, 409],
                writes: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "/v1/task-definition-families",
                role: .readonly,
                operationID: "listTaskDefinitionFamilies",
                summary: "List family names.",
                tag: .taskDefinitions,
                parameters: [familyPrefix, status] + pageParameters,
                success: .json("TaskDefinitionFamilies", "One page of family names.", headers: readHeaders),
                readsState: true
            ),
        ]
    }()

    /// `ACTIVE` or `INACTIVE`.
    static let activeOrInactive = JSONSchema.string(oneOf: ["ACTIVE", "INACTIVE"])

    /// The routes an instance's own agent may call with its credential say so.
    static let ownAgent = "Also the agent credential of instance `id` (another instance's credential is 403)."

    static let instanceRoutes: [DocumentedRoute] = {
        let base = "/v1/clusters/{cluster}"
        let instance = ["cluster": "$request.path.cluster", "id": "$response.body#/containerInstance/id"]
        let id = Parameter.path(
            "id",
            "The container instance's id (32 hex digits).",
            .string(pattern: "^[0-9a-f]{32}$")
        )
        return [
            DocumentedRoute(
                method: "POST",
                path: "\(base)/container-instances",
                role: .operator,
                operationID: "registerContainerInstance",
                summary:
                    "Register a host (called by its agent); the leader assigns the id and the agent's credential, "
                    + "which only this answer carries.",
                tag: .containerInstances,
                parameters: [clusterParameter],
                body: .ref("RegisterContainerInstanceRequest"),
                bodyExample: [
                    "hostname": "host-1", "cpu": 2048, "memory": 3900, "reservedPorts": [22],
                    "availabilityZone": "rack-1", "attributes": [["name": "disk", "value": "ssd"]],
                    "agentVersion": "0.1.0", "agentAddress": "10.0.0.5:7070",
                ],
                success: .json(
                    "RegisterContainerInstanceResponse",
                    "The registered instance and its agent's credential."
                ),
                errors: [404, 409],
                links: [
                    "DescribeContainerInstance": Link("describeContainerInstance", instance),
                    "UpdateContainerInstanceState": Link("updateContainerInstanceState", instance),
                    "DeregisterContainerInstance": Link("deregisterContainerInstance", instance),
                    "HeartbeatContainerInstance": Link("heartbeatContainerInstance", instance),
                    "ListInstanceTasks": Link("listInstanceTasks", instance),
                ],
                writes: true,
                alsoAllowed: "Also a join token (role agent), which can do nothing else."
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/container-instances",
                role: .readonly,
                operationID: "listContainerInstances",
                summary: "List a cluster's container instances (all but INACTIVE unless `status` says).",
                tag: .containerInstances,
                parameters: [
                    clusterParameter,
                    .query(
                        "status",
                        "Only instances in this state.",
                        .string(oneOf: ["ACTIVE", "DRAINING", "INACTIVE"])
                    ),
                ] + pageParameters,
                success: .json("ContainerInstanceList", "One page of instances.", headers: readHeaders),
                errors: [404],
                readsState: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/container-instances/{id}",
                role: .readonly,
                operationID: "describeContainerInstance",
                summary: "Describe a container instance.",
                tag: .containerInstances,
                parameters: [clusterParameter, id],
                success: .json("ContainerInstanceResponse", "The instance.", headers: readHeaders),
                errors: [404],
                readsState: true,
                alsoAllowed: ownAgent
            ),
            DocumentedRoute(
                method: "POST",
                path: "\(base)/container-instances/{id}/heartbeat",
                role: .operator,
                operationID: "heartbeatContainerInstance",
                summary:
                    "An agent is alive. Kept in the leader's memory (forwarded there), not replicated: an instance "
                    + "silent for instanceTtlMs is declared lost and its tasks replaced elsewhere.",
                tag: .containerInstances,
                parameters: [clusterParameter, id],
                success: .json(
                    "HeartbeatResponse",
                    "The instance's ARN, whether its agent counts as connected, the TTL."
                ),
                errors: [404],
                writes: true,
                alsoAllowed: ownAgent
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/container-instances/{id}/tasks",
                role: .readonly,
                operationID: "listInstanceTasks",
                summary:
                    "What the instance's agent should run: its tasks that have not stopped (any task it runs that is "
                    + "not listed is to be stopped). Supports ?index=&wait= to wait for a change.",
                tag: .containerInstances,
                parameters: [
                    clusterParameter, id,
                    .query(
                        "lastStatus",
                        "Only tasks in this state (e.g. PENDING: assignments not started yet).",
                        .string(oneOf: [
                            "PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING",
                            "DEPROVISIONING",
                        ])
                    ),
                ],
                success: .json("TasksResponse", "The instance's tasks that have not stopped.", headers: readHeaders),
                errors: [404],
                readsState: true,
                alsoAllowed: ownAgent
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/container-instances/{id}/tasks/{task}/secrets",
                role: .operator,
                operationID: "getTaskSecrets",
                summary:
                    "The secrets of a task placed on this instance, for its agent to start it with: each container's "
                    + "`secrets[].valueFrom` resolved from the parameter store. 409 when the task is on another "
                    + "instance or stopped, or a parameter is missing (the message names the container, the secret "
                    + "and the parameter).",
                tag: .containerInstances,
                parameters: [
                    clusterParameter, id,
                    .path("task", "The task's id (32 hex digits).", .string(pattern: "^[0-9a-f]{32}$")),
                ],
                success: .json(
                    "TaskSecretsResponse",
                    "Each container's secrets as environment variables.",
                    headers: readHeaders
                ),
                errors: [404, 409],
                readsState: true,
                alsoAllowed: ownAgent
            ),
            DocumentedRoute(
                method: "DELETE",
                path: "\(base)/container-instances/{id}",
                role: .operator,
                operationID: "deregisterContainerInstance",
                summary: "Deregister a container instance (it becomes INACTIVE).",
                tag: .containerInstances,
                parameters: [
                    clusterParameter, id,
                    .query("force", "Deregister even with tasks placed on it.", .boolean()),
                ],
                success: .json("ContainerInstanceResponse", "The instance, INACTIVE."),
                errors: [404],
                writes: true
            ),
            DocumentedRoute(
                method: "PUT",
                path: "\(base)/container-instances/{id}/state",
                role: .operator,
                operationID: "updateContainerInstanceState",
                summary: "Drain a container instance, or make it ACTIVE again.",
                tag: .containerInstances,
                parameters: [clusterParameter, id],
                body: .ref("InstanceStateRequest"),
                bodyExample: ["status": "DRAINING"],
                success: .json("ContainerInstanceResponse", "The instance."),
                errors: [404, 409],
                writes: true
            ),
            DocumentedRoute(
                method: "PUT",
                path: "\(base)/attributes",
                role: .operator,
                operationID: "putAttributes",
                summary: "Set custom attributes on container instances of the cluster.",
                tag: .attributes,
                parameters: [clusterParameter],
                body: .ref("AttributesRequest"),
                success: .json("AttributesResponse", "The attributes set."),
                errors: [404],
                writes: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/attributes",
                role: .readonly,
                operationID: "listAttributes",
                summary: "List the attributes of the cluster's registered instances.",
                tag: .attributes,
                parameters: [
                    clusterParameter,
                    .query("attributeName", "Only attributes with this name.", .string()),
                    .query("attributeValue", "Only attributes with this value.", .string()),
                ],
                success: .json("AttributesResponse", "The attributes, by instance.", headers: readHeaders),
                errors: [404],
                readsState: true
            ),
            DocumentedRoute(
                method: "POST",
                path: "\(base)/attributes/delete",
                role: .operator,
                operationID: "deleteAttributes",
                summary: "Remove custom attributes from container instances of the cluster.",
                tag: .attributes,
                parameters: [clusterParameter],
                body: .ref("AttributesRequest"),
                success: .json("AttributesResponse", "The attributes removed."),
                errors: [404],
                writes: true
            ),
        ]
    }()
}
