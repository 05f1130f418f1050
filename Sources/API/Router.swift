import ClusterState
package import HTTP

/// Routes, authorizes and validates admin API requests. Pure: a request and the token table in, an `APIRequest`
/// or an `APIError` out.
package enum Router {
    /// The header carrying a write's idempotency token.
    package static let clientTokenHeader = "X-Gantry-Client-Token"

    /// Routes `request`. Health routes are open; every other route needs a bearer token with its role, or (on the
    /// routes an agent calls) the agent credential of the instance it acts for. An agent credential is only
    /// checked for shape here: the caller verifies `APIRequest.agent` against the state (`AgentAccess.verify`).
    ///
    /// `principal` is a caller already authenticated elsewhere: the ECS face's verified caller, carried on the REST
    /// requests it makes (`ECSGateway.principalHeader`). Pass it only for requests the gateway made on this node or
    /// that a peer controller forwarded; never take it from a client.
    package static func route(
        _ request: HTTPRequest,
        tokens: TokenTable,
        principal: (name: String, role: Role)? = nil
    ) -> Result<APIRequest, APIError> {
        do throws(APIError) {
            return .success(try routeThrowing(request, tokens: tokens, principal: principal))
        } catch {
            return .failure(error)
        }
    }

    static func routeThrowing(
        _ request: HTTPRequest,
        tokens: TokenTable,
        principal: (name: String, role: Role)? = nil
    ) throws(APIError) -> APIRequest {
        let (path, query) = try splitTarget(request.target)
        // Split first, then decode each segment: an escaped '/' (%2F) inside a path parameter must not change the
        // route (`/v1/clusters/a%2Fattributes` is the cluster named "a/attributes", not a's attributes).
        let rawPath = String(request.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        var segments: [String] = []
        for raw in rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let decoded = percentDecoded(String(raw)) else {
                throw APIError(status: 400, code: "invalid_target", message: "the path has a malformed %-escape")
            }
            segments.append(decoded)
        }
        let method = request.method
        let context = Context(
            request: request,
            entry: principal.map { TokenTable.Entry(name: $0.name, role: $0.role, secret: []) }
                ?? tokens.authenticate(authorization: request.header("Authorization")),
            cluster: segments.count >= 3 && segments[0] == "v1" && segments[1] == "clusters" ? segments[2] : nil
        )
        func made(_ operation: Operation, _ route: String, _ access: Access?) throws(APIError) -> APIRequest {
            let authorization = try access.map { (access) throws(APIError) in try context.authorize(access, route) }
            var read = ReadOptions()
            if operation.readsState { read = try readOptions(query, request) }
            return APIRequest(
                operation: operation,
                read: read,
                route: route,
                principal: authorization?.principal,
                agent: authorization?.agent
            )
        }

        switch (method, segments.first ?? "") {
        case ("GET", "healthz") where segments.count == 1:
            return try made(.health, "GET /healthz", nil)
        case ("GET", "readyz") where segments.count == 1:
            return try made(.ready, "GET /readyz", nil)
        case ("GET", "metrics") where segments.count == 1:
            return try made(.metrics, "GET /metrics", .readonly)
        default:
            break
        }
        guard segments.first == "v1", segments.count >= 2 else { throw notFound(method, path) }
        let rest = Array(segments.dropFirst())
        switch (method, rest[0]) {
        case ("GET", "status") where rest.count == 1:
            return try made(.status, "GET /v1/status", .readonly)
        case ("GET", "openapi.json") where rest.count == 1:
            return try made(.openAPIDocument, "GET /v1/openapi.json", nil)
        case (_, "operator"):
            return try routeOperator(method, rest, path, context, made)
        case (_, "parameters"):
            return try routeParameters(method, rest, path, query, context, made)
        case (_, "tags"):
            return try routeTags(method, rest, path, query, context, made)
        case (_, "clusters"), (_, "task-definitions"), (_, "task-definition-families"):
            return try routeDomain(method, rest, path, query, context, made)
        default:
            throw notFound(method, path)
        }
    }

    static func routeOperator(
        _ method: String,
        _ rest: [String],
        _ path: String,
        _ context: Context,
        _ made: (Operation, String, Access?) throws(APIError) -> APIRequest
    ) throws(APIError) -> APIRequest {
        switch (method, Array(rest.dropFirst())) {
        case ("GET", ["raft"]):
            return try made(.raftMembers, "GET /v1/operator/raft", .readonly)
        case ("POST", ["raft", "members"]):
            let route = "POST /v1/operator/raft/members"
            _ = try context.authorize(.admin, route)
            struct Body: Decodable {
                var id: UInt64?
                var address: String?
            }
            let body = try JSON.decode(
                Body.self,
                from: context.request.body,
                shape: "{\"id\": 4, \"address\": \"host:port\"}"
            )
            guard let id = body.id, id > 0 else { throw .invalid("id", "must be a positive integer node id") }
            guard let address = body.address else { throw .invalid("address", "is required (host:port)") }
            if let problem = ParameterRules.addressProblem(address) { throw .invalid("address", problem) }
            return try made(.addMember(id: id, address: address), route, .admin)
        case ("DELETE", let tail) where tail.count == 3 && tail[0] == "raft" && tail[1] == "members":
            guard let id = UInt64(tail[2]), id > 0 else { throw .invalid("id", "must be a positive integer node id") }
            return try made(.removeMember(id: id), "DELETE /v1/operator/raft/members/{id}", .admin)
        case ("POST", ["raft", "transfer"]):
            let route = "POST /v1/operator/raft/transfer"
            _ = try context.authorize(.admin, route)
            struct Body: Decodable { var to: UInt64? }
            let body: Body =
                context.request.body.isEmpty
                ? Body() : try JSON.decode(Body.self, from: context.request.body, shape: "{\"to\": 2}")
            if let to = body.to, to == 0 { throw .invalid("to", "must be a positive integer node id") }
            return try made(.transferLeadership(to: body.to), route, .admin)
        case ("GET", ["snapshot"]):
            return try made(.snapshot, "GET /v1/operator/snapshot", .admin)
        default:
            throw notFound(method, path)
        }
    }

    static func routeParameters(
        _ method: String,
        _ rest: [String],
        _ path: String,
        _ query: [String: String],
        _ context: Context,
        _ made: (Operation, String, Access?) throws(APIError) -> APIRequest
    ) throws(APIError) -> APIRequest {
        if rest.count == 1 {
            guard method == "GET" else { throw methodNotAllowed(method, path, allowed: "GET") }
            let prefix = query["prefix"] ?? ""
            if let problem = ParameterRules.prefixProblem(prefix) { throw .invalid("prefix", problem) }
            return try made(.listParameters(prefix: prefix), "GET /v1/parameters", .readonly)
        }
        let name = rest.dropFirst().joined(separator: "/")
        if let problem = ParameterRules.nameProblem(name) { throw .invalid("name", problem) }
        let token = try clientToken(context.request)
        switch method {
        case "GET":
            let route = "GET /v1/parameters/{name}"
            // Secret values need `operator`; a readonly token learns that from a 403, not from a silent omission.
            let reveal = (context.entry?.role ?? .readonly) >= .operator
            return try made(.getParameter(name: name, revealSecret: reveal), route, .readonly)
        case "PUT":
            struct Body: Decodable {
                var value: String?
                var secret: Bool?
            }
            let route = "PUT /v1/parameters/{name}"
            _ = try context.authorize(.operator, route)
            let body = try JSON.decode(
                Body.self,
                from: context.request.body,
                shape: "{\"value\": \"...\", \"secret\": false}"
            )
            guard let value = body.value else { throw .invalid("value", "is required (a string)") }
            if let problem = ParameterRules.valueProblem(value) { throw .invalid("value", problem) }
            let write = ParameterWrite(
                name: name,
                value: value,
                secret: body.secret ?? false,
                expectedVersion: try cas(query)
            )
            return try made(.write(clientToken: token, action: .putParameter(write)), route, .operator)
        case "DELETE":
            let action = Command.Action.deleteParameter(name: name, expectedVersion: try cas(query))
            return try made(.write(clientToken: token, action: action), "DELETE /v1/parameters/{name}", .operator)
        default:
            throw methodNotAllowed(method, path, allowed: "GET, PUT, DELETE")
        }
    }

    /// The request, the token entry it presented (if valid) and the agent credential it presented instead.
    struct Context {
        var request: HTTPRequest
        var entry: TokenTable.Entry?
        /// The cluster the path names (`/v1/clusters/{cluster}/...`), if any.
        var cluster: String?

        /// The well-formed agent credential in the Authorization header, when it is not a token of the table.
        var agent: AgentPrincipal? {
            guard entry == nil, let header = request.header("Authorization"), header.hasPrefix("Bearer ") else {
                return nil
            }
            let credential = String(header.dropFirst("Bearer ".count))
            guard let id = AgentCredential.instanceID(of: credential) else { return nil }
            return AgentPrincipal(instanceID: id, cluster: cluster, credential: credential)
        }

        /// Who may call `route` under `access`: 401 without a valid token or a well-formed agent credential, 403
        /// when the token's role, a join token or an agent credential is not enough for it.
        func authorize(_ access: Access, _ route: String) throws(APIError) -> Authorization {
            if let agent { return try authorizeAgent(agent, access, route) }
            guard let entry else {
                let message =
                    request.header("Authorization") == nil
                    ? "this route needs an Authorization: Bearer <token> header"
                    : "the bearer token is not valid"
                throw APIError(status: 401, code: "unauthorized", message: message)
            }
            if entry.role == .agent {
                guard access.joinTokens else {
                    throw APIError(
                        status: 403,
                        code: "forbidden",
                        message:
                            "\(route) needs role \(access.role); token '\(entry.name)' is a join token (role agent), "
                            + "which can only register container instances"
                    )
                }
                return Authorization(principal: entry.name)
            }
            guard entry.role >= access.role else {
                throw APIError(
                    status: 403,
                    code: "forbidden",
                    message: "\(route) needs role \(access.role); token '\(entry.name)' has role \(entry.role)"
                )
            }
            return Authorization(principal: entry.name)
        }

        func authorizeAgent(
            _ agent: AgentPrincipal,
            _ access: Access,
            _ route: String
        ) throws(APIError)
            -> Authorization
        {
            switch access.agent {
            case nil:
                throw APIError(
                    status: 403,
                    code: "forbidden",
                    message:
                        "\(route) cannot be called with an agent credential; an agent may only heartbeat, report "
                        + "task states, and read its own instance, its tasks, their secrets and task definitions"
                )
            case .anyInstance?:
                break
            case .instance(let reference)?:
                let target =
                    reference.hasPrefix("arn:") ? String(reference.split(separator: "/").last ?? "") : reference
                guard target == agent.instanceID else {
                    throw APIError(
                        status: 403,
                        code: "forbidden",
                        message: "agent credential of instance \(agent.instanceID) cannot act for instance \(target)"
                    )
                }
            }
            return Authorization(principal: agent.name, agent: agent)
        }
    }

    static func clientToken(_ request: HTTPRequest) throws(APIError) -> String? {
        guard let token = request.header(clientTokenHeader) else { return nil }
        guard !token.isEmpty, token.utf8.count <= Command.maxTokenBytes else {
            throw .invalid(clientTokenHeader, "must be 1 to \(Command.maxTokenBytes) bytes")
        }
        return token
    }

    static func cas(_ query: [String: String]) throws(APIError) -> UInt64? {
        guard let raw = query["cas"] else { return nil }
        guard let version = UInt64(raw) else {
            throw .invalid("cas", "must be a version number (0 means: only if the parameter does not exist)")
        }
        return version
    }

    static func readOptions(_ query: [String: String], _ request: HTTPRequest) throws(APIError) -> ReadOptions {
        var options = ReadOptions()
        let consistency = query["consistency"] ?? request.header("X-Gantry-Consistency")
        if let consistency {
            guard let parsed = ReadOptions.Consistency(rawValue: consistency) else {
                throw .invalid("consistency", "must be linearizable or stale")
            }
            options.consistency = parsed
        }
        if let raw = query["index"] {
            guard let index = UInt64(raw) else { throw .invalid("index", "must be a log index (a whole number)") }
            options.waitIndex = index
            options.waitMilliseconds = ReadOptions.defaultWaitMilliseconds
        }
        if let raw = query["wait"] {
            guard options.waitIndex != nil else { throw .invalid("wait", "needs index= as well") }
            guard let milliseconds = parseDuration(raw), milliseconds <= ReadOptions.maxWaitMilliseconds else {
                throw .invalid("wait", "must be a duration such as 500ms, 30s or 2m, at most 5m")
            }
            options.waitMilliseconds = milliseconds
        }
        return options
    }

    /// Milliseconds in `500ms`, `30s`, `2m` (or a bare number of seconds).
    package static func parseDuration(_ text: String) -> Int? {
        let units: [(String, Int)] = [("ms", 1), ("s", 1000), ("m", 60_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let number = Int(text.dropLast(suffix.count)), number >= 0 else { return nil }
            let (product, overflow) = number.multipliedReportingOverflow(by: scale)
            return overflow ? nil : product
        }
        guard let seconds = Int(text), seconds >= 0, seconds < Int.max / 1000 else { return nil }
        return seconds * 1000
    }

    /// Splits a request target into its decoded path and query parameters.
    static func splitTarget(_ target: String) throws(APIError) -> (String, [String: String]) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let rawPath = parts.first, rawPath.hasPrefix("/") else {
            throw APIError(status: 400, code: "invalid_target", message: "the request target must start with '/'")
        }
        guard let path = percentDecoded(String(rawPath)) else {
            throw APIError(status: 400, code: "invalid_target", message: "the path has a malformed %-escape")
        }
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let key = percentDecoded(String(keyValue[0])),
                    let value = percentDecoded(keyValue.count == 2 ? String(keyValue[1]) : "")
                else {
                    throw APIError(status: 400, code: "invalid_target", message: "the query has a malformed %-escape")
                }
                query[key] = value
            }
        }
        return (path, query)
    }

    /// `text` with `%XX` escapes (and `+` in queries is left alone) decoded, or nil when malformed.
    static func percentDecoded(_ text: String) -> String? {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func notFound(_ method: String, _ path: String) -> APIError {
        APIError(status: 404, code: "not_found", message: "no route for \(method) \(path)")
    }

    static func methodNotAllowed(_ method: String, _ path: String, allowed: String) -> APIError {
        APIError(
            status: 405,
            code: "method_not_allowed",
            message: "\(method) is not allowed on \(path); use \(allowed)"
        )
    }
}
