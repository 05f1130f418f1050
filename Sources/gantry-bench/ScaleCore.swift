import ClusterState
import Orchestration

#if canImport(Glibc)
import Glibc
#endif

/// `scale-core`: the orchestrator's pure path alone — rounds of `Orchestrator.reconcile` applied to one in-memory
/// domain, with every placed task reported RUNNING between rounds — to find where the leader's time goes before
/// Raft, HTTP and processes are added (`scale` measures the whole path).
enum ScaleCore {
    static func run(instances: Int, tasks: Int, services: Int) {
        let prefix = "arn:gantry:ecs:bench:000000000000"
        var domain = Domain()
        var index: UInt64 = 0
        var now: Int64 = 1_000_000
        func apply(_ command: DomainCommand) -> DomainResult {
            index += 1
            return domain.apply(command, context: Domain.Context(time: now, arnPrefix: prefix, index: index))
        }
        _ = apply(.createCluster(name: "scale", tags: []))
        for number in 1...instances {
            let digits = String(number, radix: 16)
            let registration = InstanceRegistration(
                id: String(repeating: "0", count: 32 - digits.count) + digits,
                hostname: "sim-\(number)",
                cpu: 16_384,
                memory: 65_536,
                availabilityZone: ["a", "b", "c"][number % 3],
                agentVersion: "bench"
            )
            _ = apply(.registerContainerInstance(cluster: "scale", registration: registration))
        }
        var container = ContainerDefinition(name: "app", image: "sim/ok")
        container.cpu = 16
        container.memory = 32
        _ = apply(.registerTaskDefinition(spec: TaskDefinitionSpec(family: "app", containerDefinitions: [container])))
        let perService = tasks / services
        for number in 0..<services {
            var request = ServiceRequest(
                serviceName: "svc-\(number)",
                taskDefinition: "app:1",
                desiredCount: perService
            )
            request.placementStrategy = [PlacementStrategy(type: "spread", field: "attribute:ecs.availability-zone")]
            _ = apply(.createService(cluster: "scale", request: request))
        }
        print("scale-core: \(instances) instances, \(services) services × \(perService) tasks, in one process")
        var reconcileSeconds = 0.0
        var applySeconds = 0.0
        var agentSeconds = 0.0
        var placed = 0
        var running = 0
        var rounds = 0
        let started = seconds()
        while running < perService * services && rounds < 10_000 {
            rounds += 1
            var mark = seconds()
            let commands = Orchestrator.reconcile(domain, now: now, liveness: nil, seed: UInt64(rounds))
            reconcileSeconds += seconds() - mark
            mark = seconds()
            for command in commands {
                if case .placements(let outcome) = apply(command) { placed += outcome.accepted.count }
            }
            applySeconds += seconds() - mark
            mark = seconds()
            let pending = domain.tasks.values.filter { $0.lastStatus == "PENDING" && $0.desiredStatus == "RUNNING" }
            for (instance, group) in Dictionary(grouping: pending, by: { $0.instanceID ?? "" }) {
                for chunk in stride(from: 0, to: group.count, by: 1_000) {
                    let reports = group[chunk..<min(group.count, chunk + 1_000)].map {
                        TaskStateReport(task: $0.id, epoch: $0.epoch, status: "RUNNING")
                    }
                    _ = apply(.reportTaskStates(cluster: "scale", instance: instance, reports: Array(reports)))
                }
            }
            running += pending.count
            agentSeconds += seconds() - mark
            now += 1_000
            if rounds % 10 == 0 || running == perService * services {
                print(
                    "  round \(rounds): \(placed) placed, \(running) running, reconcile \(fmt(reconcileSeconds)) s, "
                        + "apply \(fmt(applySeconds)) s, agents \(fmt(agentSeconds)) s"
                )
            }
        }
        let total = seconds() - started
        print(
            "  placements/s (reconcile + apply, the leader's work): \(Int(Double(placed) / (reconcileSeconds + applySeconds)))"
        )
        print("  wall time to all RUNNING: \(fmt(total)) s over \(rounds) rounds; resident memory \(residentMiB()) MiB")
    }

    static func seconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func fmt(_ value: Double) -> String { formatted(value) }

    /// VmRSS of process `pid` (default this one) in MiB, from /proc.
    static func residentMiB(pid: String = "self") -> Int {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) / 1_024
    }
}
