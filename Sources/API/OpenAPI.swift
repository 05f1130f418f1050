import ClusterState
package import HTTP

/// The admin API described as an OpenAPI 3.0.3 document, built from a typed route table (`routes`) so that a test
/// can hold it against `Router` and a schema-based tester (schemathesis, `.ci/schemathesis`) against a live cluster.
/// Pure and deterministic: the same version gives the same bytes.
package enum OpenAPI {
    /// The OpenAPI version the document follows.
    package static let specificationVersion = "3.0.3"

    /// The route that serves the document. Open (no token): it describes the API, holds no state and no secret.
    package static let documentPath = "/v1/openapi.json"

    /// The document as JSON with sorted keys, `info.version` set to `version`.
    package static func document(version: String) -> [UInt8] {
        JSON.encode(model(version: version))
    }

    /// `GET /v1/openapi.json`: the document, 200, `application/json`.
    package static func response(version: String) -> HTTPResponse {
        HTTPResponse(
            status: 200,
            headers: [HTTPHeader(name: "Content-Type", value: "application/json")],
            body: document(version: version)
        )
    }

    /// The document as values.
    static func model(version: String) -> Document {
        var paths: [String: [String: OperationObject]] = [:]
        for route in routes {
            precondition(
                paths[route.path]?[route.method.lowercased()] == nil,
                "OpenAPI.routes lists \(route.label) twice"
            )
            paths[route.path, default: [:]][route.method.lowercased()] = route.operation
        }
        return Document(
            openapi: specificationVersion,
            info: Info(
                title: "Gantry admin API",
                version: version,
                description: """
                    The HTTP API of a Gantry controller. Any controller answers: writes sent to a follower are \
                    forwarded to the leader and answered once applied locally; reads are linearizable unless \
                    `consistency=stale`. Errors are `{"error":{"code","message","field"?}}`. Every route except \
                    /healthz, /readyz and /v1/openapi.json needs `Authorization: Bearer <token>` with the role the \
                    operation names (readonly < operator < admin). A join token (role agent) can only register a \
                    container instance; the registration answers with the instance's own agent credential \
                    (`gagent.<id>.<64 hex>`), which its agent presents instead of a token on the routes that say \
                    so, and only for its own instance.
                    """
            ),
            paths: paths,
            components: Components(
                schemas: components,
                securitySchemes: [
                    "bearer": SecurityScheme(
                        type: "http",
                        scheme: "bearer",
                        description:
                            "A token from the controller's tokens file (its role decides what it may do), or an "
                            + "agent credential returned by a registration."
                    )
                ]
            ),
            security: [["bearer": []]],
            tags: Tag.allCases.map { TagObject(name: $0.rawValue, description: $0.description) }
        )
    }
}

/// One route of the admin API as the document describes it. `label` is spelled exactly as `Router` labels the
/// request it routes (`PUT /v1/parameters/{name}`), so tests can compare the two.
package struct DocumentedRoute: Sendable, Equatable {
    /// `GET`, `PUT`, `POST` or `DELETE`.
    package var method: String
    /// The path template, parameters in braces: `/v1/clusters/{cluster}`.
    package var path: String
    /// The role the route needs; nil for the open routes.
    package var role: Role?
    /// A unique camelCase name (schemathesis and code generators key on it).
    package var operationID: String
    /// One line on what the route does.
    var summary: String
    /// The group the route belongs to.
    var tag: OpenAPI.Tag
    /// Path, query and header parameters (read and write options are added by `readsState` and `writes`).
    var parameters: [OpenAPI.Parameter] = []
    /// The JSON request body, if the route takes one.
    var body: JSONSchema?
    /// Whether the body may be omitted.
    var bodyOptional = false
    /// A valid body, for the reader and for schemathesis's examples phase.
    var bodyExample: JSONExample?
    /// The 200 answer.
    var success: OpenAPI.Success
    /// The error statuses besides those every route of its kind can give (400; 401 and 403 with a role; 413 with a
    /// body; 500 and 503 through Raft).
    var errors: [Int] = []
    /// Whether the route is a replicated read (takes `consistency`, `index`, `wait`).
    var readsState = false
    /// Follow-up operations whose parameters come from this route's request or 200 answer (OpenAPI links: they let
    /// schemathesis's stateful phase describe, change and delete what a create made).
    var links: [String: OpenAPI.Link] = [:]
    /// Whether the route is a replicated write (may be answered 500/503; all but membership changes take
    /// `X-Gantry-Client-Token`).
    var writes = false
    /// Who may call the route besides tokens of `role` (join tokens, agent credentials), in a sentence.
    var alsoAllowed: String?

    /// `METHOD /path`, as `APIRequest.route` spells it.
    package var label: String { "\(method) \(path)" }

    /// The error statuses the route can answer with.
    var errorStatuses: [Int] {
        var statuses: Set<Int> = [400]
        statuses.formUnion(errors)
        if role != nil { statuses.formUnion([401, 403]) }
        if body != nil { statuses.insert(413) }
        if readsState || writes { statuses.formUnion([500, 503]) }
        return statuses.sorted()
    }

    /// The names of the `{parameters}` in `path`.
    package var pathParameterNames: [String] {
        path.split(separator: "/").compactMap { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? String(segment.dropFirst().dropLast()) : nil
        }
    }

    /// The OpenAPI operation object.
    var operation: OpenAPI.OperationObject {
        var all = parameters
        if readsState { all += OpenAPI.readParameters }
        if writes && tag != .membership { all.append(OpenAPI.clientTokenParameter) }
        var responses: [String: OpenAPI.ResponseObject] = [
            "200": OpenAPI.ResponseObject(
                description: success.description,
                content: [success.mediaType: OpenAPI.MediaType(schema: success.schema)],
                headers: success.headers.isEmpty ? nil : success.headers,
                links: links.isEmpty ? nil : links
            )
        ]
        for status in errorStatuses {
            responses[String(status)] = OpenAPI.ResponseObject(
                description: OpenAPI.errorDescription(status),
                content: ["application/json": OpenAPI.MediaType(schema: .ref("Error"))],
                headers: status == 503 ? OpenAPI.retryAfterHeader : nil,
                links: nil
            )
        }
        let roleLine = role.map { "Needs role `\($0)`." } ?? "Open: no token needed."
        return OpenAPI.OperationObject(
            operationId: operationID,
            summary: summary,
            description: alsoAllowed.map { roleLine + " " + $0 } ?? roleLine,
            tags: [tag.rawValue],
            parameters: all.isEmpty ? nil : all,
            requestBody: body.map { schema in
                OpenAPI.RequestBody(
                    required: !bodyOptional,
                    content: ["application/json": OpenAPI.MediaType(schema: schema, example: bodyExample)]
                )
            },
            responses: responses,
            security: role == nil ? [] : nil
        )
    }
}

// MARK: - Document model

extension OpenAPI {
    /// The groups of routes.
    enum Tag: String, CaseIterable, Sendable, CustomStringConvertible {
        case node, membership, parameters, clusters, taskDefinitions, containerInstances, attributes, services, tasks,
            tags

        var description: String {
            switch self {
            case .node: return "This controller: health, readiness, status, metrics and this document."
            case .membership: return "Raft membership, leadership transfer and backups."
            case .parameters: return "The replicated parameter store."
            case .clusters: return "Clusters (ECS CreateCluster, ListClusters, DescribeClusters, DeleteCluster)."
            case .taskDefinitions: return "Task definitions (ECS RegisterTaskDefinition and friends)."
            case .containerInstances: return "Hosts registered by their agents."
            case .attributes: return "Custom attributes of container instances (ECS PutAttributes and friends)."
            case .services: return "Services: long-running tasks kept at a count, rolled out by deployments."
            case .tasks: return "Tasks: runs of a task definition (ECS RunTask, ListTasks, DescribeTasks, StopTask)."
            case .tags: return "Tags of clusters, services and task definitions, by ARN (ECS TagResource and friends)."
            }
        }
    }

    /// A route's 200 answer.
    struct Success: Sendable, Equatable {
        /// What the answer holds.
        var description: String
        /// `application/json` unless stated.
        var mediaType = "application/json"
        /// Its shape.
        var schema: JSONSchema
        /// Response headers worth documenting.
        var headers: [String: HeaderObject] = [:]

        /// A JSON answer of component `name`.
        static func json(_ name: String, _ description: String, headers: [String: HeaderObject] = [:]) -> Success {
            Success(description: description, schema: .ref(name), headers: headers)
        }
    }

    /// A path, query or header parameter.
    struct Parameter: Sendable, Equatable, Encodable {
        /// The parameter's name.
        var name: String
        /// `path`, `query` or `header`.
        var location: String
        /// Whether it must be sent (path parameters always).
        var required: Bool
        /// What it does.
        var description: String
        /// Its values.
        var schema: JSONSchema

        enum CodingKeys: String, CodingKey {
            case name
            case location = "in"
            case required, description, schema
        }

        /// A path parameter.
        static func path(_ name: String, _ description: String, _ schema: JSONSchema) -> Parameter {
            Parameter(name: name, location: "path", required: true, description: description, schema: schema)
        }

        /// An optional query parameter.
        static func query(_ name: String, _ description: String, _ schema: JSONSchema) -> Parameter {
            Parameter(name: name, location: "query", required: false, description: description, schema: schema)
        }

        /// An optional header.
        static func header(_ name: String, _ description: String, _ schema: JSONSchema) -> Parameter {
            Parameter(name: name, location: "header", required: false, description: description, schema: schema)
        }
    }

    /// The options every replicated read takes.
    static let readParameters: [Parameter] = [
        .query(
            "consistency",
            "linearizable (the default: confirmed with the leader) or stale (local state at once).",
            .string(oneOf: ["linearizable", "stale"])
        ),
        .query(
            "index",
            "Blocking read: answer once this node's applied index exceeds this (or `wait` ends; default 30 s).",
            .integer(minimum: 0)
        ),
        .query(
            "wait",
            "The longest a blocking read waits: 500ms, 30s, 2m or bare seconds; at most 5m. Needs `index`.",
            .string(maxLength: 12, pattern: "^[0-9]{1,9}(ms|s|m)?$")
        ),
        .header(
            "X-Gantry-Consistency",
            "The same as the `consistency` query parameter (the query wins).",
            .string(oneOf: ["linearizable", "stale"])
        ),
    ]

    /// The idempotency token every replicated write takes.
    static let clientTokenParameter = Parameter.header(
        "X-Gantry-Client-Token",
        "Idempotency token: a retry with the same token returns the first result and never applies twice. "
            + "Use a fresh random token per logical request.",
        .string(minLength: 1, maxLength: Command.maxTokenBytes)
    )

    /// `Retry-After` on 503s.
    static let retryAfterHeader = [
        "Retry-After": HeaderObject(
            description: "Seconds after which a retry may succeed.",
            schema: .integer(minimum: 0)
        )
    ]

    /// The read headers every replicated read's answer carries.
    static let readHeaders: [String: HeaderObject] = [
        "X-Gantry-Applied-Index": HeaderObject(
            description: "This node's applied index when it answered.",
            schema: .integer(minimum: 0)
        ),
        "X-Gantry-Leader": HeaderObject(
            description: "The leader this node knows of (empty: none).",
            schema: .string()
        ),
        "X-Gantry-Last-Contact-Ms": HeaderObject(
            description: "Milliseconds since this node heard from the leader (0 on the leader, -1 never).",
            schema: .integer(minimum: -1)
        ),
    ]

    /// What an error status means.
    static func errorDescription(_ status: Int) -> String {
        switch status {
        case 400: return "The request breaks a rule; `field` names the offending input."
        case 401: return "No bearer token, or not a valid one (or the agent credential of a deregistered instance)."
        case 403:
            return "The token's role is not enough (or a secret value needs role operator), or an agent credential "
                + "acts for another instance or on a route agents cannot call."
        case 404: return "The resource does not exist."
        case 409: return "The request conflicts with the current state."
        case 413: return "The body is larger than the controller's maxBodyBytes."
        case 500: return "This controller halted (its log or state is unusable)."
        case 502: return "The task's agent could not be reached or did not answer."
        case 503: return "No leader is known or reachable, or the cluster did not answer in time; retry."
        case 504: return "Leadership did not move in time."
        default: return "An error."
        }
    }

    /// The document.
    struct Document: Encodable {
        var openapi: String
        var info: Info
        var paths: [String: [String: OperationObject]]
        var components: Components
        var security: [[String: [String]]]
        var tags: [TagObject]
    }

    /// `info`.
    struct Info: Encodable {
        var title: String
        var version: String
        var description: String
    }

    /// A tag's entry in `tags`.
    struct TagObject: Encodable {
        var name: String
        var description: String
    }

    /// `components`.
    struct Components: Encodable {
        var schemas: [String: JSONSchema]
        var securitySchemes: [String: SecurityScheme]
    }

    /// A security scheme.
    struct SecurityScheme: Encodable {
        var type: String
        var scheme: String
        var description: String
    }

    /// One operation.
    struct OperationObject: Encodable {
        var operationId: String
        var summary: String
        var description: String
        var tags: [String]
        var parameters: [Parameter]?
        var requestBody: RequestBody?
        var responses: [String: ResponseObject]
        /// Empty for open routes (overrides the document's bearer requirement); nil inherits it.
        var security: [[String: [String]]]?
    }

    /// A request body.
    struct RequestBody: Encodable {
        var required: Bool
        var content: [String: MediaType]
    }

    /// A media type's schema.
    struct MediaType: Sendable, Equatable, Encodable {
        var schema: JSONSchema
        var example: JSONExample?
    }

    /// A response.
    struct ResponseObject: Encodable {
        var description: String
        var content: [String: MediaType]?
        var headers: [String: HeaderObject]?
        var links: [String: Link]?
    }

    /// An OpenAPI link: the operation it leads to and where that operation's parameters come from, as runtime
    /// expressions (`$response.body#/cluster/clusterName`, `$request.path.cluster`).
    struct Link: Sendable, Equatable, Encodable {
        var operationId: String
        var parameters: [String: String]

        /// A link to `operationID` with `parameters`.
        init(_ operationID: String, _ parameters: [String: String]) {
            self.operationId = operationID
            self.parameters = parameters
        }
    }

    /// A response header.
    struct HeaderObject: Sendable, Equatable, Encodable {
        var description: String
        var schema: JSONSchema
    }
}
