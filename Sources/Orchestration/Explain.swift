package import ClusterState
import Scheduler

/// A dry run of a service's next placement: what the scheduler would do with the service's waiting tasks (or
/// with one more task, if none waits), and each instance's verdict.
package struct PlacementExplanation: Sendable, Equatable, Codable {
    /// One instance's verdict.
    package struct Verdict: Sendable, Equatable, Codable {
        /// The container instance id.
        package var id: String
        /// Its host.
        package var hostname: String
        /// ACTIVE, DRAINING.
        package var status: String
        /// CPU units free.
        package var freeCPU: Int
        /// Memory MiB free.
        package var freeMemory: Int
        /// Tasks of the service on it now.
        package var serviceTasks: Int
        /// `fits`, or why it cannot take a task ("lacked 512 MiB memory").
        package var verdict: String
        /// Tasks the dry run put on it.
        package var wouldPlace: Int
    }

    /// The service name.
    package var service: String
    /// The PRIMARY deployment's task definition.
    package var taskDefinition: String
    /// Tasks of the service waiting for an instance now.
    package var waiting: Int
    /// Tasks the dry run placed (the waiting ones, or one if none waits).
    package var simulated: Int
    /// How many of them found an instance.
    package var placeable: Int
    /// Why the others did not, counted over the instances ("3 instances lacked 512 MiB memory").
    package var reason: String?
    /// Every registered instance of the cluster.
    package var instances: [Verdict]
    /// One sentence.
    package var summary: String
}

extension Orchestrator {
    /// Explains the next placement of service `name` of `cluster`, or nil if there is no such service.
    package static func explain(
        _ domain: Domain,
        cluster: String,
        service name: String,
        seed: UInt64
    )
        -> PlacementExplanation?
    {
        guard let service = domain.liveService(name, in: cluster), let primary = service.deployments.first,
            let definition = domain.taskDefinition(primary.taskDefinition)
        else { return nil }
        let index = DomainIndex(domain)
        let key = "\(cluster)/\(service.serviceName)"
        let waiting = (index.waitingByCluster[cluster] ?? []).filter { $0.serviceName == service.serviceName }
        let sample = domain.newTaskPreview(definition, group: "service:\(service.serviceName)", cluster: cluster)
        let candidates = index.candidates(in: cluster, domain)
        var verdicts: [PlacementExplanation.Verdict] = []
        guard let request = Placer.request(for: waiting.first ?? sample, domain) else { return nil }
        let count = max(1, waiting.count)
        let decisions = Placement.place(request, count: count, on: candidates, seed: seed)
        var placedOn: [String: Int] = [:]
        var reason: String?
        for decision in decisions {
            switch decision {
            case .placed(let instance): placedOn[instance, default: 0] += 1
            case .unplaced(let why): reason = why
            }
        }
        for (candidate, rejection) in zip(candidates, Placement.rejections(request, on: candidates)) {
            verdicts.append(
                PlacementExplanation.Verdict(
                    id: candidate.instance.id,
                    hostname: candidate.instance.hostname,
                    status: candidate.instance.status,
                    freeCPU: candidate.freeCPU,
                    freeMemory: candidate.freeMemory,
                    serviceTasks: (index.liveByInstance[candidate.instance.id] ?? []).filter {
                        $0.serviceName == service.serviceName
                    }.count,
                    verdict: rejection ?? "fits",
                    wouldPlace: placedOn[candidate.instance.id] ?? 0
                )
            )
        }
        let placeable = placedOn.values.reduce(0, +)
        let what = waiting.isEmpty ? "a new task" : "\(waiting.count) waiting task\(waiting.count == 1 ? "" : "s")"
        let summary: String
        if placeable == count {
            summary =
                "\(what) of \(key) would be placed on \(placedOn.count) instance\(placedOn.count == 1 ? "" : "s")."
        } else {
            summary = "\(count - placeable) of \(what) of \(key) cannot be placed: \(reason ?? "no instance fits")."
        }
        return PlacementExplanation(
            service: service.serviceName,
            taskDefinition: primary.taskDefinition,
            waiting: waiting.count,
            simulated: count,
            placeable: placeable,
            reason: placeable == count ? nil : reason,
            instances: verdicts,
            summary: summary
        )
    }
}
