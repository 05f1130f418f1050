/// A domain write, carried inside `Command.Action.domain` together with the ARN prefix the leader stamps.
package enum DomainCommand: Sendable, Equatable, Codable {
    /// CreateCluster.
    case createCluster(name: String, tags: [Tag])
    /// DeleteCluster (refused while it has services, instances or tasks).
    case deleteCluster(name: String)
    /// TagResource: adds tags to a cluster, service or task definition revision (by ARN), replacing same keys.
    case tagResource(arn: String, tags: [Tag])
    /// UntagResource: removes the tags with these keys (absent keys are ignored, as in ECS).
    case untagResource(arn: String, keys: [String])
    /// RegisterTaskDefinition (the spec, tags included, is validated again in apply).
    case registerTaskDefinition(spec: TaskDefinitionSpec)
    /// DeregisterTaskDefinition: ACTIVE → INACTIVE.
    case deregisterTaskDefinition(family: String, revision: Int)
    /// DeleteTaskDefinitions: only INACTIVE revisions.
    case deleteTaskDefinition(family: String, revision: Int)
    /// RegisterContainerInstance (by an agent); the leader assigns the id and the agent's credential.
    case registerContainerInstance(cluster: String, registration: InstanceRegistration)
    /// DeregisterContainerInstance: the instance becomes INACTIVE.
    case deregisterContainerInstance(cluster: String, id: String, force: Bool)
    /// UpdateContainerInstancesState: ACTIVE ⇄ DRAINING.
    case updateContainerInstanceState(cluster: String, id: String, status: String)
    /// PutAttributes on container instances (targetId names the instance).
    case putAttributes(cluster: String, attributes: [Attribute])
    /// DeleteAttributes from container instances.
    case deleteAttributes(cluster: String, attributes: [Attribute])
    /// CreateService.
    case createService(cluster: String, request: ServiceRequest)
    /// UpdateService.
    case updateService(cluster: String, service: String, update: ServiceUpdate)
    /// DeleteService: DRAINING, then INACTIVE once its tasks are gone (at once if it has none). Without `force` the
    /// desired count must be 0 first.
    case deleteService(cluster: String, service: String, force: Bool)
    /// RunTask: tasks are created PROVISIONING, unplaced; the scheduler places them.
    case runTask(cluster: String, request: RunTaskRequest)
    /// StopTask.
    case stopTask(cluster: String, task: String, reason: String?)
    /// The leader's placements, re-checked by apply against the current state (refused ones change nothing).
    case placeTasks(cluster: String, placements: [TaskPlacement])
    /// Forgets STOPPED tasks that stopped before `stoppedBefore` (leader time; the leader issues it periodically).
    case pruneStoppedTasks(stoppedBefore: Int64)
    /// An agent's reports of its tasks' states (fenced by each task's epoch).
    case reportTaskStates(cluster: String, instance: String, reports: [TaskStateReport])
    /// The leader's liveness verdict on an instance's agent: losing it stops the instance's tasks (they are replaced
    /// elsewhere; the agent stops them when it returns).
    case setAgentConnected(cluster: String, instance: String, connected: Bool)
    /// The service reconciler's decisions for one service, each re-checked in apply.
    case orchestrate(cluster: String, service: String, steps: [OrchestrationStep])
    /// An operator's rollback: a new deployment of the last COMPLETED deployment's task definition, or of `to`.
    case rollbackService(cluster: String, service: String, to: String?)

    /// The command with the ids (and credentials) the leader assigns removed (for comparing a retry with the
    /// original).
    package var withoutLeaderIDs: DomainCommand {
        switch self {
        case .registerContainerInstance(let cluster, var registration):
            registration.id = nil
            registration.agentCredential = nil
            return .registerContainerInstance(cluster: cluster, registration: registration)
        default:
            return self
        }
    }

    /// The command with what the leader assigns filled in: a registration without an id gets one from `make`,
    /// and the agent credential `agentCredential` makes for that id (nil: none, as before agents had credentials).
    package func fillingIDs(
        _ make: () -> String,
        agentCredential: (String) -> String? = { _ in nil }
    ) -> DomainCommand {
        switch self {
        case .registerContainerInstance(let cluster, var registration) where registration.id == nil:
            let id = make()
            registration.id = id
            registration.agentCredential = agentCredential(id)
            return .registerContainerInstance(cluster: cluster, registration: registration)
        default:
            return self
        }
    }
}

/// A domain command with what apply needs from the leader: the ARN prefix
/// (`arn:gantry:ecs:<region>:<account>`), so ARNs are the same on every node.
package struct DomainEnvelope: Sendable, Equatable, Codable {
    /// `arn:gantry:ecs:<region>:<account>`.
    package var arnPrefix: String
    /// The command.
    package var command: DomainCommand

    /// Creates an envelope.
    package init(arnPrefix: String, command: DomainCommand) {
        self.arnPrefix = arnPrefix
        self.command = command
    }
}

/// What a domain command produced.
package enum DomainResult: Sendable, Equatable, Codable {
    /// The cluster as it now stands.
    case cluster(Cluster)
    /// A deleted cluster, as it was.
    case clusterDeleted(Cluster)
    /// The task definition revision as it now stands (registered, deregistered or deleted).
    case taskDefinition(TaskDefinitionRecord)
    /// The container instance as it now stands.
    case containerInstance(ContainerInstance)
    /// A container instance just registered: its answer (and only its answer) carries the agent's credential.
    case instanceRegistered(ContainerInstance)
    /// Attributes put or deleted.
    case attributes([Attribute])
    /// The service as it now stands.
    case service(Service)
    /// Tasks created or changed.
    case tasks([TaskRecord])
    /// How many stopped tasks were pruned.
    case pruned(Int)
    /// Which placements were applied and which refused.
    case placements(PlacementOutcome)
    /// A resource's tags as they now stand.
    case tags([Tag])
    /// Nothing changed: `status` 400/404/409 with a code, a message and the field at fault.
    case refused(status: Int, code: String, message: String, field: String?)
}
