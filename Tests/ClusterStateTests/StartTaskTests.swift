import ClusterState
import Testing

@Suite("StartTask: tasks straight onto named instances, all or none")
struct StartTaskTests {
    static let context = Domain.Context(time: 1_000, arnPrefix: "arn:aws:ecs:us-east-1:123456789012", index: 7)
    static let first = "0123456789abcdef0123456789abcdef"
    static let second = "fedcba9876543210fedcba9876543210"

    static func domain() -> Domain {
        var domain = Domain()
        _ = domain.apply(.createCluster(name: "prod", tags: []), context: context)
        for id in [first, second] {
            let registration = InstanceRegistration(id: id, hostname: id, cpu: 1_024, memory: 256, agentVersion: "t")
            _ = domain.apply(.registerContainerInstance(cluster: "prod", registration: registration), context: context)
        }
        var spec = TaskDefinitionSpec(
            family: "web",
            containerDefinitions: [ContainerDefinition(name: "web", image: "x")]
        )
        spec.containerDefinitions[0].memory = 200
        _ = domain.apply(.registerTaskDefinition(spec: spec), context: context)
        return domain
    }

    @Test("one PENDING task per named instance, its resources reserved; a refusal for one leaves nothing")
    func startTask() {
        var domain = Self.domain()
        var request = RunTaskRequest(taskDefinition: "web")
        request.containerInstances = [
            Self.first, "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/\(Self.second)",
        ]
        guard
            case .tasks(let started) = domain.apply(.runTask(cluster: "prod", request: request), context: Self.context)
        else {
            Issue.record("StartTask refused")
            return
        }
        #expect(started.map(\.lastStatus) == ["PENDING", "PENDING"])
        #expect(started.compactMap(\.instanceID) == [Self.first, Self.second])
        // 200 of 256 MiB is taken on each: a second round does not fit, and nothing of it stays.
        let before = domain
        var again = RunTaskRequest(taskDefinition: "web")
        again.containerInstances = [Self.second]
        guard
            case .refused(let status, _, let message, let field) = domain.apply(
                .runTask(cluster: "prod", request: again),
                context: Domain.Context(time: 2_000, arnPrefix: Self.context.arnPrefix, index: 8)
            )
        else {
            Issue.record("a task that does not fit was started")
            return
        }
        #expect(
            status == 409 && field == "containerInstances[0]" && message.contains("lacks 200 MiB memory"),
            "\(message)"
        )
        #expect(domain == before, "a refusal changes nothing")
    }
}
