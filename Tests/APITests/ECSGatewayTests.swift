import API
import HTTP
import Testing

@Suite("ECS face: operations become REST requests, answers become ECS's")
struct ECSGatewayTests {
    static let context = ECSGateway.Context(arnPrefix: "arn:aws:ecs:us-east-1:123456789012")

    static func call(_ operation: String, _ body: String) -> HTTPRequest {
        HTTPRequest(
            method: "POST",
            target: "/",
            headers: [
                HTTPHeader(name: "X-Amz-Target", value: ECSGateway.targetPrefix + operation),
                HTTPHeader(name: "Content-Type", value: ECSGateway.contentType),
            ],
            body: Array(body.utf8)
        )
    }

    static func plan(_ operation: String, _ body: String) throws -> ECSGateway.Plan {
        try ECSGateway.plan(call(operation, body), principal: ("ci", .operator), context: context).get()
    }

    static func rest(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(status: status, body: Array(body.utf8))
    }

    static func json(_ response: HTTPResponse) -> ECSJSON? { ECSJSON.parse(response.body) }

    @Test("an ECS call is told from a REST one by POST / and X-Amz-Target")
    func recognizes() {
        #expect(ECSGateway.isECS(Self.call("ListClusters", "{}")))
        #expect(!ECSGateway.isECS(HTTPRequest(method: "POST", target: "/v1/clusters")))
        #expect(
            !ECSGateway.isECS(
                HTTPRequest(method: "GET", target: "/", headers: [HTTPHeader(name: "X-Amz-Target", value: "x")])
            )
        )
    }

    @Test("CreateCluster: one REST write, the caller carried, cluster default when unnamed")
    func createCluster() throws {
        let plan = try Self.plan("CreateCluster", "{}")
        #expect(plan.requests.count == 1)
        let request = try #require(plan.requests.first)
        #expect(request.method == "POST" && request.target == "/v1/clusters")
        #expect(ECSJSON.parse(request.body)?["clusterName"] == .string("default"))
        #expect(ECSGateway.principal(of: request)?.role == .operator)
        #expect(ECSGateway.principal(of: request)?.name == "ci")
        let answer = plan.render([
            Self.rest(200, #"{"cluster":{"clusterName":"default","createdAt":1700000000123,"status":"ACTIVE"}}"#)
        ])
        #expect(answer.status == 200)
        #expect(answer.headers.contains { $0.name == "Content-Type" && $0.value == ECSGateway.contentType })
        #expect(Self.json(answer)?["cluster"]?["createdAt"] == .double(1_700_000_000.123), "epoch seconds")
    }

    @Test("references may be names or ARNs; paths are built from the names")
    func references() throws {
        let plan = try Self.plan(
            "UpdateService",
            #"{"cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/prod","#
                + #""service":"arn:aws:ecs:us-east-1:123456789012:service/prod/web","desiredCount":3}"#
        )
        #expect(plan.requests.first?.target == "/v1/clusters/prod/services/web")
        #expect(ECSJSON.parse(plan.requests[0].body) == .object(["desiredCount": .int(3)]))
        let definition = try Self.plan(
            "DescribeTaskDefinition",
            #"{"taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:4"}"#
        )
        #expect(definition.requests.first?.target == "/v1/task-definitions/web:4")
    }

    @Test("DescribeServices: found ones listed, missing ones as MISSING failures; a missing cluster is an error")
    func describeBatch() throws {
        let plan = try Self.plan("DescribeServices", #"{"cluster":"prod","services":["web","gone"]}"#)
        #expect(plan.requests.map(\.target) == ["/v1/clusters/prod/services/web", "/v1/clusters/prod/services/gone"])
        let answer = plan.render([
            Self.rest(200, #"{"service":{"serviceName":"web"}}"#),
            Self.rest(404, #"{"error":{"code":"service_not_found","message":"service gone not found"}}"#),
        ])
        let json = try #require(Self.json(answer))
        #expect(json["services"]?.array?.count == 1)
        #expect(
            json["failures"]
                == .array([
                    .object([
                        "arn": .string("arn:aws:ecs:us-east-1:123456789012:service/prod/gone"),
                        "reason": .string("MISSING"),
                    ])
                ])
        )
        let noCluster = plan.render([
            Self.rest(404, #"{"error":{"code":"cluster_not_found","message":"cluster prod not found"}}"#),
            Self.rest(404, #"{"error":{"code":"cluster_not_found","message":"cluster prod not found"}}"#),
        ])
        #expect(noCluster.status == 400)
        #expect(Self.json(noCluster)?["__type"] == .string("ClusterNotFoundException"))
    }

    @Test("REST refusals become ECS's exceptions, with the field and the rule")
    func errors() throws {
        let plan = try Self.plan("DeleteCluster", #"{"cluster":"prod"}"#)
        let cases: [(Int, String, String)] = [
            (404, "cluster_not_found", "ClusterNotFoundException"),
            (409, "cluster_contains_services", "ClusterContainsServicesException"),
            (409, "cluster_contains_tasks", "ClusterContainsTasksException"),
            (400, "invalid_field", "InvalidParameterException"),
            (409, "task_definition_active", "ClientException"),
            (403, "forbidden", "AccessDeniedException"),
        ]
        for (status, code, type) in cases {
            let answer = plan.render([
                Self.rest(status, #"{"error":{"code":"\#(code)","message":"must be 1-10","field":"desiredCount"}}"#)
            ])
            #expect(answer.status == 400)
            #expect(Self.json(answer)?["__type"] == .string(type), "\(code)")
            #expect(Self.json(answer)?["message"] == .string("desiredCount: must be 1-10"))
        }
        let unavailable = plan.render([Self.rest(503, #"{"error":{"code":"unavailable","message":"no leader"}}"#)])
        #expect(unavailable.status == 500 && Self.json(unavailable)?["__type"] == .string("ServerException"))
    }

    @Test("bad calls are refused before any REST request: unknown operation, body, types, bounds")
    func refusals() {
        func error(_ operation: String, _ body: String) -> ECSError? {
            if case .failure(let error) = ECSGateway.plan(
                Self.call(operation, body),
                principal: ("ci", .operator),
                context: Self.context
            ) {
                return error
            }
            return nil
        }
        #expect(error("CreateCapacityProvider", "{}")?.type == "UnsupportedFeatureException")
        #expect(error("CreateCapacityProvider", "{}")?.message.contains("CreateCapacityProvider") == true)
        #expect(error("ListClusters", "[1]")?.type == "SerializationException")
        #expect(error("ListClusters", #"{"maxResults":500}"#)?.message == "maxResults: must be 1 to 100")
        #expect(error("DescribeServices", #"{"services":[]}"#)?.message == "services: must name at least one")
        #expect(error("UpdateService", #"{"service":7}"#)?.message == "service: must be a string")
        #expect(error("StopTask", "{}")?.message == "task: is required")
        var wrongTarget = Self.call("ListClusters", "{}")
        wrongTarget.headers[0].value = "Other.ListClusters"
        if case .failure(let failure) = ECSGateway.plan(
            wrongTarget,
            principal: ("ci", .operator),
            context: Self.context
        ) {
            #expect(failure.type == "UnknownOperationException")
        } else {
            Issue.record("a wrong target prefix was accepted")
        }
    }

    @Test("service deployments: ECS's ARNs and statuses from the service's deployments; stop is a rollback")
    func serviceDeployments() throws {
        let list = try Self.plan("ListServiceDeployments", #"{"cluster":"prod","service":"web"}"#)
        #expect(list.requests.map(\.target) == ["/v1/clusters/prod/services/web"])
        let service =
            #"{"service":{"serviceName":"web","serviceArn":"arn:s","clusterArn":"arn:c","deployments":["#
            + #"{"id":"ecs-svc/9","taskDefinition":"arn:td:2","rolloutState":"IN_PROGRESS","isRollback":true,"#
            + #""createdAt":2000,"rolloutStateReason":"rolling back"}],"deploymentHistory":[{"id":"ecs-svc/4","#
            + #""taskDefinition":"arn:td:1","rolloutState":"COMPLETED","createdAt":1000,"finishedAt":1500}]}}"#
        let answer = try #require(Self.json(list.render([Self.rest(200, service)])))
        let briefs = try #require(answer["serviceDeployments"]?.array)
        #expect(briefs.map { $0["status"]?.string } == ["ROLLBACK_IN_PROGRESS", "SUCCESSFUL"], "newest first")
        #expect(
            briefs.first?["serviceDeploymentArn"]
                == .string("arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/9")
        )
        #expect(briefs.last?["finishedAt"] == .double(1.5))
        let stop = try Self.plan(
            "StopServiceDeployment",
            #"{"serviceDeploymentArn":"arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/9"}"#
        )
        #expect(stop.requests.map(\.target) == ["/v1/clusters/prod/services/web/rollback"])
        if case .failure(let error) = ECSGateway.plan(
            Self.call(
                "StopServiceDeployment",
                #"{"serviceDeploymentArn":"arn:x:service-deployment/p/w/1","stopType":"ABORT"}"#
            ),
            principal: ("ci", .operator),
            context: Self.context
        ) {
            #expect(error.message.hasPrefix("stopType: "))
        } else {
            Issue.record("ABORT was accepted")
        }
    }

    @Test("tags and account settings go through the REST face's tags routes and parameter store")
    func tagsAndSettings() throws {
        let tag = try Self.plan(
            "TagResource",
            #"{"resourceArn":"arn:aws:ecs:us-east-1:1:cluster/p","tags":[{"key":"a"}]}"#
        )
        #expect(tag.requests.map { "\($0.method) \($0.target)" } == ["PUT /v1/tags"])
        let list = try Self.plan("ListTagsForResource", #"{"resourceArn":"arn:aws:ecs:us-east-1:1:cluster/p"}"#)
        #expect(list.requests.first?.target == "/v1/tags?resourceArn=arn:aws:ecs:us-east-1:1:cluster%2Fp")
        let put = try Self.plan("PutAccountSetting", #"{"name":"containerInsights","value":"enabled"}"#)
        #expect(
            put.requests.map { "\($0.method) \($0.target)" } == [
                "PUT /v1/parameters/ecs-account-settings/containerInsights"
            ]
        )
        let answer = Self.json(put.render([Self.rest(200, #"{"name":"x","version":1}"#)]))
        #expect(answer?["setting"]?["principalArn"] == .string("arn:aws:iam::123456789012:root"))
    }

    @Test("a client may not name a caller: only the controllers' own requests carry the principal header")
    func principalHeader() {
        let forged = HTTPRequest(
            method: "GET",
            target: "/v1/clusters",
            headers: [HTTPHeader(name: ECSGateway.principalHeader, value: "admin mallory")]
        )
        #expect(ECSGateway.principal(of: forged)?.role == .admin, "parsed, so the API must refuse it from clients")
        if case .success(let request) = Router.route(forged, tokens: TokenTable([])) {
            Issue.record("the REST router accepted a request with no token: \(request.route)")
        }
    }
}

@Suite("ECS face: who may call")
struct ECSAuthenticationTests {
    static let tokens = TokenTable([("admin", .admin, "admin-token-0123456789")])

    @Test("an unsigned call is refused, unless anonymous reads are allowed: then it reads as readonly, never writes")
    func anonymous() {
        let unsigned = ECSGatewayTests.call("ListClusters", "{}")
        switch ECSAuthentication.authenticate(
            unsigned,
            tokens: Self.tokens,
            now: 1_795_600_000,
            region: "us-east-1",
            allowAnonymousRead: false
        ) {
        case .success(let caller): Issue.record("an unsigned call was let in as \(caller.name)")
        case .failure(let error): #expect(error.type == "MissingAuthenticationTokenException" && error.status == 400)
        }
        switch ECSAuthentication.authenticate(
            unsigned,
            tokens: Self.tokens,
            now: 1_795_600_000,
            region: "us-east-1",
            allowAnonymousRead: true
        ) {
        case .success(let caller):
            #expect(caller.role == .readonly && caller.name == "anonymous")
            // As readonly, a write planned for it is refused by the REST face's roles.
            let plan = try? ECSGateway.plan(
                ECSGatewayTests.call("CreateCluster", #"{"clusterName":"x"}"#),
                principal: caller,
                context: ECSGatewayTests.context
            ).get()
            if let request = plan?.requests.first,
                case .failure(let refusal) = Router.route(request, tokens: Self.tokens, principal: caller)
            {
                #expect(refusal.status == 403)
            } else {
                Issue.record("an anonymous write was routed")
            }
        case .failure(let error): Issue.record("anonymous read refused: \(error.message)")
        }
        // A bearer token is not a signature.
        var bearer = unsigned
        bearer.headers.append(HTTPHeader(name: "Authorization", value: "Bearer admin-token-0123456789"))
        if case .success = ECSAuthentication.authenticate(
            bearer,
            tokens: Self.tokens,
            now: 1_795_600_000,
            region: "us-east-1",
            allowAnonymousRead: true
        ) {
            Issue.record("a bearer token was taken for a SigV4 signature")
        }
    }
}
