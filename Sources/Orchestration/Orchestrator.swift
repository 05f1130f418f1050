package import ClusterState
import Scheduler

/// The leader's memory of its agents. Heartbeats are not replicated: only the verdicts (an instance lost or back)
/// are, as commands.
package struct Liveness: Sendable, Equatable {
    /// Leader time at which this leader took over: every instance gets a fresh grace period from it, so a failover
    /// never declares instances lost because the new leader has not heard from them yet.
    package var since: Int64
    /// How long an agent may stay silent before its instance is declared lost (ms).
    package var ttl: Int64
    /// The last heartbeat heard from each instance's agent, by instance id (leader time).
    package var lastHeartbeat: [String: Int64] = [:]

    /// Creates a memory with no heartbeats yet.
    package init(since: Int64, ttl: Int64) {
        self.since = since
        self.ttl = ttl
    }
}

/// Bugs the simulation plants to show its checkers catch them (never set outside tests).
package enum PlantedOrchestrationBug: String, Sendable, CaseIterable {
    /// Rollouts stop old healthy tasks without keeping `minimumHealthyPercent`.
    case ignoreMinimumHealthy
    /// A new leader judges agents by heartbeats it never had the chance to hear: failover reschedules.
    case noFailoverGrace
}

/// The leader's brain: from the replicated state, the time and its memory of the agents, the commands to
/// propose. Pure: the same inputs give the same commands, so the simulation and the controller run the same code.
package enum Orchestrator {
    /// One round: instances lost or back, each service's reconciliation steps, and the placements of waiting tasks
    /// (at most `placementLimit` of them, so a round stays short however many wait). `seed` drives the `random`
    /// placement strategy.
    package static func reconcile(
        _ domain: Domain,
        now: Int64,
        liveness: Liveness?,
        seed: UInt64,
        placementLimit: Int = 20_000,
        planted: Set<PlantedOrchestrationBug> = []
    ) -> [DomainCommand] {
        let index = DomainIndex(domain)
        var commands: [DomainCommand] = []
        if var liveness {
            if planted.contains(.noFailoverGrace) { liveness.since = .min }
            commands = livenessCommands(domain, now: now, liveness)
        }
        let round = Placer.round(domain, index: index, seed: seed, limit: placementLimit)
        var startBudget = placementLimit
        for key in domain.services.keys.sorted() {
            let service = domain.services[key]!
            guard service.status != "INACTIVE", let cluster = key.split(separator: "/").first.map(String.init) else {
                continue
            }
            var plan = ServicePlan(
                service: service,
                tasks: index.liveByService[key] ?? [],
                domain: domain,
                now: now,
                planted: planted
            )
            var steps = service.schedulingStrategy == "DAEMON" ? plan.daemonSteps(index) : plan.replicaSteps()
            // At most `placementLimit` new tasks a round over all services: creating a million task records in
            // one round would make every controller apply them in one go.
            steps = steps.compactMap { step in
                guard case .startTasks(let deployment, let count, let expected) = step else { return step }
                let allowed = min(count, startBudget)
                startBudget -= allowed
                return allowed > 0 ? .startTasks(deployment: deployment, count: allowed, expectedLive: expected) : nil
            }
            if let unplaced = round.unplaced[key] {
                let message =
                    "(service \(service.serviceName)) was unable to place \(unplaced.count == 1 ? "a task" : "tasks"): "
                    + "\(unplaced.reason)."
                if !plan.saidRecently(message) { steps.append(.event(message)) }
            }
            if !steps.isEmpty {
                commands.append(.orchestrate(cluster: cluster, service: service.serviceName, steps: steps))
            }
        }
        return commands + round.commands
    }

    /// Instances whose agent went silent past the TTL are declared lost; lost ones heard from again, back.
    static func livenessCommands(_ domain: Domain, now: Int64, _ liveness: Liveness) -> [DomainCommand] {
        var commands: [DomainCommand] = []
        for instance in domain.instances.values.sorted(by: { $0.id < $1.id }) where instance.status != "INACTIVE" {
            let heard = liveness.lastHeartbeat[instance.id]
            let last = max(heard ?? .min, liveness.since, instance.registeredAt)
            if instance.agentConnected && now - last > liveness.ttl {
                commands.append(.setAgentConnected(cluster: instance.cluster, instance: instance.id, connected: false))
            } else if !instance.agentConnected, let heard, heard >= liveness.since, now - heard <= liveness.ttl {
                commands.append(.setAgentConnected(cluster: instance.cluster, instance: instance.id, connected: true))
            }
        }
        return commands
    }
}

extension Array where Element == TaskRecord {
    /// The records that satisfy `predicate`; the same array, not a copy, when they all do (the common case at
    /// steady state, where copying thousands of task records per service per round was the leader's main cost).
    func keeping(_ predicate: (TaskRecord) -> Bool) -> [TaskRecord] {
        allSatisfy(predicate) ? self : filter(predicate)
    }
}

/// One service's reconciliation on one state.
struct ServicePlan {
    let service: Service
    /// The service's tasks that have not STOPPED (any desired status).
    let tasks: [TaskRecord]
    let domain: Domain
    let now: Int64
    /// Bugs planted on purpose, to show the simulation's checkers catch them.
    let planted: Set<PlantedOrchestrationBug>

    init(service: Service, tasks: [TaskRecord], domain: Domain, now: Int64, planted: Set<PlantedOrchestrationBug>) {
        self.service = service
        // Not sorted: every decision below is either a count or ordered by explicit keys that end at the id, and
        // the stop lists are sorted when emitted (sorting 10,000 task records per service per round was the
        // leader's largest cost at a million tasks).
        self.tasks = tasks
        self.domain = domain
        self.now = now
        self.planted = planted
    }

    // MARK: Task health

    /// RUNNING and, if its task definition has health checks, HEALTHY.
    func isHealthy(_ task: TaskRecord) -> Bool { task.isHealthy }

    /// The healthy tasks a rollout stop must leave (apply re-checks it).
    var keepHealthy: Int { planted.contains(.ignoreMinimumHealthy) ? 0 : service.minimumHealthyCount }

    /// RUNNING with an essential container UNHEALTHY after the grace period.
    func isFailing(_ task: TaskRecord) -> Bool {
        guard task.desiredStatus == "RUNNING", !task.isStarting, let started = task.startedAt else { return false }
        guard now >= started + Int64(service.healthCheckGracePeriodSeconds) * 1000 else { return false }
        return task.containers.contains {
            $0.essential && $0.hasHealthCheck == true && $0.healthStatus == "UNHEALTHY"
        }
    }

    /// How long a deployment's tasks must have run before it is COMPLETED, so that a revision that crashes soon
    /// after starting trips the circuit breaker instead of completing (ECS counts only failures to start).
    static let stabilityMilliseconds: Int64 = 10_000

    /// Healthy and running for the stability period.
    func isStable(_ task: TaskRecord) -> Bool {
        isHealthy(task) && now - (task.startedAt ?? now) >= Self.stabilityMilliseconds
    }

    func isOnDrainingInstance(_ task: TaskRecord) -> Bool {
        task.instanceID.flatMap { domain.instances[$0]?.status } == "DRAINING"
    }

    /// Whether the service said `message` in its last events within five minutes (events are throttled).
    func saidRecently(_ message: String) -> Bool {
        service.events.prefix(10).contains { $0.message == message && now - $0.createdAt < 300_000 }
    }

    // MARK: Steps shared by both strategies

    /// Steps before any scheduling: a deleted service's tasks stopped; failing tasks stopped; the circuit breaker.
    /// Returns the steps and whether scheduling should go on this round.
    mutating func preliminarySteps() -> (steps: [OrchestrationStep], proceed: Bool, live: [TaskRecord]) {
        let active = tasks.keeping { $0.desiredStatus == "RUNNING" }
        if service.status != "ACTIVE" {
            if !active.isEmpty {
                return (
                    [
                        .stopTasks(
                            tasks: active.map(\.id).sorted(),
                            reason: "Service \(service.serviceName) was deleted",
                            failed: false,
                            keepHealthy: 0
                        )
                    ],
                    false, []
                )
            }
            return (tasks.isEmpty ? [.finishDelete] : [], false, [])
        }
        guard let primary = service.deployments.first else { return ([], false, []) }
        var steps: [OrchestrationStep] = []
        let failing = active.filter(isFailing)
        if !failing.isEmpty {
            steps.append(
                .stopTasks(
                    tasks: failing.map(\.id).sorted(),
                    reason: "Task failed container health checks",
                    failed: true,
                    keepHealthy: 0
                )
            )
            let message =
                "(service \(service.serviceName)) stopped \(failing.count) running task\(failing.count == 1 ? "" : "s") "
                + "that failed health checks."
            steps.append(.event(message))
        }
        let failingIDs = Set(failing.map(\.id))
        let live = failingIDs.isEmpty ? active : active.filter { !failingIDs.contains($0.id) }
        if let breaker = service.deploymentConfiguration.deploymentCircuitBreaker, breaker.enable,
            primary.rolloutState == "IN_PROGRESS"
        {
            let threshold = breaker.failureThreshold(desiredCount: primary.desiredCount)
            let failures = primary.failedTasks + failing.lazy.filter { $0.startedBy == primary.id }.count
            if failures >= threshold {
                var reason =
                    "circuit breaker tripped: \(failures) tasks failed to start or keep running (threshold \(threshold))"
                var target: String?
                if !breaker.rollback {
                    reason += "; rollback is off, so launching has stopped."
                } else if primary.isRollback == true {
                    reason += "; this deployment was itself a rollback, so it is paused, not rolled back again."
                } else if let completed = service.lastCompletedDeployment {
                    target = completed.taskDefinition
                    reason += "; rolling back to \(completed.taskDefinition.split(separator: "/").last ?? "")."
                } else {
                    reason += "; there is no COMPLETED deployment to roll back to, so launching has stopped."
                }
                steps.append(.failDeployment(primary.id, reason: reason, rollbackTo: target))
                return (steps, false, live)
            }
        }
        return (steps, true, live)
    }

    /// Retires deployments other than the PRIMARY that have no tasks left.
    func retirements() -> [OrchestrationStep] {
        service.deployments.dropFirst().filter { $0.pendingCount + $0.runningCount == 0 }.map {
            .retireDeployment($0.id)
        }
    }

    /// Orders tasks to stop first: never placed, then starting, then unhealthy, then healthy; among equals the
    /// instance with the most of the service's tasks first (spread-aware), then the newest.
    func scaleDownOrder(_ candidates: [TaskRecord], count: Int) -> [TaskRecord] {
        guard count > 0, !candidates.isEmpty else { return [] }
        var remaining = candidates
        var perInstance: [String: Int] = [:]
        for task in tasks where task.desiredStatus == "RUNNING" { perInstance[task.instanceID ?? "", default: 0] += 1 }
        var chosen: [TaskRecord] = []
        let rank = { (task: TaskRecord) -> Int in
            task.containerInstanceArn == nil ? 0 : task.isStarting ? 1 : isHealthy(task) ? 3 : 2
        }
        while chosen.count < count, !remaining.isEmpty {
            let best = remaining.indices.min { left, right in
                let a = remaining[left]
                let b = remaining[right]
                if rank(a) != rank(b) { return rank(a) < rank(b) }
                let countA = perInstance[a.instanceID ?? ""] ?? 0
                let countB = perInstance[b.instanceID ?? ""] ?? 0
                if countA != countB { return countA > countB }
                if a.createdAt != b.createdAt { return a.createdAt > b.createdAt }
                return a.id > b.id
            }!
            let task = remaining.remove(at: best)
            perInstance[task.instanceID ?? "", default: 1] -= 1
            chosen.append(task)
        }
        return chosen
    }

    // MARK: REPLICA

    /// REPLICA: keep `desiredCount` tasks of the PRIMARY deployment, rolling within the percent bounds.
    mutating func replicaSteps() -> [OrchestrationStep] {
        var (steps, proceed, live) = preliminarySteps()
        guard proceed, let primary = service.deployments.first else { return steps }
        let desired = service.desiredCount
        let launching = primary.rolloutState != "FAILED"
        let primaryTasks = live.keeping { $0.startedBy == primary.id }
        let useful = primaryTasks.keeping { !isOnDrainingInstance($0) }
        let old = live.filter { $0.startedBy != primary.id }
        // Old tasks make room only for new ones that have run stably: a revision that passes its first health
        // check and crashes soon after must not have replaced the old tasks by the time the breaker trips.
        let proven = old.lazy.filter(isHealthy).count + primaryTasks.lazy.filter(isStable).count
        var budget = planted.contains(.ignoreMinimumHealthy) ? Int.max : proven - keepHealthy
        var stops: [TaskRecord] = []
        if launching {
            // Old tasks that serve nothing go at once; healthy ones only while the minimum still holds.
            stops += old.filter { !isHealthy($0) }
            for task in scaleDownOrder(old.filter(isHealthy), count: old.count) where budget > 0 {
                stops.append(task)
                budget -= 1
            }
        }
        if useful.count > desired {
            // Scaling down: no minimum to keep beyond the new desired count.
            let chosen = scaleDownOrder(useful, count: useful.count - desired)
            stops += chosen
            budget -= chosen.lazy.filter(isHealthy).count
        }
        for task in primaryTasks.filter(isOnDrainingInstance).sorted(by: { $0.id < $1.id }) {
            // Replaced elsewhere first: a healthy one goes only once the minimum holds without it.
            if !isHealthy(task) {
                stops.append(task)
            } else if budget > 0 {
                stops.append(task)
                budget -= 1
            }
        }
        if !stops.isEmpty {
            steps.append(
                .stopTasks(
                    tasks: stops.map(\.id).sorted(),
                    reason: stopReason(stops, primary),
                    failed: false,
                    keepHealthy: keepHealthy
                )
            )
        }
        // Stopping tasks still count against maximumPercent until they have stopped: the bound is on real tasks.
        let room = service.maximumTaskCount - tasks.count
        let missing = desired - useful.count
        if launching, missing > 0, room > 0 {
            steps.append(
                .startTasks(deployment: primary.id, count: min(missing, room), expectedLive: primaryTasks.count)
            )
        }
        steps += retirements()
        if primary.rolloutState == "IN_PROGRESS", tasks.count == desired, useful.count == desired,
            useful.allSatisfy(isStable), old.isEmpty
        {
            steps.append(.completeDeployment(primary.id))
        }
        return steps
    }

    func stopReason(_ stops: [TaskRecord], _ primary: Deployment) -> String {
        if stops.allSatisfy({ $0.startedBy != primary.id }) { return "Replaced by deployment \(primary.id)" }
        if stops.allSatisfy(isOnDrainingInstance) { return "Container instance is draining" }
        return "Scaled in by the service scheduler"
    }

    // MARK: DAEMON

    /// DAEMON: one task of the PRIMARY deployment on every eligible instance (ACTIVE, agent connected, within the
    /// constraints); drained and ineligible instances lose theirs.
    mutating func daemonSteps(_ index: DomainIndex) -> [OrchestrationStep] {
        var (steps, proceed, live) = preliminarySteps()
        guard proceed, let primary = service.deployments.first else { return steps }
        let cluster = service.clusterArn.split(separator: "/").last.map(String.init) ?? ""
        let definition = domain.taskDefinition(primary.taskDefinition)
        let constraints = (definition?.spec.placementConstraints ?? []) + service.placementConstraints
        let queries = constraints.filter { $0.type == "memberOf" }.compactMap { try? Query.parse($0.expression ?? "") }
        let instances = domain.instances.values.filter { $0.cluster == cluster && $0.status != "INACTIVE" }
            .sorted { $0.id < $1.id }
        let eligible = instances.filter { instance in
            instance.status == "ACTIVE" && instance.agentConnected
                && queries.allSatisfy { $0.matches(instance, tasksOnInstance: index.liveByInstance[instance.id] ?? []) }
        }
        let eligibleIDs = Set(eligible.map(\.id))
        if eligible.count != service.desiredCount { steps.append(.setDaemonCount(eligible.count)) }
        let desired = eligible.count
        var minimum = (desired * (service.deploymentConfiguration.minimumHealthyPercent ?? 0) + 99) / 100
        if planted.contains(.ignoreMinimumHealthy) { minimum = 0 }
        let launching = primary.rolloutState != "FAILED"
        var budget = live.lazy.filter(isHealthy).count - minimum
        var stops: [TaskRecord] = []
        var released: [TaskRecord] = []
        var kept: Set<String> = []
        let byInstance = Dictionary(grouping: live) { $0.instanceID ?? "" }
        for (instance, here) in byInstance.sorted(by: { $0.key < $1.key }) {
            guard eligibleIDs.contains(instance) else {
                released += here
                continue
            }
            // Keep one task per instance: the PRIMARY's healthiest, else (while launching) replace an old one.
            let ordered = here.sorted { a, b in
                let primaryA = a.startedBy == primary.id
                let primaryB = b.startedBy == primary.id
                if primaryA != primaryB { return primaryA }
                if isHealthy(a) != isHealthy(b) { return isHealthy(a) }
                return a.id < b.id
            }
            let keeper = ordered[0]
            for task in ordered.dropFirst() { stops.append(task) }
            if keeper.startedBy != primary.id && launching {
                if !isHealthy(keeper) {
                    stops.append(keeper)
                } else if budget > 0 {
                    stops.append(keeper)
                    budget -= 1
                } else {
                    kept.insert(instance)
                }
            } else {
                kept.insert(instance)
            }
        }
        if !released.isEmpty {
            steps.append(
                .stopTasks(
                    tasks: released.map(\.id).sorted(),
                    reason: "Container instance is draining or no longer eligible",
                    failed: false,
                    keepHealthy: 0
                )
            )
        }
        if !stops.isEmpty {
            steps.append(
                .stopTasks(
                    tasks: stops.map(\.id).sorted(),
                    reason: stopReason(stops, primary),
                    failed: false,
                    keepHealthy: minimum
                )
            )
        }
        // An instance gets its task once nothing of the service runs there any more (stopping tasks hold ports).
        let occupied = Set(tasks.compactMap(\.instanceID))
        var targets: [String] = []
        var unfit: [String] = []
        if launching, let definition {
            let task = domain.newTaskPreview(definition, group: "service:\(service.serviceName)", cluster: cluster)
            for instance in eligible where !kept.contains(instance.id) && !occupied.contains(instance.id) {
                guard let request = Placer.request(for: task, domain) else { continue }
                let candidate = PlacementCandidate(instance: instance, tasks: index.liveByInstance[instance.id] ?? [])
                switch Placement.place(request, count: 1, on: [candidate], seed: 0).first {
                case .placed: targets.append(instance.id)
                case .unplaced(let reason): unfit.append("\(instance.id): \(reason)")
                case nil: break
                }
            }
        }
        if !targets.isEmpty {
            let primaryCount = live.lazy.filter { $0.startedBy == primary.id }.count
            steps.append(.startDaemonTasks(deployment: primary.id, instances: targets, expectedLive: primaryCount))
        }
        if !unfit.isEmpty {
            let message =
                "(service \(service.serviceName)) was unable to place a task on \(unfit.count) eligible "
                + "instance\(unfit.count == 1 ? "" : "s"): \(unfit.prefix(3).joined(separator: "; "))."
            if !saidRecently(message) { steps.append(.event(message)) }
        }
        steps += retirements()
        let primaryHealthy = live.filter { $0.startedBy == primary.id && isStable($0) }
        if primary.rolloutState == "IN_PROGRESS", tasks.count == desired, primaryHealthy.count == desired,
            Set(primaryHealthy.compactMap(\.instanceID)) == eligibleIDs
        {
            steps.append(.completeDeployment(primary.id))
        }
        return steps
    }
}
