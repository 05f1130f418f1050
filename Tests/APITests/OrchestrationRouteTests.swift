import API
import ClusterState
import Foundation
import HTTP
import Testing

/// The orchestration routes: service rollback, placement explanation and agents' task state reports.
@Suite("Router and render: rollback, explain, task states")
struct OrchestrationRouteTests {
    let admin = "admin-token-000001"
    let instanceID = "0123456789abcdef0123456789abcdef"
    let taskID = "fedcba9876543210fedcba9876543210"

    func routed(_ req: HTTPRequest) throws -> APIRequest {
        try Router.route(req, tokens: table).get()
    }

    func failure(_ req: HTTPRequest) -> APIError? {
        if case .failure(let error) = Router.route(req, tokens: table) { return error }
        return nil
    }

    @Test("rollback routes with its target, none for {} or no body, as an operator write")
    func rollbackRoute() throws {
        let target = "/v1/clusters/prod/services/web/rollback"
        let tokenHeader = [HTTPHeader(name: Router.clientTokenHeader, value: "tok-9")]
        let named = try routed(request("POST", target, token: admin, body: #"{"to":"3"}"#, headers: tokenHeader))
        #expect(
            named.operation
                == .domainWrite(
                    clientToken: "tok-9",
                    command: .rollbackService(cluster: "prod", service: "web", to: "3")
                )
        )
        #expect(named.route == "POST /v1/clusters/{cluster}/services/{service}/rollback")
        for body in ["{}", "", #"{"to":null}"#] {
            let last = try routed(request("POST", target, token: admin, body: body))
            #expect(
                last.operation
                    == .domainWrite(
                        clientToken: nil,
                        command: .rollbackService(cluster: "prod", service: "web", to: nil)
                    )
            )
        }
        let arn = "arn:gantry:ecs:local:0:task-definition/web:2"
        let byARN = try routed(request("POST", target, token: admin, body: "{\"to\":\"\(arn)\"}"))
        #expect(
            byARN.operation
                == .domainWrite(clientToken: nil, command: .rollbackService(cluster: "prod", service: "web", to: arn))
        )
        // An escaped name is decoded like every other path parameter.
        let escaped = try routed(request("POST", "/v1/clusters/prod/services/w%65b/rollback", token: admin))
        #expect(
            escaped.operation
                == .domainWrite(clientToken: nil, command: .rollbackService(cluster: "prod", service: "web", to: nil))
        )
        #expect(failure(request("POST", target, token: "operator-token-0001")) == nil)
        #expect(failure(request("POST", target, token: "readonly-token-0001"))?.status == 403)
        #expect(failure(request("POST", target))?.status == 401)
    }

    @Test(
        "a bad rollback body is a 400 naming `to`",
        arguments: [
            #"{"to":""}"#, #"{"to":3}"#, #"{"to":"0"}"#, #"{"to":["1"]}"#,
            "{\"to\":\"\(String(repeating: "x", count: 256))\"}",
        ]
    )
    func badRollback(body: String) {
        let error = failure(request("POST", "/v1/clusters/prod/services/web/rollback", token: admin, body: body))
        #expect(error?.status == 400)
        #expect(error?.field == "to", "\(body): \(error?.message ?? "accepted")")
    }

    @Test("a rollback body that is not a JSON object is invalid_json")
    func rollbackNotJSON() {
        for body in ["[]", "to=3", "\"3\""] {
            let error = failure(request("POST", "/v1/clusters/prod/services/web/rollback", token: admin, body: body))
            #expect(error?.status == 400)
            #expect(error?.code == "invalid_json", "\(body)")
        }
    }

    @Test("explain is a readonly domain read honouring the read options")
    func explainRoute() throws {
        let target = "/v1/clusters/prod/services/web/explain?consistency=stale"
        let explained = try routed(request("GET", target, token: "readonly-token-0001"))
        #expect(explained.operation == .domainRead(.explainService(cluster: "prod", service: "web")))
        #expect(explained.route == "GET /v1/clusters/{cluster}/services/{service}/explain")
        #expect(explained.read.consistency == .stale)
        #expect(
            failure(request("GET", "/v1/clusters/prod/services/web/explain?consistency=x", token: admin))?.field
                == "consistency"
        )
        #expect(failure(request("PUT", "/v1/clusters/prod/services/web/explain", token: admin))?.status == 404)
    }

    @Test("task states route each report, as an operator write")
    func taskStatesRoute() throws {
        let target = "/v1/clusters/prod/container-instances/\(instanceID)/task-states"
        let body = """
            {"reports":[{"task":"\(taskID)","epoch":2,"status":"RUNNING","healthStatus":"HEALTHY"},
            {"task":"\(taskID)","epoch":3,"status":"STOPPED","exitCode":137,"reason":"OOM"}]}
            """
        let reported = try routed(request("POST", target, token: "operator-token-0001", body: body))
        let reports = [
            TaskStateReport(task: taskID, epoch: 2, status: "RUNNING", healthStatus: "HEALTHY"),
            TaskStateReport(task: taskID, epoch: 3, status: "STOPPED", exitCode: 137, reason: "OOM"),
        ]
        #expect(
            reported.operation
                == .domainWrite(
                    clientToken: nil,
                    command: .reportTaskStates(cluster: "prod", instance: instanceID, reports: reports)
                )
        )
        #expect(reported.route == "POST /v1/clusters/{cluster}/container-instances/{id}/task-states")
        #expect(failure(request("POST", target, token: "readonly-token-0001", body: body))?.status == 403)
    }

    @Test("a bad task states body is a 400 naming the report's field")
    func badTaskStates() {
        let target = "/v1/clusters/prod/container-instances/\(instanceID)/task-states"
        let good = "{\"task\":\"\(taskID)\",\"epoch\":1,\"status\":\"RUNNING\"}"
        let many = "{\"reports\":[" + Array(repeating: good, count: 1001).joined(separator: ",") + "]}"
        let cases: [(String, String)] = [
            ("{}", "reports"),
            (#"{"reports":[]}"#, "reports"),
            (many, "reports"),
            (#"{"reports":[{"epoch":1,"status":"RUNNING"}]}"#, "reports[0].task"),
            ("{\"reports\":[\(good),{\"task\":\"\(taskID)\",\"status\":\"RUNNING\"}]}", "reports[1].epoch"),
            ("{\"reports\":[{\"task\":\"\(taskID)\",\"epoch\":1}]}", "reports[0].status"),
            (#"{"reports":[{"task":"","epoch":1,"status":"RUNNING"}]}"#, "reports[0].task"),
            ("{\"reports\":[\(good),{\"task\":\"\(taskID)\",\"epoch\":0,\"status\":\"RUNNING\"}]}", "reports[1].epoch"),
            ("{\"reports\":[{\"task\":\"\(taskID)\",\"epoch\":1,\"status\":\"DONE\"}]}", "reports[0].status"),
            (
                "{\"reports\":[{\"task\":\"\(taskID)\",\"epoch\":1,\"status\":\"RUNNING\",\"healthStatus\":\"OK\"}]}",
                "reports[0].healthStatus"
            ),
            (
                "{\"reports\":[{\"task\":\"\(taskID)\",\"epoch\":1,\"status\":\"STOPPED\",\"exitCode\":300}]}",
                "reports[0].exitCode"
            ),
            (
                "{\"reports\":[{\"task\":\"\(taskID)\",\"epoch\":1,\"status\":\"STOPPED\",\"reason\":\"\(String(repeating: "r", count: 256))\"}]}",
                "reports[0].reason"
            ),
        ]
        for (body, field) in cases {
            let error = failure(request("POST", target, token: admin, body: body))
            #expect(error?.status == 400, "\(body.prefix(80)): \(error?.message ?? "accepted")")
            #expect(error?.field == field, "\(body.prefix(80)): field \(error?.field ?? "nil") != \(field)")
        }
        #expect(failure(request("POST", target, token: admin, body: #"{"reports":"all"}"#))?.code == "invalid_json")
    }

    /// A cluster `prod` with a 2-instance fleet (one too small for the service's task) and service `web` of `web:1`.
    func smallDomain() -> Domain {
        var domain = Domain()
        let context = Domain.Context(time: 1_700_000_000_000, arnPrefix: "arn:gantry:ecs:local:0", index: 2)
        _ = domain.apply(.createCluster(name: "prod", tags: []), context: context)
        for (id, host, memory) in [(instanceID, "big", 4096), ("00000000000000000000000000000001", "tiny", 64)] {
            let registration = InstanceRegistration(
                id: id,
                hostname: host,
                cpu: 2048,
                memory: memory,
                agentVersion: "0.1.0"
            )
            _ = domain.apply(.registerContainerInstance(cluster: "prod", registration: registration), context: context)
        }
        var container = ContainerDefinition(name: "web", image: "nginx:1")
        container.memory = 512
        _ = domain.apply(
            .registerTaskDefinition(spec: TaskDefinitionSpec(family: "web", containerDefinitions: [container])),
            context: context
        )
        _ = domain.apply(
            .createService(
                cluster: "prod",
                request: ServiceRequest(serviceName: "web", taskDefinition: "web:1", desiredCount: 1)
            ),
            context: Domain.Context(time: 1_700_000_000_001, arnPrefix: context.arnPrefix, index: 10)
        )
        return domain
    }

    @Test("explain renders each instance's verdict")
    func explainRender() throws {
        let domain = smallDomain()
        let response = DomainRender.query(.explainService(cluster: "prod", service: "web"), in: domain)
        #expect(response.status == 200)
        struct Body: Decodable {
            struct Explanation: Decodable {
                struct Verdict: Decodable {
                    var id: String
                    var hostname: String
                    var verdict: String
                    var wouldPlace: Int
                }
                var service: String
                var summary: String
                var instances: [Verdict]
            }
            var explanation: Explanation
        }
        let body = try JSONDecoder().decode(Body.self, from: Data(response.body)).explanation
        #expect(body.service == "web")
        #expect(body.summary.contains("prod/web"))
        let verdicts = Dictionary(uniqueKeysWithValues: body.instances.map { ($0.hostname, $0) })
        #expect(verdicts["big"]?.id == instanceID)
        #expect(verdicts["big"]?.verdict == "fits")
        #expect(verdicts["big"]?.wouldPlace == 1)
        #expect(verdicts["tiny"]?.verdict.contains("memory") == true, "\(verdicts["tiny"]?.verdict ?? "none")")
        #expect(verdicts["tiny"]?.wouldPlace == 0)
    }

    @Test("explain, rollback and task states of what does not exist are 404s")
    func notFound() throws {
        var domain = smallDomain()
        func code(_ response: HTTPResponse) -> String? {
            struct Body: Decodable {
                struct Inner: Decodable { var code: String }
                var error: Inner
            }
            return try? JSONDecoder().decode(Body.self, from: Data(response.body)).error.code
        }
        let missing = DomainRender.query(.explainService(cluster: "prod", service: "api"), in: domain)
        #expect(missing.status == 404)
        #expect(code(missing) == "service_not_found")
        let noCluster = DomainRender.query(.explainService(cluster: "dev", service: "web"), in: domain)
        #expect(noCluster.status == 404)
        #expect(code(noCluster) == "cluster_not_found")
        let context = Domain.Context(time: 1_700_000_000_002, arnPrefix: "arn:gantry:ecs:local:0", index: 11)
        let rollback = domain.apply(.rollbackService(cluster: "prod", service: "api", to: nil), context: context)
        #expect(DomainRender.result(rollback, index: 11).status == 404)
        let revision = domain.apply(.rollbackService(cluster: "prod", service: "web", to: "7"), context: context)
        #expect(DomainRender.result(revision, index: 11).status == 404)
        let report = TaskStateReport(task: taskID, epoch: 1, status: "RUNNING")
        let unknownInstance = domain.apply(
            .reportTaskStates(cluster: "prod", instance: "ffffffffffffffffffffffffffffffff", reports: [report]),
            context: context
        )
        #expect(DomainRender.result(unknownInstance, index: 11).status == 404)
    }

    @Test("a rollback renders the service with the rollback deployment PRIMARY")
    func rollbackRender() throws {
        var domain = smallDomain()
        let context = Domain.Context(time: 1_700_000_000_003, arnPrefix: "arn:gantry:ecs:local:0", index: 12)
        let result = domain.apply(.rollbackService(cluster: "prod", service: "web", to: "1"), context: context)
        let response = DomainRender.result(result, index: 12)
        #expect(response.status == 200)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text.hasPrefix(#"{"service":{"#))
        #expect(text.contains(#""isRollback":true"#), "\(text)")
    }
}
