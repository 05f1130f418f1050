import ClusterState

/// The shapes the admin API reads and writes, as `#/components/schemas`. Each mirrors a type: `Render`,
/// `DomainRender` and the `Codable` domain types for answers, `Router`'s bodies and `TaskDefinitionSpec` for
/// requests. Members a type encodes only when set are optional here; request constraints restate the validators'
/// rules so generated requests are mostly valid.
extension OpenAPI {
    /// ASCII letters, digits, `-` and `_`, 1 to 255 (families, cluster, container and volume names).
    static let identifierPattern = "^[A-Za-z0-9_-]{1,255}$"
    /// `family`, `family:revision` or a task definition ARN.
    static let taskDefinitionReferencePattern = "^([A-Za-z0-9_-]{1,255}(:[1-9][0-9]{0,8})?|arn:.+)$"
    /// A parameter name: `/`-separated segments of letters, digits, `-`, `_` and `.`.
    static let parameterNamePattern = "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$"
    /// An opaque page token (hex).
    static let pageTokenPattern = "^([0-9A-Fa-f]{2})+$"

    /// Every component schema by name.
    static var components: [String: JSONSchema] {
        var all: [String: JSONSchema] = [:]
        for part in [
            nodeComponents, parameterComponents, clusterComponents, taskDefinitionComponents, instanceComponents,
            workloadComponents,
        ] {
            all.merge(part) { _, _ in preconditionFailure("a component schema is defined twice") }
        }
        return all
    }

    static var nodeComponents: [String: JSONSchema] {
        var errorObject = JSONSchema.object(
            required: ["code", "message"],
            [
                "code": .string("A stable machine-readable code, e.g. invalid_field, not_found, no_leader."),
                "message": .string("A sentence a user can act on."),
                "field": .string("The request field at fault."),
            ]
        )
        errorObject.additionalPropertiesStorage = [.string("Details such as currentVersion or leader.")]
        return [
            "Error": .object("An error.", required: ["error"], ["error": errorObject]),
            "Status": .object(required: ["status"], ["status": .string(oneOf: ["ok", "ready"])]),
            "NodeStatus": .object(
                "This node's view.",
                required: [
                    "id", "clusterID", "role", "term", "leader", "commitIndex", "appliedIndex",
                    "lastContactMilliseconds", "version",
                ],
                [
                    "id": .integer(minimum: 1),
                    "clusterID": .string(),
                    "role": .string(oneOf: ["follower", "preCandidate", "candidate", "leader"]),
                    "term": .integer(minimum: 0),
                    "leader": .integer("The leader this node knows of (0: none).", minimum: 0),
                    "commitIndex": .integer(minimum: 0),
                    "appliedIndex": .integer(minimum: 0),
                    "lastContactMilliseconds": .integer("0 on the leader; -1: never.", minimum: -1),
                    "version": .string("Gantry's version."),
                    "halted": .string("Why the node halted, if it did."),
                ]
            ),
            "RaftMember": .object(
                required: ["id", "suffrage", "leader"],
                [
                    "id": .integer(minimum: 1),
                    "address": .string("Peer address, when known."),
                    "suffrage": .string(oneOf: ["voter", "learner"]),
                    "leader": .boolean(),
                    "matchIndex": .integer("Leader's view only.", minimum: 0),
                    "lag": .integer("Entries behind the leader's last index (leader's view only).", minimum: 0),
                    "replication": .string("Leader's view only.", oneOf: ["probe", "replicate", "snapshot"]),
                    "active": .boolean("Whether it answered recently (leader's view only)."),
                ]
            ),
            "RaftMembers": .object(
                "Members, voters first, by id.",
                required: ["leader", "term", "members"],
                [
                    "leader": .integer("0: unknown.", minimum: 0),
                    "term": .integer(minimum: 0),
                    "lastIndex": .integer("The leader's last log index, when the leader answered.", minimum: 0),
                    "members": .array(.ref("RaftMember")),
                ]
            ),
            "AddMemberRequest": .object(
                required: ["id", "address"],
                [
                    "id": .integer("The new controller's node id.", minimum: 1),
                    "address": .string("Its peer address, host:port.", minLength: 3, pattern: "^.+:[0-9]{1,5}$"),
                ]
            ),
            "TransferRequest": .object(
                ["to": .integer("The voter to hand leadership to (default: the most caught-up).", minimum: 1)]
            ),
            "TransferResult": .object(required: ["leader"], ["leader": .integer(minimum: 1)]),
            "ConfigurationChange": .object(
                "A committed membership change.",
                required: ["result", "index"],
                [
                    "result": .string("What changed, e.g. added node 4 as a learner."),
                    "index": .string("The log index it committed at, in decimal.", pattern: "^[0-9]+$"),
                ]
            ),
            "OpenAPIDocument": .object(
                "This document.",
                required: ["openapi", "info", "paths"],
                [
                    "openapi": .string(),
                    "info": .object([:]),
                    "paths": .object([:]),
                ]
            ),
        ]
    }

    static var parameterComponents: [String: JSONSchema] {
        [
            "Parameter": .object(
                "A parameter. `value` is absent from lists for secrets.",
                required: ["name", "secret", "version", "created", "modified", "modifiedIndex"],
                [
                    "name": .string(),
                    "value": .string(),
                    "secret": .boolean(),
                    "version": .integer("1 on creation, +1 on every write.", minimum: 1),
                    "created": .integer("Leader time of creation, ms since the epoch."),
                    "modified": .integer("Leader time of the last write."),
                    "modifiedIndex": .integer("The log index of the last write.", minimum: 0),
                ]
            ),
            "ParameterList": .object(required: ["parameters"], ["parameters": .array(.ref("Parameter"))]),
            "ParameterWrite": .object(
                required: ["value"],
                [
                    "value": .string("At most 64 KiB of UTF-8.", maxLength: ParameterRules.maxValueBytes),
                    "secret": .boolean("Secret values need role operator to read and are never listed."),
                ]
            ),
            "ParameterWritten": .object(
                required: ["name", "version", "index"],
                [
                    "name": .string(),
                    "version": .integer("The version written (or deleted).", minimum: 0),
                    "index": .integer("The log index the write applied at.", minimum: 0),
                    "deleted": .boolean("Present (true) on deletes."),
                ]
            ),
        ]
    }

    static var clusterComponents: [String: JSONSchema] {
        [
            // Lengths are counted in characters (grapheme clusters), which JSON Schema cannot say: described only.
            "Tag": .object(
                required: ["key"],
                ["key": .string("1 to 128 characters.", minLength: 1), "value": .string("At most 256 characters.")]
            ),
            "Cluster": .object(
                required: ["clusterArn", "clusterName", "status", "tags", "createdAt", "updatedAt"],
                [
                    "clusterArn": .string("arn:aws:ecs:<region>:<account>:cluster/<name>"),
                    "clusterName": .string(pattern: identifierPattern),
                    "status": .string(oneOf: ["ACTIVE"]),
                    "tags": .array(.ref("Tag")),
                    "createdAt": .integer("Leader time, ms since the epoch."),
                    "updatedAt": .integer("Leader time, ms since the epoch."),
                ]
            ),
            "CreateClusterRequest": .object(
                required: ["clusterName"],
                [
                    "clusterName": .string(pattern: identifierPattern),
                    "tags": .array(.ref("Tag"), "Keys unique.", maxItems: 50),
                ]
            ),
            "ClusterResponse": .object(required: ["cluster"], ["cluster": .ref("Cluster")]),
            "ClusterList": .object(
                required: ["clusterArns", "clusters"],
                [
                    "clusterArns": .array(.string()),
                    "clusters": .array(.ref("Cluster")),
                    "nextToken": .string(
                        "Pass to get the next page; absent on the last page.",
                        pattern: pageTokenPattern
                    ),
                ]
            ),
        ]
    }

    static var instanceComponents: [String: JSONSchema] {
        let attributeName = JSONSchema.string(pattern: #"^[A-Za-z0-9_./\\-]{1,128}$"#)
        let attributeValue = JSONSchema.string(pattern: #"^[A-Za-z0-9_.@/\\: -]{1,128}$"#)
        return [
            "InstanceResource": .object(
                required: ["name", "type"],
                [
                    "name": .string(oneOf: ["CPU", "MEMORY", "PORTS", "PORTS_UDP"]),
                    "type": .string(oneOf: ["INTEGER", "STRINGSET"]),
                    "integerValue": .integer(),
                    "stringSetValue": .array(.string()),
                ]
            ),
            "Attribute": .object(
                required: ["name"],
                [
                    "name": .string(),
                    "value": .string(),
                    "targetType": .string(oneOf: ["container-instance"]),
                    "targetId": .string(),
                ]
            ),
            "AttributeInput": .object(
                "A custom attribute given at registration (the ecs. prefix is reserved).",
                required: ["name"],
                [
                    "name": attributeName,
                    "value": attributeValue,
                    "targetType": .string(oneOf: ["container-instance"]),
                    "targetId": .string(),
                ]
            ),
            "AttributeTarget": .object(
                "An attribute of a container instance named by `targetId` (its id or ARN).",
                required: ["name", "targetId"],
                [
                    "name": attributeName,
                    "value": attributeValue,
                    "targetType": .string(oneOf: ["container-instance"]),
                    "targetId": .string(minLength: 1),
                ]
            ),
            "AttributesRequest": .object(
                required: ["attributes"],
                ["attributes": .array(.ref("AttributeTarget"), minItems: 1, maxItems: 10)]
            ),
            "AttributesResponse": .object(required: ["attributes"], ["attributes": .array(.ref("Attribute"))]),
            "TagsResponse": .object(required: ["tags"], ["tags": .array(.ref("Tag"))]),
            "TagResourceRequest": .object(
                required: ["resourceArn", "tags"],
                [
                    "resourceArn": .string("A cluster's, service's or task definition revision's ARN.", minLength: 1),
                    "tags": .array(.ref("Tag"), minItems: 1, maxItems: 50),
                ]
            ),
            "UntagResourceRequest": .object(
                required: ["resourceArn", "tagKeys"],
                [
                    "resourceArn": .string("The resource's ARN.", minLength: 1),
                    "tagKeys": .array(.string(minLength: 1), minItems: 1, maxItems: 50),
                ]
            ),
            "ContainerInstance": .object(
                required: [
                    "containerInstanceArn", "id", "cluster", "hostname", "status", "agentConnected", "agentVersion",
                    "registeredResources", "remainingResources", "attributes", "runningTasksCount",
                    "pendingTasksCount", "registeredAt", "updatedAt", "version",
                ],
                [
                    "containerInstanceArn": .string(
                        "arn:aws:ecs:<region>:<account>:container-instance/<cluster>/<id>"
                    ),
                    "id": .string("32 hex digits, assigned by the leader.", pattern: "^[0-9a-f]{32}$"),
                    "cluster": .string(),
                    "hostname": .string(),
                    "status": .string(oneOf: ["ACTIVE", "DRAINING", "INACTIVE"]),
                    "agentConnected": .boolean(),
                    "agentVersion": .string(),
                    "registeredResources": .array(.ref("InstanceResource")),
                    "remainingResources": .array(.ref("InstanceResource")),
                    "attributes": .array(.ref("Attribute")),
                    "runningTasksCount": .integer(minimum: 0),
                    "pendingTasksCount": .integer(minimum: 0),
                    "registeredAt": .integer("Leader time, ms since the epoch."),
                    "updatedAt": .integer("Leader time, ms since the epoch."),
                    "version": .integer("+1 on every change.", minimum: 1),
                    "agentAddress": .string("host:port where controllers reach the agent (task logs), if it gave one."),
                ]
            ),
            "RegisterContainerInstanceRequest": .object(
                required: ["hostname", "cpu", "memory", "agentVersion"],
                [
                    "hostname": .string(minLength: 1, maxLength: 253),
                    "cpu": .integer("CPU units offered, 1024 per core.", minimum: 1, maximum: 1_048_576),
                    "memory": .integer("MiB offered.", minimum: 6, maximum: 16_777_216),
                    "reservedPorts": .array(
                        .integer(minimum: 1, maximum: 65_535),
                        "Host ports already taken.",
                        unique: true
                    ),
                    "osType": .string(oneOf: ["linux", "windows"]),
                    "cpuArchitecture": .string(minLength: 1, maxLength: 32),
                    "availabilityZone": .string(minLength: 1, maxLength: 64),
                    "attributes": .array(.ref("AttributeInput"), maxItems: 10),
                    "agentVersion": .string(minLength: 1, maxLength: 64),
                    "agentAddress": .string(
                        "host:port where controllers reach the agent's API for task logs: an IPv4 address or "
                            + "localhost, and a port.",
                        maxLength: 21,
                        pattern: #"^(localhost|[0-9]{1,3}(\.[0-9]{1,3}){3}):[0-9]{1,5}$"#
                    ),
                ]
            ),
            "RegisterContainerInstanceResponse": .object(
                required: ["containerInstance"],
                [
                    "containerInstance": .ref("ContainerInstance"),
                    "agentCredential": .string(
                        "The agent's own credential (only this answer carries it): present it as "
                            + "`Authorization: Bearer <credential>` on the agent routes of this instance.",
                        pattern: "^gagent\\.[0-9a-f]{32}\\.[0-9a-f]{64}$"
                    ),
                ]
            ),
            "TaskSecretsResponse": .object(
                required: ["secrets"],
                [
                    "secrets": .map(
                        .array(.ref("KeyValuePair")),
                        "By container name (every container of the task definition): its secrets as environment "
                            + "variables, each valueFrom resolved from the parameter store."
                    )
                ]
            ),
            "ContainerInstanceResponse": .object(
                required: ["containerInstance"],
                ["containerInstance": .ref("ContainerInstance")]
            ),
            "HeartbeatResponse": .object(
                required: ["containerInstanceArn", "agentConnected", "ttlMilliseconds"],
                [
                    "containerInstanceArn": .string(),
                    "agentConnected": .boolean(),
                    "ttlMilliseconds": .integer(minimum: 1000),
                ]
            ),
            "ContainerInstanceList": .object(
                required: ["containerInstanceArns", "containerInstances"],
                [
                    "containerInstanceArns": .array(.string()),
                    "containerInstances": .array(.ref("ContainerInstance")),
                    "nextToken": .string(pattern: pageTokenPattern),
                ]
            ),
            "InstanceStateRequest": .object(
                required: ["status"],
                ["status": .string(oneOf: ["ACTIVE", "DRAINING"])]
            ),
        ]
    }
}
