import ClusterState
import Orchestration
import Raft

/// A command waiting to commit.
struct PendingProposal {
    var command: DomainCommand
    /// Leader time stamped on it (`Command.time`).
    var time: Int64
    var commitAt: Int64
    /// Whether the leader's orchestrator proposed it (the next round waits for it).
    var byLeader: Bool
    /// An operator's write: its client retries it with the same token until it commits, so it is never lost.
    var retried = false
}

/// What the operator does, and when.
enum OperatorAction {
    case propose(DomainCommand)
    case join(agent: Int)
}

/// One run of `OrchestrationSimulation`.
struct OrchestrationWorld {
    let configuration: OrchestrationSimulation.Configuration
    let scenario: OrchestrationSimulation.Scenario
    var random: Raft.SplitMix64
    var report: OrchestrationSimulation.Report
    let cluster = "sim"
    let arnPrefix = "arn:gantry:ecs:sim:000000000000"
    static let start: Int64 = 1_000_000

    var now: Int64 = start
    var domain = Domain()
    var logIndex: UInt64 = 0

    // The control plane.
    var leaderUp = true
    var electionAt: Int64 = 0
    var liveness = Liveness(since: start, ttl: 5_000)
    var proposals: [PendingProposal] = []
    var lastCommitAt: Int64 = start
    var leaderPending = 0
    var nextRound: Int64 = start + 200

    // The hosts.
    var agents: [SimAgent] = []

    // The script and the faults.
    var script: [(at: Int64, action: OperatorAction)] = []
    var faultsFrom: Int64 = start + 5_000
    var faultsUntil: Int64 = start + 70_000
    var endAt: Int64 = start + 135_000
    var nextFault: Int64 = start + 5_000
    var allowAgentLoss = true
    /// Tasks RUNNING at the steady state of the failover scenario; none may be stopped by a failover.
    var steadyTasks: Set<String>?
    var expectation = Expectation()

    /// What the end state must be.
    struct Expectation {
        /// The revision of the family the PRIMARY deployment must run at the end.
        var finalRevision = 1
        /// The revision whose deployment must have FAILED (breaker scenario).
        var failedRevision: Int?
        /// Whether a deployment had COMPLETED when the bad revision was rolled out (else there is nothing to roll
        /// back to, and the breaker must stop launching instead).
        var rollbackPossible = true
    }

    init(_ configuration: OrchestrationSimulation.Configuration) {
        self.configuration = configuration
        var random = Raft.SplitMix64(seed: configuration.seed)
        let all = OrchestrationSimulation.Scenario.allCases
        scenario = configuration.scenario ?? all[Int(random.next() % UInt64(all.count))]
        self.random = random
        report = OrchestrationSimulation.Report(seed: configuration.seed, scenario: scenario)
        buildScript()
    }

    // MARK: Helpers

    mutating func uniform(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    func fail(_ message: String) -> String { "t=\(now - Self.start)ms: \(message)" }

    mutating func violation(_ message: String) {
        if report.violations.count < 20 { report.violations.append(fail(message)) }
    }

    // MARK: The run

    mutating func run() {
        while now < endAt {
            now += 10
            if !leaderUp && now >= electionAt {
                leaderUp = true
                liveness = Liveness(since: now, ttl: 5_000)
                nextRound = now + 200
                for position in agents.indices { agents[position].reconnectAt = now + uniform(300...4_000) }
            }
            commitDue()
            runScript()
            if now % 100 == 0 {
                for position in agents.indices { agentTick(position) }
            }
            if leaderUp && now >= nextRound && leaderPending == 0 {
                nextRound = now + 200
                let commands = Orchestrator.reconcile(
                    domain,
                    now: now,
                    liveness: liveness,
                    seed: random.next(),
                    planted: configuration.planted
                )
                for command in commands { propose(command, byLeader: true) }
            }
            if now >= nextFault && now >= faultsFrom && now < faultsUntil { injectFault() }
            if scenario == .failover { watchSteadyState() }
            if report.violations.count >= 5 { break }
        }
        report.endedAt = now - Self.start
        finalChecks()
    }

    mutating func propose(_ command: DomainCommand, byLeader: Bool) {
        guard leaderUp else { return }
        lastCommitAt = max(lastCommitAt, now + uniform(2...20))
        proposals.append(PendingProposal(command: command, time: now, commitAt: lastCommitAt, byLeader: byLeader))
        if byLeader { leaderPending += 1 }
    }

    mutating func commitDue() {
        guard leaderUp else { return }
        while let first = proposals.first, first.commitAt <= now {
            proposals.removeFirst()
            if first.byLeader { leaderPending = max(0, leaderPending - 1) }
            applyChecked(first.command, time: first.time)
        }
    }

    mutating func runScript() {
        while let first = script.first, first.at <= now, leaderUp {
            script.removeFirst()
            switch first.action {
            case .propose(let command):
                // The operator's client retries until its write commits (with a client token), so it is not lost.
                lastCommitAt = max(lastCommitAt, now + uniform(2...20))
                proposals.append(
                    PendingProposal(command: command, time: now, commitAt: lastCommitAt, byLeader: false, retried: true)
                )
            case .join(let position):
                agents[position].joined = true
                let registration = agents[position].registration
                lastCommitAt = max(lastCommitAt, now + uniform(2...20))
                proposals.append(
                    PendingProposal(
                        command: .registerContainerInstance(cluster: cluster, registration: registration),
                        time: now,
                        commitAt: lastCommitAt,
                        byLeader: false,
                        retried: true
                    )
                )
            }
        }
    }

    // MARK: Faults

    mutating func injectFault() {
        nextFault = now + uniform(2_000...8_000)
        let roll = random.next() % 100
        if roll < 45 || !allowAgentLoss {
            guard leaderUp else { return }
            killLeader()
        } else if roll < 85 {
            let joined = agents.indices.filter { agents[$0].joined && agents[$0].cutUntil <= now }
            guard !joined.isEmpty else { return }
            let victim = joined[Int(random.next() % UInt64(joined.count))]
            agents[victim].cutUntil = now + uniform(2_000...15_000)
            report.agentLosses += 1
        }
    }

    /// The leader dies: its memory (heartbeats) and its uncommitted proposals go; each of those is either lost or
    /// committed by the next leader, as in Raft. A new leader is elected after a pause.
    mutating func killLeader() {
        leaderUp = false
        report.leaderKills += 1
        electionAt = now + uniform(300...1_500)
        proposals = proposals.filter { $0.retried || chance(50) }.map { proposal in
            var proposal = proposal
            proposal.commitAt = electionAt + 5
            proposal.byLeader = false
            return proposal
        }
        lastCommitAt = electionAt + 5
        leaderPending = 0
    }

    // MARK: Applying, with the invariants checked after every command

    mutating func applyChecked(_ command: DomainCommand, time: Int64) {
        logIndex += 1
        let serviceKey: String?
        if case .orchestrate(let cluster, let service, _) = command {
            serviceKey = "\(cluster)/\(service)"
        } else {
            serviceKey = nil
        }
        let healthyBefore = serviceKey.map { healthyTasks(of: $0) } ?? 0
        let liveBefore = serviceKey.map { liveTasks(of: $0) } ?? 0
        let tasksBefore = domain.tasks.count
        if case .updateService(_, _, let update) = command, update.taskDefinition == "app:2", scenario == .breaker,
            let service = domain.services["\(cluster)/app"]
        {
            expectation.rollbackPossible =
                service.deployments.first?.rolloutState == "COMPLETED" || service.lastCompletedDeployment != nil
        }
        _ = domain.apply(command, context: Domain.Context(time: time, arnPrefix: arnPrefix, index: logIndex))
        report.applied += 1
        report.tasksCreated += max(0, domain.tasks.count - tasksBefore)
        checkBookkeeping()
        guard let key = serviceKey, let service = domain.services[key] else { return }
        let healthyAfter = healthyTasks(of: key)
        if healthyAfter < healthyBefore && healthyAfter < service.minimumHealthyCount {
            violation(
                "\(key): the scheduler stopped healthy tasks, leaving \(healthyAfter) healthy (was \(healthyBefore)), "
                    + "below minimumHealthyPercent (\(service.minimumHealthyCount) of \(service.desiredCount))"
            )
        }
        let liveAfter = liveTasks(of: key)
        if liveAfter > liveBefore && liveAfter > service.maximumTaskCount {
            violation(
                "\(key): the scheduler started tasks up to \(liveAfter), above maximumPercent "
                    + "(\(service.maximumTaskCount) of \(service.desiredCount))"
            )
        }
    }

    func healthyTasks(of key: String) -> Int {
        domain.tasks.values.filter { "\($0.cluster)/\($0.serviceName ?? "")" == key && $0.isHealthy }.count
    }

    func liveTasks(of key: String) -> Int {
        domain.tasks.values.filter { "\($0.cluster)/\($0.serviceName ?? "")" == key && $0.lastStatus != "STOPPED" }
            .count
    }

    /// Every instance's remaining resources equal what it registered minus its live tasks' (never negative), no two
    /// live tasks share a fixed host port on an instance, and the services' counters match their tasks.
    mutating func checkBookkeeping() {
        var used: [String: (cpu: Int, memory: Int, ports: [String], pending: Int, running: Int)] = [:]
        var perService: [String: (live: Int, healthy: Int, pending: [String: Int], running: [String: Int])] = [:]
        for task in domain.tasks.values where task.lastStatus != "STOPPED" {
            if let instance = task.instanceID {
                var entry = used[instance] ?? (0, 0, [], 0, 0)
                entry.cpu += task.cpu
                entry.memory += task.memory
                entry.ports += task.hostPorts ?? []
                if task.isStarting { entry.pending += 1 } else { entry.running += 1 }
                used[instance] = entry
            }
            if let name = task.serviceName {
                var entry = perService["\(task.cluster)/\(name)"] ?? (0, 0, [:], [:])
                entry.live += 1
                if task.isHealthy { entry.healthy += 1 }
                if task.desiredStatus == "RUNNING", let deployment = task.startedBy {
                    if task.isStarting {
                        entry.pending[deployment, default: 0] += 1
                    } else {
                        entry.running[deployment, default: 0] += 1
                    }
                }
                perService["\(task.cluster)/\(name)"] = entry
            }
        }
        for instance in domain.instances.values {
            let entry = used[instance.id] ?? (0, 0, [], 0, 0)
            let value = { (resources: [InstanceResource], name: String) in
                resources.first { $0.name == name }?.integerValue ?? 0
            }
            let cpu = value(instance.registeredResources, "CPU")
            let memory = value(instance.registeredResources, "MEMORY")
            if entry.cpu > cpu || entry.memory > memory {
                violation(
                    "instance \(instance.id) overcommitted: \(entry.cpu)/\(cpu) cpu, \(entry.memory)/\(memory) MiB"
                )
            }
            if value(instance.remainingResources, "CPU") != cpu - entry.cpu
                || value(instance.remainingResources, "MEMORY") != memory - entry.memory
            {
                violation("instance \(instance.id): remaining resources disagree with its live tasks")
            }
            if Set(entry.ports).count != entry.ports.count {
                violation("instance \(instance.id): two live tasks bind the same host port")
            }
            if instance.pendingTasksCount != entry.pending || instance.runningTasksCount != entry.running {
                violation("instance \(instance.id): task counts disagree with its tasks")
            }
        }
        let indexed = domain.tasksByInstance.values.reduce(0) { $0 + $1.count }
        let placed = domain.tasks.values.filter { $0.instanceID != nil }
        if indexed != placed.count
            || placed.contains(where: { domain.tasksByInstance[$0.instanceID!]?.contains($0.id) != true })
        {
            violation("the tasks-by-instance index disagrees with the tasks")
        }
        for (key, service) in domain.services where service.status != "INACTIVE" {
            let entry = perService[key] ?? (0, 0, [:], [:])
            if (service.liveTaskCount ?? 0) != entry.live || (service.healthyTaskCount ?? 0) != entry.healthy {
                violation("\(key): live/healthy counters disagree with its tasks")
            }
            for deployment in service.deployments
            where deployment.pendingCount != entry.pending[deployment.id] ?? 0
                || deployment.runningCount != entry.running[deployment.id] ?? 0
            {
                violation("\(key): deployment \(deployment.id) counts disagree with its tasks")
            }
        }
    }

    // MARK: The failover scenario's watch

    mutating func watchSteadyState() {
        guard let service = domain.services["\(cluster)/app"] else { return }
        if steadyTasks == nil, now >= faultsFrom - 1_000, service.deployments.first?.rolloutState == "COMPLETED" {
            steadyTasks = Set(domain.tasks.values.filter { $0.serviceName == "app" && $0.isHealthy }.map(\.id))
            if faultsFrom < now { faultsFrom = now }
        }
        guard let steady = steadyTasks else {
            // Faults wait for the steady state.
            faultsFrom = max(faultsFrom, now + 10)
            return
        }
        for id in steady {
            if let task = domain.tasks[id], task.desiredStatus != "RUNNING" {
                violation("task \(id) was healthy at the steady state and was stopped: \(task.stoppedReason ?? "")")
                steadyTasks?.remove(id)
            }
        }
    }
}
