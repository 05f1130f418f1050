import ClusterState
import Orchestration
import Testing

@Suite("Orchestrator: REPLICA services and rolling deployments")
struct ReplicaTests {
    @Test("a new service starts its tasks, spreads them, and completes once they have run stably")
    func converges() {
        var cluster = TestCluster(instances: 3)
        cluster.createService(desired: 3)
        cluster.settle(seconds: 5)
        #expect(cluster.healthy(revision: 1) == 3)
        #expect(Set(cluster.live.compactMap(\.instanceID)).count == 3, "spread over instanceId by default")
        #expect(cluster.service.deployments[0].rolloutState == "IN_PROGRESS", "not stable for 10 s yet")
        cluster.settle(seconds: 12)
        #expect(cluster.service.deployments[0].rolloutState == "COMPLETED")
        #expect(cluster.service.events.contains { $0.message.contains("has reached a steady state") })
        #expect(cluster.service.runningCount == 3 && cluster.service.pendingCount == 0)
        // Settled: a round changes nothing.
        #expect(cluster.round().isEmpty)
    }

    @Test(
        "a rolling update never exceeds maximumPercent nor drops below minimumHealthyPercent",
        arguments: [(100, 200), (50, 100), (0, 100), (50, 150), (75, 125)]
    )
    func rolling(bounds: (Int, Int)) {
        let (minimum, maximum) = bounds
        var cluster = TestCluster(instances: 4)
        cluster.createService(desired: 4, minimum: minimum, maximum: maximum)
        cluster.settle(seconds: 15)
        #expect(cluster.service.deployments[0].rolloutState == "COMPLETED")
        cluster.register()
        cluster.update { $0.taskDefinition = "app:2" }
        let most = max(4, 4 * maximum / 100)
        let fewest = (4 * minimum + 99) / 100
        for _ in 0..<40 {
            cluster.round()
            #expect(cluster.live.count <= most, "live \(cluster.live.count) > \(most)")
            #expect(cluster.live.filter(\.isHealthy).count >= fewest)
            cluster.report()
            cluster.now += 1_000
        }
        #expect(cluster.healthy(revision: 2) == 4)
        #expect(cluster.live.count == 4)
        #expect(cluster.service.deployments.count == 1)
        #expect(cluster.service.deployments[0].rolloutState == "COMPLETED")
        #expect(cluster.service.deploymentHistory?.first?.taskDefinition.hasSuffix("app:1") == true)
        #expect(cluster.service.deploymentHistory?.first?.status == "INACTIVE")
    }

    @Test("bounds that could never replace a task are refused")
    func noProgress() {
        var cluster = TestCluster(instances: 1)
        let result = cluster.createService(desired: 3, minimum: 75, maximum: 125)
        guard case .refused(400, _, let message, "deploymentConfiguration") = result else {
            Issue.record("expected a refusal, got \(result)")
            return
        }
        #expect(message.contains("no task could ever be replaced"))
        #expect(cluster.createService(desired: 4, minimum: 75, maximum: 125).isService)
        cluster.update { $0.desiredCount = 3 }
        #expect(cluster.service.desiredCount == 4, "scaling into a stuck configuration is refused too")
    }

    @Test("scaling in stops the newest tasks first, from the fullest instance")
    func scaleIn() {
        var cluster = TestCluster(instances: 2)
        cluster.createService(desired: 2)
        cluster.settle(seconds: 3)
        let first = Set(cluster.live.map(\.id))
        cluster.update { $0.desiredCount = 4 }
        cluster.settle(seconds: 3)
        #expect(cluster.live.count == 4)
        cluster.update { $0.desiredCount = 2 }
        cluster.settle(seconds: 3)
        #expect(Set(cluster.live.map(\.id)) == first, "the two newest went")
        #expect(Set(cluster.live.compactMap(\.instanceID)).count == 2, "one left on each instance")
    }

    @Test("stopped tasks are replaced, and what they held is released")
    func replacesStopped() {
        var cluster = TestCluster(instances: 1)
        cluster.createService(desired: 2)
        cluster.settle(seconds: 3)
        let victim = cluster.live[0]
        cluster.apply(
            .reportTaskStates(
                cluster: "c",
                instance: victim.instanceID!,
                reports: [TaskStateReport(task: victim.id, epoch: victim.epoch, status: "STOPPED", exitCode: 2)]
            )
        )
        let stopped = cluster.domain.tasks[victim.id]!
        #expect(stopped.stopCode == "EssentialContainerExited")
        #expect(cluster.service.deployments[0].failedTasks == 1)
        let instance = cluster.domain.instances[victim.instanceID!]!
        #expect(instance.remainingResources.first { $0.name == "MEMORY" }?.integerValue == 4_096 - 256)
        cluster.settle(seconds: 3)
        #expect(cluster.healthy(revision: 1) == 2)
    }

    @Test("tasks on a DRAINING instance are replaced elsewhere before they are stopped")
    func draining() {
        var cluster = TestCluster(instances: 3)
        cluster.createService(desired: 2, minimum: 100, maximum: 200)
        cluster.settle(seconds: 3)
        let drained = cluster.live[0].instanceID!
        cluster.apply(.updateContainerInstanceState(cluster: "c", id: drained, status: "DRAINING"))
        cluster.round()
        // The replacement exists before the drained task is asked to stop.
        #expect(cluster.live.filter { $0.instanceID == drained && $0.desiredStatus == "RUNNING" }.count == 1)
        for _ in 0..<15 {
            #expect(cluster.live.filter(\.isHealthy).count >= 2)
            cluster.report()
            cluster.round()
            cluster.now += 1_000
        }
        #expect(cluster.live.allSatisfy { $0.instanceID != drained })
        #expect(cluster.healthy(revision: 1) == 2)
    }

    @Test("a deleted service stops its tasks and becomes INACTIVE once they have stopped")
    func delete() {
        var cluster = TestCluster(instances: 2)
        cluster.createService(desired: 2)
        cluster.settle(seconds: 3)
        cluster.apply(.deleteService(cluster: "c", service: "app", force: true))
        #expect(cluster.domain.services["c/app"]?.status == "DRAINING")
        cluster.settle(seconds: 3)
        #expect(cluster.domain.services["c/app"]?.status == "INACTIVE")
        #expect(
            cluster.domain.instances.values.allSatisfy {
                $0.remainingResources.first { $0.name == "CPU" }?.integerValue == 4_096
            }
        )
    }
}

@Suite("Orchestrator: circuit breaker and rollback")
struct BreakerTests {
    @Test("the default threshold is ceil(0.5 × desiredCount) clamped to [3, 200]; a set one wins")
    func threshold() {
        let breaker = DeploymentConfiguration.CircuitBreaker(enable: true, rollback: true)
        #expect(breaker.failureThreshold(desiredCount: 1) == 3)
        #expect(breaker.failureThreshold(desiredCount: 4) == 3)
        #expect(breaker.failureThreshold(desiredCount: 7) == 4)
        #expect(breaker.failureThreshold(desiredCount: 10) == 5)
        #expect(breaker.failureThreshold(desiredCount: 399) == 200)
        #expect(breaker.failureThreshold(desiredCount: 1_000) == 200)
        #expect(
            DeploymentConfiguration.CircuitBreaker(enable: true, rollback: true, threshold: 7).failureThreshold(
                desiredCount: 1_000
            ) == 7
        )
    }

    /// A service of 4 whose revision 1 completed, updated to a revision 2 whose tasks crash after starting.
    func crashingUpdate(rollback: Bool) -> TestCluster {
        var cluster = TestCluster(instances: 4)
        cluster.createService(
            desired: 4,
            breaker: DeploymentConfiguration.CircuitBreaker(enable: true, rollback: rollback)
        )
        cluster.settle(seconds: 15)
        cluster.register()
        cluster.update { $0.taskDefinition = "app:2" }
        // Revision 2 starts, then crashes on the next report.
        for _ in 0..<30 {
            cluster.round()
            cluster.report(crashes: { $0.taskDefinitionArn.hasSuffix(":2") && $0.lastStatus == "RUNNING" })
            cluster.now += 1_000
        }
        return cluster
    }

    @Test("tasks that crash after starting trip the breaker at the threshold, and it rolls back")
    func rollsBack() {
        var cluster = crashingUpdate(rollback: true)
        cluster.settle(seconds: 15)
        let all = cluster.service.deployments + (cluster.service.deploymentHistory ?? [])
        let failed = all.first { $0.taskDefinition.hasSuffix("app:2") }
        #expect(failed?.rolloutState == "FAILED")
        #expect(failed.map { $0.failedTasks >= 3 && $0.failedTasks <= 4 } == true, "tripped at the threshold of 3")
        #expect(failed?.rolloutStateReason.contains("rolling back to app:1") == true)
        #expect(cluster.service.deployments[0].isRollback == true)
        #expect(cluster.service.deployments[0].rolloutState == "COMPLETED")
        #expect(cluster.healthy(revision: 1) == 4)
        #expect(cluster.service.events.contains { $0.message.contains("rolling back to app:1") })
        // The old tasks kept serving throughout (minimum 100%).
    }

    @Test("with rollback off, a tripped breaker stops launching and says so")
    func stops() {
        var cluster = crashingUpdate(rollback: false)
        let primary = cluster.service.deployments[0]
        #expect(primary.rolloutState == "FAILED")
        #expect(primary.rolloutStateReason.contains("launching has stopped"))
        let tasksBefore = cluster.domain.tasks.count
        cluster.settle(seconds: 5)
        #expect(cluster.domain.tasks.count == tasksBefore, "no new tasks after the breaker tripped")
        #expect(cluster.healthy(revision: 1) == 4, "the old revision keeps serving")
    }

    @Test("a failing rollback is paused, not rolled back again")
    func failingRollbackPauses() {
        var cluster = TestCluster(instances: 2)
        cluster.createService(desired: 2, breaker: DeploymentConfiguration.CircuitBreaker(enable: true, rollback: true))
        cluster.settle(seconds: 15)
        cluster.register()
        cluster.update { $0.taskDefinition = "app:2" }
        // Now every task crashes, revision 1 included.
        for _ in 0..<60 {
            cluster.round()
            cluster.report(crashes: { $0.lastStatus == "RUNNING" && $0.startedBy != nil && $0.createdAt >= 1_015_000 })
            cluster.now += 1_000
        }
        let primary = cluster.service.deployments[0]
        #expect(primary.isRollback == true)
        #expect(primary.rolloutState == "FAILED")
        #expect(primary.rolloutStateReason.contains("paused"))
        let rollbacks = (cluster.service.deployments + (cluster.service.deploymentHistory ?? [])).filter {
            $0.isRollback == true
        }
        #expect(rollbacks.count == 1)
    }

    @Test("an operator rolls back to the last COMPLETED deployment, or to a given revision")
    func operatorRollback() {
        var cluster = TestCluster(instances: 2)
        cluster.createService(desired: 1)
        let refused = cluster.apply(.rollbackService(cluster: "c", service: "app", to: nil))
        guard case .refused(409, "no_completed_deployment", _, _) = refused else {
            Issue.record("expected 409, got \(refused)")
            return
        }
        cluster.settle(seconds: 15)
        cluster.register()
        cluster.update { $0.taskDefinition = "app:2" }
        cluster.settle(seconds: 15)
        cluster.apply(.rollbackService(cluster: "c", service: "app", to: nil))
        #expect(cluster.service.deployments[0].taskDefinition.hasSuffix("app:1"))
        #expect(cluster.service.deployments[0].isRollback == true)
        cluster.settle(seconds: 15)
        cluster.apply(.rollbackService(cluster: "c", service: "app", to: "2"))
        #expect(cluster.service.deployments[0].taskDefinition.hasSuffix("app:2"))
        let missing = cluster.apply(.rollbackService(cluster: "c", service: "app", to: "9"))
        guard case .refused(404, _, _, _) = missing else {
            Issue.record("expected 404, got \(missing)")
            return
        }
        cluster.settle(seconds: 15)
        #expect(cluster.healthy(revision: 2) == 1)
        #expect((cluster.service.deploymentHistory ?? []).count == 3)
    }
}

@Suite("Orchestrator: health checks, liveness and DAEMON services")
struct LivenessAndDaemonTests {
    @Test("unhealthy tasks are stopped as failures only after the grace period")
    func healthGrace() {
        var cluster = TestCluster(instances: 1, healthCheck: true)
        cluster.createService(desired: 1, grace: 5)
        cluster.round()
        cluster.round()
        cluster.report(health: "UNHEALTHY")
        let task = cluster.live[0]
        cluster.now += 4_000
        cluster.round()
        #expect(cluster.domain.tasks[task.id]?.desiredStatus == "RUNNING", "within the grace period")
        cluster.now += 2_000
        cluster.round()
        #expect(cluster.domain.tasks[task.id]?.desiredStatus == "STOPPED")
        #expect(cluster.domain.tasks[task.id]?.stoppedReason == "Task failed container health checks")
        #expect(cluster.service.deployments[0].failedTasks == 1)
    }

    @Test("a silent agent's instance is lost after the TTL, never before; a new leader grants a fresh grace")
    func liveness() {
        var cluster = TestCluster(instances: 2)
        cluster.createService(desired: 2)
        cluster.settle(seconds: 3)
        var memory = Liveness(since: cluster.now, ttl: 5_000)
        memory.lastHeartbeat[TestCluster.instanceID(1)] = cluster.now
        memory.lastHeartbeat[TestCluster.instanceID(2)] = cluster.now
        cluster.now += 4_000
        #expect(cluster.round(liveness: memory).allSatisfy { !$0.isLiveness })
        memory.lastHeartbeat[TestCluster.instanceID(1)] = cluster.now
        cluster.now += 2_000
        let commands = cluster.round(liveness: memory)
        #expect(commands.filter(\.isLiveness).count == 1)
        let lost = cluster.domain.instances[TestCluster.instanceID(2)]!
        #expect(!lost.agentConnected)
        #expect(cluster.live.filter { $0.instanceID == lost.id }.allSatisfy { $0.desiredStatus == "STOPPED" })
        // Replacements go to the instance still connected.
        cluster.round(liveness: memory)
        #expect(cluster.live.filter { $0.desiredStatus == "RUNNING" }.allSatisfy { $0.instanceID != lost.id })
        // A leader that just took over has heard from nobody: no instance is lost for a TTL.
        let fresh = Liveness(since: cluster.now, ttl: 5_000)
        cluster.now += 4_000
        #expect(cluster.round(liveness: fresh).allSatisfy { !$0.isLiveness })
        // The lost agent comes back.
        var back = fresh
        back.lastHeartbeat[lost.id] = cluster.now
        back.lastHeartbeat[TestCluster.instanceID(1)] = cluster.now
        cluster.round(liveness: back)
        #expect(cluster.domain.instances[lost.id]!.agentConnected)
    }

    @Test("a DAEMON service runs one task per eligible instance and follows joins and drains")
    func daemon() {
        var cluster = TestCluster(instances: 3)
        cluster.createService(desired: nil)
        cluster.settle(seconds: 3)
        #expect(cluster.service.desiredCount == 3)
        #expect(Set(cluster.live.compactMap(\.instanceID)).count == 3 && cluster.live.count == 3)
        cluster.addInstance(4)
        cluster.settle(seconds: 3)
        #expect(cluster.service.desiredCount == 4 && cluster.live.count == 4)
        cluster.apply(.updateContainerInstanceState(cluster: "c", id: TestCluster.instanceID(2), status: "DRAINING"))
        cluster.settle(seconds: 3)
        #expect(cluster.service.desiredCount == 3)
        #expect(cluster.live.allSatisfy { $0.instanceID != TestCluster.instanceID(2) })
        cluster.register()
        cluster.update { $0.taskDefinition = "app:2" }
        cluster.settle(seconds: 15)
        #expect(cluster.healthy(revision: 2) == 3 && cluster.live.count == 3)
        #expect(cluster.service.deployments[0].rolloutState == "COMPLETED")
    }

    @Test("a DAEMON task with a fixed host port is replaced on its instance only once the old one has stopped")
    func daemonPorts() {
        var cluster = TestCluster(instances: 2, hostPort: 8080)
        cluster.createService(desired: nil)
        cluster.settle(seconds: 3)
        cluster.register(hostPort: 8080)
        cluster.update { $0.taskDefinition = "app:2" }
        cluster.settle(seconds: 15)
        #expect(cluster.healthy(revision: 2) == 2)
        #expect(cluster.service.deployments[0].rolloutState == "COMPLETED")
    }
}

extension DomainResult {
    var isService: Bool {
        if case .service = self { return true }
        return false
    }
}

extension DomainCommand {
    var isLiveness: Bool {
        if case .setAgentConnected = self { return true }
        return false
    }
}
