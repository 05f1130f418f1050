import ClusterState
import Scheduler
import Testing

/// A deterministic generator for the property tests.
struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// A registered instance through the real apply path (so resources and attributes are as in production).
func makeInstance(
    _ index: Int,
    cpu: Int,
    memory: Int,
    zone: String,
    reserved: [Int] = [],
    status: String = "ACTIVE",
    connected: Bool = true
)
    -> ContainerInstance
{
    var state = StateMachine()
    let prefix = "arn:gantry:ecs:local:000000000000"
    func command(_ command: DomainCommand) -> Command {
        Command(time: 1, action: .domain(DomainEnvelope(arnPrefix: prefix, command: command)))
    }
    _ = state.apply(command(.createCluster(name: "c", tags: [])), at: 1)
    let id = String(repeating: "0", count: 32 - String(index).count) + String(index)
    let registration = InstanceRegistration(
        id: id,
        hostname: "host-\(index)",
        cpu: cpu,
        memory: memory,
        reservedPorts: reserved,
        availabilityZone: zone,
        agentVersion: "1.0.0"
    )
    _ = state.apply(command(.registerContainerInstance(cluster: "c", registration: registration)), at: 2)
    var instance = state.domain.instances[id]!
    instance.status = status
    instance.agentConnected = connected
    return instance
}

@Suite("Placement properties")
struct PlacementPropertyTests {
    @Test(
        "never overcommits cpu, memory or ports; only ACTIVE connected instances; constraints hold",
        arguments: 0..<200
    )
    func invariants(seed: Int) throws {
        var random = Generator(state: UInt64(seed) &* 7919)
        let zones = ["a", "b", "c"]
        let instances = (0..<random.int(1...12)).map { index in
            makeInstance(
                index,
                cpu: random.int(1...8) * 256,
                memory: random.int(1...16) * 256,
                zone: zones[random.int(0...2)],
                reserved: random.int(0...3) == 0 ? [80] : [],
                status: random.int(0...5) == 0 ? "DRAINING" : "ACTIVE",
                connected: random.int(0...7) != 0
            )
        }
        let candidates = instances.map { PlacementCandidate(instance: $0, tasks: []) }
        var constraints: [TaskDefinitionSpec.PlacementConstraint] = []
        if random.int(0...2) == 0 { constraints.append(.init(type: "distinctInstance")) }
        let zoneQuery = "attribute:ecs.availability-zone != \(zones[random.int(0...2)])"
        if random.int(0...2) == 0 { constraints.append(.init(type: "memberOf", expression: zoneQuery)) }
        let strategies: [[PlacementStrategy]] = [
            [], [.init(type: "binpack", field: "memory")],
            [.init(type: "spread", field: "attribute:ecs.availability-zone")],
            [.init(type: "random")],
            [.init(type: "spread", field: "instanceId"), .init(type: "binpack", field: "cpu")],
        ]
        let request = PlacementRequest(
            cpu: random.int(0...4) * 128,
            memory: random.int(1...8) * 128,
            ports: random.int(0...2) == 0 ? ["tcp/80"] : [],
            group: "service:web",
            constraints: constraints,
            strategy: strategies[random.int(0...4)]
        )
        let count = random.int(1...30)
        let decisions = Placement.place(request, count: count, on: candidates, seed: UInt64(seed))
        #expect(decisions.count == count)
        var placed: [String: Int] = [:]
        for decision in decisions {
            switch decision {
            case .placed(let id): placed[id, default: 0] += 1
            case .unplaced(let reason): #expect(!reason.isEmpty)
            }
        }
        let query = try Query.parse(zoneQuery)
        for candidate in candidates {
            let n = placed[candidate.instance.id] ?? 0
            guard n > 0 else { continue }
            #expect(candidate.instance.status == "ACTIVE" && candidate.instance.agentConnected)
            #expect(n * request.cpu <= candidate.freeCPU, "cpu overcommitted on \(candidate.instance.id)")
            #expect(n * request.memory <= candidate.freeMemory, "memory overcommitted on \(candidate.instance.id)")
            if !request.ports.isEmpty {
                #expect(n == 1, "host port placed twice on one instance")
                #expect(!candidate.usedPorts.contains("tcp/80"))
            }
            if constraints.contains(where: { $0.type == "distinctInstance" }) { #expect(n == 1) }
            if constraints.contains(where: { $0.type == "memberOf" }) {
                #expect(query.matches(candidate.instance, tasksOnInstance: []))
            }
        }
    }

    @Test("spread over instances stays within one of even", arguments: 1...40)
    func spreadEven(count: Int) {
        let candidates = (0..<7).map {
            PlacementCandidate(instance: makeInstance($0, cpu: 100_000, memory: 100_000, zone: "a"), tasks: [])
        }
        let request = PlacementRequest(
            cpu: 10,
            memory: 10,
            group: "service:web",
            strategy: [.init(type: "spread", field: "instanceId")]
        )
        var counts: [String: Int] = [:]
        for case .placed(let id) in Placement.place(request, count: count, on: candidates, seed: 1) {
            counts[id, default: 0] += 1
        }
        let values = candidates.map { counts[$0.instance.id] ?? 0 }
        #expect(values.max()! - values.min()! <= 1)
        #expect(values.reduce(0, +) == count)
    }

    @Test("spread over an attribute (zones) stays within one of even", arguments: 1...30)
    func spreadZones(count: Int) {
        let zones = ["a", "a", "a", "b", "c", "c"]
        let candidates = zones.enumerated().map {
            PlacementCandidate(
                instance: makeInstance($0.offset, cpu: 100_000, memory: 100_000, zone: $0.element),
                tasks: []
            )
        }
        let request = PlacementRequest(
            cpu: 1,
            memory: 1,
            group: "service:web",
            strategy: [.init(type: "spread", field: "attribute:ecs.availability-zone")]
        )
        var perZone: [String: Int] = [:]
        for case .placed(let id) in Placement.place(request, count: count, on: candidates, seed: 3) {
            let zone = candidates.first { $0.instance.id == id }!.instance.attributes.first {
                $0.name == "ecs.availability-zone"
            }!.value!
            perZone[zone, default: 0] += 1
        }
        let values = ["a", "b", "c"].map { perZone[$0] ?? 0 }
        #expect(values.max()! - values.min()! <= 1, "\(perZone)")
    }

    @Test("binpack never opens a new instance while an open one still fits", arguments: 1...35)
    func binpack(count: Int) {
        let candidates = (0..<5).map {
            PlacementCandidate(instance: makeInstance($0, cpu: 4096, memory: 1000, zone: "a"), tasks: [])
        }
        let request = PlacementRequest(
            cpu: 0,
            memory: 100,
            group: "service:web",
            strategy: [.init(type: "binpack", field: "memory")]
        )
        var counts: [String: Int] = [:]
        for case .placed(let id) in Placement.place(request, count: count, on: candidates, seed: 9) {
            counts[id, default: 0] += 1
        }
        let used = counts.values.filter { $0 > 0 }.count
        #expect(used == (min(count, 50) + 9) / 10, "\(counts)")
        #expect(counts.values.filter { $0 < 10 }.count <= 1, "at most one instance is partly filled")
    }

    @Test("an unplaced task says how many instances each filter rejected and why")
    func reasons() {
        let candidates = [
            PlacementCandidate(instance: makeInstance(0, cpu: 1024, memory: 256, zone: "a"), tasks: []),
            PlacementCandidate(instance: makeInstance(1, cpu: 1024, memory: 256, zone: "a"), tasks: []),
            PlacementCandidate(instance: makeInstance(2, cpu: 1024, memory: 4096, zone: "a"), tasks: []),
            PlacementCandidate(
                instance: makeInstance(3, cpu: 1024, memory: 4096, zone: "b", status: "DRAINING"),
                tasks: []
            ),
        ]
        let request = PlacementRequest(
            cpu: 128,
            memory: 512,
            group: "service:web",
            constraints: [.init(type: "memberOf", expression: "attribute:ecs.availability-zone == b")]
        )
        let decisions = Placement.place(request, count: 1, on: candidates, seed: 1)
        #expect(
            decisions == [
                .unplaced(
                    reason:
                        "2 instances lacked 512 MiB memory; 1 instance failed memberOf(attribute:ecs.availability-zone == b); 1 instance is draining"
                )
            ]
        )
        #expect(
            Placement.place(request, count: 1, on: [], seed: 1) == [
                .unplaced(reason: "no container instances are registered in the cluster")
            ]
        )
    }

    @Test("the same seed gives the same random placement; another seed may differ")
    func seededRandom() {
        let candidates = (0..<20).map {
            PlacementCandidate(instance: makeInstance($0, cpu: 100_000, memory: 100_000, zone: "a"), tasks: [])
        }
        let request = PlacementRequest(cpu: 1, memory: 1, group: "g", strategy: [.init(type: "random")])
        let first = Placement.place(request, count: 10, on: candidates, seed: 42)
        #expect(Placement.place(request, count: 10, on: candidates, seed: 42) == first)
        #expect(Placement.place(request, count: 10, on: candidates, seed: 43) != first)
    }
}
