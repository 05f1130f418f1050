import ClusterState

/// The task definition shapes: ECS `RegisterTaskDefinition`'s request body as `TaskDefinitionSpec` decodes it, and
/// the registered revision as `DomainRender.TaskDefinitionView` encodes it.
extension OpenAPI {
    static var taskDefinitionComponents: [String: JSONSchema] {
        var all = containerComponents
        all.merge(taskLevelComponents) { _, _ in preconditionFailure("a component schema is defined twice") }
        return all
    }

    static var taskLevelComponents: [String: JSONSchema] {
        [
            "RegisterTaskDefinitionRequest": .object(
                """
                An ECS RegisterTaskDefinition request body. Unknown fields are skipped; AWS-only settings \
                (executionRoleArn, taskRoleArn, ephemeralStorage, proxyConfiguration, runtimePlatform, \
                inferenceAccelerators) are kept but ignored.
                """,
                required: ["family", "containerDefinitions"],
                [
                    "family": .string(pattern: identifierPattern),
                    "containerDefinitions": .array(
                        .ref("ContainerDefinition"),
                        minItems: 1,
                        maxItems: TaskDefinitionValidator.maxContainers
                    ),
                    "cpu": .string("CPU units (\"256\") or vCPUs (\"0.25 vCPU\")."),
                    "memory": .string("MiB (\"512\") or GB (\"1 GB\")."),
                    "networkMode": .string(
                        "Default bridge; awsvpc is refused.",
                        oneOf: TaskDefinitionValidator.networkModes
                    ),
                    "placementConstraints": .array(
                        .ref("PlacementConstraint"),
                        maxItems: TaskDefinitionValidator.maxPlacementConstraints
                    ),
                    "volumes": .array(.ref("Volume")),
                    "requiresCompatibilities": .array(
                        .string(oneOf: TaskDefinitionValidator.compatibilities),
                        "When given, must include EXTERNAL; FARGATE is refused."
                    ),
                    "executionRoleArn": .string("Ignored."),
                    "taskRoleArn": .string("Ignored."),
                    "pidMode": .string(oneOf: ["host", "task"]),
                    "ipcMode": .string(oneOf: ["host", "task", "none"]),
                    "tags": .array(
                        .ref("TaskDefinitionTag"),
                        "Keys unique.",
                        maxItems: TaskDefinitionValidator.maxTags
                    ),
                    "ephemeralStorage": .object(
                        "Ignored.",
                        required: ["sizeInGiB"],
                        ["sizeInGiB": .integer()]
                    ),
                    "proxyConfiguration": .object(
                        "Ignored.",
                        required: ["containerName"],
                        [
                            "type": .string(),
                            "containerName": .string(),
                            "properties": .array(
                                .object(required: ["name", "value"], ["name": .string(), "value": .string()]),
                                "Not validated (the whole setting is ignored)."
                            ),
                        ]
                    ),
                    "runtimePlatform": .object(
                        "Ignored.",
                        ["cpuArchitecture": .string(), "operatingSystemFamily": .string()]
                    ),
                    "inferenceAccelerators": .array(
                        .object(
                            required: ["deviceName", "deviceType"],
                            ["deviceName": .string(), "deviceType": .string()]
                        ),
                        "Ignored."
                    ),
                ]
            ),
            "TaskDefinition": JSONSchema(
                description: """
                    A registered revision: the request's fields with ECS's defaults written out (networkMode, \
                    essential, port protocol, health-check timings), plus ARN, revision, status and times.
                    """,
                allOf: [
                    .ref("RegisterTaskDefinitionRequest"),
                    .object(
                        required: ["taskDefinitionArn", "revision", "status", "registeredAt", "networkMode"],
                        [
                            "taskDefinitionArn": .string(
                                "arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>"
                            ),
                            "revision": .integer(minimum: 1),
                            "status": .string(
                                "DELETE_IN_PROGRESS only in the answer to a delete.",
                                oneOf: ["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"]
                            ),
                            "registeredAt": .integer("Leader time, ms since the epoch."),
                            "deregisteredAt": .integer("Leader time, ms since the epoch."),
                            "networkMode": .string(oneOf: TaskDefinitionValidator.networkModes),
                        ]
                    ),
                ]
            ),
            "TaskDefinitionResponse": .object(required: ["taskDefinition"], ["taskDefinition": .ref("TaskDefinition")]),
            "TaskDefinitionList": .object(
                required: ["taskDefinitionArns"],
                ["taskDefinitionArns": .array(.string()), "nextToken": .string(pattern: pageTokenPattern)]
            ),
            "TaskDefinitionFamilies": .object(
                required: ["families"],
                ["families": .array(.string()), "nextToken": .string(pattern: pageTokenPattern)]
            ),
            "PlacementConstraint": .object(
                required: ["type"],
                [
                    "type": .string(oneOf: ["memberOf", "distinctInstance"]),
                    "expression": .string("Required for memberOf, absent for distinctInstance."),
                ]
            ),
            "Volume": .object(
                required: ["name"],
                [
                    "name": .string(pattern: identifierPattern),
                    "host": .object(["sourcePath": .string("An absolute host path.", pattern: "^/")]),
                ]
            ),
            "TaskDefinitionTag": .object(
                required: ["key"],
                ["key": .string(minLength: 1, maxLength: 128), "value": .string(maxLength: 256)]
            ),
        ]
    }

    static var containerComponents: [String: JSONSchema] {
        [
            "ContainerDefinition": .object(
                "One container (ECS ContainerDefinition). Needs memory or memoryReservation unless the task sets memory.",
                required: ["name", "image"],
                [
                    "name": .string(pattern: identifierPattern),
                    // The validator counts characters (grapheme clusters), JSON Schema counts code points: no maxLength, or a
                    // registered image of 4096 characters but more code points would not fit its own answer's schema.
                    "image": .string(
                        "1 to \(TaskDefinitionValidator.maxImageLength) characters.",
                        minLength: 1
                    ),
                    "cpu": .integer(minimum: 0, maximum: Int64(TaskDefinitionValidator.maxContainerCPU)),
                    "memory": .integer(
                        "Hard limit, MiB.",
                        minimum: Int64(TaskDefinitionValidator.minContainerMemoryMiB)
                    ),
                    "memoryReservation": .integer(
                        "Soft limit, MiB; at most memory.",
                        minimum: Int64(TaskDefinitionValidator.minContainerMemoryMiB)
                    ),
                    "portMappings": .array(.ref("PortMapping")),
                    "essential": .boolean("Default true; a task needs an essential container."),
                    "entryPoint": .array(.string()),
                    "command": .array(.string()),
                    "environment": .array(.ref("KeyValuePair")),
                    "secrets": .array(.ref("Secret")),
                    "healthCheck": .ref("HealthCheck"),
                    "stopTimeout": .integer(minimum: 2, maximum: 120),
                    "dockerLabels": .map(.string()),
                    "logConfiguration": .ref("LogConfiguration"),
                    "dependsOn": .array(.ref("ContainerDependency")),
                    "ulimits": .array(.ref("Ulimit")),
                    "workingDirectory": .string(),
                    "user": .string(),
                    "hostname": .string("Not allowed in host network mode."),
                    "privileged": .boolean(),
                    "readonlyRootFilesystem": .boolean(),
                    "links": .array(.string(), "Ignored."),
                    "mountPoints": .array(.ref("MountPoint")),
                ]
            ),
            "PortMapping": .object(
                required: ["containerPort"],
                [
                    "containerPort": .integer(minimum: 1, maximum: 65_535),
                    "hostPort": .integer("0 or absent: dynamic (bridge mode).", minimum: 0, maximum: 65_535),
                    "protocol": .string(oneOf: ["tcp", "udp"]),
                ]
            ),
            "KeyValuePair": .object(
                required: ["name", "value"],
                ["name": .string(minLength: 1), "value": .string()]
            ),
            "Secret": .object(
                required: ["name", "valueFrom"],
                [
                    "name": .string(minLength: 1),
                    "valueFrom": .string("A parameter name or an ARN ending in :parameter/NAME.", minLength: 1),
                ]
            ),
            "HealthCheck": .object(
                required: ["command"],
                [
                    "command": .array(.string(), "[\"CMD\", ...] or [\"CMD-SHELL\", \"...\"].", minItems: 2),
                    "interval": .integer(minimum: 5, maximum: 300),
                    "timeout": .integer("Less than interval.", minimum: 2, maximum: 60),
                    "retries": .integer(minimum: 1, maximum: 10),
                    "startPeriod": .integer(minimum: 0, maximum: 300),
                ]
            ),
            "LogConfiguration": .object(
                required: ["logDriver"],
                [
                    "logDriver": .string(
                        oneOf: TaskDefinitionValidator.logDrivers
                    ),
                    "options": .map(.string()),
                ]
            ),
            "ContainerDependency": .object(
                required: ["containerName", "condition"],
                [
                    "containerName": .string(),
                    "condition": .string(oneOf: TaskDefinitionValidator.dependencyConditions),
                ]
            ),
            "Ulimit": .object(
                required: ["name", "softLimit", "hardLimit"],
                [
                    "name": .string(
                        oneOf: TaskDefinitionValidator.ulimitNames
                    ),
                    "softLimit": .integer("At most hardLimit."),
                    "hardLimit": .integer(),
                ]
            ),
            "MountPoint": .object(
                required: ["sourceVolume", "containerPath"],
                [
                    "sourceVolume": .string(),
                    "containerPath": .string(pattern: "^/"),
                    "readOnly": .boolean(),
                ]
            ),
        ]
    }
}
