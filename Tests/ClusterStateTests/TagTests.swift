import ClusterState
import Testing

@Suite("Tags by ARN: clusters, services, task definitions")
struct TagTests {
    static let context = Domain.Context(time: 1_000, arnPrefix: "arn:aws:ecs:us-east-1:123456789012")

    @Test("tag adds and replaces by key, untag removes, the rules hold, an unknown ARN is 404")
    func tagging() {
        var domain = Domain()
        _ = domain.apply(.createCluster(name: "prod", tags: [Tag(key: "team", value: "a")]), context: Self.context)
        let arn = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
        #expect(
            domain.apply(
                .tagResource(arn: arn, tags: [Tag(key: "team", value: "b"), Tag(key: "tier", value: "1")]),
                context: Self.context
            )
                == .tags([Tag(key: "team", value: "b"), Tag(key: "tier", value: "1")])
        )
        #expect(
            domain.apply(.untagResource(arn: arn, keys: ["tier", "absent"]), context: Self.context)
                == .tags([Tag(key: "team", value: "b")])
        )
        #expect(domain.tags(of: arn) == [Tag(key: "team", value: "b")])
        let many = (0..<50).map { Tag(key: "k\($0)", value: "v") }
        if case .refused(let status, _, let message, _) = domain.apply(
            .tagResource(arn: arn, tags: many),
            context: Self.context
        ) {
            #expect(status == 400 && message.contains("50"))
        } else {
            Issue.record("51 tags were accepted")
        }
        #expect(domain.tags(of: arn) == [Tag(key: "team", value: "b")], "a refusal changes nothing")
        if case .refused(let status, let code, _, let field) = domain.apply(
            .tagResource(arn: arn + "x", tags: [Tag(key: "a", value: nil)]),
            context: Self.context
        ) {
            #expect(status == 404 && code == "resource_not_found" && field == "resourceArn")
        } else {
            Issue.record("an unknown ARN was tagged")
        }
        var spec = TaskDefinitionSpec(
            family: "web",
            containerDefinitions: [ContainerDefinition(name: "web", image: "x")]
        )
        spec.containerDefinitions[0].memory = 64
        _ = domain.apply(.registerTaskDefinition(spec: spec), context: Self.context)
        let definition = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
        #expect(
            domain.apply(.tagResource(arn: definition, tags: [Tag(key: "v", value: "1")]), context: Self.context)
                == .tags([Tag(key: "v", value: "1")])
        )
        #expect(domain.taskDefinition("web:1")?.spec.tags == [Tag(key: "v", value: "1")])
    }
}
