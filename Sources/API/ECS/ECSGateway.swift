package import HTTP

/// The ECS face of the API: Amazon ECS's JSON 1.1 protocol (`POST /` with `X-Amz-Target:
/// AmazonEC2ContainerServiceV20141113.<Operation>`), so that the stock AWS CLI and boto3 drive Gantry. It is a
/// translation, not a second implementation: each ECS call becomes one or more requests of the REST face (the same
/// routes, validation, authorization and domain commands), and their answers are reshaped into ECS's (timestamps in
/// epoch seconds, `failures` lists, `__type` errors). Pure: a request in, a plan out.
package enum ECSGateway {
    /// The target prefix of every ECS operation.
    package static let targetPrefix = "AmazonEC2ContainerServiceV20141113."
    /// The content type of requests and answers.
    package static let contentType = "application/x-amz-json-1.1"
    /// The header carrying an ECS call's verified caller on the REST requests it becomes. Trusted only on requests
    /// the gateway made itself or that a peer controller forwarded; refused from clients.
    package static let principalHeader = "X-Gantry-Principal"

    /// Where resource ARNs start (`arn:aws:ecs:<region>:<account>`), for the ARNs of `failures`.
    package struct Context: Sendable {
        /// The ARN prefix.
        package var arnPrefix: String

        /// A context.
        package init(arnPrefix: String) {
            self.arnPrefix = arnPrefix
        }
    }

    /// What to do for one ECS call: the REST requests to serve (independently, in any order) and how to turn their
    /// answers, in the same order, into the ECS answer.
    package struct Plan: Sendable {
        /// The ECS operation's name.
        package var operation: String
        /// REST requests, each carrying the caller in `principalHeader`.
        package var requests: [HTTPRequest]
        /// The ECS answer from the REST answers.
        package var render: @Sendable ([HTTPResponse]) -> HTTPResponse
    }

    /// Whether `request` is an ECS call (rather than a REST one).
    package static func isECS(_ request: HTTPRequest) -> Bool {
        request.method == "POST" && (request.target == "/" || request.target.hasPrefix("/?"))
            && request.header("X-Amz-Target") != nil
    }

    /// The operation an ECS call names, or an error naming what is wrong with its target.
    package static func operation(_ request: HTTPRequest) -> Result<String, ECSError> {
        guard let target = request.header("X-Amz-Target"), target.hasPrefix(targetPrefix) else {
            return .failure(
                ECSError("UnknownOperationException", "X-Amz-Target must be \(targetPrefix)<Operation>")
            )
        }
        return .success(String(target.dropFirst(targetPrefix.utf8.count)))
    }

    /// The plan for an ECS call made by `principal` (a role and a name, already authenticated).
    package static func plan(
        _ request: HTTPRequest,
        principal: (name: String, role: Role),
        context: Context
    ) -> Result<Plan, ECSError> {
        do throws(ECSError) {
            let operation = try operation(request).get()
            let input: ECSJSON
            if request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
                input = .object([:])
            } else if let parsed = ECSJSON.parse(request.body), parsed.object != nil {
                input = parsed
            } else {
                throw ECSError("SerializationException", "the request body is not a JSON object")
            }
            var builder = Builder(
                operation: operation,
                input: input,
                principal: "\(principal.role) \(principal.name)",
                context: context
            )
            return .success(try builder.plan())
        } catch {
            return .failure(error)
        }
    }

    /// The principal a REST request made by the gateway carries: (role, name), or nil.
    package static func principal(of request: HTTPRequest) -> (name: String, role: Role)? {
        guard let value = request.header(principalHeader) else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let role = Role(name: String(parts[0])) else { return nil }
        return (String(parts[1]), role)
    }

    /// A successful ECS answer.
    static func answer(_ value: ECSJSON) -> HTTPResponse {
        HTTPResponse(
            status: 200,
            headers: [HTTPHeader(name: "Content-Type", value: contentType)],
            body: value.secondsTimestamps().ecsTaskShapes().bytes
        )
    }
}

/// Builds one operation's plan.
struct Builder {
    let operation: String
    let input: ECSJSON
    let principal: String
    let context: ECSGateway.Context
    var requests: [HTTPRequest] = []

    init(operation: String, input: ECSJSON, principal: String, context: ECSGateway.Context) {
        self.operation = operation
        self.input = input
        self.principal = principal
        self.context = context
    }

    // MARK: Reading the input

    /// A string member, or nil when absent; wrong types are refused.
    func string(_ field: String) throws(ECSError) -> String? {
        guard let value = input[field], value != .null else { return nil }
        guard let text = value.string else { throw .invalid(field, "must be a string") }
        return text
    }

    /// A required string member.
    func required(_ field: String) throws(ECSError) -> String {
        guard let text = try string(field), !text.isEmpty else { throw .invalid(field, "is required") }
        return text
    }

    /// A whole-number member.
    func integer(_ field: String) throws(ECSError) -> Int64? {
        guard let value = input[field], value != .null else { return nil }
        guard let number = value.int else { throw .invalid(field, "must be a whole number") }
        return number
    }

    /// A boolean member.
    func boolean(_ field: String) throws(ECSError) -> Bool? {
        guard let value = input[field], value != .null else { return nil }
        guard let flag = value.bool else { throw .invalid(field, "must be true or false") }
        return flag
    }

    /// A list of strings.
    func strings(_ field: String) throws(ECSError) -> [String]? {
        guard let value = input[field], value != .null else { return nil }
        guard let elements = value.array else { throw .invalid(field, "must be a list of strings") }
        var texts: [String] = []
        for (position, element) in elements.enumerated() {
            guard let text = element.string else { throw .invalid("\(field)[\(position)]", "must be a string") }
            texts.append(text)
        }
        return texts
    }

    /// The `include` list, each value checked against those ECS allows for the operation; whether it asks for TAGS.
    func includesTags(allowed: [String]) throws(ECSError) -> Bool {
        let values = try strings("include") ?? []
        for (position, value) in values.enumerated() where !allowed.contains(value) {
            throw .invalid("include[\(position)]", "must be one of \(allowed.joined(separator: ", "))")
        }
        return values.contains("TAGS")
    }

    /// The resource name in a name or an ARN (`…:cluster/NAME`, `…:service/CLUSTER/NAME`, `…:task/CLUSTER/ID`).
    static func name(_ reference: String) -> String {
        guard reference.hasPrefix("arn:"), let slash = reference.lastIndex(of: "/") else { return reference }
        return String(reference[reference.index(after: slash)...])
    }

    /// The cluster named by `cluster` (a name or an ARN), `default` when absent, as ECS does.
    func cluster() throws(ECSError) -> String {
        Self.name(try string("cluster") ?? "default")
    }

    /// A task definition reference: `family`, `family:revision` or its ARN.
    static func taskDefinition(_ reference: String) -> String {
        guard reference.hasPrefix("arn:"), let range = reference.ranges(of: ":task-definition/").first else {
            return reference
        }
        return String(reference[range.upperBound...])
    }

    // MARK: Making REST requests

    /// Percent-encodes one path segment or query value (`:` kept, as in `family:revision`).
    static func encoded(_ text: String) -> String { percentEncoded(text, keeping: [UInt8(ascii: ":")]) }

    /// Adds a REST request; `query` pairs with nil values are left out.
    mutating func add(
        _ method: String,
        _ segments: [String],
        query: [(String, String?)] = [],
        body: ECSJSON? = nil,
        clientToken: String? = nil
    ) {
        var target = "/" + segments.map(Self.encoded).joined(separator: "/")
        let pairs = query.compactMap { pair in pair.1.map { "\(pair.0)=\(Self.encoded($0))" } }
        if !pairs.isEmpty { target += "?" + pairs.joined(separator: "&") }
        var headers = [HTTPHeader(name: ECSGateway.principalHeader, value: principal)]
        if body != nil { headers.append(HTTPHeader(name: "Content-Type", value: "application/json")) }
        if let clientToken { headers.append(HTTPHeader(name: Router.clientTokenHeader, value: clientToken)) }
        requests.append(HTTPRequest(method: method, target: target, headers: headers, body: body?.bytes ?? []))
    }

    /// The input without the members the path carries.
    func body(removing fields: [String]) -> ECSJSON {
        var members = input.object ?? [:]
        for field in fields { members[field] = nil }
        return .object(members)
    }

    /// `maxResults` and `nextToken` as the REST face takes them.
    func page() throws(ECSError) -> [(String, String?)] {
        let limit = try integer("maxResults")
        if let limit, !(1...100).contains(limit) { throw .invalid("maxResults", "must be 1 to 100") }
        return [("maxResults", limit.map { String($0) }), ("nextToken", try string("nextToken"))]
    }

    // MARK: Plans

    mutating func plan() throws(ECSError) -> ECSGateway.Plan {
        var render: @Sendable ([HTTPResponse]) -> HTTPResponse = { _ in
            ECSError("ServerException", "no plan", status: 500).response
        }
        switch operation {
        case "CreateCluster":
            var body = body(removing: [])
            body["clusterName"] = .string(try string("clusterName") ?? "default")
            add("POST", ["v1", "clusters"], body: body)
            render = Self.single { $0 }
        case "DeleteCluster":
            add("DELETE", ["v1", "clusters", try cluster()])
            render = Self.single { $0 }
        case "DescribeClusters":
            let names = try strings("clusters") ?? ["default"]
            let tags = try includesTags(allowed: ["ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"])
            for name in names { add("GET", ["v1", "clusters", Self.name(name)]) }
            render = Self.batch(
                key: "cluster",
                plural: "clusters",
                missing: "cluster_not_found",
                arns: names.map(clusterArn),
                tags: tags
            )
        case "ListClusters":
            add("GET", ["v1", "clusters"], query: try page())
            render = Self.single { rest in Self.pick(rest, ["clusterArns", "nextToken"]) }
        case "RegisterTaskDefinition":
            add("POST", ["v1", "task-definitions"], body: body(removing: []))
            render = Self.single { rest in Self.withTags(rest, key: "taskDefinition") }
        case "DescribeTaskDefinition":
            let tags = try includesTags(allowed: ["TAGS"])
            add("GET", ["v1", "task-definitions", Self.taskDefinition(try required("taskDefinition"))])
            render = Self.single { rest in
                tags ? Self.withTags(rest, key: "taskDefinition") : Self.pick(rest, ["taskDefinition"])
            }
        case "DeregisterTaskDefinition":
            add("POST", ["v1", "task-definitions", Self.taskDefinition(try required("taskDefinition")), "deregister"])
            render = Self.single { $0 }
        case "DeleteTaskDefinitions":
            let references = try strings("taskDefinitions") ?? []
            guard !references.isEmpty else { throw .invalid("taskDefinitions", "must name at least one") }
            for reference in references {
                add("DELETE", ["v1", "task-definitions", Self.taskDefinition(reference)])
            }
            render = Self.batch(
                key: "taskDefinition",
                plural: "taskDefinitions",
                missing: "task_definition_not_found",
                arns: references.map(taskDefinitionArn)
            )
        case "ListTaskDefinitions":
            let sort = try string("sort")
            add(
                "GET",
                ["v1", "task-definitions"],
                query: [("familyPrefix", try string("familyPrefix")), ("status", try string("status")), ("sort", sort)]
                    + (try page())
            )
            render = Self.single { rest in Self.pick(rest, ["taskDefinitionArns", "nextToken"]) }
        case "ListTaskDefinitionFamilies":
            add(
                "GET",
                ["v1", "task-definition-families"],
                query: [("familyPrefix", try string("familyPrefix")), ("status", try string("status"))] + (try page())
            )
            render = Self.single { rest in Self.pick(rest, ["families", "nextToken"]) }
        case "TagResource":
            add("PUT", ["v1", "tags"], body: body(removing: []))
            render = Self.single { _ in .object([:]) }
        case "UntagResource":
            add("POST", ["v1", "tags", "delete"], body: body(removing: []))
            render = Self.single { _ in .object([:]) }
        case "ListTagsForResource":
            add("GET", ["v1", "tags"], query: [("resourceArn", try required("resourceArn"))])
            render = Self.single { rest in Self.pick(rest, ["tags"]) }
        case "PutAccountSetting", "PutAccountSettingDefault", "DeleteAccountSetting", "ListAccountSettings":
            try planAccountSettings(&render)
        case "DescribeServiceDeployments":
            try planDescribeDeployments(&render)
        default:
            try planWorkloads(&render)
        }
        return ECSGateway.Plan(operation: operation, requests: requests, render: render)
    }

    /// Services, tasks, container instances and attributes.
    mutating func planWorkloads(_ render: inout @Sendable ([HTTPResponse]) -> HTTPResponse) throws(ECSError) {
        let cluster = try cluster()
        let base = ["v1", "clusters", cluster]
        switch operation {
        case "CreateService":
            add(
                "POST",
                base + ["services"],
                body: body(removing: ["cluster", "clientToken"]),
                clientToken: try string("clientToken")
            )
            render = Self.single { $0 }
        case "UpdateService":
            add(
                "PUT",
                base + ["services", Self.name(try required("service"))],
                body: body(removing: ["cluster", "service"])
            )
            render = Self.single { $0 }
        case "DeleteService":
            try deleteForced(base + ["services", Self.name(try required("service"))])
            render = Self.single { $0 }
        case "DescribeServices":
            render = try describe(
                "services",
                most: 10,
                base + ["services"],
                key: "service",
                missing: "service_not_found",
                arn: "service/\(cluster)"
            )
        case "ListServices":
            add("GET", base + ["services"], query: try page())
            render = Self.single { rest in Self.pick(rest, ["serviceArns", "nextToken"]) }
        case "RunTask":
            add(
                "POST",
                base + ["tasks"],
                body: body(removing: ["cluster", "clientToken"]),
                clientToken: try string("clientToken")
            )
            render = Self.single { rest in
                var answer = Self.pick(rest, ["tasks", "failures"])
                if answer["failures"] == nil { answer["failures"] = .array([]) }
                return answer
            }
        case "StartTask":
            guard let targets = try strings("containerInstances"), !targets.isEmpty else {
                throw .invalid("containerInstances", "must name at least one container instance")
            }
            var body = body(removing: ["cluster", "clientToken"])
            body["containerInstances"] = .array(targets.map { .string(Self.name($0)) })
            add("POST", base + ["tasks"], body: body, clientToken: try string("clientToken"))
            render = Self.single { rest in
                var answer = Self.pick(rest, ["tasks", "failures"])
                if answer["failures"] == nil { answer["failures"] = .array([]) }
                return answer
            }
        case "StopTask":
            var body = ECSJSON.object([:])
            if let reason = try string("reason") { body["reason"] = .string(reason) }
            add("POST", base + ["tasks", Self.name(try required("task")), "stop"], body: body)
            render = Self.single { rest in .object(["task": rest["tasks"]?.array?.first ?? .null]) }
        case "DescribeTasks":
            render = try describe(
                "tasks",
                most: 100,
                base + ["tasks"],
                key: "task",
                missing: "task_not_found",
                arn: "task/\(cluster)"
            )
        case "ListServiceDeployments":
            let service = Self.name(try required("service"))
            let wanted = try strings("status")
            let limit = try integer("maxResults") ?? 20
            guard (1...100).contains(limit) else { throw .invalid("maxResults", "must be 1 to 100") }
            let skip =
                try string("nextToken").map { token throws(ECSError) -> Int in
                    guard let count = Int(token), count >= 0 else {
                        throw .invalid("nextToken", "is not a token this API returned")
                    }
                    return count
                } ?? 0
            add("GET", base + ["services", service])
            let prefix = context.arnPrefix
            render = Self.single { rest in
                let all = ECSDeployments.briefs(rest["service"] ?? .null, cluster: cluster, prefix: prefix)
                    .filter { wanted == nil || wanted!.contains($0["status"]?.string ?? "") }
                let page = Array(all.dropFirst(skip).prefix(Int(limit)))
                var answer = ECSJSON.object(["serviceDeployments": .array(page)])
                if skip + page.count < all.count { answer["nextToken"] = .string(String(skip + page.count)) }
                return answer
            }
        case "StopServiceDeployment":
            let arn = try required("serviceDeploymentArn")
            guard let reference = ECSDeployments.parse(arn) else {
                throw .invalid("serviceDeploymentArn", "must be a service deployment ARN this API returned")
            }
            let stopType = try string("stopType") ?? "ROLLBACK"
            guard stopType == "ROLLBACK" else {
                throw .invalid("stopType", "Gantry stops a deployment by rolling back: only ROLLBACK is supported")
            }
            add(
                "POST",
                ["v1", "clusters", reference.cluster, "services", reference.service, "rollback"],
                body: .object([:])
            )
            render = Self.single { _ in .object(["serviceDeploymentArn": .string(arn)]) }
        case "ListTasks":
            add(
                "GET",
                base + ["tasks"],
                query: [
                    ("serviceName", try string("serviceName").map(Self.name)),
                    ("family", try string("family")),
                    ("containerInstance", try string("containerInstance").map(Self.name)),
                    ("startedBy", try string("startedBy")),
                    ("desiredStatus", try string("desiredStatus")),
                ] + (try page())
            )
            render = Self.single { rest in Self.pick(rest, ["taskArns", "nextToken"]) }
        default:
            try planInstances(base, cluster, &render)
        }
    }

    /// Container instances and attributes.
    mutating func planInstances(
        _ base: [String],
        _ cluster: String,
        _ render: inout @Sendable ([HTTPResponse]) -> HTTPResponse
    ) throws(ECSError) {
        switch operation {
        case "RegisterContainerInstance":
            var body = ECSJSON.object([:])
            for resource in input["totalResources"]?.array ?? [] {
                guard let name = resource["name"]?.string else { continue }
                let value = resource["integerValue"]?.int.map { ECSJSON.int($0) }
                switch name {
                case "CPU": body["cpu"] = value
                case "MEMORY": body["memory"] = value
                case "PORTS":
                    body["reservedPorts"] = resource["stringSetValue"]?.array.map { ports in
                        .array(ports.compactMap { $0.string.flatMap { Int64($0) }.map { ECSJSON.int($0) } })
                    }
                default: break
                }
            }
            body["hostname"] = .string(try string("hostname") ?? "ecs-registered")
            if let attributes = input["attributes"] { body["attributes"] = attributes }
            body["agentVersion"] = .string(input["versionInfo"]?["agentVersion"]?.string ?? "ecs-api")
            add("POST", base + ["container-instances"], body: body)
            render = Self.single { rest in Self.pick(rest, ["containerInstance"]) }
        case "DeregisterContainerInstance":
            try deleteForced(base + ["container-instances", Self.name(try required("containerInstance"))])
            render = Self.single { $0 }
        case "DescribeContainerInstances":
            render = try describe(
                "containerInstances",
                most: 100,
                base + ["container-instances"],
                key: "containerInstance",
                missing: "container_instance_not_found",
                arn: "container-instance/\(cluster)",
                include: ["TAGS", "CONTAINER_INSTANCE_HEALTH"]
            )
        case "ListContainerInstances":
            add("GET", base + ["container-instances"], query: [("status", try string("status"))] + (try page()))
            render = Self.single { rest in Self.pick(rest, ["containerInstanceArns", "nextToken"]) }
        case "UpdateContainerInstancesState":
            let ids = try strings("containerInstances") ?? []
            guard !ids.isEmpty else { throw .invalid("containerInstances", "must name at least one") }
            let status = try required("status")
            for id in ids {
                add(
                    "PUT",
                    base + ["container-instances", Self.name(id), "state"],
                    body: .object(["status": .string(status)])
                )
            }
            render = Self.batch(
                key: "containerInstance",
                plural: "containerInstances",
                missing: "container_instance_not_found",
                arns: ids.map { instanceArn(cluster, Self.name($0)) }
            )
        case "PutAttributes":
            add("PUT", base + ["attributes"], body: body(removing: ["cluster"]))
            render = Self.single { rest in Self.pick(rest, ["attributes"]) }
        case "DeleteAttributes":
            add("POST", base + ["attributes", "delete"], body: body(removing: ["cluster"]))
            render = Self.single { rest in Self.pick(rest, ["attributes"]) }
        case "ListAttributes":
            _ = try required("targetType")
            add(
                "GET",
                base + ["attributes"],
                query: [
                    ("attributeName", try string("attributeName")), ("attributeValue", try string("attributeValue")),
                ]
            )
            render = Self.single { rest in Self.pick(rest, ["attributes", "nextToken"]) }
        default:
            throw ECSError(
                "UnsupportedFeatureException",
                "\(operation) is not supported by Gantry's ECS API (see README \"AWS CLI\" for the operations it serves)"
            )
        }
    }

    /// A Describe call of up to `most` resources named in `field`: one REST read each under `path`.
    mutating func describe(
        _ field: String,
        most: Int,
        _ path: [String],
        key: String,
        missing: String,
        arn kind: String,
        include allowed: [String] = ["TAGS"]
    ) throws(ECSError) -> @Sendable ([HTTPResponse]) -> HTTPResponse {
        let tags = try includesTags(allowed: allowed)
        let references = try strings(field) ?? []
        guard !references.isEmpty else { throw .invalid(field, "must name at least one") }
        guard references.count <= most else { throw .invalid(field, "must name at most \(most)") }
        for reference in references { add("GET", path + [Self.name(reference)]) }
        let prefix = context.arnPrefix
        return Self.batch(
            key: key,
            plural: field,
            missing: missing,
            arns: references.map { "\(prefix):\(kind)/\(Self.name($0))" },
            tags: tags
        )
    }

    /// A DELETE with the call's `force` flag.
    mutating func deleteForced(_ path: [String]) throws(ECSError) {
        let force = try boolean("force")
        add("DELETE", path, query: [("force", force.map { $0 ? "true" : "false" })])
    }

    // MARK: Account settings and service deployments

    /// Account settings live in the parameter store, under `ecs-account-settings/<name>`: replicated like any
    /// parameter, through the same handlers.
    mutating func planAccountSettings(_ render: inout @Sendable ([HTTPResponse]) -> HTTPResponse) throws(ECSError) {
        let account = context.arnPrefix.split(separator: ":").dropFirst(4).first.map(String.init) ?? "123456789012"
        let principal = "arn:aws:iam::\(account):root"
        @Sendable func setting(_ name: String, _ value: String) -> ECSJSON {
            .object([
                "name": .string(name), "value": .string(value), "principalArn": .string(principal),
                "type": .string("user"),
            ])
        }
        switch operation {
        case "PutAccountSetting", "PutAccountSettingDefault":
            let name = try required("name")
            guard ECSAccountSettings.names.contains(name) else {
                throw .invalid("name", "must be one of \(ECSAccountSettings.names.joined(separator: ", "))")
            }
            let value = try required("value")
            add("PUT", ["v1", "parameters", "ecs-account-settings", name], body: .object(["value": .string(value)]))
            render = Self.single { _ in .object(["setting": setting(name, value)]) }
        case "DeleteAccountSetting":
            let name = try required("name")
            guard ECSAccountSettings.names.contains(name) else {
                throw .invalid("name", "must be one of \(ECSAccountSettings.names.joined(separator: ", "))")
            }
            add("DELETE", ["v1", "parameters", "ecs-account-settings", name])
            let fallback = ECSAccountSettings.defaults[name] ?? "disabled"
            render = { responses in
                guard let response = responses.first, (200..<300).contains(response.status) || response.status == 404
                else { return ECSError.from(rest: responses.first ?? HTTPResponse(status: 500)).response }
                return ECSGateway.answer(.object(["setting": setting(name, fallback)]))
            }
        default:
            let onlyName = try string("name")
            let onlyValue = try string("value")
            let effective = try boolean("effectiveSettings") ?? false
            add("GET", ["v1", "parameters"], query: [("prefix", "ecs-account-settings/")])
            render = Self.single { rest in
                var values: [String: String] = effective ? ECSAccountSettings.defaults : [:]
                for parameter in rest["parameters"]?.array ?? [] {
                    guard let full = parameter["name"]?.string, let value = parameter["value"]?.string else { continue }
                    values[String(full.dropFirst("ecs-account-settings/".count))] = value
                }
                let settings = values.keys.sorted()
                    .filter { onlyName == nil || $0 == onlyName }
                    .filter { onlyValue == nil || values[$0] == onlyValue }
                    .map { setting($0, values[$0]!) }
                return .object(["settings": .array(settings)])
            }
        }
    }

    /// DescribeServiceDeployments: one service read per ARN.
    mutating func planDescribeDeployments(_ render: inout @Sendable ([HTTPResponse]) -> HTTPResponse) throws(ECSError) {
        let arns = try strings("serviceDeploymentArns") ?? []
        guard !arns.isEmpty else { throw .invalid("serviceDeploymentArns", "must name at least one") }
        guard arns.count <= 20 else { throw .invalid("serviceDeploymentArns", "must name at most 20") }
        var references: [(cluster: String, service: String, id: String)] = []
        for (position, arn) in arns.enumerated() {
            guard let reference = ECSDeployments.parse(arn) else {
                throw .invalid(
                    "serviceDeploymentArns[\(position)]",
                    "must be a service deployment ARN this API returned"
                )
            }
            references.append(reference)
            add("GET", ["v1", "clusters", reference.cluster, "services", reference.service])
        }
        let prefix = context.arnPrefix
        let resolved = references
        render = { responses in
            var found: [ECSJSON] = []
            var failures: [ECSJSON] = []
            for (position, response) in responses.enumerated() {
                let reference = resolved[position]
                let service = (200..<300).contains(response.status) ? ECSJSON.parse(response.body)?["service"] : nil
                if let detail = service.flatMap({
                    ECSDeployments.detail($0, id: reference.id, cluster: reference.cluster, prefix: prefix)
                }) {
                    found.append(detail)
                } else if service != nil || response.status == 404 {
                    failures.append(.object(["arn": .string(arns[position]), "reason": .string("MISSING")]))
                } else {
                    return ECSError.from(rest: response).response
                }
            }
            return ECSGateway.answer(.object(["serviceDeployments": .array(found), "failures": .array(failures)]))
        }
    }

    // MARK: ARNs for failures

    func clusterArn(_ reference: String) -> String {
        reference.hasPrefix("arn:") ? reference : "\(context.arnPrefix):cluster/\(reference)"
    }

    func instanceArn(_ cluster: String, _ id: String) -> String {
        "\(context.arnPrefix):container-instance/\(cluster)/\(id)"
    }

    func taskDefinitionArn(_ reference: String) -> String {
        reference.hasPrefix("arn:") ? reference : "\(context.arnPrefix):task-definition/\(reference)"
    }

    // MARK: Rendering

    /// One REST request: its JSON reshaped by `shape`, or its error as ECS's.
    static func single(_ shape: @escaping @Sendable (ECSJSON) -> ECSJSON) -> @Sendable ([HTTPResponse]) -> HTTPResponse
    {
        { responses in
            guard let response = responses.first else {
                return ECSError("ServerException", "no answer", status: 500).response
            }
            guard (200..<300).contains(response.status) else { return ECSError.from(rest: response).response }
            guard let json = ECSJSON.parse(response.body) else {
                return ECSError("ServerException", "the answer is not JSON", status: 500).response
            }
            return ECSGateway.answer(shape(json))
        }
    }

    /// Only `keys` of an answer.
    static func pick(_ json: ECSJSON, _ keys: [String]) -> ECSJSON {
        var members: [String: ECSJSON] = [:]
        for key in keys { if let value = json[key], value != .null { members[key] = value } }
        return .object(members)
    }

    /// `{key: …, "tags": []}`: ECS returns the task definition's tags beside it.
    static func withTags(_ json: ECSJSON, key: String) -> ECSJSON {
        var answer = pick(json, [key])
        answer["tags"] = json[key]?["tags"] ?? .array([])
        return answer
    }

    /// N REST requests, one per reference: found ones under `plural`; those the REST face answers 404 with the
    /// `missing` code as `failures` (`MISSING`); other refusals of one of several as failures naming the ECS error;
    /// anything else answers the whole call (a missing cluster in DescribeServices is `ClusterNotFoundException`,
    /// as in ECS).
    static func batch(
        key: String,
        plural: String,
        missing: String,
        arns: [String],
        tags: Bool = true
    ) -> @Sendable ([HTTPResponse]) -> HTTPResponse {
        { responses in
            var found: [ECSJSON] = []
            var failures: [ECSJSON] = []
            for (position, response) in responses.enumerated() {
                if (200..<300).contains(response.status), var item = ECSJSON.parse(response.body)?[key] {
                    // As in ECS, tags only when the call includes TAGS.
                    if !tags { item["tags"] = nil }
                    found.append(item)
                    continue
                }
                let error = ECSError.from(rest: response)
                let code = ECSJSON.parse(response.body)?["error"]?["code"]?.string ?? ""
                if response.status == 404 && code == missing {
                    failures.append(.object(["arn": .string(arns[position]), "reason": .string("MISSING")]))
                } else if response.status == 409 || (response.status == 400 && responses.count > 1) {
                    failures.append(
                        .object([
                            "arn": .string(arns[position]), "reason": .string(error.type),
                            "detail": .string(error.message),
                        ])
                    )
                } else {
                    return error.response
                }
            }
            return ECSGateway.answer(.object([plural: .array(found), "failures": .array(failures)]))
        }
    }
}

/// ECS account settings Gantry keeps (their values change nothing in Gantry; tools read and write them).
enum ECSAccountSettings {
    /// The names ECS's model allows.
    static let names = [
        "serviceLongArnFormat", "taskLongArnFormat", "containerInstanceLongArnFormat", "awsvpcTrunking",
        "containerInsights", "fargateFIPSMode", "tagResourceAuthorization", "fargateTaskRetirementWaitPeriod",
        "guardDutyActivate", "defaultLogDriverMode", "fargateEventWindows",
    ]
    /// What ListAccountSettings with `effectiveSettings` reports for settings never put.
    static let defaults = [
        "serviceLongArnFormat": "enabled", "taskLongArnFormat": "enabled", "containerInstanceLongArnFormat": "enabled",
        "awsvpcTrunking": "disabled", "containerInsights": "disabled", "tagResourceAuthorization": "on",
    ]
}

/// A service's deployments as ECS's service deployments: `arn:…:service-deployment/<cluster>/<service>/<n>` for the
/// deployment `ecs-svc/<n>`.
enum ECSDeployments {
    /// The cluster, service and deployment id an ARN names.
    static func parse(_ arn: String) -> (cluster: String, service: String, id: String)? {
        guard let range = arn.ranges(of: ":service-deployment/").first else { return nil }
        let parts = arn[range.upperBound...].split(separator: "/")
        guard parts.count == 3 else { return nil }
        return (String(parts[0]), String(parts[1]), "ecs-svc/\(parts[2])")
    }

    static func arn(_ prefix: String, _ cluster: String, _ service: String, _ id: String) -> String {
        "\(prefix):service-deployment/\(cluster)/\(service)/\(id.split(separator: "/").last ?? Substring(id))"
    }

    /// ECS's status for a deployment.
    static func status(_ deployment: ECSJSON) -> String {
        let rollback = deployment["isRollback"]?.bool == true
        switch deployment["rolloutState"]?.string {
        case "COMPLETED": return rollback ? "ROLLBACK_SUCCESSFUL" : "SUCCESSFUL"
        case "FAILED": return rollback ? "ROLLBACK_FAILED" : "STOPPED"
        default: return rollback ? "ROLLBACK_IN_PROGRESS" : "IN_PROGRESS"
        }
    }

    /// Every deployment of a service (current ones, then the history), newest first, as briefs.
    static func briefs(_ service: ECSJSON, cluster: String, prefix: String) -> [ECSJSON] {
        let name = service["serviceName"]?.string ?? ""
        let all = (service["deployments"]?.array ?? []) + (service["deploymentHistory"]?.array ?? [])
        return all.sorted { ($0["createdAt"]?.int ?? 0) > ($1["createdAt"]?.int ?? 0) }.map { deployment in
            var brief: [String: ECSJSON] = [
                "serviceDeploymentArn": .string(arn(prefix, cluster, name, deployment["id"]?.string ?? "")),
                "serviceArn": service["serviceArn"] ?? .null,
                "clusterArn": service["clusterArn"] ?? .null,
                "targetServiceRevisionArn": deployment["taskDefinition"] ?? .null,
                "status": .string(status(deployment)),
                "statusReason": deployment["rolloutStateReason"] ?? .null,
            ]
            brief["createdAt"] = deployment["createdAt"]
            brief["startedAt"] = deployment["createdAt"]
            if let finished = deployment["finishedAt"] { brief["finishedAt"] = finished }
            return .object(brief.filter { $0.value != .null })
        }
    }

    /// One deployment in detail, or nil when the service has no deployment `id`.
    static func detail(_ service: ECSJSON, id: String, cluster: String, prefix: String) -> ECSJSON? {
        let all = (service["deployments"]?.array ?? []) + (service["deploymentHistory"]?.array ?? [])
        guard let deployment = all.first(where: { $0["id"]?.string == id }) else { return nil }
        guard
            var detail = briefs(
                .object([
                    "serviceName": service["serviceName"] ?? .null,
                    "serviceArn": service["serviceArn"] ?? .null, "clusterArn": service["clusterArn"] ?? .null,
                    "deployments": .array([deployment]),
                ]),
                cluster: cluster,
                prefix: prefix
            ).first?.object
        else { return nil }
        detail["targetServiceRevision"] = .object([
            "arn": deployment["taskDefinition"] ?? .null,
            "requestedTaskCount": deployment["desiredCount"] ?? .int(0),
            "runningTaskCount": deployment["runningCount"] ?? .int(0),
            "pendingTaskCount": deployment["pendingCount"] ?? .int(0),
        ])
        detail["updatedAt"] = deployment["updatedAt"]
        if let configuration = service["deploymentConfiguration"] {
            detail["deploymentConfiguration"] = configuration
            if let breaker = configuration["deploymentCircuitBreaker"] {
                detail["deploymentCircuitBreaker"] = .object([
                    "status": .string(breaker["enable"]?.bool == true ? "MONITORING" : "DISABLED"),
                    "failureCount": deployment["failedTasks"] ?? .int(0),
                    "threshold": breaker["threshold"] ?? .int(3),
                ])
            }
        }
        return .object(detail)
    }
}
