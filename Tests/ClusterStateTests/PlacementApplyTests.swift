import ClusterState
import Testing

/// A cluster `c` with task definition `web:1` (a fixed host port when `hostPort` is given) and one instance.
func placementState(memory: Int = 1024, hostPort: Int? = nil) throws -> (StateMachine, String) {
    var state = StateMachine()
    _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
    let port = hostPort.map { #", "hostPort": \#($0)"# } ?? ""
    let json = """
        {"family": "web", "containerDefinitions": [
          {"name": "web", "image": "nginx", "memory": 512, "cpu": 256, "portMappings": [{"containerPort": 80\(port)}]}
        ]}
        """
    let spec = try TaskDefinitionValidator.decode(Array(json.utf8)).get()
    _ = state.apply(domainCommand(.registerTaskDefinition(spec: spec)), at: 2)
    let id = String(repeating: "1", count: 32)
    let registration = InstanceRegistration(id: id, hostname: "h", cpu: 4096, memory: memory, agentVersion: "v")
    _ = state.apply(domainCommand(.registerContainerInstance(cluster: "c", registration: registration)), at: 3)
    return (state, id)
}

func run(_ state: inout StateMachine, count: Int, at index: UInt64) -> [String] {
    guard
        case .domain(.tasks(let tasks)) = state.apply(
            domainCommand(.runTask(cluster: "c", request: RunTaskRequest(taskDefinition: "web", count: count))),
            at: index
        )
    else { return [] }
    return tasks.map(\.id)
}

func place(_ state: inout StateMachine, _ placements: [TaskPlacement], at index: UInt64) -> PlacementOutcome? {
    guard
        case .domain(.placements(let outcome)) = state.apply(
            domainCommand(.placeTasks(cluster: "c", placements: placements)),
            at: index
        )
    else { return nil }
    return outcome
}

@Suite("Domain: placements re-checked in apply")
struct PlacementApplyTests {
    @Test("a plan that overfills an instance is cut where it stops fitting")
    func memoryRecheck() throws {
        var (state, instance) = try placementState(memory: 1024)
        let tasks = run(&state, count: 3, at: 4)
        let outcome = try #require(place(&state, tasks.map { TaskPlacement(task: $0, instance: instance) }, at: 5))
        #expect(outcome.accepted.count == 2)
        #expect(outcome.refused.map(\.reason) == ["container instance \(instance) lacks 512 MiB memory now"])
        let placed = state.domain.instances[instance]!
        #expect(placed.remainingResources.first { $0.name == "MEMORY" }?.integerValue == 0)
        #expect(placed.pendingTasksCount == 2)
        let task = state.domain.tasks[tasks[0]]!
        #expect(
            task.lastStatus == "PENDING" && task.epoch == 1 && task.containerInstanceArn == placed.containerInstanceArn
        )
        #expect(state.domain.tasks[tasks[2]]!.containerInstanceArn == nil)
    }

    @Test("two tasks with the same fixed host port never share an instance")
    func portRecheck() throws {
        var (state, instance) = try placementState(memory: 8192, hostPort: 8080)
        let tasks = run(&state, count: 2, at: 4)
        let outcome = try #require(place(&state, tasks.map { TaskPlacement(task: $0, instance: instance) }, at: 5))
        #expect(outcome.accepted.count == 1)
        #expect(outcome.refused.first?.reason.contains("host port tcp/8080 taken") == true)
        #expect(
            state.domain.instances[instance]!.remainingResources.first { $0.name == "PORTS" }?.stringSetValue == [
                "8080"
            ]
        )
    }

    @Test("stale plans are refused: already placed, stopped, draining instance, disconnected agent, missing")
    func staleness() throws {
        var (state, instance) = try placementState(memory: 8192)
        let tasks = run(&state, count: 4, at: 4)
        _ = place(&state, [TaskPlacement(task: tasks[0], instance: instance)], at: 5)
        _ = state.apply(domainCommand(.stopTask(cluster: "c", task: tasks[1], reason: nil)), at: 6)
        let outcome = try #require(
            place(
                &state,
                [
                    TaskPlacement(task: tasks[0], instance: instance),
                    TaskPlacement(task: tasks[1], instance: instance),
                    TaskPlacement(task: "nope", instance: instance), TaskPlacement(task: tasks[2], instance: "nope"),
                ],
                at: 7
            )
        )
        #expect(outcome.accepted.isEmpty)
        #expect(
            outcome.refused.map(\.reason) == [
                "task \(tasks[0]) is already placed", "task \(tasks[1]) is no longer waiting for placement",
                "task nope does not exist", "container instance nope does not exist",
            ]
        )
        _ = state.apply(
            domainCommand(.updateContainerInstanceState(cluster: "c", id: instance, status: "DRAINING")),
            at: 8
        )
        let drained = try #require(place(&state, [TaskPlacement(task: tasks[3], instance: instance)], at: 9))
        #expect(drained.refused.first?.reason == "container instance \(instance) is DRAINING")
    }

    @Test("random plans on stale views never overcommit any instance", arguments: 0..<50)
    func neverOvercommits(seed: Int) throws {
        var random = SplitMix(seed: UInt64(seed) &+ 1)
        var state = StateMachine()
        _ = state.apply(domainCommand(.createCluster(name: "c", tags: [])), at: 1)
        _ = state.apply(domainCommand(.registerTaskDefinition(spec: try taskDefinitionSpec("web"))), at: 2)
        var index: UInt64 = 2
        var instanceIDs: [String] = []
        for number in 0..<4 {
            index += 1
            let id = String(repeating: String(number), count: 32)
            instanceIDs.append(id)
            let memory = 128 * Int(1 + random.next() % 8)
            let registration = InstanceRegistration(id: id, hostname: "h", cpu: 4096, memory: memory, agentVersion: "v")
            _ = state.apply(
                domainCommand(.registerContainerInstance(cluster: "c", registration: registration)),
                at: index
            )
        }
        index += 1
        let tasks = run(&state, count: 10, at: index)
        // Several leaders' worth of plans, each made without seeing the others.
        for _ in 0..<3 {
            let plan = tasks.map { TaskPlacement(task: $0, instance: instanceIDs[Int(random.next() % 4)]) }
            index += 1
            _ = place(&state, plan, at: index)
        }
        for id in instanceIDs {
            let instance = state.domain.instances[id]!
            let placed = state.domain.tasks.values.filter { $0.containerInstanceArn == instance.containerInstanceArn }
            let registered = instance.registeredResources.first { $0.name == "MEMORY" }!.integerValue!
            #expect(placed.reduce(0) { $0 + $1.memory } <= registered)
            #expect(instance.remainingResources.first { $0.name == "MEMORY" }!.integerValue! >= 0)
        }
    }
}
