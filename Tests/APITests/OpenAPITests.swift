import API
import ClusterState
import Foundation
import HTTP
import Testing

/// The admin token the route samples use.
private let adminToken = "openapi-admin-token-01"
private let openAPITokens = TokenTable([(name: "adm", role: .admin, token: adminToken)])

/// A 32-hex-digit container instance id.
private let instanceID = "0123456789abcdef0123456789abcdef"

/// One concrete request per documented route: target and body. Keyed by label.
private let samples: [String: (target: String, body: String)] = [
    "GET /healthz": ("/healthz", ""),
    "GET /readyz": ("/readyz", ""),
    "GET /metrics": ("/metrics", ""),
    "GET /v1/status": ("/v1/status", ""),
    "GET /v1/openapi.json": ("/v1/openapi.json", ""),
    "GET /v1/operator/raft": ("/v1/operator/raft", ""),
    "POST /v1/operator/raft/members": ("/v1/operator/raft/members", #"{"id":4,"address":"127.0.0.1:7004"}"#),
    "DELETE /v1/operator/raft/members/{id}": ("/v1/operator/raft/members/4", ""),
    "POST /v1/operator/raft/transfer": ("/v1/operator/raft/transfer", #"{"to":2}"#),
    "GET /v1/operator/snapshot": ("/v1/operator/snapshot", ""),
    "GET /v1/parameters": ("/v1/parameters?prefix=app/", ""),
    "GET /v1/parameters/{name}": ("/v1/parameters/app/db", ""),
    "PUT /v1/parameters/{name}": ("/v1/parameters/app/db?cas=0", #"{"value":"x","secret":true}"#),
    "DELETE /v1/parameters/{name}": ("/v1/parameters/app/db", ""),
    "POST /v1/clusters": ("/v1/clusters", #"{"clusterName":"prod","tags":[{"key":"team","value":"web"}]}"#),
    "GET /v1/clusters": ("/v1/clusters?maxResults=10", ""),
    "GET /v1/clusters/{cluster}": ("/v1/clusters/prod", ""),
    "DELETE /v1/clusters/{cluster}": ("/v1/clusters/prod", ""),
    "POST /v1/task-definitions": (
        "/v1/task-definitions",
        #"{"family":"web","containerDefinitions":[{"name":"web","image":"nginx","memory":128}]}"#
    ),
    "GET /v1/task-definitions": ("/v1/task-definitions?familyPrefix=w&status=ACTIVE&sort=DESC", ""),
    "GET /v1/task-definitions/{taskDefinition}": ("/v1/task-definitions/web:1", ""),
    "POST /v1/task-definitions/{taskDefinition}/deregister": ("/v1/task-definitions/web:1/deregister", ""),
    "DELETE /v1/task-definitions/{taskDefinition}": ("/v1/task-definitions/web:1", ""),
    "GET /v1/task-definition-families": ("/v1/task-definition-families?status=INACTIVE", ""),
    "POST /v1/clusters/{cluster}/container-instances": (
        "/v1/clusters/prod/container-instances",
        #"{"hostname":"h1","cpu":2048,"memory":3900,"agentVersion":"0.1.0"}"#
    ),
    "GET /v1/clusters/{cluster}/container-instances": ("/v1/clusters/prod/container-instances?status=DRAINING", ""),
    "GET /v1/clusters/{cluster}/container-instances/{id}": ("/v1/clusters/prod/container-instances/\(instanceID)", ""),
    "DELETE /v1/clusters/{cluster}/container-instances/{id}": (
        "/v1/clusters/prod/container-instances/\(instanceID)?force=true", ""
    ),
    "PUT /v1/clusters/{cluster}/container-instances/{id}/state": (
        "/v1/clusters/prod/container-instances/\(instanceID)/state", #"{"status":"DRAINING"}"#
    ),
    "PUT /v1/clusters/{cluster}/attributes": (
        "/v1/clusters/prod/attributes", #"{"attributes":[{"name":"disk","value":"ssd","targetId":"\#(instanceID)"}]}"#
    ),
    "GET /v1/clusters/{cluster}/attributes": ("/v1/clusters/prod/attributes?attributeName=disk", ""),
    "POST /v1/clusters/{cluster}/services": (
        "/v1/clusters/prod/services", #"{"serviceName":"web","taskDefinition":"web:1","desiredCount":2}"#
    ),
    "GET /v1/clusters/{cluster}/services": ("/v1/clusters/prod/services?maxResults=5", ""),
    "GET /v1/clusters/{cluster}/services/{service}": ("/v1/clusters/prod/services/web", ""),
    "PUT /v1/clusters/{cluster}/services/{service}": ("/v1/clusters/prod/services/web", #"{"desiredCount":3}"#),
    "DELETE /v1/clusters/{cluster}/services/{service}": ("/v1/clusters/prod/services/web?force=true", ""),
    "POST /v1/clusters/{cluster}/services/{service}/rollback": (
        "/v1/clusters/prod/services/web/rollback", #"{"to":"1"}"#
    ),
    "GET /v1/clusters/{cluster}/services/{service}/explain": ("/v1/clusters/prod/services/web/explain", ""),
    "POST /v1/clusters/{cluster}/container-instances/{id}/heartbeat": (
        "/v1/clusters/prod/container-instances/\(instanceID)/heartbeat", ""
    ),
    "GET /v1/clusters/{cluster}/container-instances/{id}/tasks": (
        "/v1/clusters/prod/container-instances/\(instanceID)/tasks", ""
    ),
    "POST /v1/clusters/{cluster}/container-instances/{id}/task-states": (
        "/v1/clusters/prod/container-instances/\(instanceID)/task-states",
        #"{"reports":[{"task":"\#(instanceID)","epoch":1,"status":"STOPPED","exitCode":1,"reason":"exited"}]}"#
    ),
    "GET /v1/tags": ("/v1/tags?resourceArn=arn:aws:ecs:us-east-1:123456789012:cluster/prod", ""),
    "PUT /v1/tags": (
        "/v1/tags",
        #"{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:cluster/prod","tags":[{"key":"a","value":"b"}]}"#
    ),
    "POST /v1/tags/delete": (
        "/v1/tags/delete", #"{"resourceArn":"arn:aws:ecs:us-east-1:123456789012:cluster/prod","tagKeys":["a"]}"#
    ),
    "POST /v1/clusters/{cluster}/tasks": ("/v1/clusters/prod/tasks", #"{"taskDefinition":"web:1","count":1}"#),
    "GET /v1/clusters/{cluster}/tasks": ("/v1/clusters/prod/tasks?desiredStatus=RUNNING&family=web", ""),
    "GET /v1/clusters/{cluster}/tasks/{task}": ("/v1/clusters/prod/tasks/\(instanceID)", ""),
    "GET /v1/clusters/{cluster}/tasks/{task}/logs": (
        "/v1/clusters/prod/tasks/\(instanceID)/logs?container=web&offset=12", ""
    ),
    "GET /v1/clusters/{cluster}/container-instances/{id}/tasks/{task}/secrets": (
        "/v1/clusters/prod/container-instances/\(instanceID)/tasks/\(instanceID)/secrets", ""
    ),
    "POST /v1/clusters/{cluster}/tasks/{task}/stop": ("/v1/clusters/prod/tasks/\(instanceID)/stop", #"{"reason":"x"}"#),
    "POST /v1/clusters/{cluster}/attributes/delete": (
        "/v1/clusters/prod/attributes/delete", #"{"attributes":[{"name":"disk","targetId":"\#(instanceID)"}]}"#
    ),
]

/// A JSON value, decoded strictly (a number is never a boolean), for checking the document and answers.
private typealias JSONValue = ECSJSON

extension ECSJSON {
    fileprivate static func decoded(_ bytes: [UInt8]) throws -> ECSJSON {
        try JSONDecoder().decode(ECSJSON.self, from: Data(bytes))
    }

    fileprivate var members: [String: ECSJSON] { object ?? [:] }

    fileprivate var elements: [ECSJSON] { array ?? [] }
}

/// A tiny validator for the JSON Schema subset `JSONSchema` emits: enough to hold rendered answers against the
/// document's response schemas. Returns the first violation as a path and a reason.
private func violation(
    _ value: JSONValue,
    _ schema: JSONValue,
    _ schemas: [String: JSONValue],
    _ path: String = "$"
)
    -> String?
{
    if let reference = schema["$ref"]?.string {
        let name = String(reference.dropFirst("#/components/schemas/".count))
        guard let target = schemas[name] else { return "\(path): unresolved \(reference)" }
        return violation(value, target, schemas, path)
    }
    for part in schema["allOf"]?.elements ?? [] {
        if let found = violation(value, part, schemas, path) { return found }
    }
    if let allowed = schema["enum"]?.elements, !allowed.contains(value) { return "\(path): \(value) not in enum" }
    switch (schema["type"]?.string, value) {
    case (nil, _), ("boolean", .bool), ("string", .string):
        return nil
    case ("integer", .int(let number)):
        if case .int(let minimum) = schema["minimum"], number < minimum { return "\(path): below \(minimum)" }
        if case .int(let maximum) = schema["maximum"], number > maximum { return "\(path): above \(maximum)" }
        return nil
    case ("array", .array(let elements)):
        for (index, element) in elements.enumerated() {
            if let found = violation(element, schema["items"] ?? .object([:]), schemas, "\(path)[\(index)]") {
                return found
            }
        }
        return nil
    case ("object", .object(let members)):
        for case .string(let name) in schema["required"]?.elements ?? [] where members[name] == nil {
            return "\(path): missing required \(name)"
        }
        let properties = schema["properties"]?.members ?? [:]
        for (name, member) in members {
            let memberSchema = properties[name] ?? schema["additionalProperties"]
            if let memberSchema, let found = violation(member, memberSchema, schemas, "\(path).\(name)") {
                return found
            }
        }
        return nil
    default:
        return "\(path): \(value) is not a \(schema["type"]?.string ?? "?")"
    }
}

private func sampleRequest(_ method: String, _ target: String, body: String) -> HTTPRequest {
    HTTPRequest(
        method: method,
        target: target,
        version: .http1_1,
        headers: [HTTPHeader(name: "Authorization", value: "Bearer \(adminToken)")],
        body: Array(body.utf8)
    )
}

/// The document, parsed.
private func parsedDocument() throws -> JSONValue {
    try JSONValue.decoded(OpenAPI.document(version: "test"))
}

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("documents exactly 51 routes, each label once")
    func routeCount() {
        let labels = OpenAPI.routes.map(\.label)
        #expect(labels.count == 51)
        #expect(Set(labels).count == labels.count)
        #expect(Set(OpenAPI.routes.map(\.operationID)).count == labels.count)
    }

    @Test("a sample request of every documented route gets exactly that route's label from Router")
    func everyDocumentedRouteRoutes() throws {
        #expect(Set(samples.keys) == Set(OpenAPI.routes.map(\.label)))
        for route in OpenAPI.routes {
            let sample = try #require(samples[route.label], "no sample for \(route.label)")
            // The sample must be an instance of the template: {name} may span segments, other parameters not.
            let pattern = route.path.replacing(/\{name\}/, with: ".+").replacing(/\{[A-Za-z]+\}/, with: "[^/]+")
            let path = String(sample.target.split(separator: "?", maxSplits: 1)[0])
            #expect(path.wholeMatch(of: try Regex(pattern)) != nil, "\(sample.target) does not fit \(route.path)")
            let routed = Router.route(
                sampleRequest(route.method, sample.target, body: sample.body),
                tokens: openAPITokens
            )
            switch routed {
            case .success(let request):
                #expect(request.route == route.label)
                #expect(request.principal == (route.role == nil ? nil : "adm"), "\(route.label)")
            case .failure(let error):
                Issue.record("\(route.label): \(sample.target) was refused: \(error)")
            }
        }
    }

    @Test("every route label in Router's sources is documented, and every documented one is in them")
    func routerSourcesMatch() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/API").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: sources.path)
            .filter { $0.hasPrefix("Router") && $0.hasSuffix(".swift") }
        #expect(!files.isEmpty)
        var labels: Set<String> = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
                .replacingOccurrences(of: #"\(base)"#, with: "/v1/clusters/{cluster}")
            for match in text.matches(of: /"((?:GET|PUT|POST|DELETE) \/[^"\s]*)"/) {
                labels.insert(String(match.1))
            }
        }
        #expect(labels == Set(OpenAPI.routes.map(\.label)))
    }

    @Test("the document is OpenAPI 3.0.3 JSON with one operation per route and every reference resolved")
    func documentShape() throws {
        let document = try parsedDocument()
        #expect(document["openapi"] == .string("3.0.3"))
        #expect(document["info"]?["version"] == .string("test"))
        let schemas = try #require(document["components"]?["schemas"]?.members)
        var operations = 0
        for route in OpenAPI.routes {
            let operation = try #require(
                document["paths"]?[route.path]?[route.method.lowercased()],
                "no operation for \(route.label)"
            )
            operations += 1
            #expect(operation["operationId"] == .string(route.operationID))
            #expect(operation["responses"]?["200"] != nil)
            let declared = operation["parameters"]?.elements.filter { $0["in"] == .string("path") }
                .compactMap { $0["name"]?.string }
            #expect((declared ?? []).sorted() == route.pathParameterNames.sorted(), "\(route.label)")
            #expect((operation["security"] == .array([])) == (route.role == nil), "\(route.label)")
        }
        let total = document["paths"]?.members.values.reduce(0) { $0 + $1.members.count }
        #expect(total == operations)
        // Every $ref anywhere in the document names a component.
        func references(_ value: JSONValue) -> [String] {
            switch value {
            case .object(let members):
                return (members["$ref"]?.string.map { [$0] } ?? []) + members.values.flatMap(references)
            case .array(let elements):
                return elements.flatMap(references)
            default:
                return []
            }
        }
        for reference in references(document) {
            #expect(reference.hasPrefix("#/components/schemas/"))
            #expect(schemas[String(reference.dropFirst("#/components/schemas/".count))] != nil, "\(reference)")
        }
    }

    @Test("the document is deterministic and served as JSON")
    func deterministic() {
        #expect(OpenAPI.document(version: "1") == OpenAPI.document(version: "1"))
        let response = OpenAPI.response(version: "1")
        #expect(response.status == 200)
        #expect(response.headers.contains(HTTPHeader(name: "Content-Type", value: "application/json")))
    }

    @Test("rendered answers conform to the documented response schemas")
    func answersConform() throws {
        let document = try parsedDocument()
        let schemas = try #require(document["components"]?["schemas"]?.members)
        func check(_ response: HTTPResponse, _ component: String, _ label: String) throws {
            let body = try JSONValue.decoded(response.body)
            let problem = violation(body, .object(["$ref": .string("#/components/schemas/\(component)")]), schemas)
            #expect(problem == nil, "\(label): \(problem ?? "")")
        }
        var domain = Domain()
        let context = Domain.Context(time: 1_700_000_000_000, arnPrefix: "arn:gantry:ecs:local:0")
        let cluster = domain.apply(
            .createCluster(name: "prod", tags: [ClusterState.Tag(key: "team", value: "")]),
            context: context
        )
        try check(DomainRender.result(cluster, index: 3), "ClusterResponse", "create cluster")
        try check(DomainRender.query(.listClusters(Page(maxResults: 1)), in: domain), "ClusterList", "list clusters")

        var container = ContainerDefinition(name: "web", image: "nginx:1")
        container.memory = 128
        container.portMappings = [.init(containerPort: 80)]
        container.healthCheck = .init(command: ["CMD-SHELL", "true"])
        container.dockerLabels = ["a": "b"]
        container.logConfiguration = .init(logDriver: "json-file", options: ["max-size": "1m"])
        var spec = TaskDefinitionSpec(family: "web", containerDefinitions: [container])
        spec.tags = [.init(key: "k")]
        spec.volumes = [.init(name: "data", host: .init(sourcePath: "/srv"))]
        let registered = domain.apply(.registerTaskDefinition(spec: spec), context: context)
        try check(DomainRender.result(registered, index: 4), "TaskDefinitionResponse", "register")
        var request = ServiceRequest(serviceName: "web", taskDefinition: "web:1", desiredCount: 2)
        request.placementStrategy = [PlacementStrategy(type: "spread", field: "host")]
        request.placementConstraints = [ServicePlacementConstraint(type: "distinctInstance")]
        let service = domain.apply(
            .createService(cluster: "prod", request: request),
            context: Domain.Context(time: 1_700_000_000_001, arnPrefix: context.arnPrefix, index: 10)
        )
        try check(DomainRender.result(service, index: 10), "ServiceResponse", "create service")
        let rolledBack = domain.apply(
            .rollbackService(cluster: "prod", service: "web", to: "1"),
            context: Domain.Context(time: 1_700_000_000_001, arnPrefix: context.arnPrefix, index: 10)
        )
        try check(DomainRender.result(rolledBack, index: 10), "ServiceResponse", "rollback service")
        try check(
            DomainRender.query(.explainService(cluster: "prod", service: "web"), in: domain),
            "ExplanationResponse",
            "explain without instances"
        )
        try check(
            DomainRender.query(.listServices(cluster: "prod", page: Page()), in: domain),
            "ServiceList",
            "list services"
        )
        var run = RunTaskRequest(taskDefinition: "web", count: 2)
        run.startedBy = "me"
        var override = TaskOverrides()
        override.containerOverrides = [.init(name: "web", command: ["sh"], environment: [.init(name: "", value: "")])]
        run.overrides = override
        let tasks = domain.apply(
            .runTask(cluster: "prod", request: run),
            context: Domain.Context(time: 1_700_000_000_002, arnPrefix: context.arnPrefix, index: 11)
        )
        try check(DomainRender.result(tasks, index: 11), "TasksResponse", "run task")
        guard case .tasks(let started) = tasks, let first = started.first else {
            Issue.record("run task: \(tasks)")
            return
        }
        let stopped = domain.apply(.stopTask(cluster: "prod", task: first.id, reason: nil), context: context)
        try check(DomainRender.result(stopped, index: 12), "TasksResponse", "stop task")
        try check(
            DomainRender.query(.describeTask(cluster: "prod", task: first.id), in: domain),
            "TaskResponse",
            "task"
        )
        try check(
            DomainRender.query(.listTasks(cluster: "prod", filter: TaskFilter(), page: Page()), in: domain),
            "TaskList",
            "list tasks"
        )
        let deleted = domain.apply(.deleteService(cluster: "prod", service: "web", force: true), context: context)
        try check(DomainRender.result(deleted, index: 13), "ServiceResponse", "delete service")

        let deregistered = domain.apply(.deregisterTaskDefinition(family: "web", revision: 1), context: context)
        try check(DomainRender.result(deregistered, index: 5), "TaskDefinitionResponse", "deregister")
        try check(
            DomainRender.query(
                .listTaskDefinitions(familyPrefix: nil, status: nil, descending: true, page: Page()),
                in: domain
            ),
            "TaskDefinitionList",
            "list task definitions"
        )
        let deletedRevision = domain.apply(.deleteTaskDefinition(family: "web", revision: 1), context: context)
        try check(DomainRender.result(deletedRevision, index: 6), "TaskDefinitionResponse", "delete task definition")

        let registration = InstanceRegistration(
            id: instanceID,
            hostname: "h1",
            cpu: 2048,
            memory: 3900,
            reservedPorts: [22],
            availabilityZone: "az1",
            attributes: [Attribute(name: "disk", value: "ssd")],
            agentVersion: "0.1.0",
            agentAddress: "10.0.0.5:7070",
            agentCredential: AgentCredential.make(instanceID: instanceID, secret: Array(repeating: 7, count: 32))
        )
        let instance = domain.apply(
            .registerContainerInstance(cluster: "prod", registration: registration),
            context: context
        )
        try check(DomainRender.result(instance, index: 7), "RegisterContainerInstanceResponse", "register instance")
        try check(
            DomainRender.query(.listContainerInstances(cluster: "prod", status: nil, page: Page()), in: domain),
            "ContainerInstanceList",
            "list instances"
        )
        let put = domain.apply(
            .putAttributes(cluster: "prod", attributes: [Attribute(name: "rack", value: nil, targetId: instanceID)]),
            context: context
        )
        try check(DomainRender.result(put, index: 8), "AttributesResponse", "put attributes")
        let api = TaskDefinitionSpec(family: "api", containerDefinitions: [container])
        _ = domain.apply(.registerTaskDefinition(spec: api), context: context)
        _ = domain.apply(
            .createService(
                cluster: "prod",
                request: ServiceRequest(serviceName: "api", taskDefinition: "api", desiredCount: 1)
            ),
            context: Domain.Context(time: 1_700_000_000_004, arnPrefix: context.arnPrefix, index: 14)
        )
        try check(
            DomainRender.query(.explainService(cluster: "prod", service: "api"), in: domain),
            "ExplanationResponse",
            "explain"
        )
        let reports = domain.apply(
            .reportTaskStates(
                cluster: "prod",
                instance: instanceID,
                reports: [TaskStateReport(task: instanceID, epoch: 1, status: "RUNNING")]
            ),
            context: context
        )
        try check(DomainRender.result(reports, index: 15), "TasksResponse", "task states")
        try check(
            DomainRender.query(.listAttributes(cluster: "prod", name: nil, value: nil), in: domain),
            "AttributesResponse",
            "list attributes"
        )

        let parameter = Parameter(
            name: "app/db",
            value: "v",
            secret: true,
            version: 2,
            created: 1,
            modified: 2,
            modifiedIndex: 9
        )
        try check(Render.parameter(parameter, name: "app/db", revealSecret: true), "Parameter", "get parameter")
        try check(Render.parameterList([parameter]), "ParameterList", "list parameters")
        let secrets = Render.taskSecrets(.success(["web": [.init(name: "DB_PASSWORD", value: "s3cret")], "side": []]))
        try check(secrets, "TaskSecretsResponse", "task secrets")
        let missing = Render.taskSecrets(.failure(.parameterNotFound(container: "web", secret: "DB", parameter: "db")))
        try check(missing, "Error", "task secrets, missing parameter")
        try check(Render.commandResult(.parameterWritten(name: "a", version: 1), index: 2), "ParameterWritten", "put")
        try check(
            Render.commandResult(.parameterDeleted(name: "a", version: 1), index: 2),
            "ParameterWritten",
            "delete"
        )
        try check(
            Render.commandResult(.versionConflict(name: "a", expected: 3, actual: 1), index: 2),
            "Error",
            "version conflict"
        )
        try check(APIError.unavailable("no leader").response, "Error", "unavailable")
        try check(
            JSON.response(
                NodeStatusView(
                    id: 1,
                    clusterID: "c",
                    role: "leader",
                    term: 2,
                    leader: 1,
                    commitIndex: 3,
                    appliedIndex: 3,
                    lastContactMilliseconds: 0,
                    version: "0.1.0",
                    halted: nil
                )
            ),
            "NodeStatus",
            "status"
        )
        let member = RaftMembersView.Member(
            id: 1,
            address: "127.0.0.1:7001",
            suffrage: "voter",
            leader: true,
            matchIndex: 3,
            lag: 0,
            replication: "replicate",
            active: true
        )
        try check(
            JSON.response(RaftMembersView(leader: 1, term: 2, lastIndex: 3, members: [member])),
            "RaftMembers",
            "raft"
        )
        try check(OpenAPI.response(version: "1"), "OpenAPIDocument", "document")
        // The validator is not vacuous: a missing member and a wrong type are caught.
        let broken: JSONValue = .object(["cluster": .object(["clusterName": .int(1)])])
        #expect(violation(broken, .object(["$ref": .string("#/components/schemas/ClusterResponse")]), schemas) != nil)
        #expect(
            violation(
                .object(["status": .string("up")]),
                .object(["$ref": .string("#/components/schemas/Status")]),
                schemas
            ) != nil
        )
    }

    @Test("every link leads to a documented operation and fills exactly its path parameters")
    func linksResolve() throws {
        let document = try parsedDocument()
        let byID = Dictionary(uniqueKeysWithValues: OpenAPI.routes.map { ($0.operationID, $0) })
        var links = 0
        for route in OpenAPI.routes {
            let operation = try #require(document["paths"]?[route.path]?[route.method.lowercased()])
            for (name, link) in operation["responses"]?["200"]?["links"]?.members ?? [:] {
                links += 1
                let target = try #require(byID[link["operationId"]?.string ?? ""], "\(route.label) link \(name)")
                let filled = (link["parameters"]?.members ?? [:]).keys.sorted()
                #expect(filled == target.pathParameterNames.sorted(), "\(route.label) link \(name)")
            }
        }
        #expect(links >= 10)
    }

    @Test("every request body example passes Router's validation and the body schema")
    func bodyExamplesAreValid() throws {
        let document = try parsedDocument()
        let schemas = try #require(document["components"]?["schemas"]?.members)
        var examples = 0
        for route in OpenAPI.routes {
            let operation = try #require(document["paths"]?[route.path]?[route.method.lowercased()])
            guard let media = operation["requestBody"]?["content"]?["application/json"],
                let example = media["example"]
            else { continue }
            examples += 1
            #expect(violation(example, try #require(media["schema"]), schemas) == nil, "\(route.label)")
            let sample = try #require(samples[route.label])
            let encoded = String(decoding: JSON.encode(example), as: UTF8.self)
            let routed = Router.route(sampleRequest(route.method, sample.target, body: encoded), tokens: openAPITokens)
            if case .failure(let error) = routed { Issue.record("\(route.label): example refused: \(error)") }
        }
        #expect(examples >= 5)
    }

    @Test("open routes are exactly health, readiness and the document")
    func openRoutes() {
        let open = OpenAPI.routes.filter { $0.role == nil }.map(\.label).sorted()
        #expect(open == ["GET /healthz", "GET /readyz", "GET /v1/openapi.json"])
    }
}
