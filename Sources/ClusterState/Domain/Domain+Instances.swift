extension Domain {
    /// Applies the container-instance commands.
    mutating func applyInstanceCommand(_ command: DomainCommand, context: Context) -> DomainResult {
        switch command {
        case .registerContainerInstance(let clusterName, let registration):
            guard clusters[clusterName] != nil else { return .clusterNotFound(clusterName) }
            guard let id = registration.id, id.utf8.count == 32, id.utf8.allSatisfy({ isHexDigit($0) }) else {
                return .invalid("id", "must be the 32 hex digits the leader assigns")
            }
            if let (field, rule) = registration.problem() { return .invalid(field, rule) }
            if let credential = registration.agentCredential, !AgentCredential.isWellFormed(credential, for: id) {
                return .invalid(
                    "agentCredential",
                    "must be the credential the leader assigns: gagent.<id>.<64 hex digits>"
                )
            }
            guard instances[id] == nil else {
                return .refused(
                    status: 409,
                    code: "instance_exists",
                    message: "container instance \(id) exists",
                    field: "id"
                )
            }
            var attributes = [
                Attribute(name: "ecs.os-type", value: registration.osType),
                Attribute(name: "ecs.cpu-architecture", value: registration.cpuArchitecture),
            ]
            if let zone = registration.availabilityZone {
                attributes.append(Attribute(name: "ecs.availability-zone", value: zone))
            }
            attributes += registration.attributes.map { Attribute(name: $0.name, value: $0.value) }
            let resources = [
                InstanceResource.integer("CPU", registration.cpu),
                InstanceResource.integer("MEMORY", registration.memory),
                InstanceResource.ports("PORTS", registration.reservedPorts),
                InstanceResource.ports("PORTS_UDP", []),
            ]
            let instance = ContainerInstance(
                containerInstanceArn: "\(context.arnPrefix):container-instance/\(clusterName)/\(id)",
                id: id,
                cluster: clusterName,
                hostname: registration.hostname,
                status: "ACTIVE",
                agentConnected: true,
                agentVersion: registration.agentVersion,
                registeredResources: resources,
                remainingResources: resources,
                attributes: attributes,
                runningTasksCount: 0,
                pendingTasksCount: 0,
                registeredAt: context.time,
                updatedAt: context.time,
                version: 1,
                agentAddress: registration.agentAddress,
                agentCredential: registration.agentCredential
            )
            instances[id] = instance
            return .instanceRegistered(instance)
        case .deregisterContainerInstance(let clusterName, let reference, let force):
            guard var instance = instance(reference, in: clusterName) else {
                return .instanceNotFound(reference, clusterName)
            }
            guard instance.status != "INACTIVE" else { return .containerInstance(instance) }
            let live = tasks(onInstance: instance.id).filter { $0.lastStatus != "STOPPED" }
            guard live.isEmpty || force else {
                return .refused(
                    status: 409,
                    code: "instance_has_tasks",
                    message:
                        "container instance \(instance.id) still has \(live.count) tasks that have not stopped; "
                        + "drain it first, or deregister with force (its tasks are then stopped and replaced elsewhere)",
                    field: "containerInstance"
                )
            }
            instance.status = "INACTIVE"
            instance.agentConnected = false
            touch(&instance, context)
            // Forced: nothing will report these tasks any more, so they are stopped here (their services replace
            // them) and what they held is released.
            for var task in live {
                if task.desiredStatus == "RUNNING" {
                    task.requestStop(
                        code: "ServiceSchedulerInitiated",
                        reason: "Container instance \(instance.id) was deregistered",
                        at: context.time
                    )
                } else {
                    task.version += 1
                }
                task.markStopped(at: context.time)
                store(task, context)
            }
            return .containerInstance(instances[instance.id]!)
        case .updateContainerInstanceState(let clusterName, let reference, let status):
            guard status == "ACTIVE" || status == "DRAINING" else {
                return .invalid("status", "must be ACTIVE or DRAINING")
            }
            guard var instance = instance(reference, in: clusterName) else {
                return .instanceNotFound(reference, clusterName)
            }
            guard instance.status != "INACTIVE" else {
                return .refused(
                    status: 409,
                    code: "instance_inactive",
                    message: "container instance \(instance.id) is deregistered (INACTIVE)",
                    field: "containerInstance"
                )
            }
            guard instance.status != status else { return .containerInstance(instance) }
            instance.status = status
            touch(&instance, context)
            return .containerInstance(instance)
        case .putAttributes(let clusterName, let attributes), .deleteAttributes(let clusterName, let attributes):
            guard clusters[clusterName] != nil else { return .clusterNotFound(clusterName) }
            let deleting: Bool
            if case .deleteAttributes = command { deleting = true } else { deleting = false }
            guard !attributes.isEmpty, attributes.count <= 10 else {
                return .invalid("attributes", "give 1 to 10 attributes")
            }
            var targets: [String] = []
            for (position, attribute) in attributes.enumerated() {
                if let (field, rule) = AttributeRules.problem(attribute) {
                    return .invalid("attributes[\(position)].\(field)", rule)
                }
                if attribute.name.hasPrefix("ecs.") {
                    return .invalid("attributes[\(position)].name", "built-in ecs. attributes cannot be changed")
                }
                guard let target = attribute.targetId, let found = instance(target, in: clusterName) else {
                    return .invalid(
                        "attributes[\(position)].targetId",
                        "must name a container instance of cluster \(clusterName)"
                    )
                }
                targets.append(found.id)
            }
            for (attribute, id) in zip(attributes, targets) {
                var instance = instances[id]!
                instance.attributes.removeAll { $0.name == attribute.name }
                if !deleting { instance.attributes.append(Attribute(name: attribute.name, value: attribute.value)) }
                touch(&instance, context)
            }
            return .attributes(attributes)
        default:
            preconditionFailure("applyInstanceCommand called with \(command)")
        }
    }

    /// The instance named by id or ARN in `cluster`.
    package func instance(_ reference: String, in cluster: String) -> ContainerInstance? {
        let id = reference.hasPrefix("arn:") ? String(reference.split(separator: "/").last ?? "") : reference
        guard let instance = instances[id], instance.cluster == cluster else { return nil }
        return instance
    }

    mutating func touch(_ instance: inout ContainerInstance, _ context: Context) {
        instance.updatedAt = context.time
        instance.version += 1
        instances[instance.id] = instance
    }

    func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

extension DomainResult {
    static func instanceNotFound(_ reference: String, _ cluster: String) -> DomainResult {
        .refused(
            status: 404,
            code: "container_instance_not_found",
            message: "container instance \(reference) is not registered in cluster \(cluster)",
            field: "containerInstance"
        )
    }
}
