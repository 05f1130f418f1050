import ClusterState
import Testing
import Wire

let arnPrefix = "arn:gantry:ecs:local:000000000000"

func domainCommand(_ command: DomainCommand, time: Int64 = 5_000, token: String? = nil) -> Command {
    Command(clientToken: token, time: time, action: .domain(DomainEnvelope(arnPrefix: arnPrefix, command: command)))
}

/// A minimal valid task definition of `family` whose container runs `image`.
func taskDefinitionSpec(_ family: String, image: String = "nginx:1.27") throws -> TaskDefinitionSpec {
    let json = """
        {"family": "\(family)", "containerDefinitions": [
          {"name": "web", "image": "\(image)", "memory": 128, "portMappings": [{"containerPort": 80}]}
        ]}
        """
    return try TaskDefinitionValidator.decode(Array(json.utf8)).get()
}

func domainResult(_ result: CommandResult) -> DomainResult? {
    if case .domain(let domain) = result { return domain }
    return nil
}

@Suite("Domain: clusters")
struct ClusterApplyTests {
    @Test("create stamps the ARN, time and tags; creating it again returns the same cluster")
    func create() {
        var state = StateMachine()
        let tags = [Tag(key: "team", value: "web")]
        let created = domainResult(state.apply(domainCommand(.createCluster(name: "prod", tags: tags)), at: 1))
        guard case .cluster(let cluster) = created else {
            Issue.record("not created: \(String(describing: created))")
            return
        }
        #expect(cluster.clusterArn == "\(arnPrefix):cluster/prod")
        #expect(cluster.createdAt == 5_000)
        #expect(cluster.tags == tags)
        let again = domainResult(state.apply(domainCommand(.createCluster(name: "prod", tags: []), time: 9_000), at: 2))
        #expect(again == .cluster(cluster))
    }

    @Test("refusals: bad name, bad tags, deleting a missing cluster — each names its field and changes nothing")
    func refusals() {
        var state = StateMachine()
        let cases: [(DomainCommand, Int, String)] = [
            (.createCluster(name: "", tags: []), 400, "clusterName"),
            (.createCluster(name: "bad name", tags: []), 400, "clusterName"),
            (.createCluster(name: String(repeating: "a", count: 256), tags: []), 400, "clusterName"),
            (.createCluster(name: "ok", tags: [Tag(key: "", value: "v")]), 400, "tags[0].key"),
            (
                .createCluster(name: "ok", tags: [Tag(key: "a", value: "1"), Tag(key: "a", value: "2")]), 400,
                "tags[1].key"
            ),
            (
                .createCluster(name: "ok", tags: [Tag(key: "a", value: String(repeating: "v", count: 257))]), 400,
                "tags[0].value"
            ),
            (.createCluster(name: "ok", tags: (0...50).map { Tag(key: "k\($0)", value: "") }), 400, "tags"),
            (.deleteCluster(name: "missing"), 404, "cluster"),
        ]
        for (index, (command, status, field)) in cases.enumerated() {
            let result = domainResult(state.apply(domainCommand(command), at: UInt64(index + 1)))
            guard case .refused(let gotStatus, _, _, let gotField) = result else {
                Issue.record("\(command) was not refused: \(String(describing: result))")
                continue
            }
            #expect(gotStatus == status, "\(command)")
            #expect(gotField == field, "\(command)")
        }
        #expect(state.domain.clusters.isEmpty)
    }

    @Test("delete removes the cluster and returns it")
    func delete() {
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        guard
            case .clusterDeleted(let cluster) = domainResult(
                state.apply(domainCommand(.deleteCluster(name: "c")), at: 2)
            )
        else {
            Issue.record("not deleted")
            return
        }
        #expect(cluster.clusterName == "c")
        #expect(state.domain.clusters["c"] == nil)
    }

    @Test("a create retried with the same client token returns the first result")
    func clientToken() {
        var state = StateMachine()
        let first = state.apply(domainCommand(.createCluster(name: "c", tags: []), token: "t"), at: 1)
        _ = state.apply(domainCommand(.deleteCluster(name: "c")), at: 2)
        let retry = state.apply(domainCommand(.createCluster(name: "c", tags: []), token: "t"), at: 3)
        #expect(retry == first)
        #expect(state.domain.clusters["c"] == nil, "the retry must not create the cluster again")
    }
}

@Suite("Domain: task definitions")
struct TaskDefinitionApplyTests {
    @Test("revisions number 1, 2, 3 per family; a family alone resolves to its latest ACTIVE revision")
    func revisions() throws {
        var state = StateMachine()
        for (index, image) in ["a:1", "a:2", "a:3"].enumerated() {
            let spec = try taskDefinitionSpec("web", image: image)
            let result = domainResult(
                state.apply(domainCommand(.registerTaskDefinition(spec: spec)), at: UInt64(index + 1))
            )
            guard case .taskDefinition(let record) = result else {
                Issue.record("not registered: \(String(describing: result))")
                return
            }
            #expect(record.revision == index + 1)
            #expect(record.taskDefinitionArn == "\(arnPrefix):task-definition/web:\(index + 1)")
            #expect(record.status == "ACTIVE")
        }
        #expect(state.domain.taskDefinition("web")?.revision == 3)
        _ = state.apply(domainCommand(.deregisterTaskDefinition(family: "web", revision: 3)), at: 4)
        #expect(state.domain.taskDefinition("web")?.revision == 2)
        #expect(state.domain.taskDefinition("web:3")?.status == "INACTIVE")
        #expect(state.domain.taskDefinition("\(arnPrefix):task-definition/web:1")?.revision == 1)
        #expect(state.domain.taskDefinition("web:9") == nil)
        #expect(state.domain.taskDefinition("nope") == nil)
    }

    @Test("delete needs INACTIVE; numbers are never reused after a delete")
    func deleteRules() throws {
        var state = StateMachine()
        _ = state.apply(domainCommand(.registerTaskDefinition(spec: try taskDefinitionSpec("job"))), at: 1)
        let active = domainResult(state.apply(domainCommand(.deleteTaskDefinition(family: "job", revision: 1)), at: 2))
        guard case .refused(409, _, _, _) = active else {
            Issue.record("deleting an ACTIVE revision was not refused: \(String(describing: active))")
            return
        }
        _ = state.apply(domainCommand(.deregisterTaskDefinition(family: "job", revision: 1)), at: 3)
        let deleted = domainResult(state.apply(domainCommand(.deleteTaskDefinition(family: "job", revision: 1)), at: 4))
        guard case .taskDefinition(let record) = deleted else {
            Issue.record("not deleted")
            return
        }
        #expect(record.status == "DELETE_IN_PROGRESS")
        #expect(state.domain.taskDefinition("job:1") == nil)
        let again = domainResult(
            state.apply(domainCommand(.registerTaskDefinition(spec: try taskDefinitionSpec("job"))), at: 5)
        )
        guard case .taskDefinition(let next) = again else {
            Issue.record("not registered")
            return
        }
        #expect(next.revision == 2)
        let missing = domainResult(
            state.apply(domainCommand(.deregisterTaskDefinition(family: "job", revision: 7)), at: 6)
        )
        guard case .refused(404, _, _, "taskDefinition") = missing else {
            Issue.record("missing revision not refused: \(String(describing: missing))")
            return
        }
    }

    @Test("apply validates again: an invalid spec that reached the log is refused with its field")
    func applyValidates() throws {
        var state = StateMachine()
        var spec = try taskDefinitionSpec("web")
        spec.family = "bad family"
        let result = domainResult(state.apply(domainCommand(.registerTaskDefinition(spec: spec)), at: 1))
        guard case .refused(400, _, _, let field) = result else {
            Issue.record("invalid spec applied: \(String(describing: result))")
            return
        }
        #expect(field == "family")
        #expect(state.domain.families.isEmpty)
    }
}

@Suite("Domain: snapshots")
struct DomainSnapshotTests {
    @Test("a snapshot of thousands of random objects restores an identical state (digest equal)")
    func randomRoundTrip() throws {
        var state = StateMachine()
        var random = SplitMix(seed: 42)
        var index: UInt64 = 0
        for _ in 0..<3000 {
            index += 1
            let choice = random.next() % 16
            let name = "n\(random.next() % 200)"
            let cluster = "n\(random.next() % 20)"
            let family = "f\(random.next() % 50)"
            let command: DomainCommand
            switch choice {
            case 0...3: command = .createCluster(name: name, tags: [Tag(key: "k", value: "\(random.next() % 9)")])
            case 4: command = .deleteCluster(name: name)
            case 5...7: command = .registerTaskDefinition(spec: try taskDefinitionSpec(family, image: "img:\(index)"))
            case 8: command = .deregisterTaskDefinition(family: family, revision: Int(random.next() % 5) + 1)
            case 9: command = .deleteTaskDefinition(family: family, revision: Int(random.next() % 5) + 1)
            case 10:
                let suffix = String(index, radix: 16)
                let id = String(repeating: "0", count: 32 - suffix.count) + suffix
                let registration = InstanceRegistration(
                    id: id,
                    hostname: "h",
                    cpu: 1024,
                    memory: 2048,
                    agentVersion: "v"
                )
                command = .registerContainerInstance(cluster: cluster, registration: registration)
            case 11:
                let request = ServiceRequest(
                    serviceName: "s\(random.next() % 30)",
                    taskDefinition: family,
                    desiredCount: 2
                )
                command = .createService(cluster: cluster, request: request)
            case 12:
                var update = ServiceUpdate()
                update.desiredCount = Int(random.next() % 5)
                command = .updateService(cluster: cluster, service: "s\(random.next() % 30)", update: update)
            case 13: command = .deleteService(cluster: cluster, service: "s\(random.next() % 30)", force: true)
            case 14: command = .runTask(cluster: cluster, request: RunTaskRequest(taskDefinition: family, count: 2))
            default:
                let ids = state.domain.tasks.keys.sorted()
                let task = ids.isEmpty ? "none" : ids[Int(random.next() % UInt64(ids.count))]
                command = .stopTask(cluster: cluster, task: task, reason: nil)
            }
            _ = state.apply(
                domainCommand(command, time: Int64(index) * 1000, token: choice == 0 ? "t\(index % 300)" : nil),
                at: index
            )
        }
        #expect(!state.domain.clusters.isEmpty && !state.domain.families.isEmpty)
        #expect(!state.domain.instances.isEmpty && !state.domain.services.isEmpty && !state.domain.tasks.isEmpty)
        let bytes = state.snapshot()
        let restored = try StateMachine.restore(bytes)
        #expect(restored.snapshot() == bytes)
        #expect(CRC32C.checksum(restored.snapshot()) == CRC32C.checksum(bytes))
        #expect(restored.domain == state.domain)
    }
}

/// A tiny seeded generator for the tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Domain: container instances and attributes")
struct ContainerInstanceApplyTests {
    let id = String(repeating: "ab", count: 16)

    func registered() -> StateMachine {
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        let registration = InstanceRegistration(
            id: id,
            hostname: "host-1",
            cpu: 2048,
            memory: 3900,
            reservedPorts: [22],
            availabilityZone: "rack-1",
            attributes: [Attribute(name: "disk", value: "ssd")],
            agentVersion: "0.1.0"
        )
        _ = state.apply(domainCommand(.registerContainerInstance(cluster: "c", registration: registration)), at: 2)
        return state
    }

    @Test("registration records resources and the built-in attributes")
    func register() throws {
        let state = registered()
        let instance = try #require(state.domain.instances[id])
        #expect(instance.containerInstanceArn == "\(arnPrefix):container-instance/c/\(id)")
        #expect(instance.status == "ACTIVE" && instance.agentConnected)
        #expect(instance.registeredResources.first { $0.name == "CPU" }?.integerValue == 2048)
        #expect(instance.registeredResources.first { $0.name == "PORTS" }?.stringSetValue == ["22"])
        let names = instance.attributes.map(\.name)
        #expect(names == ["ecs.os-type", "ecs.cpu-architecture", "ecs.availability-zone", "disk"])
    }

    @Test(
        "registration refusals name the field",
        arguments: [
            ("hostname", InstanceRegistration(hostname: "", cpu: 1, memory: 64, agentVersion: "v")),
            ("cpu", InstanceRegistration(hostname: "h", cpu: 0, memory: 64, agentVersion: "v")),
            ("memory", InstanceRegistration(hostname: "h", cpu: 1, memory: 5, agentVersion: "v")),
            (
                "reservedPorts[0]",
                InstanceRegistration(hostname: "h", cpu: 1, memory: 64, reservedPorts: [0], agentVersion: "v")
            ),
            (
                "reservedPorts",
                InstanceRegistration(hostname: "h", cpu: 1, memory: 64, reservedPorts: [80, 80], agentVersion: "v")
            ),
            ("osType", InstanceRegistration(hostname: "h", cpu: 1, memory: 64, osType: "plan9", agentVersion: "v")),
            ("agentVersion", InstanceRegistration(hostname: "h", cpu: 1, memory: 64, agentVersion: "")),
            (
                "attributes[0].name",
                InstanceRegistration(
                    hostname: "h",
                    cpu: 1,
                    memory: 64,
                    attributes: [Attribute(name: "ecs.x", value: "1")],
                    agentVersion: "v"
                )
            ),
            (
                "attributes[0].value",
                InstanceRegistration(
                    hostname: "h",
                    cpu: 1,
                    memory: 64,
                    attributes: [Attribute(name: "a", value: "bad|value")],
                    agentVersion: "v"
                )
            ),
        ]
    )
    func registrationRefusals(field: String, registration: InstanceRegistration) {
        var state = registered()
        var withID = registration
        withID.id = String(repeating: "cd", count: 16)
        let result = domainResult(
            state.apply(domainCommand(.registerContainerInstance(cluster: "c", registration: withID)), at: 3)
        )
        guard case .refused(400, _, _, let got) = result else {
            Issue.record("accepted: \(String(describing: result))")
            return
        }
        #expect(got == field)
        #expect(state.domain.instances.count == 1)
    }

    @Test("draining and back, deregistering, and a cluster with instances cannot be deleted")
    func lifecycle() {
        var state = registered()
        let refused = domainResult(state.apply(domainCommand(.deleteCluster(name: "c")), at: 3))
        guard case .refused(409, _, _, _) = refused else {
            Issue.record("deleted a cluster with an instance")
            return
        }
        _ = state.apply(domainCommand(.updateContainerInstanceState(cluster: "c", id: id, status: "DRAINING")), at: 4)
        #expect(state.domain.instances[id]?.status == "DRAINING")
        _ = state.apply(domainCommand(.updateContainerInstanceState(cluster: "c", id: id, status: "ACTIVE")), at: 5)
        #expect(state.domain.instances[id]?.status == "ACTIVE")
        let bad = domainResult(
            state.apply(domainCommand(.updateContainerInstanceState(cluster: "c", id: id, status: "GONE")), at: 6)
        )
        guard case .refused(400, _, _, "status") = bad else {
            Issue.record("bad status accepted")
            return
        }
        _ = state.apply(domainCommand(.deregisterContainerInstance(cluster: "c", id: id, force: false)), at: 7)
        #expect(state.domain.instances[id]?.status == "INACTIVE")
        let drainInactive = domainResult(
            state.apply(domainCommand(.updateContainerInstanceState(cluster: "c", id: id, status: "DRAINING")), at: 8)
        )
        guard case .refused(409, _, _, _) = drainInactive else {
            Issue.record("drained an INACTIVE instance")
            return
        }
        let deleted = domainResult(state.apply(domainCommand(.deleteCluster(name: "c")), at: 9))
        guard case .clusterDeleted = deleted else {
            Issue.record("cluster with only INACTIVE instances not deleted: \(String(describing: deleted))")
            return
        }
        #expect(state.domain.instances.isEmpty)
    }

    @Test("put and delete attributes by target; built-in ones are protected; versions advance")
    func attributes() {
        var state = registered()
        let version = state.domain.instances[id]!.version
        _ = state.apply(
            domainCommand(.putAttributes(cluster: "c", attributes: [Attribute(name: "gpu", value: "1", targetId: id)])),
            at: 3
        )
        #expect(state.domain.instances[id]!.attributes.contains(Attribute(name: "gpu", value: "1")))
        #expect(state.domain.instances[id]!.version == version + 1)
        _ = state.apply(
            domainCommand(
                .deleteAttributes(cluster: "c", attributes: [Attribute(name: "gpu", value: nil, targetId: id)])
            ),
            at: 4
        )
        #expect(!state.domain.instances[id]!.attributes.contains { $0.name == "gpu" })
        let builtIn = domainResult(
            state.apply(
                domainCommand(
                    .putAttributes(cluster: "c", attributes: [Attribute(name: "ecs.os-type", value: "x", targetId: id)])
                ),
                at: 5
            )
        )
        guard case .refused(400, _, _, "attributes[0].name") = builtIn else {
            Issue.record("built-in attribute changed")
            return
        }
        let noTarget = domainResult(
            state.apply(
                domainCommand(
                    .putAttributes(cluster: "c", attributes: [Attribute(name: "a", value: "b", targetId: "nope")])
                ),
                at: 6
            )
        )
        guard case .refused(400, _, _, "attributes[0].targetId") = noTarget else {
            Issue.record("attribute on a missing instance accepted")
            return
        }
    }

    @Test("the leader fills a registration's id; other commands are unchanged")
    func fillingIDs() {
        let registration = InstanceRegistration(hostname: "h", cpu: 1, memory: 64, agentVersion: "v")
        let filled = DomainCommand.registerContainerInstance(cluster: "c", registration: registration).fillingIDs {
            "x"
        }
        guard case .registerContainerInstance(_, let got) = filled else {
            Issue.record("wrong case")
            return
        }
        #expect(got.id == "x")
        #expect(DomainCommand.deleteCluster(name: "c").fillingIDs { "x" } == .deleteCluster(name: "c"))
    }
}

@Suite("Client tokens name one request")
struct IdempotencyMismatchTests {
    @Test("a token reused for a different request is refused, naming the header; nothing is applied")
    func mismatch() {
        var state = StateMachine()
        let first = state.apply(put("x", "1", token: "t1"), at: 1)
        #expect(first == .parameterWritten(name: "x", version: 1))
        let other = state.apply(domainCommand(.createCluster(name: "b", tags: []), token: "t1"), at: 2)
        #expect(
            other
                == .rejected(
                    field: "X-Gantry-Client-Token",
                    reason: "was already used for a different request; use a new token for a new request"
                )
        )
        #expect(state.domain.clusters["b"] == nil)
        #expect(state.apply(put("x", "1", token: "t1"), at: 3) == first, "the same request is still a retry")
    }

    @Test("a retried registration matches although the leader stamped a new id")
    func retryWithNewLeaderID() {
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        func register(_ id: String) -> Command {
            let registration = InstanceRegistration(id: id, hostname: "h", cpu: 1024, memory: 2048, agentVersion: "v")
            return domainCommand(.registerContainerInstance(cluster: "c", registration: registration), token: "reg")
        }
        let first = state.apply(register(String(repeating: "a", count: 32)), at: 2)
        let retry = state.apply(register(String(repeating: "b", count: 32)), at: 3)
        #expect(first == retry)
        #expect(state.domain.instances.count == 1)
    }

    @Test("token digests survive a snapshot")
    func snapshotKeepsDigests() throws {
        var state = StateMachine()
        _ = state.apply(put("x", "1", token: "t1"), at: 1)
        var restored = try StateMachine.restore(state.snapshot())
        guard case .rejected = restored.apply(put("y", "2", token: "t1"), at: 2) else {
            Issue.record("digest lost in the snapshot")
            return
        }
    }
}
