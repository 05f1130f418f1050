import ClusterState
import Testing

/// A credential for `id` with a fixed random part.
func credential(_ id: String, fill: UInt8 = 0xAB) -> String {
    AgentCredential.make(instanceID: id, secret: Array(repeating: fill, count: AgentCredential.secretBytes))
}

/// A registration command as the leader stamps it: id and credential filled in.
func stampedRegistration(_ id: String, address: String? = "10.0.0.5:7070") -> DomainCommand {
    let registration = InstanceRegistration(
        hostname: "h",
        cpu: 4096,
        memory: 4096,
        agentVersion: "v",
        agentAddress: address
    )
    return DomainCommand.registerContainerInstance(cluster: "c", registration: registration)
        .fillingIDs({ id }, agentCredential: { credential($0) })
}

@Suite("Agent credentials in the replicated state")
struct AgentCredentialTests {
    let id = String(repeating: "1", count: 32)

    @Test("a credential is gagent.<id>.<64 hex>, and only that shape yields its instance id")
    func shape() {
        let made = credential(id, fill: 0x0F)
        #expect(made == "gagent.\(id)." + String(repeating: "0f", count: 32))
        #expect(AgentCredential.instanceID(of: made) == id)
        #expect(AgentCredential.isWellFormed(made, for: id))
        #expect(!AgentCredential.isWellFormed(made, for: String(repeating: "2", count: 32)))
        for broken in [
            "", "gagent.", "gagent.\(id)", "gagent.\(id).", "gagent.\(id)." + String(repeating: "0", count: 63),
            "gagent.\(id)." + String(repeating: "0", count: 65), "gagent.\(id)." + String(repeating: "G", count: 64),
            "xagent.\(id)." + String(repeating: "0", count: 64), "gagent.\(id).\(id).\(id)",
        ] {
            #expect(AgentCredential.instanceID(of: broken) == nil, "\(broken)")
        }
    }

    @Test("the leader's credential goes into the command and is kept on the instance, answered only at registration")
    func persisted() {
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        let result = domainResult(state.apply(domainCommand(stampedRegistration(id)), at: 2))
        guard case .instanceRegistered(let instance) = result else {
            Issue.record("registration answered \(String(describing: result))")
            return
        }
        #expect(instance.agentCredential == credential(id))
        #expect(instance.agentAddress == "10.0.0.5:7070")
        #expect(state.domain.instances[id]?.agentCredential == credential(id))
        // Later answers about the instance are plain instance results.
        let drained = domainResult(
            state.apply(domainCommand(.updateContainerInstanceState(cluster: "c", id: id, status: "DRAINING")), at: 3)
        )
        guard case .containerInstance = drained else {
            Issue.record("drain answered \(String(describing: drained))")
            return
        }
    }

    @Test("the credential and the address survive a snapshot encode and decode")
    func snapshot() throws {
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        _ = state.apply(domainCommand(stampedRegistration(id)), at: 2)
        let restored = try StateMachine.restore(state.snapshot())
        #expect(restored.domain.instances[id]?.agentCredential == credential(id))
        #expect(restored.domain.instances[id]?.agentAddress == "10.0.0.5:7070")
        #expect(restored == state)
    }

    @Test("an instance stored before credentials existed still decodes, without credential or address")
    func oldInstanceDecodes() throws {
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        _ = state.apply(domainCommand(stampedRegistration(id)), at: 2)
        var encoded = String(decoding: CanonicalJSON.encode(state.domain), as: UTF8.self)
        encoded = encoded.replacing("\"agentCredential\":\"\(credential(id))\",", with: "")
        encoded = encoded.replacing("\"agentAddress\":\"10.0.0.5:7070\",", with: "")
        #expect(!encoded.contains("agentCredential") && !encoded.contains("agentAddress"))
        let domain = try CanonicalJSON.decode(Domain.self, from: Array(encoded.utf8))
        #expect(domain.instances[id]?.agentCredential == nil)
        #expect(domain.instances[id]?.agentAddress == nil)
    }

    @Test("a retry of a registration is the same request whatever credential the leader drew for it")
    func retryDigest() {
        let first = Command.Action.domain(DomainEnvelope(arnPrefix: arnPrefix, command: stampedRegistration(id)))
        let other = DomainCommand.registerContainerInstance(
            cluster: "c",
            registration: InstanceRegistration(
                hostname: "h",
                cpu: 4096,
                memory: 4096,
                agentVersion: "v",
                agentAddress: "10.0.0.5:7070"
            )
        ).fillingIDs({ String(repeating: "2", count: 32) }, agentCredential: { credential($0, fill: 1) })
        let retry = Command.Action.domain(DomainEnvelope(arnPrefix: arnPrefix, command: other))
        #expect(first.idempotencyDigest == retry.idempotencyDigest)
    }

    @Test("apply refuses a credential that is not the leader's shape for the id")
    func badCredentialRefused() {
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        let forged = DomainCommand.registerContainerInstance(
            cluster: "c",
            registration: InstanceRegistration(
                id: id,
                hostname: "h",
                cpu: 1,
                memory: 64,
                agentVersion: "v",
                agentCredential: credential(String(repeating: "2", count: 32))
            )
        )
        let result = domainResult(state.apply(domainCommand(forged), at: 2))
        guard case .refused(400, _, _, "agentCredential") = result else {
            Issue.record("forged credential accepted: \(String(describing: result))")
            return
        }
        #expect(state.domain.instances.isEmpty)
    }

    @Test(
        "agentAddress: host:port with an IPv4 literal or localhost",
        arguments: [
            ("10.0.0.5:7070", true), ("localhost:1", true), ("127.0.0.1:65535", true), ("10.0.0.5", false),
            ("example.com:80", false), ("10.0.0.256:80", false), ("10.0.0.05:80", false), ("10.0.0.5:0", false),
            ("10.0.0.5:65536", false), ("10.0.0:80", false), (":80", false), ("0.0.0.0:7070", false),
            ("10.0.0.5:+80", false),
        ]
    )
    func address(address: String, valid: Bool) {
        let registration = InstanceRegistration(
            hostname: "h",
            cpu: 1,
            memory: 64,
            agentVersion: "v",
            agentAddress: address
        )
        let problem = registration.problem()
        #expect((problem == nil) == valid, "\(address): \(String(describing: problem))")
        if let problem { #expect(problem.0 == "agentAddress") }
    }
}

@Suite("Task secrets resolved for an agent")
struct TaskSecretsTests {
    /// Cluster `c`, task definition `app:1` whose containers read secrets, an instance, and one task placed on it.
    func placedTask() throws -> (StateMachine, instance: String, task: String) {
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        let json = """
            {"family": "app", "containerDefinitions": [
              {"name": "web", "image": "nginx", "memory": 128, "essential": true,
               "secrets": [{"name": "DB_PASSWORD", "valueFrom": "app/db"},
                           {"name": "API_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/app/key"}]},
              {"name": "side", "image": "busybox", "memory": 64, "essential": false}
            ]}
            """
        let spec = try TaskDefinitionValidator.decode(Array(json.utf8)).get()
        _ = state.apply(domainCommand(.registerTaskDefinition(spec: spec)), at: 2)
        let instance = String(repeating: "1", count: 32)
        _ = state.apply(domainCommand(stampedRegistration(instance)), at: 3)
        let ran = domainResult(
            state.apply(domainCommand(.runTask(cluster: "c", request: RunTaskRequest(taskDefinition: "app"))), at: 4)
        )
        guard case .tasks(let tasks) = ran, let task = tasks.first else {
            throw TestFailure("run task answered \(String(describing: ran))")
        }
        _ = state.apply(
            domainCommand(.placeTasks(cluster: "c", placements: [TaskPlacement(task: task.id, instance: instance)])),
            at: 5
        )
        return (state, instance, task.id)
    }

    @Test("each container's secrets resolve from the parameter store, plain and secret parameters alike")
    func resolved() throws {
        var (state, instance, task) = try placedTask()
        _ = state.apply(put("app/db", "hunter2", secret: true), at: 6)
        _ = state.apply(put("app/key", "k-123"), at: 7)
        let secrets = try state.taskSecrets(cluster: "c", instance: instance, task: task).get()
        #expect(
            secrets == [
                "web": [.init(name: "DB_PASSWORD", value: "hunter2"), .init(name: "API_KEY", value: "k-123")],
                "side": [],
            ]
        )
    }

    @Test("a missing parameter names the container, the secret and the parameter")
    func missingParameter() throws {
        var (state, instance, task) = try placedTask()
        _ = state.apply(put("app/db", "hunter2", secret: true), at: 6)
        let result = state.taskSecrets(cluster: "c", instance: instance, task: task)
        #expect(result == .failure(.parameterNotFound(container: "web", secret: "API_KEY", parameter: "app/key")))
    }

    @Test("only for a task placed on that instance and not stopped")
    func onlyOwnTasks() throws {
        var (state, instance, task) = try placedTask()
        let other = String(repeating: "2", count: 32)
        _ = state.apply(domainCommand(stampedRegistration(other)), at: 6)
        #expect(
            state.taskSecrets(cluster: "c", instance: other, task: task)
                == .failure(.taskNotOnInstance(task: task, instance: other, placedOn: instance))
        )
        #expect(
            state.taskSecrets(cluster: "c", instance: instance, task: other)
                == .failure(.taskNotFound(task: other, cluster: "c"))
        )
        #expect(
            state.taskSecrets(cluster: "d", instance: instance, task: task) == .failure(.clusterNotFound(cluster: "d"))
        )
        _ = state.apply(domainCommand(.deregisterContainerInstance(cluster: "c", id: instance, force: true)), at: 7)
        #expect(state.taskSecrets(cluster: "c", instance: instance, task: task) == .failure(.taskStopped(task: task)))
    }
}

/// A failure building a test's state.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
