/// Why a task's secrets cannot be handed to an agent. One case per rule, each named so the API can say what to do.
package enum TaskSecretsProblem: Error, Sendable, Equatable {
    /// The cluster does not exist.
    case clusterNotFound(cluster: String)
    /// The container instance is not registered in the cluster.
    case instanceNotFound(instance: String, cluster: String)
    /// The task does not exist in the cluster.
    case taskNotFound(task: String, cluster: String)
    /// The task is not placed on this instance (`placedOn`: the instance it is on, nil when unplaced).
    case taskNotOnInstance(task: String, instance: String, placedOn: String?)
    /// The task has stopped: nothing will start with these secrets any more.
    case taskStopped(task: String)
    /// The task's definition was deleted.
    case taskDefinitionNotFound(task: String, taskDefinition: String)
    /// A container's secret names a parameter that does not exist.
    case parameterNotFound(container: String, secret: String, parameter: String)
}

extension StateMachine {
    /// The environment variables the secrets of `task`'s containers resolve to, by container name (every container
    /// of the task definition, with an empty list when it has no secrets), for the agent of `instance` to start
    /// it with. Each `secrets[].valueFrom` is looked up in the parameter store; secret parameters are resolved like
    /// plain ones (that is their purpose). The task must be placed on `instance` and not stopped.
    package func taskSecrets(
        cluster: String,
        instance reference: String,
        task taskReference: String
    ) -> Result<[String: [ContainerDefinition.KeyValuePair]], TaskSecretsProblem> {
        guard domain.clusters[cluster] != nil else { return .failure(.clusterNotFound(cluster: cluster)) }
        guard let instance = domain.instance(reference, in: cluster) else {
            return .failure(.instanceNotFound(instance: reference, cluster: cluster))
        }
        guard let task = domain.task(taskReference, in: cluster) else {
            return .failure(.taskNotFound(task: taskReference, cluster: cluster))
        }
        guard task.instanceID == instance.id else {
            return .failure(.taskNotOnInstance(task: task.id, instance: instance.id, placedOn: task.instanceID))
        }
        guard task.lastStatus != "STOPPED" else { return .failure(.taskStopped(task: task.id)) }
        guard let definition = domain.taskDefinition(task.taskDefinitionArn) else {
            return .failure(.taskDefinitionNotFound(task: task.id, taskDefinition: task.taskDefinitionArn))
        }
        var resolved: [String: [ContainerDefinition.KeyValuePair]] = [:]
        for container in definition.spec.containerDefinitions {
            var variables: [ContainerDefinition.KeyValuePair] = []
            for secret in container.secrets ?? [] {
                let name = secret.parameterName
                guard let parameter = parameters[name] else {
                    return .failure(
                        .parameterNotFound(container: container.name, secret: secret.name, parameter: name)
                    )
                }
                variables.append(ContainerDefinition.KeyValuePair(name: secret.name, value: parameter.value))
            }
            resolved[container.name] = variables
        }
        return .success(resolved)
    }
}
