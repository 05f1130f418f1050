/// Services and tasks: ECS CreateService, ListServices, DescribeServices, UpdateService, DeleteService, RunTask,
/// ListTasks, DescribeTasks and StopTask under a cluster; Gantry's rollback and placement explanation; agents'
/// task state reports.
extension OpenAPI {
    static var workloadComponents: [String: JSONSchema] {
        [
            "DeploymentConfiguration": .object(
                "Rollout bounds (defaults: 200/100 for REPLICA, 100/0 for DAEMON) and the circuit breaker.",
                [
                    "maximumPercent": .integer(minimum: 100, maximum: 200),
                    "minimumHealthyPercent": .integer(minimum: 0, maximum: 100),
                    "deploymentCircuitBreaker": .object(
                        required: ["enable", "rollback"],
                        [
                            "enable": .boolean(),
                            "rollback": .boolean(),
                            "threshold": .integer(
                                "Failed tasks that trip it (default: half the desired count, clamped to 3-200).",
                                minimum: 1,
                                maximum: 10_000
                            ),
                        ]
                    ),
                ]
            ),
            "PlacementStrategy": .object(
                required: ["type"],
                [
                    "type": .string(oneOf: ["random", "spread", "binpack"]),
                    "field": .string("spread: instanceId, host or attribute:NAME; binpack: cpu or memory."),
                ]
            ),
            "ServicePlacementConstraint": .object(
                required: ["type"],
                [
                    "type": .string(oneOf: ["distinctInstance", "memberOf"]),
                    "expression": .string("Required for memberOf (at most 2000 bytes).", maxLength: 2000),
                ]
            ),
            "CreateServiceRequest": .object(
                required: ["serviceName", "taskDefinition"],
                [
                    "serviceName": .string(pattern: identifierPattern),
                    "taskDefinition": .string(
                        "family, family:revision or ARN.",
                        pattern: taskDefinitionReferencePattern
                    ),
                    "desiredCount": .integer("Required for REPLICA, absent for DAEMON.", minimum: 0, maximum: 10_000),
                    "launchType": .string(oneOf: ["EXTERNAL"]),
                    "schedulingStrategy": .string(oneOf: ["REPLICA", "DAEMON"]),
                    "deploymentConfiguration": .ref("DeploymentConfiguration"),
                    "placementStrategy": .array(.ref("PlacementStrategy"), maxItems: 5),
                    "placementConstraints": .array(.ref("ServicePlacementConstraint"), maxItems: 10),
                    "healthCheckGracePeriodSeconds": .integer(minimum: 0, maximum: 2_147_483_647),
                    "tags": .array(.ref("Tag"), "Keys unique.", maxItems: 50),
                ]
            ),
            "UpdateServiceRequest": .object(
                [
                    "desiredCount": .integer(minimum: 0, maximum: 10_000),
                    "taskDefinition": .string(
                        "A new revision starts a deployment.",
                        pattern: taskDefinitionReferencePattern
                    ),
                    "deploymentConfiguration": .ref("DeploymentConfiguration"),
                    "placementStrategy": .array(.ref("PlacementStrategy"), maxItems: 5),
                    "placementConstraints": .array(.ref("ServicePlacementConstraint"), maxItems: 10),
                    "healthCheckGracePeriodSeconds": .integer(minimum: 0, maximum: 2_147_483_647),
                    "forceNewDeployment": .boolean(),
                ]
            ),
            "Deployment": .object(
                required: [
                    "id", "status", "taskDefinition", "desiredCount", "pendingCount", "runningCount", "failedTasks",
                    "rolloutState", "rolloutStateReason", "createdAt", "updatedAt",
                ],
                [
                    "id": .string("ecs-svc/<log index>."),
                    "status": .string(oneOf: ["PRIMARY", "ACTIVE", "INACTIVE"]),
                    "taskDefinition": .string(),
                    "desiredCount": .integer(minimum: 0),
                    "pendingCount": .integer(minimum: 0),
                    "runningCount": .integer(minimum: 0),
                    "failedTasks": .integer(minimum: 0),
                    "rolloutState": .string(oneOf: ["IN_PROGRESS", "COMPLETED", "FAILED"]),
                    "rolloutStateReason": .string(),
                    "createdAt": .integer(),
                    "updatedAt": .integer(),
                    "isRollback": .boolean("Started (by the circuit breaker or an operator) to roll back."),
                    "finishedAt": .integer("When it reached COMPLETED or FAILED."),
                    "retiredAt": .integer("When it left the deployments for the history (INACTIVE)."),
                ]
            ),
            "Service": .object(
                required: [
                    "serviceArn", "serviceName", "clusterArn", "taskDefinition", "desiredCount", "runningCount",
                    "pendingCount", "launchType", "schedulingStrategy", "deploymentConfiguration",
                    "placementStrategy", "placementConstraints", "healthCheckGracePeriodSeconds", "status",
                    "deployments", "events", "tags", "createdAt", "updatedAt",
                ],
                [
                    "serviceArn": .string("arn:aws:ecs:<region>:<account>:service/<cluster>/<name>"),
                    "serviceName": .string(),
                    "clusterArn": .string(),
                    "taskDefinition": .string("The PRIMARY deployment's task definition ARN."),
                    "desiredCount": .integer(minimum: 0),
                    "runningCount": .integer(minimum: 0),
                    "pendingCount": .integer(minimum: 0),
                    "launchType": .string(oneOf: ["EXTERNAL"]),
                    "schedulingStrategy": .string(oneOf: ["REPLICA", "DAEMON"]),
                    "deploymentConfiguration": .ref("DeploymentConfiguration"),
                    "placementStrategy": .array(.ref("PlacementStrategy")),
                    "placementConstraints": .array(.ref("ServicePlacementConstraint")),
                    "healthCheckGracePeriodSeconds": .integer(minimum: 0),
                    "status": .string(oneOf: ["ACTIVE", "DRAINING", "INACTIVE"]),
                    "deployments": .array(.ref("Deployment"), "Newest (PRIMARY) first."),
                    "events": .array(
                        .object(
                            required: ["id", "createdAt", "message"],
                            ["id": .string(), "createdAt": .integer(), "message": .string()]
                        ),
                        "The last 100, newest first."
                    ),
                    "liveTaskCount": .integer("Its tasks that have not STOPPED.", minimum: 0),
                    "healthyTaskCount": .integer("Its RUNNING tasks that pass their health checks.", minimum: 0),
                    "deploymentHistory": .array(
                        .ref("Deployment"),
                        "Deployments that left `deployments` (INACTIVE), newest first, the last 50."
                    ),
                    "tags": .array(.ref("Tag")),
                    "createdAt": .integer(),
                    "updatedAt": .integer(),
                ]
            ),
            "ServiceResponse": .object(required: ["service"], ["service": .ref("Service")]),
            "ServiceList": .object(
                required: ["serviceArns", "services"],
                [
                    "serviceArns": .array(.string()),
                    "services": .array(.ref("Service")),
                    "nextToken": .string(pattern: pageTokenPattern),
                ]
            ),
            // Overrides are echoed in the task as given: their variables are not validated, so no constraints.
            "TaskOverrides": .object(
                [
                    "containerOverrides": .array(
                        .object(
                            required: ["name"],
                            [
                                "name": .string("A container of the task definition."),
                                "command": .array(.string()),
                                "environment": .array(
                                    .object(required: ["name", "value"], ["name": .string(), "value": .string()])
                                ),
                            ]
                        )
                    )
                ]
            ),
            "RunTaskRequest": .object(
                required: ["taskDefinition"],
                [
                    "taskDefinition": .string(
                        "family, family:revision or ARN (ACTIVE).",
                        pattern: taskDefinitionReferencePattern
                    ),
                    "count": .integer(minimum: 1, maximum: 10),
                    "startedBy": .string("1 to 128 bytes.", minLength: 1, maxLength: 128),
                    "group": .string("1 to 255 bytes; default family:<family>.", minLength: 1, maxLength: 255),
                    "overrides": .ref("TaskOverrides"),
                    "launchType": .string(oneOf: ["EXTERNAL"]),
                    "containerInstances": .array(
                        .string("A container instance id or ARN.", minLength: 1),
                        minItems: 1,
                        maxItems: 10
                    ),
                ]
            ),
            "StopTaskRequest": .object(["reason": .string("At most 255 bytes.", maxLength: 255)]),
            "TaskContainer": .object(
                required: ["name", "image", "lastStatus", "healthStatus", "networkBindings", "essential"],
                [
                    "name": .string(),
                    "image": .string(),
                    "lastStatus": .string(oneOf: ["PENDING", "RUNNING", "STOPPED"]),
                    "exitCode": .integer(),
                    "reason": .string(),
                    "healthStatus": .string(oneOf: ["HEALTHY", "UNHEALTHY", "UNKNOWN"]),
                    "networkBindings": .array(
                        .object(
                            required: ["containerPort", "hostPort", "protocol"],
                            [
                                "containerPort": .integer(),
                                "hostPort": .integer(),
                                "protocol": .string(oneOf: ["tcp", "udp"]),
                            ]
                        )
                    ),
                    "essential": .boolean(),
                    "hasHealthCheck": .boolean("Whether its healthStatus comes from a health check."),
                ]
            ),
            "Task": .object(
                required: [
                    "taskArn", "id", "clusterArn", "cluster", "taskDefinitionArn", "group", "overrides", "lastStatus",
                    "desiredStatus", "containers", "cpu", "memory", "epoch", "createdAt", "version",
                ],
                [
                    "taskArn": .string("arn:aws:ecs:<region>:<account>:task/<cluster>/<id>"),
                    "id": .string(pattern: "^[0-9a-f]{32}$"),
                    "clusterArn": .string(),
                    "cluster": .string(),
                    "taskDefinitionArn": .string(),
                    "containerInstanceArn": .string("Absent until placed."),
                    "group": .string(),
                    "startedBy": .string(),
                    "overrides": .ref("TaskOverrides"),
                    "lastStatus": .string(
                        oneOf: [
                            "PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING",
                            "DEPROVISIONING", "STOPPED",
                        ]
                    ),
                    "desiredStatus": .string(oneOf: ["RUNNING", "STOPPED"]),
                    "containers": .array(.ref("TaskContainer")),
                    "stopCode": .string(
                        oneOf: [
                            "TaskFailedToStart", "EssentialContainerExited", "UserInitiated",
                            "ServiceSchedulerInitiated",
                        ]
                    ),
                    "stoppedReason": .string(),
                    "cpu": .integer(minimum: 0),
                    "memory": .integer(minimum: 0),
                    "epoch": .integer("Fencing epoch: bumped on every (re)assignment.", minimum: 0),
                    "createdAt": .integer(),
                    "startedAt": .integer(),
                    "stoppingAt": .integer(),
                    "stoppedAt": .integer(),
                    "version": .integer(minimum: 1),
                    "hostPorts": .array(.string("protocol/port, e.g. tcp/80."), "The fixed host ports it binds."),
                ]
            ),
            "RollbackServiceRequest": .object(
                [
                    "to": .string(
                        "A revision of the service's family, family:revision or a task definition ARN; "
                            + "absent: the last COMPLETED deployment's.",
                        minLength: 1,
                        maxLength: 255
                    )
                ]
            ),
            "PlacementVerdict": .object(
                required: [
                    "id", "hostname", "status", "freeCPU", "freeMemory", "serviceTasks", "verdict", "wouldPlace",
                ],
                [
                    "id": .string("The container instance id."),
                    "hostname": .string(),
                    "status": .string(oneOf: ["ACTIVE", "DRAINING"]),
                    "freeCPU": .integer("CPU units free."),
                    "freeMemory": .integer("Memory MiB free."),
                    "serviceTasks": .integer("Tasks of the service on it now.", minimum: 0),
                    "verdict": .string("`fits`, or why it cannot take a task (\"lacked 512 MiB memory\")."),
                    "wouldPlace": .integer("Tasks the dry run put on it.", minimum: 0),
                ]
            ),
            "PlacementExplanation": .object(
                "A dry run of the service's next placement: its waiting tasks, or one more task if none waits.",
                required: [
                    "service", "taskDefinition", "waiting", "simulated", "placeable", "instances", "summary",
                ],
                [
                    "service": .string(),
                    "taskDefinition": .string("The PRIMARY deployment's task definition ARN."),
                    "waiting": .integer("Tasks of the service waiting for an instance now.", minimum: 0),
                    "simulated": .integer("Tasks the dry run placed.", minimum: 1),
                    "placeable": .integer("How many of them found an instance.", minimum: 0),
                    "reason": .string("Why the others did not (absent when all did)."),
                    "instances": .array(.ref("PlacementVerdict"), "Every candidate instance of the cluster."),
                    "summary": .string("One sentence."),
                ]
            ),
            "ExplanationResponse": .object(
                required: ["explanation"],
                ["explanation": .ref("PlacementExplanation")]
            ),
            "TaskStateReport": .object(
                required: ["task", "epoch", "status"],
                [
                    "task": .string("The task id.", minLength: 1, maxLength: 64),
                    "epoch": .integer(
                        "The assignment's epoch; a report for another epoch is ignored.",
                        minimum: 1
                    ),
                    "status": .string(oneOf: ["RUNNING", "STOPPED"]),
                    "healthStatus": .string(oneOf: ["HEALTHY", "UNHEALTHY", "UNKNOWN"]),
                    "exitCode": .integer("The essential container's exit code.", minimum: -255, maximum: 255),
                    "reason": .string("Why it stopped.", maxLength: 255),
                ]
            ),
            "TaskStatesRequest": .object(
                required: ["reports"],
                ["reports": .array(.ref("TaskStateReport"), minItems: 1, maxItems: 1000)]
            ),
            "TaskResponse": .object(required: ["task"], ["task": .ref("Task")]),
            "TaskLogsResponse": .object(
                "As the task's agent answered.",
                required: ["text", "offset", "running"],
                [
                    "task": .string("The task's id."),
                    "container": .string("The container the text is from."),
                    "text": .string("The output from `offset` on (UTF-8)."),
                    "offset": .integer("The byte offset just past `text`: where the next read starts.", minimum: 0),
                    "running": .boolean("Whether the container still runs (more output may come)."),
                ]
            ),
            "TasksResponse": .object(required: ["tasks"], ["tasks": .array(.ref("Task"))]),
            "TaskList": .object(
                required: ["taskArns"],
                ["taskArns": .array(.string()), "nextToken": .string(pattern: pageTokenPattern)]
            ),
        ]
    }

    static let workloadRoutes: [DocumentedRoute] = {
        let base = "/v1/clusters/{cluster}"
        let service = Parameter.path("service", "The service's name or ARN.", .string(minLength: 1))
        let task = Parameter.path("task", "The task's id (32 hex digits).", .string(pattern: "^[0-9a-f]{32}$"))
        let named = ["cluster": "$request.path.cluster", "service": "$response.body#/service/serviceName"]
        let firstTask = ["cluster": "$request.path.cluster", "task": "$response.body#/tasks/0/id"]
        return [
            DocumentedRoute(
                method: "POST",
                path: "\(base)/services",
                role: .operator,
                operationID: "createService",
                summary: "Create a service: keep desiredCount tasks running (REPLICA) or one per instance (DAEMON).",
                tag: .services,
                parameters: [clusterParameter],
                body: .ref("CreateServiceRequest"),
                bodyExample: ["serviceName": "web", "taskDefinition": "web", "desiredCount": 2],
                success: .json("ServiceResponse", "The service."),
                errors: [404, 409],
                links: [
                    "DescribeService": Link("describeService", named),
                    "UpdateService": Link("updateService", named),
                    "DeleteService": Link("deleteService", named),
                    "ExplainService": Link("explainService", named),
                    "RollbackService": Link("rollbackService", named),
                ],
                writes: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/services",
                role: .readonly,
                operationID: "listServices",
                summary: "List the cluster's services (all but INACTIVE), by name.",
                tag: .services,
                parameters: [clusterParameter] + pageParameters,
                success: .json("ServiceList", "One page of services.", headers: readHeaders),
                errors: [404],
                readsState: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/services/{service}",
                role: .readonly,
                operationID: "describeService",
                summary: "Describe a service: deployments, counts, events.",
                tag: .services,
                parameters: [clusterParameter, service],
                success: .json("ServiceResponse", "The service.", headers: readHeaders),
                errors: [404],
                readsState: true
            ),
            DocumentedRoute(
                method: "PUT",
                path: "\(base)/services/{service}",
                role: .operator,
                operationID: "updateService",
                summary: "Scale a service, or roll out a new task definition.",
                tag: .services,
                parameters: [clusterParameter, service],
                body: .ref("UpdateServiceRequest"),
                bodyExample: ["desiredCount": 3],
                success: .json("ServiceResponse", "The service."),
                errors: [404, 409],
                writes: true
            ),
            DocumentedRoute(
                method: "DELETE",
                path: "\(base)/services/{service}",
                role: .operator,
                operationID: "deleteService",
                summary: "Delete a service (scaled to 0 first, unless force); DRAINING until its tasks stop.",
                tag: .services,
                parameters: [
                    clusterParameter, service,
                    .query("force", "Delete even with desiredCount above 0.", .boolean()),
                ],
                success: .json("ServiceResponse", "The service, DRAINING or INACTIVE."),
                errors: [404, 409],
                writes: true
            ),
            DocumentedRoute(
                method: "POST",
                path: "\(base)/services/{service}/rollback",
                role: .operator,
                operationID: "rollbackService",
                summary:
                    "Roll a service back: a new PRIMARY deployment (marked isRollback) of an earlier task definition.",
                tag: .services,
                parameters: [clusterParameter, service],
                body: .ref("RollbackServiceRequest"),
                bodyOptional: true,
                bodyExample: ["to": "1"],
                success: .json("ServiceResponse", "The service, the rollback deployment PRIMARY."),
                errors: [404, 409],
                writes: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/services/{service}/explain",
                role: .readonly,
                operationID: "explainService",
                summary: "Explain the service's next placement: each instance's verdict in a dry run of the scheduler.",
                tag: .services,
                parameters: [clusterParameter, service],
                success: .json("ExplanationResponse", "The dry run.", headers: readHeaders),
                errors: [404],
                readsState: true
            ),
            DocumentedRoute(
                method: "POST",
                path: "\(base)/tasks",
                role: .operator,
                operationID: "runTask",
                summary: "Run 1 to 10 tasks of a task definition.",
                tag: .tasks,
                parameters: [clusterParameter],
                body: .ref("RunTaskRequest"),
                bodyExample: ["taskDefinition": "web", "count": 1, "startedBy": "operator"],
                success: .json("TasksResponse", "The tasks, PROVISIONING."),
                errors: [404],
                links: [
                    "DescribeTask": Link("describeTask", firstTask),
                    "StopTask": Link("stopTask", firstTask),
                ],
                writes: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/tasks",
                role: .readonly,
                operationID: "listTasks",
                summary: "List the cluster's task ARNs (filters combine with AND).",
                tag: .tasks,
                parameters: [
                    clusterParameter,
                    .query("serviceName", "Tasks of this service.", .string()),
                    .query("family", "Tasks of this task definition family.", .string()),
                    .query("containerInstance", "Tasks on this container instance (id or ARN).", .string()),
                    .query("desiredStatus", "RUNNING or STOPPED.", .string(oneOf: ["RUNNING", "STOPPED"])),
                    .query("startedBy", "Tasks with this startedBy.", .string()),
                ] + pageParameters,
                success: .json("TaskList", "One page of task ARNs.", headers: readHeaders),
                errors: [404],
                readsState: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/tasks/{task}",
                role: .readonly,
                operationID: "describeTask",
                summary: "Describe a task.",
                tag: .tasks,
                parameters: [clusterParameter, task],
                success: .json("TaskResponse", "The task.", headers: readHeaders),
                errors: [404],
                readsState: true
            ),
            DocumentedRoute(
                method: "POST",
                path: "\(base)/tasks/{task}/stop",
                role: .operator,
                operationID: "stopTask",
                summary: "Stop a task (idempotent).",
                tag: .tasks,
                parameters: [clusterParameter, task],
                body: .ref("StopTaskRequest"),
                bodyOptional: true,
                bodyExample: ["reason": "maintenance"],
                success: .json("TasksResponse", "The task, desired STOPPED."),
                errors: [404],
                writes: true
            ),
            DocumentedRoute(
                method: "GET",
                path: "\(base)/tasks/{task}/logs",
                role: .operator,
                operationID: "getTaskLogs",
                summary:
                    "A container's output, fetched by whichever controller is asked (from its own state, no leader "
                    + "needed) from the task's agent at its registered agentAddress, and relayed as the agent "
                    + "answered. Role operator: output can carry anything the task prints. 409 when the task is not "
                    + "placed yet or its instance registered no agentAddress; 502 when the agent cannot be reached.",
                tag: .tasks,
                parameters: [
                    clusterParameter, task,
                    .query(
                        "container",
                        "The container's name (default: the task's first essential container).",
                        .string(pattern: identifierPattern)
                    ),
                    .query("offset", "The byte offset to read from (default 0: the start).", .integer(minimum: 0)),
                ],
                success: .json("TaskLogsResponse", "The text from `offset` on, and where the next read starts."),
                errors: [404, 409, 502, 503]
            ),
            DocumentedRoute(
                method: "POST",
                path: "\(base)/container-instances/{id}/task-states",
                role: .operator,
                operationID: "reportTaskStates",
                summary: "An agent reports its tasks' states (reports for another instance or epoch are ignored).",
                tag: .containerInstances,
                parameters: [
                    clusterParameter,
                    .path("id", "The container instance's id (32 hex digits).", .string(pattern: "^[0-9a-f]{32}$")),
                ],
                body: .ref("TaskStatesRequest"),
                bodyExample: [
                    "reports": [["task": "0123456789abcdef0123456789abcdef", "epoch": 1, "status": "RUNNING"]]
                ],
                success: .json("TasksResponse", "The tasks the reports changed."),
                errors: [404],
                writes: true
            ),
        ]
    }()
}
