import API
import ClusterState
import Foundation
import HTTP
import Testing

/// Instance ids and credentials of the agent tests.
private let own = String(repeating: "a", count: 32)
private let other = String(repeating: "b", count: 32)
private let ownCredential = AgentCredential.make(instanceID: own, secret: Array(repeating: 0x5A, count: 32))
private let join = "join-token-0000001"
private let registerBody = #"{"hostname":"h1","cpu":2048,"memory":3900,"agentVersion":"0.1.0"}"#

/// The routes an agent calls for instance `id` of cluster prod: label and request.
private func agentRoutes(_ id: String) -> [(String, HTTPRequest)] {
    let base = "/v1/clusters/prod/container-instances/\(id)"
    let task = String(repeating: "c", count: 32)
    return [
        ("POST /v1/clusters/{cluster}/container-instances/{id}/heartbeat", request("POST", "\(base)/heartbeat")),
        (
            "POST /v1/clusters/{cluster}/container-instances/{id}/task-states",
            request(
                "POST",
                "\(base)/task-states",
                body: #"{"reports":[{"task":"\#(task)","epoch":1,"status":"RUNNING"}]}"#
            )
        ),
        (
            "GET /v1/clusters/{cluster}/container-instances/{id}/tasks",
            request("GET", "\(base)/tasks?consistency=stale&index=3&wait=1s")
        ),
        ("GET /v1/clusters/{cluster}/container-instances/{id}", request("GET", base)),
        (
            "GET /v1/clusters/{cluster}/container-instances/{id}/tasks/{task}/secrets",
            request("GET", "\(base)/tasks/\(task)/secrets")
        ),
    ]
}

/// `request` with `Authorization: Bearer <bearer>`.
private func bearing(_ request: HTTPRequest, _ bearer: String) -> HTTPRequest {
    var copy = request
    copy.headers.append(HTTPHeader(name: "Authorization", value: "Bearer \(bearer)"))
    return copy
}

/// The refusal of `request`, or nil when it routed.
private func refusal(_ request: HTTPRequest) -> APIError? {
    if case .failure(let error) = Router.route(request, tokens: table) { return error }
    return nil
}

/// Cluster prod, task definition web:1 (containers web, essential, and side), instance `own` registered with an
/// agent address and a credential, and one task placed on it.
private func domainWithPlacedTask(agentAddress: String? = "127.0.0.1:7070") throws -> (Domain, task: String) {
    var domain = Domain()
    let context = Domain.Context(time: 1_700_000_000_000, arnPrefix: "arn:gantry:ecs:local:0", index: 1)
    _ = domain.apply(.createCluster(name: "prod", tags: []), context: context)
    let json = """
        {"family": "web", "containerDefinitions": [
          {"name": "side", "image": "busybox", "memory": 64, "essential": false},
          {"name": "web", "image": "nginx", "memory": 128}
        ]}
        """
    let spec = try TaskDefinitionValidator.decode(Array(json.utf8)).get()
    _ = domain.apply(.registerTaskDefinition(spec: spec), context: context)
    let registration = InstanceRegistration(
        id: own,
        hostname: "h1",
        cpu: 4096,
        memory: 4096,
        agentVersion: "0.1.0",
        agentAddress: agentAddress,
        agentCredential: ownCredential
    )
    _ = domain.apply(.registerContainerInstance(cluster: "prod", registration: registration), context: context)
    let ran = domain.apply(
        .runTask(cluster: "prod", request: RunTaskRequest(taskDefinition: "web")),
        context: Domain.Context(time: 1_700_000_000_001, arnPrefix: "arn:gantry:ecs:local:0", index: 2)
    )
    guard case .tasks(let tasks) = ran, let task = tasks.first else {
        Issue.record("run task: \(ran)")
        return (domain, "")
    }
    _ = domain.apply(
        .placeTasks(cluster: "prod", placements: [TaskPlacement(task: task.id, instance: own)]),
        context: context
    )
    return (domain, task.id)
}

@Suite("Join tokens and agent credentials")
struct AgentAccessTests {
    @Test("a join token registers a container instance, and so does an operator token")
    func joinRegisters() throws {
        let target = "/v1/clusters/prod/container-instances"
        let joined = try Router.route(bearing(request("POST", target, body: registerBody), join), tokens: table).get()
        #expect(joined.principal == "join")
        #expect(joined.route == "POST /v1/clusters/{cluster}/container-instances")
        guard case .domainWrite(_, .registerContainerInstance("prod", let registration)) = joined.operation else {
            Issue.record("routed to \(joined.operation)")
            return
        }
        #expect(registration.id == nil && registration.agentCredential == nil)
        let operated = try Router.route(
            request("POST", target, token: tokenFor(.operator), body: registerBody),
            tokens: table
        )
        .get()
        #expect(operated.principal == "op")
        #expect(refusal(request("POST", target, token: tokenFor(.readonly), body: registerBody))?.status == 403)
    }

    @Test("a join token can do nothing but register: every other route is 403 naming it")
    func joinOnlyRegisters() {
        let requests =
            routeCases.map { request($0.method, $0.target, body: $0.body) } + agentRoutes(own).map(\.1) + [
                request("GET", "/v1/clusters/prod/container-instances"),
                request("GET", "/v1/task-definitions/web:1"),
                request("GET", "/v1/clusters/prod/tasks/\(own)/logs"),
            ]
        for plain in requests {
            guard let error = refusal(bearing(plain, join)) else {
                Issue.record("a join token reached \(plain.method) \(plain.target)")
                continue
            }
            #expect(error.status == 403, "\(plain.target)")
            #expect(error.message.contains("join token") && error.message.contains("can only register"), "\(error)")
            #expect(error.message.contains(plain.method + " /"), "the message names the route: \(error.message)")
        }
    }

    @Test("an agent credential reaches the agent routes of its own instance, marked for verification")
    func ownInstance() throws {
        for (label, plain) in agentRoutes(own)
            + agentRoutes("arn:gantry:ecs:local:0:container-instance%2Fprod%2F\(own)")
        {
            let routed = try Router.route(bearing(plain, ownCredential), tokens: table).get()
            #expect(routed.route == label)
            #expect(routed.principal == "agent:\(own)")
            #expect(routed.agent == AgentPrincipal(instanceID: own, cluster: "prod", credential: ownCredential))
        }
        let definition = try Router.route(
            bearing(request("GET", "/v1/task-definitions/web:1?consistency=stale"), ownCredential),
            tokens: table
        ).get()
        #expect(definition.agent == AgentPrincipal(instanceID: own, cluster: nil, credential: ownCredential))
        #expect(definition.read.consistency == .stale)
    }

    @Test("an agent credential acting for another instance is 403 naming both")
    func otherInstance() {
        for (label, plain) in agentRoutes(other) {
            let error = refusal(bearing(plain, ownCredential))
            #expect(error?.status == 403, "\(label)")
            #expect(error?.message == "agent credential of instance \(own) cannot act for instance \(other)")
        }
    }

    @Test("an agent credential on any other route is 403 naming the route")
    func otherRoutes() {
        let cases: [(String, HTTPRequest)] = [
            (
                "POST /v1/clusters/{cluster}/container-instances",
                request("POST", "/v1/clusters/prod/container-instances", body: registerBody)
            ),
            ("GET /v1/clusters/{cluster}/container-instances", request("GET", "/v1/clusters/prod/container-instances")),
            ("GET /v1/status", request("GET", "/v1/status")),
            ("GET /v1/parameters/{name}", request("GET", "/v1/parameters/app/db")),
            ("GET /v1/clusters/{cluster}/tasks/{task}/logs", request("GET", "/v1/clusters/prod/tasks/\(own)/logs")),
            (
                "DELETE /v1/clusters/{cluster}/container-instances/{id}",
                request("DELETE", "/v1/clusters/prod/container-instances/\(own)")
            ),
            ("GET /v1/task-definitions", request("GET", "/v1/task-definitions")),
        ]
        for (label, plain) in cases {
            let error = refusal(bearing(plain, ownCredential))
            #expect(error?.status == 403, "\(label)")
            #expect(error?.message.hasPrefix(label + " cannot be called with an agent credential") == true, "\(label)")
        }
    }

    @Test("a malformed agent credential is 401 like any unknown token")
    func malformed() {
        for bad in ["gagent.\(own)", "gagent.\(own).xyz", String(ownCredential.dropLast())] {
            #expect(refusal(bearing(agentRoutes(own)[0].1, bad))?.status == 401, "\(bad)")
        }
    }

    @Test("verify: the instance's own credential is valid; unknown, wrong, deregistered and other-cluster are not")
    func verify() throws {
        var (domain, _) = try domainWithPlacedTask()
        let principal = AgentPrincipal(instanceID: own, cluster: "prod", credential: ownCredential)
        #expect(AgentAccess.verify(principal, in: domain) == .valid)
        #expect(
            AgentAccess.verify(AgentPrincipal(instanceID: own, cluster: nil, credential: ownCredential), in: domain)
                == .valid
        )

        let unknownCredential = AgentCredential.make(instanceID: other, secret: Array(repeating: 1, count: 32))
        guard
            case .unknownInstance(let unknown) = AgentAccess.verify(
                AgentPrincipal(instanceID: other, cluster: "prod", credential: unknownCredential),
                in: domain
            )
        else {
            Issue.record("an unknown instance's credential was not refused as unknown")
            return
        }
        #expect(unknown.status == 401)

        let forged = AgentCredential.make(instanceID: own, secret: Array(repeating: 0x5B, count: 32))
        guard
            case .refused(let wrong) = AgentAccess.verify(
                AgentPrincipal(instanceID: own, cluster: "prod", credential: forged),
                in: domain
            )
        else {
            Issue.record("a wrong credential was accepted")
            return
        }
        #expect(wrong.status == 401)

        guard
            case .refused(let elsewhere) = AgentAccess.verify(
                AgentPrincipal(instanceID: own, cluster: "staging", credential: ownCredential),
                in: domain
            )
        else {
            Issue.record("a credential was accepted in another cluster")
            return
        }
        #expect(elsewhere.status == 403)

        let context = Domain.Context(time: 1_700_000_000_009, arnPrefix: "arn:gantry:ecs:local:0", index: 9)
        _ = domain.apply(.deregisterContainerInstance(cluster: "prod", id: own, force: true), context: context)
        guard case .refused(let gone) = AgentAccess.verify(principal, in: domain) else {
            Issue.record("a deregistered instance's credential was accepted")
            return
        }
        #expect(gone.status == 401)
        #expect(gone.message.contains("INACTIVE"))
    }

    @Test("the registration's answer carries the credential; no view of the instance does")
    func rendering() throws {
        var domain = Domain()
        let context = Domain.Context(time: 1_700_000_000_000, arnPrefix: "arn:gantry:ecs:local:0", index: 1)
        _ = domain.apply(.createCluster(name: "prod", tags: []), context: context)
        let registration = InstanceRegistration(
            id: own,
            hostname: "h1",
            cpu: 4096,
            memory: 4096,
            agentVersion: "0.1.0",
            agentAddress: "127.0.0.1:7070",
            agentCredential: ownCredential
        )
        let registered = domain.apply(
            .registerContainerInstance(cluster: "prod", registration: registration),
            context: context
        )
        struct Answer: Decodable {
            struct Instance: Decodable {
                var id: String
                var agentAddress: String?
            }
            var containerInstance: Instance
            var agentCredential: String?
        }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(DomainRender.result(registered, index: 2).body))
        #expect(answer.agentCredential == ownCredential)
        #expect(answer.containerInstance.id == own && answer.containerInstance.agentAddress == "127.0.0.1:7070")
        let registeredText = String(decoding: DomainRender.result(registered, index: 2).body, as: UTF8.self)
        #expect(registeredText.components(separatedBy: ownCredential).count == 2, "the credential appears once")

        let secret = String(ownCredential.suffix(64))
        let views: [HTTPResponse] = [
            DomainRender.query(.describeContainerInstance(cluster: "prod", id: own), in: domain),
            DomainRender.query(.listContainerInstances(cluster: "prod", status: nil, page: Page()), in: domain),
            DomainRender.result(
                domain.apply(
                    .updateContainerInstanceState(cluster: "prod", id: own, status: "DRAINING"),
                    context: context
                ),
                index: 3
            ),
        ]
        for view in views {
            let text = String(decoding: view.body, as: UTF8.self)
            #expect(view.status == 200, "\(text)")
            #expect(!text.contains(secret) && !text.contains("agentCredential"), "\(text)")
            #expect(text.contains("\"agentAddress\":\"127.0.0.1:7070\""), "\(text)")
        }
    }

    @Test("the registration's agentAddress is checked, naming the field")
    func addressRule() throws {
        let target = "/v1/clusters/prod/container-instances"
        let good = #"{"hostname":"h1","cpu":2048,"memory":3900,"agentVersion":"0.1.0","agentAddress":"10.0.0.5:7070"}"#
        let routed = try Router.route(bearing(request("POST", target, body: good), join), tokens: table).get()
        guard case .domainWrite(_, .registerContainerInstance(_, let registration)) = routed.operation else {
            Issue.record("routed to \(routed.operation)")
            return
        }
        #expect(registration.agentAddress == "10.0.0.5:7070")
        for bad in ["agent.example:7070", "10.0.0.5", "0.0.0.0:7070", "10.0.0.5:99999"] {
            let body = #"{"hostname":"h1","cpu":2048,"memory":3900,"agentVersion":"0.1.0","agentAddress":"\#(bad)"}"#
            let error = refusal(bearing(request("POST", target, body: body), join))
            #expect(error?.status == 400 && error?.field == "agentAddress", "\(bad): \(String(describing: error))")
        }
    }

    @Test("secrets: operator tokens and the instance's agent; readonly is 403")
    func secretsRoute() throws {
        let target = "/v1/clusters/prod/container-instances/\(own)/tasks/\(other)/secrets"
        let routed = try Router.route(request("GET", target, token: tokenFor(.operator)), tokens: table).get()
        #expect(routed.operation == .taskSecrets(cluster: "prod", instance: own, task: other))
        #expect(routed.read.consistency == .linearizable)
        #expect(refusal(request("GET", target, token: tokenFor(.readonly)))?.status == 403)
    }

    @Test("logs route: operator, container and offset checked")
    func logsRoute() throws {
        let base = "/v1/clusters/prod/tasks/\(other)/logs"
        let routed = try Router.route(
            request("GET", base + "?container=web&offset=42", token: tokenFor(.operator)),
            tokens: table
        )
        .get()
        #expect(routed.operation == .taskLogs(cluster: "prod", task: other, container: "web", offset: 42))
        let plain = try Router.route(request("GET", base, token: tokenFor(.operator)), tokens: table).get()
        #expect(plain.operation == .taskLogs(cluster: "prod", task: other, container: nil, offset: 0))
        #expect(refusal(request("GET", base, token: tokenFor(.readonly)))?.status == 403)
        #expect(refusal(request("GET", base + "?offset=-1", token: tokenFor(.operator)))?.field == "offset")
        #expect(refusal(request("GET", base + "?container=a%20b", token: tokenFor(.operator)))?.field == "container")
    }

    @Test("logs plan: the agent's address, URL and credential; 404 and 409 when no agent can be asked")
    func logsPlan() throws {
        let (domain, task) = try domainWithPlacedTask()
        let plan = try TaskLogs.plan(cluster: "prod", task: task, container: nil, offset: 7, in: domain).get()
        // The first essential container, not the first listed.
        #expect(plan.container == "web")
        #expect(plan.address == "127.0.0.1:7070")
        #expect(plan.target == "/v1/tasks/\(task)/logs?container=web&offset=7")
        #expect(plan.headers.contains(HTTPHeader(name: "Authorization", value: "Bearer \(ownCredential)")))
        let side = try TaskLogs.plan(cluster: "prod", task: task, container: "side", offset: 0, in: domain).get()
        #expect(side.target == "/v1/tasks/\(task)/logs?container=side&offset=0")

        func status(_ result: Result<AgentLogRequest, APIError>) -> Int? {
            if case .failure(let error) = result { return error.status }
            return nil
        }
        #expect(status(TaskLogs.plan(cluster: "prod", task: other, container: nil, offset: 0, in: domain)) == 404)
        #expect(status(TaskLogs.plan(cluster: "nope", task: task, container: nil, offset: 0, in: domain)) == 404)
        #expect(status(TaskLogs.plan(cluster: "prod", task: task, container: "db", offset: 0, in: domain)) == 404)
        let (silent, silentTask) = try domainWithPlacedTask(agentAddress: nil)
        let noAddress = TaskLogs.plan(cluster: "prod", task: silentTask, container: nil, offset: 0, in: silent)
        #expect(status(noAddress) == 409)
        if case .failure(let error) = noAddress { #expect(error.message.contains("agentAddress")) }

        var unplaced = domain
        let ran = unplaced.apply(
            .runTask(cluster: "prod", request: RunTaskRequest(taskDefinition: "web")),
            context: Domain.Context(time: 1_700_000_000_005, arnPrefix: "arn:gantry:ecs:local:0", index: 5)
        )
        guard case .tasks(let waiting) = ran, let pending = waiting.first else {
            Issue.record("run task: \(ran)")
            return
        }
        let notPlaced = TaskLogs.plan(cluster: "prod", task: pending.id, container: nil, offset: 0, in: unplaced)
        #expect(status(notPlaced) == 409)
    }

    @Test("the agent's answer is relayed unchanged; an unreachable agent is 502 naming its address")
    func relay() throws {
        let (domain, task) = try domainWithPlacedTask()
        let plan = try TaskLogs.plan(cluster: "prod", task: task, container: nil, offset: 0, in: domain).get()
        let body = Array(#"{"task":"t","container":"web","text":"hi\n","offset":3,"running":true}"#.utf8)
        let relayed = TaskLogs.relay(status: 200, contentType: "application/json", body: body, from: plan)
        #expect(relayed.status == 200 && relayed.body == body)
        let missing = Array(#"{"error":{"code":"not_found","message":"no such task"}}"#.utf8)
        #expect(TaskLogs.relay(status: 404, contentType: nil, body: missing, from: plan).body == missing)
        let down = TaskLogs.unreachable(plan, detail: "cannot connect to 127.0.0.1:7070: refused")
        #expect(down.status == 502 && down.code == "agent_unreachable" && down.message.contains("127.0.0.1:7070"))
    }
}
