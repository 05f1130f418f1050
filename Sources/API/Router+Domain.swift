import ClusterState
import HTTP

extension Router {
    /// Routes the domain resources: clusters and task definitions.
    static func routeDomain(
        _ method: String,
        _ rest: [String],
        _ path: String,
        _ query: [String: String],
        _ context: Context,
        _ made: (Operation, String, Access?) throws(APIError) -> APIRequest
    ) throws(APIError) -> APIRequest {
        let token = try clientToken(context.request)
        // An ARN in the path (`.../task-definition/web:3`) arrives split at its '/': join it back.
        var rest = rest
        if rest.count > 2, rest[1].hasPrefix("arn:") {
            let tail = rest.last == "deregister" ? ["deregister"] : []
            let arn = rest[1..<(rest.count - tail.count)].joined(separator: "/")
            rest = [rest[0], arn] + tail
        }
        switch (method, rest) {
        case ("POST", ["clusters"]):
            let route = "POST /v1/clusters"
            _ = try context.authorize(.operator, route)
            struct Body: Decodable {
                var clusterName: String?
                var tags: [Tag]?
            }
            let body = try JSON.decode(
                Body.self,
                from: context.request.body,
                shape: #"{"clusterName": "prod", "tags": [{"key": "team", "value": "web"}]}"#
            )
            guard let name = body.clusterName else { throw .invalid("clusterName", "is required") }
            if let problem = DomainRules.nameProblem(name) { throw .invalid("clusterName", problem) }
            return try made(
                .domainWrite(clientToken: token, command: .createCluster(name: name, tags: body.tags ?? [])),
                route,
                .operator
            )
        case ("GET", ["clusters"]):
            return try made(.domainRead(.listClusters(try page(query))), "GET /v1/clusters", .readonly)
        case (_, let parts) where parts.count >= 3 && parts[0] == "clusters":
            return try routeClusterChildren(method, parts, path, query, token, context, made)
        case ("GET", let parts) where parts.count == 2 && parts[0] == "clusters":
            return try made(.domainRead(.describeCluster(parts[1])), "GET /v1/clusters/{cluster}", .readonly)
        case ("DELETE", let parts) where parts.count == 2 && parts[0] == "clusters":
            let command = DomainCommand.deleteCluster(name: parts[1])
            return try made(
                .domainWrite(clientToken: token, command: command),
                "DELETE /v1/clusters/{cluster}",
                .operator
            )
        case ("POST", ["task-definitions"]):
            let route = "POST /v1/task-definitions"
            _ = try context.authorize(.operator, route)
            let spec: TaskDefinitionSpec
            switch TaskDefinitionValidator.decode(context.request.body) {
            case .success(let decoded): spec = decoded
            case .failure(let problems): throw problemsError(problems.problems)
            }
            let problems = TaskDefinitionValidator.validate(spec)
            guard problems.isEmpty else { throw problemsError(problems) }
            let command = DomainCommand.registerTaskDefinition(spec: spec)
            return try made(.domainWrite(clientToken: token, command: command), route, .operator)
        case ("GET", ["task-definitions"]):
            let status = try statusFilter(query)
            let sort = query["sort"] ?? "ASC"
            guard sort == "ASC" || sort == "DESC" else { throw .invalid("sort", "must be ASC or DESC") }
            let operation = Operation.domainRead(
                .listTaskDefinitions(
                    familyPrefix: query["familyPrefix"],
                    status: status,
                    descending: sort == "DESC",
                    page: try page(query)
                )
            )
            return try made(operation, "GET /v1/task-definitions", .readonly)
        case ("GET", let parts) where parts.count == 2 && parts[0] == "task-definitions":
            // Agents read the definitions of the tasks they start.
            let route = "GET /v1/task-definitions/{taskDefinition}"
            return try made(.domainRead(.describeTaskDefinition(parts[1])), route, .anyAgentOr(.readonly))
        case ("POST", let parts) where parts.count == 3 && parts[0] == "task-definitions" && parts[2] == "deregister":
            let (family, revision) = try familyRevision(parts[1])
            let command = DomainCommand.deregisterTaskDefinition(family: family, revision: revision)
            let route = "POST /v1/task-definitions/{taskDefinition}/deregister"
            return try made(.domainWrite(clientToken: token, command: command), route, .operator)
        case ("DELETE", let parts) where parts.count == 2 && parts[0] == "task-definitions":
            let (family, revision) = try familyRevision(parts[1])
            let command = DomainCommand.deleteTaskDefinition(family: family, revision: revision)
            let route = "DELETE /v1/task-definitions/{taskDefinition}"
            return try made(.domainWrite(clientToken: token, command: command), route, .operator)
        case ("GET", ["task-definition-families"]):
            let operation = Operation.domainRead(
                .listTaskDefinitionFamilies(
                    familyPrefix: query["familyPrefix"],
                    status: try statusFilter(query),
                    page: try page(query)
                )
            )
            return try made(operation, "GET /v1/task-definition-families", .readonly)
        default:
            if ["GET", "POST", "DELETE"].contains(method) { throw notFound(method, path) }
            throw methodNotAllowed(method, path, allowed: "GET, POST, DELETE")
        }
    }

    /// Routes what lives under a cluster: container instances and attributes.
    static func routeClusterChildren(
        _ method: String,
        _ parts: [String],
        _ path: String,
        _ query: [String: String],
        _ token: String?,
        _ context: Context,
        _ made: (Operation, String, Access?) throws(APIError) -> APIRequest
    ) throws(APIError) -> APIRequest {
        let cluster = parts[1]
        let base = "/v1/clusters/{cluster}"
        func write(_ command: DomainCommand, _ route: String) throws(APIError) -> APIRequest {
            try made(.domainWrite(clientToken: token, command: command), route, .operator)
        }
        switch (method, Array(parts.dropFirst(2))) {
        case ("POST", ["container-instances"]):
            // An agent registers with a join token (or an operator token); the answer carries its own credential.
            let route = "POST \(base)/container-instances"
            _ = try context.authorize(.registration, route)
            struct Body: Decodable {
                var hostname: String?
                var cpu: Int?
                var memory: Int?
                var reservedPorts: [Int]?
                var osType: String?
                var cpuArchitecture: String?
                var availabilityZone: String?
                var attributes: [Attribute]?
                var agentVersion: String?
                var agentAddress: String?
            }
            let body = try JSON.decode(
                Body.self,
                from: context.request.body,
                shape: #"{"hostname": "h1", "cpu": 2048, "memory": 3900, "agentVersion": "0.1.0"}"#
            )
            guard let hostname = body.hostname else { throw .invalid("hostname", "is required") }
            guard let cpu = body.cpu else { throw .invalid("cpu", "is required (CPU units, 1024 per core)") }
            guard let memory = body.memory else { throw .invalid("memory", "is required (MiB)") }
            guard let agentVersion = body.agentVersion else { throw .invalid("agentVersion", "is required") }
            let registration = InstanceRegistration(
                hostname: hostname,
                cpu: cpu,
                memory: memory,
                reservedPorts: body.reservedPorts ?? [],
                osType: body.osType ?? "linux",
                cpuArchitecture: body.cpuArchitecture ?? "x86_64",
                availabilityZone: body.availabilityZone,
                attributes: body.attributes ?? [],
                agentVersion: agentVersion,
                agentAddress: body.agentAddress
            )
            if let (field, rule) = registration.problem() { throw .invalid(field, rule) }
            let command = DomainCommand.registerContainerInstance(cluster: cluster, registration: registration)
            return try made(.domainWrite(clientToken: token, command: command), route, .registration)
        case ("GET", ["container-instances"]):
            var status: String?
            if let raw = query["status"] {
                guard ["ACTIVE", "DRAINING", "INACTIVE"].contains(raw) else {
                    throw .invalid("status", "must be ACTIVE, DRAINING or INACTIVE")
                }
                status = raw
            }
            let operation = Operation.domainRead(
                .listContainerInstances(cluster: cluster, status: status, page: try page(query))
            )
            return try made(operation, "GET \(base)/container-instances", .readonly)
        case ("GET", let rest) where rest.count == 2 && rest[0] == "container-instances":
            let operation = Operation.domainRead(.describeContainerInstance(cluster: cluster, id: rest[1]))
            return try made(operation, "GET \(base)/container-instances/{id}", .agentOr(.readonly, instance: rest[1]))
        case ("GET", let rest) where rest.count == 3 && rest[0] == "container-instances" && rest[2] == "tasks":
            let lastStatus = query["lastStatus"]
            if let lastStatus, !TaskRecord.lifecycle.contains(lastStatus) || lastStatus == "STOPPED" {
                throw .invalid("lastStatus", "must be a task status other than STOPPED, e.g. PENDING or RUNNING")
            }
            let operation = Operation.domainRead(.instanceTasks(cluster: cluster, id: rest[1], lastStatus: lastStatus))
            let access = Access.agentOr(.readonly, instance: rest[1])
            return try made(operation, "GET \(base)/container-instances/{id}/tasks", access)
        case ("GET", let rest)
        where rest.count == 5 && rest[0] == "container-instances" && rest[2] == "tasks" && rest[4] == "secrets":
            // Secret values: role operator, as for parameters; or the agent that is to start the task.
            let operation = Operation.taskSecrets(cluster: cluster, instance: rest[1], task: rest[3])
            let access = Access.agentOr(.operator, instance: rest[1])
            return try made(operation, "GET \(base)/container-instances/{id}/tasks/{task}/secrets", access)
        case ("DELETE", let rest) where rest.count == 2 && rest[0] == "container-instances":
            let force = query["force"] == "true"
            let command = DomainCommand.deregisterContainerInstance(cluster: cluster, id: rest[1], force: force)
            return try write(command, "DELETE \(base)/container-instances/{id}")
        case ("PUT", let rest) where rest.count == 3 && rest[0] == "container-instances" && rest[2] == "state":
            let route = "PUT \(base)/container-instances/{id}/state"
            _ = try context.authorize(.operator, route)
            struct Body: Decodable { var status: String? }
            let body = try JSON.decode(Body.self, from: context.request.body, shape: #"{"status": "DRAINING"}"#)
            guard let status = body.status, status == "ACTIVE" || status == "DRAINING" else {
                throw .invalid("status", "must be ACTIVE or DRAINING")
            }
            return try write(.updateContainerInstanceState(cluster: cluster, id: rest[1], status: status), route)
        case ("POST", let rest) where rest.count == 3 && rest[0] == "container-instances" && rest[2] == "heartbeat":
            // The instance's agent calls it (or an operator).
            return try made(
                .heartbeat(cluster: cluster, instance: rest[1]),
                "POST \(base)/container-instances/{id}/heartbeat",
                .agentOr(.operator, instance: rest[1])
            )
        case ("POST", let rest) where rest.count == 3 && rest[0] == "container-instances" && rest[2] == "task-states":
            // The instance's agent reports here (or an operator).
            let route = "POST \(base)/container-instances/{id}/task-states"
            let access = Access.agentOr(.operator, instance: rest[1])
            _ = try context.authorize(access, route)
            let reports = try taskStateReports(context.request.body)
            let command = DomainCommand.reportTaskStates(cluster: cluster, instance: rest[1], reports: reports)
            return try made(.domainWrite(clientToken: token, command: command), route, access)
        case ("PUT", ["attributes"]), ("POST", ["attributes", "delete"]):
            let deleting = parts.count == 4
            let route = deleting ? "POST \(base)/attributes/delete" : "PUT \(base)/attributes"
            _ = try context.authorize(.operator, route)
            struct Body: Decodable { var attributes: [Attribute]? }
            let body = try JSON.decode(
                Body.self,
                from: context.request.body,
                shape: #"{"attributes": [{"name": "disk", "value": "ssd", "targetId": "<instance id>"}]}"#
            )
            guard let attributes = body.attributes, !attributes.isEmpty, attributes.count <= 10 else {
                throw .invalid("attributes", "give 1 to 10 attributes")
            }
            for (position, attribute) in attributes.enumerated() {
                if let (field, rule) = AttributeRules.problem(attribute) {
                    throw .invalid("attributes[\(position)].\(field)", rule)
                }
                if attribute.targetId == nil { throw .invalid("attributes[\(position)].targetId", "is required") }
            }
            let command: DomainCommand =
                deleting
                ? .deleteAttributes(cluster: cluster, attributes: attributes)
                : .putAttributes(cluster: cluster, attributes: attributes)
            return try write(command, route)
        case ("POST", ["services"]):
            let route = "POST \(base)/services"
            _ = try context.authorize(.operator, route)
            let request = try JSON.decode(
                ServiceRequest.self,
                from: context.request.body,
                shape: #"{"serviceName": "web", "taskDefinition": "web:1", "desiredCount": 2}"#
            )
            return try write(.createService(cluster: cluster, request: request), route)
        case ("GET", ["services"]):
            let operation = Operation.domainRead(.listServices(cluster: cluster, page: try page(query)))
            return try made(operation, "GET \(base)/services", .readonly)
        case ("GET", let rest) where rest.count == 2 && rest[0] == "services":
            let operation = Operation.domainRead(.describeService(cluster: cluster, service: rest[1]))
            return try made(operation, "GET \(base)/services/{service}", .readonly)
        case ("PUT", let rest) where rest.count == 2 && rest[0] == "services":
            let route = "PUT \(base)/services/{service}"
            _ = try context.authorize(.operator, route)
            let update = try JSON.decode(
                ServiceUpdate.self,
                from: context.request.body,
                shape: #"{"desiredCount": 3, "taskDefinition": "web:2", "forceNewDeployment": false}"#
            )
            return try write(.updateService(cluster: cluster, service: rest[1], update: update), route)
        case ("POST", let rest) where rest.count == 3 && rest[0] == "services" && rest[2] == "rollback":
            let route = "POST \(base)/services/{service}/rollback"
            _ = try context.authorize(.operator, route)
            let to = try rollbackTarget(context.request.body)
            return try write(.rollbackService(cluster: cluster, service: rest[1], to: to), route)
        case ("GET", let rest) where rest.count == 3 && rest[0] == "services" && rest[2] == "explain":
            let operation = Operation.domainRead(.explainService(cluster: cluster, service: rest[1]))
            return try made(operation, "GET \(base)/services/{service}/explain", .readonly)
        case ("DELETE", let rest) where rest.count == 2 && rest[0] == "services":
            let command = DomainCommand.deleteService(
                cluster: cluster,
                service: rest[1],
                force: query["force"] == "true"
            )
            return try write(command, "DELETE \(base)/services/{service}")
        case ("POST", ["tasks"]):
            let route = "POST \(base)/tasks"
            _ = try context.authorize(.operator, route)
            let request = try JSON.decode(
                RunTaskRequest.self,
                from: context.request.body,
                shape: #"{"taskDefinition": "web:1", "count": 1, "startedBy": "me"}"#
            )
            return try write(.runTask(cluster: cluster, request: request), route)
        case ("GET", ["tasks"]):
            var filter = TaskFilter()
            filter.serviceName = query["serviceName"]
            filter.family = query["family"]
            filter.containerInstance = query["containerInstance"]
            filter.startedBy = query["startedBy"]
            if let status = query["desiredStatus"] {
                guard status == "RUNNING" || status == "STOPPED" else {
                    throw .invalid("desiredStatus", "must be RUNNING or STOPPED")
                }
                filter.desiredStatus = status
            }
            let operation = Operation.domainRead(.listTasks(cluster: cluster, filter: filter, page: try page(query)))
            return try made(operation, "GET \(base)/tasks", .readonly)
        case ("GET", let rest) where rest.count == 2 && rest[0] == "tasks":
            let operation = Operation.domainRead(.describeTask(cluster: cluster, task: rest[1]))
            return try made(operation, "GET \(base)/tasks/{task}", .readonly)
        case ("GET", let rest) where rest.count == 3 && rest[0] == "tasks" && rest[2] == "logs":
            // Role operator: a container's output can carry anything it prints, secret values included.
            let route = "GET \(base)/tasks/{task}/logs"
            _ = try context.authorize(.operator, route)
            let container = query["container"]
            if let container, let problem = DomainRules.nameProblem(container) {
                throw .invalid("container", problem)
            }
            var offset: UInt64 = 0
            if let raw = query["offset"] {
                guard let parsed = UInt64(raw) else {
                    throw .invalid("offset", "must be a byte offset (a whole number, 0 for the start)")
                }
                offset = parsed
            }
            let operation = Operation.taskLogs(cluster: cluster, task: rest[1], container: container, offset: offset)
            return try made(operation, route, .operator)
        case ("POST", let rest) where rest.count == 3 && rest[0] == "tasks" && rest[2] == "stop":
            let route = "POST \(base)/tasks/{task}/stop"
            _ = try context.authorize(.operator, route)
            struct Body: Decodable { var reason: String? }
            let body: Body =
                context.request.body.isEmpty
                ? Body() : try JSON.decode(Body.self, from: context.request.body, shape: #"{"reason": "why"}"#)
            return try write(.stopTask(cluster: cluster, task: rest[1], reason: body.reason), route)
        case ("GET", ["attributes"]):
            let operation = Operation.domainRead(
                .listAttributes(cluster: cluster, name: query["attributeName"], value: query["attributeValue"])
            )
            return try made(operation, "GET \(base)/attributes", .readonly)
        default:
            throw notFound(method, path)
        }
    }

    /// The `to` of a rollback body (`{"to": "3"}`; `{}` or no body: the last COMPLETED deployment).
    static func rollbackTarget(_ bytes: [UInt8]) throws(APIError) -> String? {
        struct Body: Decodable {
            var to: String?
            /// Set when `to` is present but not a string, so the 400 can name it.
            var mistyped = false

            enum Keys: String, CodingKey { case to }

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Keys.self)
                do {
                    to = try container.decodeIfPresent(String.self, forKey: .to)
                } catch {
                    mistyped = true
                }
            }
        }
        guard !bytes.isEmpty else { return nil }
        let body = try JSON.decode(Body.self, from: bytes, shape: #"{"to": "3"}"#)
        let rule = "must be a string of 1 to 255 characters: a revision number, family:revision or an ARN"
        if body.mistyped { throw .invalid("to", rule) }
        guard let to = body.to else { return nil }
        // Counted in code points, as JSON Schema's maxLength counts them.
        guard (1...255).contains(to.unicodeScalars.count) else { throw .invalid("to", rule) }
        if let revision = Int(to), revision < 1 { throw .invalid("to", "a revision number must be at least 1") }
        return to
    }

    /// The reports of a task-states body, each checked (`reports[i].field` names the first broken rule).
    static func taskStateReports(_ bytes: [UInt8]) throws(APIError) -> [TaskStateReport] {
        struct Body: Decodable {
            struct Report: Decodable {
                var task: String?
                var epoch: Int?
                var status: String?
                var healthStatus: String?
                var exitCode: Int?
                var reason: String?
            }
            var reports: [Report]?
        }
        let body = try JSON.decode(
            Body.self,
            from: bytes,
            shape: #"{"reports": [{"task": "<task id>", "epoch": 1, "status": "RUNNING", "healthStatus": "HEALTHY"}]}"#
        )
        guard let raw = body.reports, (1...1000).contains(raw.count) else {
            throw .invalid("reports", "give 1 to 1000 reports")
        }
        var reports: [TaskStateReport] = []
        for (position, report) in raw.enumerated() {
            let label = "reports[\(position)]"
            guard let task = report.task else { throw .invalid("\(label).task", "is required (the task id)") }
            guard let epoch = report.epoch else { throw .invalid("\(label).epoch", "is required") }
            guard let status = report.status else { throw .invalid("\(label).status", "is required") }
            let checked = TaskStateReport(
                task: task,
                epoch: epoch,
                status: status,
                healthStatus: report.healthStatus,
                exitCode: report.exitCode,
                reason: report.reason
            )
            if let (field, rule) = checked.problem() { throw .invalid("\(label).\(field)", rule) }
            reports.append(checked)
        }
        return reports
    }

    /// `maxResults` (1-100, default 100) and `nextToken`.
    static func page(_ query: [String: String]) throws(APIError) -> Page {
        var page = Page()
        if let raw = query["maxResults"] {
            guard let value = Int(raw), (1...100).contains(value) else {
                throw .invalid("maxResults", "must be a whole number from 1 to 100")
            }
            page.maxResults = value
        }
        if let token = query["nextToken"] {
            guard Page.decodeToken(token) != nil else {
                throw .invalid("nextToken", "is not a token this API returned")
            }
            page.nextToken = token
        }
        return page
    }

    static func statusFilter(_ query: [String: String]) throws(APIError) -> String? {
        guard let status = query["status"] else { return nil }
        guard status == "ACTIVE" || status == "INACTIVE" else { throw .invalid("status", "must be ACTIVE or INACTIVE") }
        return status
    }

    /// `family:revision` (or its ARN), as deregister and delete need an explicit revision.
    static func familyRevision(_ reference: String) throws(APIError) -> (String, Int) {
        var name = reference
        if reference.hasPrefix("arn:"), let slash = reference.lastIndex(of: "/") {
            name = String(reference[reference.index(after: slash)...])
        }
        let parts = name.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let revision = Int(parts[1]), revision > 0 else {
            throw .invalid("taskDefinition", "must be family:revision (or its ARN), e.g. web:3")
        }
        return (String(parts[0]), revision)
    }

    /// A 400 listing every problem, naming the first one's field.
    static func problemsError(_ problems: [FieldProblem]) -> APIError {
        let message = problems.map(\.message).joined(separator: "; ")
        return APIError(status: 400, code: "invalid_field", message: message, field: problems.first?.field)
    }
}
