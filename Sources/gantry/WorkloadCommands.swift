import API
import HTTP

let serviceHelp = """
    gantry service — services of a cluster (writes need role operator).
    Usage:
      gantry service create --cluster C --name N --task-definition FAMILY[:REV] --desired-count K
                            [--daemon] [--file service.json]   (--file: an ECS CreateService body, as is)
      gantry service list --cluster C
      gantry service describe --cluster C NAME
      gantry service update --cluster C NAME [--desired-count K] [--task-definition FAMILY[:REV]] [--force-new-deployment]
      gantry service delete --cluster C NAME [--force]
      gantry service events --cluster C NAME
      gantry service deployments --cluster C NAME      deployments, then the history (what rollback can reach)
      gantry service rollback --cluster C NAME [--to REV]
                            REV: a revision of the service's family, family:revision or an ARN;
                            default: the last COMPLETED deployment
      gantry service explain --cluster C NAME          why the next task would (not) be placed, per instance
    Common options: --addr HOST:PORT (GANTRY_ADDR), --token TOKEN (GANTRY_TOKEN), --output table|json
    """

let taskHelp = """
    gantry task — tasks of a cluster (writes need role operator).
    Usage:
      gantry task run --cluster C --task-definition FAMILY[:REV] [--count N] [--started-by S]
      gantry task list --cluster C [--service S] [--family F] [--instance ID] [--desired-status RUNNING|STOPPED]
      gantry task describe --cluster C ID
      gantry task stop --cluster C ID [--reason TEXT]
      gantry task logs --cluster C ID [--container NAME] [--follow]
                            a container's output, fetched from the task's agent by the controller (role operator);
                            default container: the task's first essential one. --follow polls every second from
                            where the last answer ended until the container has stopped and printed everything
                            (or Ctrl-C). --output json prints each answer as it comes.
    Common options: --addr HOST:PORT (GANTRY_ADDR), --token TOKEN (GANTRY_TOKEN), --output table|json
    """

struct ServiceBody: Decodable {
    struct DeploymentBody: Decodable {
        var id: String
        var status: String
        var taskDefinition: String
        var desiredCount: Int
        var runningCount: Int
        var rolloutState: String
    }
    struct EventBody: Decodable {
        var createdAt: Int64
        var message: String
    }
    var serviceName: String
    var status: String
    var taskDefinition: String
    var desiredCount: Int
    var runningCount: Int
    var pendingCount: Int
    var schedulingStrategy: String
    var deployments: [DeploymentBody]
    var events: [EventBody]
}

/// `gantry service ...`.
func runService(_ words: [String]) throws(CommandError) {
    if words.first == nil || words.first == "--help" {
        print(serviceHelp)
        return
    }
    let arguments = try Arguments(
        words,
        valued: clientFlags.union(["cluster", "name", "task-definition", "desired-count", "file", "to"]),
        booleans: ["daemon", "force", "force-new-deployment"]
    )
    let client = try Client(arguments)
    guard let cluster = arguments["cluster"] else { throw CommandError("--cluster is required") }
    let base = "/v1/clusters/\(pathEscaped(cluster))/services"
    let positional = arguments.positional
    struct One: Decodable { var service: ServiceBody }
    func show(_ response: HTTPClientResponse) throws(CommandError) {
        if client.json { return printJSON(response) }
        let service = try decodeBody(One.self, response).service
        print(
            "\(service.serviceName) \(service.status) \(service.schedulingStrategy) desired \(service.desiredCount) running \(service.runningCount) pending \(service.pendingCount)"
        )
        for deployment in service.deployments {
            print(
                "  \(pad(deployment.id, 20))\(pad(deployment.status, 9))\(pad(deployment.rolloutState, 12))"
                    + "\(deployment.taskDefinition.split(separator: "/").last ?? "") \(deployment.runningCount)/\(deployment.desiredCount)"
            )
        }
    }
    switch (positional.first, positional.count) {
    case ("create", 1):
        var body: [UInt8]
        if let file = arguments["file"] {
            body = try readConfigFile(file)
        } else {
            guard let name = arguments["name"], let definition = arguments["task-definition"] else {
                throw CommandError(
                    "usage: gantry service create --cluster C --name N --task-definition T --desired-count K"
                )
            }
            struct Request: Encodable {
                var serviceName: String
                var taskDefinition: String
                var desiredCount: Int?
                var schedulingStrategy: String
            }
            let daemon = arguments.isSet("daemon")
            let count = try arguments.integer("desired-count")
            if !daemon && count == nil { throw CommandError("--desired-count is required (or --daemon)") }
            body = JSON.encode(
                Request(
                    serviceName: name,
                    taskDefinition: definition,
                    desiredCount: count,
                    schedulingStrategy: daemon ? "DAEMON" : "REPLICA"
                )
            )
        }
        try show(try client.expectSuccess("POST", base, body: body, write: true))
    case ("list", 1):
        let response = try client.expectSuccess("GET", base)
        if client.json { return printJSON(response) }
        struct List: Decodable { var services: [ServiceBody] }
        print(pad("NAME", 24) + pad("STATUS", 10) + pad("DESIRED", 9) + pad("RUNNING", 9) + "TASK DEFINITION")
        for service in try decodeBody(List.self, response).services {
            print(
                pad(service.serviceName, 24) + pad(service.status, 10) + pad(String(service.desiredCount), 9)
                    + pad(String(service.runningCount), 9)
                    + (service.taskDefinition.split(separator: "/").last.map(String.init) ?? "")
            )
        }
    case ("describe", 2):
        try show(try client.expectSuccess("GET", base + "/\(pathEscaped(positional[1]))"))
    case ("events", 2):
        let response = try client.expectSuccess("GET", base + "/\(pathEscaped(positional[1]))")
        if client.json { return printJSON(response) }
        for event in try decodeBody(One.self, response).service.events { print("\(event.createdAt) \(event.message)") }
    case ("update", 2):
        struct Update: Encodable {
            var desiredCount: Int?
            var taskDefinition: String?
            var forceNewDeployment: Bool?
        }
        let update = Update(
            desiredCount: try arguments.integer("desired-count"),
            taskDefinition: arguments["task-definition"],
            forceNewDeployment: arguments.isSet("force-new-deployment") ? true : nil
        )
        try show(
            try client.expectSuccess(
                "PUT",
                base + "/\(pathEscaped(positional[1]))",
                body: JSON.encode(update),
                write: true
            )
        )
    case ("delete", 2):
        let force = arguments.isSet("force") ? "?force=true" : ""
        try show(try client.expectSuccess("DELETE", base + "/\(pathEscaped(positional[1]))" + force, write: true))
    case ("rollback", 2):
        try runServiceRollback(client, base, positional[1], to: arguments["to"])
    case ("deployments", 2):
        try runServiceDeployments(client, base, positional[1])
    case ("explain", 2):
        try runServiceExplain(client, base, positional[1])
    default:
        throw CommandError(
            "usage: gantry service create|list|describe|update|delete|events|deployments|rollback|explain"
                + " (see gantry service --help)"
        )
    }
}

/// `gantry task ...`.
func runTask(_ words: [String]) throws(CommandError) {
    if words.first == nil || words.first == "--help" {
        print(taskHelp)
        return
    }
    let arguments = try Arguments(
        words,
        valued: clientFlags.union([
            "cluster", "task-definition", "count", "started-by", "service", "family", "instance", "desired-status",
            "reason", "max-results", "next-token", "container",
        ]),
        booleans: ["follow"]
    )
    let client = try Client(arguments)
    guard let cluster = arguments["cluster"] else { throw CommandError("--cluster is required") }
    let base = "/v1/clusters/\(pathEscaped(cluster))/tasks"
    let positional = arguments.positional
    struct TaskBody: Decodable {
        var id: String
        var lastStatus: String
        var desiredStatus: String
        var taskDefinitionArn: String
        var group: String
        var stoppedReason: String?
    }
    func line(_ task: TaskBody) -> String {
        pad(task.id, 34) + pad(task.lastStatus, 14) + pad(task.desiredStatus, 9) + pad(task.group, 20)
            + (task.taskDefinitionArn.split(separator: "/").last.map(String.init) ?? "")
    }
    switch (positional.first, positional.count) {
    case ("run", 1):
        guard let definition = arguments["task-definition"] else { throw CommandError("--task-definition is required") }
        struct Request: Encodable {
            var taskDefinition: String
            var count: Int?
            var startedBy: String?
        }
        let body = JSON.encode(
            Request(
                taskDefinition: definition,
                count: try arguments.integer("count"),
                startedBy: arguments["started-by"]
            )
        )
        let response = try client.expectSuccess("POST", base, body: body, write: true)
        if client.json { return printJSON(response) }
        struct Tasks: Decodable { var tasks: [TaskBody] }
        for task in try decodeBody(Tasks.self, response).tasks { print(line(task)) }
    case ("list", 1):
        let target =
            base
            + queryString([
                ("serviceName", arguments["service"]), ("family", arguments["family"]),
                ("containerInstance", arguments["instance"]), ("desiredStatus", arguments["desired-status"]),
                ("maxResults", arguments["max-results"]), ("nextToken", arguments["next-token"]),
            ])
        let response = try client.expectSuccess("GET", target)
        if client.json { return printJSON(response) }
        struct List: Decodable {
            var taskArns: [String]
            var nextToken: String?
        }
        let list = try decodeBody(List.self, response)
        for arn in list.taskArns { print(arn) }
        if let next = list.nextToken { print("more: --next-token \(next)") }
    case ("describe", 2):
        let response = try client.expectSuccess("GET", base + "/\(pathEscaped(positional[1]))")
        if client.json { return printJSON(response) }
        struct One: Decodable { var task: TaskBody }
        let task = try decodeBody(One.self, response).task
        print(line(task) + (task.stoppedReason.map { "  (\($0))" } ?? ""))
    case ("stop", 2):
        struct Body: Encodable { var reason: String? }
        let response = try client.expectSuccess(
            "POST",
            base + "/\(pathEscaped(positional[1]))/stop",
            body: JSON.encode(Body(reason: arguments["reason"])),
            write: true
        )
        if client.json { return printJSON(response) }
        struct Tasks: Decodable { var tasks: [TaskBody] }
        for task in try decodeBody(Tasks.self, response).tasks { print(line(task)) }
    case ("logs", 2):
        try runTaskLogs(
            client,
            base + "/\(pathEscaped(positional[1]))/logs",
            container: arguments["container"],
            follow: arguments.isSet("follow")
        )
    default:
        throw CommandError("usage: gantry task run|list|describe|stop|logs (see gantry task --help)")
    }
}
