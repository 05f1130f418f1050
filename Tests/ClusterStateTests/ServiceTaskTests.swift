import ClusterState
import Testing

/// A state with cluster `c` and task definition `web:1`.
func stateWithTaskDefinition() throws -> StateMachine {
    var state = StateMachine()
    _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
    _ = state.apply(domainCommand(.registerTaskDefinition(spec: try taskDefinitionSpec("web"))), at: 2)
    return state
}

func refusedField(_ result: CommandResult) -> (Int, String?)? {
    if case .domain(.refused(let status, _, _, let field)) = result { return (status, field) }
    return nil
}

@Suite("Domain: services")
struct ServiceApplyTests {
    @Test("create fills ECS defaults, one PRIMARY deployment IN_PROGRESS and a creation event")
    func create() throws {
        var state = try stateWithTaskDefinition()
        let result = state.apply(
            domainCommand(
                .createService(
                    cluster: "c",
                    request: ServiceRequest(serviceName: "web", taskDefinition: "web", desiredCount: 2)
                )
            ),
            at: 3
        )
        guard case .domain(.service(let service)) = result else {
            Issue.record("not created: \(result)")
            return
        }
        #expect(service.serviceArn == "\(arnPrefix):service/c/web")
        #expect(service.taskDefinition == "\(arnPrefix):task-definition/web:1")
        #expect(service.deploymentConfiguration.maximumPercent == 200)
        #expect(service.deploymentConfiguration.minimumHealthyPercent == 100)
        #expect(service.deploymentConfiguration.deploymentCircuitBreaker == .init(enable: false, rollback: false))
        #expect(service.deployments.map(\.status) == ["PRIMARY"])
        #expect(service.deployments[0].id == "ecs-svc/3")
        #expect(service.deployments[0].rolloutState == "IN_PROGRESS")
        #expect(service.events.count == 1)
        #expect(service.launchType == "EXTERNAL")
    }

    @Test(
        "create refusals name the field",
        arguments: [
            ("serviceName", { @Sendable (r: inout ServiceRequest) in r.serviceName = "bad name" }),
            ("desiredCount", { @Sendable (r: inout ServiceRequest) in r.desiredCount = nil }),
            ("desiredCount", { @Sendable (r: inout ServiceRequest) in r.desiredCount = -1 }),
            ("schedulingStrategy", { @Sendable (r: inout ServiceRequest) in r.schedulingStrategy = "CRON" }),
            ("launchType", { @Sendable (r: inout ServiceRequest) in r.launchType = "FARGATE" }),
            (
                "deploymentConfiguration.minimumHealthyPercent",
                { @Sendable (r: inout ServiceRequest) in r.deploymentConfiguration = .init(minimumHealthyPercent: 101) }
            ),
            (
                "deploymentConfiguration.maximumPercent",
                { @Sendable (r: inout ServiceRequest) in r.deploymentConfiguration = .init(maximumPercent: 99) }
            ),
            (
                "deploymentConfiguration.maximumPercent",
                { @Sendable (r: inout ServiceRequest) in
                    r.deploymentConfiguration = .init(maximumPercent: 100, minimumHealthyPercent: 100)
                }
            ),
            (
                "placementStrategy[0].field",
                { @Sendable (r: inout ServiceRequest) in r.placementStrategy = [.init(type: "binpack", field: "disk")] }
            ),
            (
                "placementStrategy[0].type",
                { @Sendable (r: inout ServiceRequest) in r.placementStrategy = [.init(type: "pack")] }
            ),
            (
                "placementStrategy[0].field",
                { @Sendable (r: inout ServiceRequest) in r.placementStrategy = [.init(type: "spread")] }
            ),
            (
                "placementStrategy",
                { @Sendable (r: inout ServiceRequest) in
                    r.placementStrategy = Array(repeating: .init(type: "random"), count: 6)
                }
            ),
            (
                "placementConstraints[0].expression",
                { @Sendable (r: inout ServiceRequest) in r.placementConstraints = [.init(type: "memberOf")] }
            ),
            (
                "placementConstraints[0].expression",
                { @Sendable (r: inout ServiceRequest) in
                    r.placementConstraints = [.init(type: "distinctInstance", expression: "x")]
                }
            ),
            (
                "placementConstraints[0].type",
                { @Sendable (r: inout ServiceRequest) in r.placementConstraints = [.init(type: "sameHost")] }
            ),
            (
                "healthCheckGracePeriodSeconds",
                { @Sendable (r: inout ServiceRequest) in r.healthCheckGracePeriodSeconds = -1 }
            ),
            ("tags[0].key", { @Sendable (r: inout ServiceRequest) in r.tags = [Tag(key: "", value: "")] }),
            ("taskDefinition", { @Sendable (r: inout ServiceRequest) in r.taskDefinition = "nope" }),
        ] as [(String, @Sendable (inout ServiceRequest) -> Void)]
    )
    func refusals(field: String, edit: @Sendable (inout ServiceRequest) -> Void) throws {
        var state = try stateWithTaskDefinition()
        var request = ServiceRequest(serviceName: "web", taskDefinition: "web:1", desiredCount: 1)
        edit(&request)
        let result = state.apply(domainCommand(.createService(cluster: "c", request: request)), at: 3)
        #expect(refusedField(result)?.1 == field, "\(result)")
        #expect(state.domain.services.isEmpty)
    }

    @Test("DAEMON: no desiredCount, no strategy, maximumPercent 100 by default")
    func daemon() throws {
        var state = try stateWithTaskDefinition()
        var request = ServiceRequest(serviceName: "agent", taskDefinition: "web")
        request.schedulingStrategy = "DAEMON"
        guard
            case .domain(.service(let service)) = state.apply(
                domainCommand(.createService(cluster: "c", request: request)),
                at: 3
            )
        else {
            Issue.record("DAEMON service not created")
            return
        }
        #expect(service.deploymentConfiguration.maximumPercent == 100)
        #expect(service.deploymentConfiguration.minimumHealthyPercent == 0)
        request.serviceName = "agent2"
        request.desiredCount = 3
        #expect(
            refusedField(state.apply(domainCommand(.createService(cluster: "c", request: request)), at: 4))?.1
                == "desiredCount"
        )
    }

    @Test("names are unique among live services; an INACTIVE name can be reused")
    func uniqueNames() throws {
        var state = try stateWithTaskDefinition()
        let request = ServiceRequest(serviceName: "web", taskDefinition: "web", desiredCount: 0)
        _ = state.apply(domainCommand(.createService(cluster: "c", request: request)), at: 3)
        #expect(
            refusedField(state.apply(domainCommand(.createService(cluster: "c", request: request)), at: 4))?.0 == 409
        )
        _ = state.apply(domainCommand(.deleteService(cluster: "c", service: "web", force: false)), at: 5)
        #expect(state.domain.services["c/web"]?.status == "INACTIVE")
        guard case .domain(.service) = state.apply(domainCommand(.createService(cluster: "c", request: request)), at: 6)
        else {
            Issue.record("name not reusable after delete")
            return
        }
    }

    @Test("update: desired count, a new task definition starts a PRIMARY deployment, the old one turns ACTIVE")
    func update() throws {
        var state = try stateWithTaskDefinition()
        _ = state.apply(
            domainCommand(
                .createService(
                    cluster: "c",
                    request: ServiceRequest(serviceName: "web", taskDefinition: "web", desiredCount: 2)
                )
            ),
            at: 3
        )
        _ = state.apply(
            domainCommand(.registerTaskDefinition(spec: try taskDefinitionSpec("web", image: "nginx:2"))),
            at: 4
        )
        var update = ServiceUpdate()
        update.desiredCount = 4
        update.taskDefinition = "web:2"
        guard
            case .domain(.service(let service)) = state.apply(
                domainCommand(.updateService(cluster: "c", service: "web", update: update)),
                at: 5
            )
        else {
            Issue.record("not updated")
            return
        }
        #expect(service.desiredCount == 4)
        #expect(service.deployments.map(\.status) == ["PRIMARY", "ACTIVE"])
        #expect(service.deployments[0].taskDefinition.hasSuffix("web:2"))
        #expect(service.deployments[0].desiredCount == 4)
        #expect(service.events.count == 2)
        var same = ServiceUpdate()
        same.taskDefinition = "web:2"
        guard
            case .domain(.service(let unchanged)) = state.apply(
                domainCommand(.updateService(cluster: "c", service: "web", update: same)),
                at: 6
            )
        else { return }
        #expect(unchanged.deployments.count == 2, "the same task definition starts no deployment")
        same.forceNewDeployment = true
        guard
            case .domain(.service(let forced)) = state.apply(
                domainCommand(.updateService(cluster: "c", service: "web", update: same)),
                at: 7
            )
        else { return }
        #expect(forced.deployments.count == 3)
    }

    @Test("delete needs desiredCount 0 unless forced; events keep the newest 100")
    func deleteAndEvents() throws {
        var state = try stateWithTaskDefinition()
        _ = state.apply(
            domainCommand(
                .createService(
                    cluster: "c",
                    request: ServiceRequest(serviceName: "web", taskDefinition: "web", desiredCount: 2)
                )
            ),
            at: 3
        )
        #expect(
            refusedField(state.apply(domainCommand(.deleteService(cluster: "c", service: "web", force: false)), at: 4))?
                .0 == 409
        )
        for index in 0..<120 {
            var update = ServiceUpdate()
            update.desiredCount = index % 2
            _ = state.apply(
                domainCommand(.updateService(cluster: "c", service: "web", update: update)),
                at: UInt64(5 + index)
            )
        }
        #expect(state.domain.services["c/web"]!.events.count == 100)
        let deleted = state.apply(domainCommand(.deleteService(cluster: "c", service: "web", force: true)), at: 200)
        guard case .domain(.service(let service)) = deleted else {
            Issue.record("not deleted")
            return
        }
        #expect(service.status == "INACTIVE")
        #expect(service.desiredCount == 0)
    }

    @Test("a cluster with a live service cannot be deleted")
    func clusterWithService() throws {
        var state = try stateWithTaskDefinition()
        _ = state.apply(
            domainCommand(
                .createService(
                    cluster: "c",
                    request: ServiceRequest(serviceName: "web", taskDefinition: "web", desiredCount: 0)
                )
            ),
            at: 3
        )
        #expect(refusedField(state.apply(domainCommand(.deleteCluster(name: "c")), at: 4))?.0 == 409)
    }
}

@Suite("Domain: tasks")
struct TaskApplyTests {
    @Test("run creates count unplaced PROVISIONING tasks with ids from the log index")
    func run() throws {
        var state = try stateWithTaskDefinition()
        var request = RunTaskRequest(taskDefinition: "web", count: 3)
        request.startedBy = "me"
        guard
            case .domain(.tasks(let tasks)) = state.apply(
                domainCommand(.runTask(cluster: "c", request: request)),
                at: 3
            )
        else {
            Issue.record("no tasks")
            return
        }
        #expect(tasks.count == 3)
        #expect(Set(tasks.map(\.id)).count == 3)
        #expect(tasks[0].id == "0000000000000003" + "0000000000000000")
        #expect(
            tasks.allSatisfy {
                $0.lastStatus == "PROVISIONING" && $0.desiredStatus == "RUNNING" && $0.containerInstanceArn == nil
            }
        )
        #expect(tasks[0].group == "family:web")
        #expect(tasks[0].memory == 128)
        #expect(tasks[0].containers.map(\.name) == ["web"])
    }

    @Test(
        "run refusals name the field",
        arguments: [
            ("count", { @Sendable (r: inout RunTaskRequest) in r.count = 11 }),
            ("count", { @Sendable (r: inout RunTaskRequest) in r.count = 0 }),
            ("startedBy", { @Sendable (r: inout RunTaskRequest) in r.startedBy = String(repeating: "x", count: 129) }),
            ("launchType", { @Sendable (r: inout RunTaskRequest) in r.launchType = "EC2" }),
            ("taskDefinition", { @Sendable (r: inout RunTaskRequest) in r.taskDefinition = "missing" }),
            (
                "overrides.containerOverrides[0].name",
                { @Sendable (r: inout RunTaskRequest) in
                    var overrides = TaskOverrides()
                    overrides.containerOverrides = [.init(name: "nope", command: ["x"], environment: nil)]
                    r.overrides = overrides
                }
            ),
        ] as [(String, @Sendable (inout RunTaskRequest) -> Void)]
    )
    func refusals(field: String, edit: @Sendable (inout RunTaskRequest) -> Void) throws {
        var state = try stateWithTaskDefinition()
        var request = RunTaskRequest(taskDefinition: "web")
        edit(&request)
        #expect(refusedField(state.apply(domainCommand(.runTask(cluster: "c", request: request)), at: 3))?.1 == field)
        #expect(state.domain.tasks.isEmpty)
    }

    @Test("an INACTIVE task definition starts no task")
    func inactiveDefinition() throws {
        var state = try stateWithTaskDefinition()
        _ = state.apply(domainCommand(.deregisterTaskDefinition(family: "web", revision: 1)), at: 3)
        #expect(
            refusedField(
                state.apply(
                    domainCommand(.runTask(cluster: "c", request: RunTaskRequest(taskDefinition: "web:1"))),
                    at: 4
                )
            )?.1 == "taskDefinition"
        )
    }

    @Test("stop: an unplaced task stops at once with UserInitiated; stopped tasks are pruned after retention")
    func stopAndPrune() throws {
        var state = try stateWithTaskDefinition()
        guard
            case .domain(.tasks(let tasks)) = state.apply(
                domainCommand(.runTask(cluster: "c", request: RunTaskRequest(taskDefinition: "web"))),
                at: 3
            )
        else { return }
        let id = tasks[0].id
        #expect(refusedField(state.apply(domainCommand(.deleteCluster(name: "c")), at: 4))?.0 == 409)
        _ = state.apply(domainCommand(.stopTask(cluster: "c", task: id, reason: "done"), time: 10_000), at: 5)
        let stopped = try #require(state.domain.tasks[id])
        #expect(stopped.lastStatus == "STOPPED" && stopped.desiredStatus == "STOPPED")
        #expect(stopped.stopCode == "UserInitiated" && stopped.stoppedReason == "done")
        #expect(stopped.stoppedAt == 10_000)
        _ = state.apply(domainCommand(.pruneStoppedTasks(stoppedBefore: 10_000)), at: 6)
        #expect(state.domain.tasks[id] != nil, "not yet past retention")
        let pruned = state.apply(domainCommand(.pruneStoppedTasks(stoppedBefore: 10_001)), at: 7)
        #expect(pruned == .domain(.pruned(1)))
        #expect(state.domain.tasks[id] == nil)
        #expect(
            refusedField(state.apply(domainCommand(.stopTask(cluster: "c", task: id, reason: nil)), at: 8))?.0 == 404
        )
    }

    @Test("a run retried with the same client token returns the same tasks, never duplicates")
    func runToken() throws {
        var state = try stateWithTaskDefinition()
        let command = domainCommand(
            .runTask(cluster: "c", request: RunTaskRequest(taskDefinition: "web", count: 2)),
            token: "run-1"
        )
        let first = state.apply(command, at: 3)
        let retry = state.apply(command, at: 4)
        #expect(first == retry)
        #expect(state.domain.tasks.count == 2)
    }
}
