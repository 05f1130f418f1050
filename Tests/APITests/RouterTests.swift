import API
import ClusterState
import HTTP
import Testing

let table = TokenTable([
    (name: "ro", role: .readonly, token: "readonly-token-0001"),
    (name: "op", role: .operator, token: "operator-token-0001"),
    (name: "adm", role: .admin, token: "admin-token-000001"),
    (name: "join", role: .agent, token: "join-token-0000001"),
])

func request(
    _ method: String,
    _ target: String,
    token: String? = nil,
    body: String = "",
    headers: [HTTPHeader] = []
)
    -> HTTPRequest
{
    var all = headers
    if let token { all.append(HTTPHeader(name: "Authorization", value: "Bearer \(token)")) }
    return HTTPRequest(method: method, target: target, version: .http1_1, headers: all, body: Array(body.utf8))
}

func tokenFor(_ role: Role) -> String {
    switch role {
    case .agent: return "join-token-0000001"
    case .readonly: return "readonly-token-0001"
    case .operator: return "operator-token-0001"
    case .admin: return "admin-token-000001"
    }
}

/// One route of every family with the role it needs.
struct RouteCase: CustomStringConvertible, Sendable {
    var method: String
    var target: String
    var body: String
    var role: Role
    var description: String { "\(method) \(target)" }
}

let routeCases: [RouteCase] = [
    RouteCase(method: "GET", target: "/metrics", body: "", role: .readonly),
    RouteCase(method: "GET", target: "/v1/status", body: "", role: .readonly),
    RouteCase(method: "GET", target: "/v1/operator/raft", body: "", role: .readonly),
    RouteCase(
        method: "POST",
        target: "/v1/operator/raft/members",
        body: #"{"id":4,"address":"127.0.0.1:7004"}"#,
        role: .admin
    ),
    RouteCase(method: "DELETE", target: "/v1/operator/raft/members/4", body: "", role: .admin),
    RouteCase(method: "POST", target: "/v1/operator/raft/transfer", body: #"{"to":2}"#, role: .admin),
    RouteCase(method: "GET", target: "/v1/operator/snapshot", body: "", role: .admin),
    RouteCase(method: "GET", target: "/v1/parameters?prefix=app/", body: "", role: .readonly),
    RouteCase(method: "GET", target: "/v1/parameters/app/db", body: "", role: .readonly),
    RouteCase(method: "PUT", target: "/v1/parameters/app/db", body: #"{"value":"x"}"#, role: .operator),
    RouteCase(method: "DELETE", target: "/v1/parameters/app/db", body: "", role: .operator),
]

@Suite("Router: authentication and roles")
struct AuthTests {
    @Test("health routes are open", arguments: ["/healthz", "/readyz"])
    func healthIsOpen(path: String) throws {
        let routed = try Router.route(request("GET", path), tokens: table).get()
        #expect(routed.principal == nil)
    }

    @Test("no token is 401 on every protected route", arguments: routeCases)
    func missingToken(route: RouteCase) {
        let result = Router.route(request(route.method, route.target, body: route.body), tokens: table)
        guard case .failure(let error) = result else {
            Issue.record("\(route) accepted without a token")
            return
        }
        #expect(error.status == 401)
        #expect(error.message.contains("Authorization"))
    }

    @Test("a wrong token is 401 on every protected route", arguments: routeCases)
    func wrongToken(route: RouteCase) {
        for token in ["readonly-token-0002", "readonly-token-000", "", "admin-token-000001x"] {
            let result = Router.route(
                request(route.method, route.target, token: token, body: route.body),
                tokens: table
            )
            guard case .failure(let error) = result else {
                Issue.record("\(route) accepted token '\(token)'")
                continue
            }
            #expect(error.status == 401)
        }
    }

    @Test("each role is allowed exactly the routes at or below it", arguments: routeCases)
    func roles(route: RouteCase) {
        for role in Role.allCases {
            let result = Router.route(
                request(route.method, route.target, token: tokenFor(role), body: route.body),
                tokens: table
            )
            switch result {
            case .success(let routed):
                #expect(role >= route.role, "\(role) reached \(route)")
                #expect(routed.principal != nil)
            case .failure(let error):
                #expect(role < route.role, "\(role) refused on \(route): \(error.message)")
                #expect(error.status == 403)
                #expect(error.message.contains("needs role \(route.role)"))
            }
        }
    }

    @Test("only operator and admin may see secret values")
    func revealSecret() throws {
        for role in Role.allCases where role != .agent {
            let routed = try Router.route(request("GET", "/v1/parameters/k", token: tokenFor(role)), tokens: table)
                .get()
            #expect(routed.operation == .getParameter(name: "k", revealSecret: role >= .operator))
        }
    }

    @Test("a non-Bearer Authorization header is 401")
    func notBearer() {
        let bad = request("GET", "/v1/status", headers: [HTTPHeader(name: "Authorization", value: "Basic abc")])
        guard case .failure(let error) = Router.route(bad, tokens: table) else {
            Issue.record("Basic auth accepted")
            return
        }
        #expect(error.status == 401)
    }

    @Test("the tokens file: valid, and each broken rule named")
    func tokensFile() throws {
        let valid = #"{"tokens":[{"name":"a","role":"admin","token":"0123456789abcdef"}]}"#
        let parsed = try TokenTable(json: Array(valid.utf8))
        #expect(parsed.authenticate(authorization: "Bearer 0123456789abcdef")?.role == .admin)
        let broken: [(String, String)] = [
            ("not json", "not valid JSON"),
            (#"{"tokens":[]}"#, "non-empty"),
            (#"{"tokens":[{"role":"admin","token":"0123456789abcdef"}]}"#, "tokens[0].name"),
            (#"{"tokens":[{"name":"a","role":"root","token":"0123456789abcdef"}]}"#, "tokens[0].role"),
            (#"{"tokens":[{"name":"a","role":"admin","token":"short"}]}"#, "at least 16"),
            (
                #"{"tokens":[{"name":"a","role":"admin","token":"0123456789abcdef"},{"name":"b","role":"readonly","token":"0123456789abcdef"}]}"#,
                "repeats"
            ),
        ]
        for (text, expected) in broken {
            #expect(throws: ConfigurationError.self) { try TokenTable(json: Array(text.utf8)) }
            do {
                _ = try TokenTable(json: Array(text.utf8))
            } catch {
                #expect(error.message.contains(expected), "\(error.message) lacks \(expected)")
            }
        }
    }

    @Test("constant-time comparison agrees with ==")
    func constantTime() {
        let samples: [[UInt8]] = [[], [1], [1, 2], [1, 3], [2, 2, 2]]
        for a in samples {
            for b in samples {
                #expect(constantTimeEquals(a, b) == (a == b))
            }
        }
    }
}

@Suite("Router: validation")
struct ValidationTests {
    let admin = "admin-token-000001"

    func failure(_ req: HTTPRequest) -> APIError? {
        if case .failure(let error) = Router.route(req, tokens: table) { return error }
        return nil
    }

    @Test("parameter writes route with token, cas and value")
    func putRoute() throws {
        let req = request(
            "PUT",
            "/v1/parameters/app/db?cas=3",
            token: admin,
            body: #"{"value":"v","secret":true}"#,
            headers: [HTTPHeader(name: Router.clientTokenHeader, value: "tok-1")]
        )
        let routed = try Router.route(req, tokens: table).get()
        let write = ParameterWrite(name: "app/db", value: "v", secret: true, expectedVersion: 3)
        #expect(routed.operation == .write(clientToken: "tok-1", action: .putParameter(write)))
        #expect(routed.route == "PUT /v1/parameters/{name}")
    }

    @Test("bad input is a 400 naming the field and the rule")
    func badInput() {
        let big = String(repeating: "x", count: ParameterRules.maxValueBytes + 1)
        let cases: [(HTTPRequest, String)] = [
            (request("PUT", "/v1/parameters/a//b", token: admin, body: #"{"value":"v"}"#), "name"),
            (request("PUT", "/v1/parameters/a", token: admin, body: "{\"value\":\"\(big)\"}"), "value"),
            (request("PUT", "/v1/parameters/a", token: admin, body: #"{"secret":true}"#), "value"),
            (request("PUT", "/v1/parameters/a?cas=x", token: admin, body: #"{"value":"v"}"#), "cas"),
            (request("GET", "/v1/parameters/a?consistency=eventual", token: admin), "consistency"),
            (request("GET", "/v1/parameters/a?index=x", token: admin), "index"),
            (request("GET", "/v1/parameters/a?wait=5s", token: admin), "wait"),
            (request("GET", "/v1/parameters/a?index=3&wait=6m", token: admin), "wait"),
            (request("GET", "/v1/parameters?prefix=a%20b", token: admin), "prefix"),
            (request("POST", "/v1/operator/raft/members", token: admin, body: #"{"id":0,"address":"h:1"}"#), "id"),
            (
                request("POST", "/v1/operator/raft/members", token: admin, body: #"{"id":4,"address":"nope"}"#),
                "address"
            ),
            (request("DELETE", "/v1/operator/raft/members/x", token: admin), "id"),
            (
                request(
                    "PUT",
                    "/v1/parameters/a",
                    token: admin,
                    body: #"{"value":"v"}"#,
                    headers: [HTTPHeader(name: Router.clientTokenHeader, value: String(repeating: "t", count: 129))]
                ), Router.clientTokenHeader
            ),
        ]
        for (req, field) in cases {
            guard let error = failure(req) else {
                Issue.record("\(req.method) \(req.target) accepted")
                continue
            }
            #expect(error.status == 400, "\(req.target): \(error.message)")
            #expect(error.field == field, "\(req.target): field \(error.field ?? "nil") != \(field)")
        }
    }

    @Test("a body that is not JSON is a 400 showing the expected shape")
    func invalidJSON() {
        let error = failure(request("PUT", "/v1/parameters/a", token: admin, body: "value=v"))
        #expect(error?.status == 400)
        #expect(error?.code == "invalid_json")
        #expect(error?.message.contains("\"value\"") == true)
    }

    @Test("unknown routes are 404 and wrong methods 405")
    func notFound() {
        #expect(failure(request("GET", "/v2/status", token: admin))?.status == 404)
        #expect(failure(request("GET", "/nothing"))?.status == 404)
        #expect(failure(request("POST", "/v1/parameters", token: admin))?.status == 405)
        #expect(failure(request("PATCH", "/v1/parameters/a", token: admin))?.status == 405)
    }

    @Test("read options: stale, blocking index with default and explicit wait")
    func readOptions() throws {
        let stale = try Router.route(request("GET", "/v1/parameters/a?consistency=stale", token: admin), tokens: table)
            .get()
        #expect(stale.read.consistency == .stale)
        let header = request(
            "GET",
            "/v1/parameters/a",
            token: admin,
            headers: [HTTPHeader(name: "X-Gantry-Consistency", value: "stale")]
        )
        #expect(try Router.route(header, tokens: table).get().read.consistency == .stale)
        let blocking = try Router.route(request("GET", "/v1/parameters?index=7", token: admin), tokens: table).get()
        #expect(blocking.read.waitIndex == 7)
        #expect(blocking.read.waitMilliseconds == ReadOptions.defaultWaitMilliseconds)
        let waited = try Router.route(request("GET", "/v1/parameters?index=7&wait=250ms", token: admin), tokens: table)
            .get()
        #expect(waited.read.waitMilliseconds == 250)
        #expect(
            try Router.route(request("GET", "/v1/parameters/a%2Fb", token: admin), tokens: table).get().operation
                == .getParameter(name: "a/b", revealSecret: true)
        )
    }

    @Test("an escaped '/' inside a path parameter does not change the route")
    func escapedSlash() throws {
        let routed = try Router.route(request("GET", "/v1/clusters/a%2Fattributes", token: admin), tokens: table).get()
        #expect(routed.operation == .domainRead(.describeCluster("a/attributes")))
        #expect(routed.route == "GET /v1/clusters/{cluster}")
    }

    @Test("durations")
    func durations() {
        #expect(Router.parseDuration("500ms") == 500)
        #expect(Router.parseDuration("30s") == 30_000)
        #expect(Router.parseDuration("2m") == 120_000)
        #expect(Router.parseDuration("7") == 7000)
        #expect(Router.parseDuration("-1s") == nil)
        #expect(Router.parseDuration("abc") == nil)
        #expect(Router.parseDuration("99999999999999999999m") == nil)
    }
}

@Suite("Render")
struct RenderTests {
    @Test("a version conflict is a 409 with the current version")
    func conflict() {
        let response = Render.commandResult(.versionConflict(name: "a", expected: 1, actual: 4), index: 9)
        #expect(response.status == 409)
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(body.contains("\"currentVersion\":\"4\""))
        #expect(body.contains("\"field\":\"cas\""))
    }

    @Test("lists hide secret values; get of a secret needs reveal")
    func secrets() {
        let secret = Parameter(
            name: "s",
            value: "hunter2",
            secret: true,
            version: 1,
            created: 0,
            modified: 0,
            modifiedIndex: 1
        )
        let plain = Parameter(
            name: "p",
            value: "visible",
            secret: false,
            version: 1,
            created: 0,
            modified: 0,
            modifiedIndex: 2
        )
        let list = String(decoding: Render.parameterList([plain, secret]).body, as: UTF8.self)
        #expect(!list.contains("hunter2"))
        #expect(list.contains("visible"))
        #expect(Render.parameter(secret, name: "s", revealSecret: false).status == 403)
        let revealed = Render.parameter(secret, name: "s", revealSecret: true)
        #expect(revealed.status == 200)
        #expect(String(decoding: revealed.body, as: UTF8.self).contains("hunter2"))
        #expect(Render.parameter(nil, name: "x", revealSecret: true).status == 404)
    }

    @Test("a 503 carries Retry-After and a JSON error")
    func unavailable() {
        let response = APIError.unavailable("no leader").response
        #expect(response.status == 503)
        #expect(response.headers.contains(HTTPHeader(name: "Retry-After", value: "1")))
        #expect(
            String(decoding: response.body, as: UTF8.self) == #"{"error":{"code":"unavailable","message":"no leader"}}"#
        )
    }
}
