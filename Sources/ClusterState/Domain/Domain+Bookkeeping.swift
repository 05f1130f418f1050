extension Domain {
    /// What a task holds in the rest of the state: resources and a count on its instance, a count on its service's
    /// deployment. Every task change goes through `store`, which moves these from the old footprint to the new one,
    /// so resources are reserved when a task is placed and released when it stops, from one place.
    struct Footprint: Equatable {
        /// The instance id, for placed tasks that have not stopped.
        var instance: String?
        var cpu = 0
        var memory = 0
        var ports: [String] = []
        var instancePending = 0
        var instanceRunning = 0
        /// `<cluster>/<service>` for service tasks that have not stopped.
        var liveService: String?
        /// `<cluster>/<service>` for healthy service tasks.
        var healthyService: String?
        /// `<cluster>/<service>` and the deployment id, for service tasks still wanted.
        var service: String?
        var deployment: String?
        var deploymentPending = 0
        var deploymentRunning = 0
    }

    func footprint(_ task: TaskRecord?) -> Footprint {
        var footprint = Footprint()
        guard let task, task.lastStatus != "STOPPED" else { return footprint }
        if let instance = task.instanceID {
            footprint.instance = instance
            footprint.cpu = task.cpu
            footprint.memory = task.memory
            footprint.ports = task.hostPorts ?? []
            if task.isStarting { footprint.instancePending = 1 } else { footprint.instanceRunning = 1 }
        }
        if let name = task.serviceName {
            footprint.liveService = "\(task.cluster)/\(name)"
            if task.isHealthy { footprint.healthyService = footprint.liveService }
        }
        if task.desiredStatus == "RUNNING", let name = task.serviceName, let deployment = task.startedBy {
            footprint.service = "\(task.cluster)/\(name)"
            footprint.deployment = deployment
            if task.isStarting { footprint.deploymentPending = 1 } else { footprint.deploymentRunning = 1 }
        }
        return footprint
    }

    /// Stores `task`, moving what it holds on its instance and deployment from its old state to the new one.
    mutating func store(_ task: TaskRecord, _ context: Context) {
        let previous = tasks[task.id]
        let before = footprint(previous)
        let after = footprint(task)
        tasks[task.id] = task
        if previous?.instanceID != task.instanceID {
            if let old = previous?.instanceID { tasksByInstance[old]?.remove(task.id) }
            if let new = task.instanceID { tasksByInstance[new, default: []].insert(task.id) }
        }
        guard before != after else { return }
        if before.instance != after.instance
            || (before.cpu, before.memory, before.ports, before.instancePending, before.instanceRunning)
                != (after.cpu, after.memory, after.ports, after.instancePending, after.instanceRunning)
        {
            if let id = before.instance { adjustInstance(id, by: before, sign: -1, context) }
            if let id = after.instance { adjustInstance(id, by: after, sign: 1, context) }
        }
        if (before.service, before.deployment, before.deploymentPending, before.deploymentRunning)
            != (after.service, after.deployment, after.deploymentPending, after.deploymentRunning)
        {
            adjustDeployment(by: before, sign: -1)
            adjustDeployment(by: after, sign: 1)
        }
        if before.liveService != after.liveService || before.healthyService != after.healthyService {
            for (footprint, sign) in [(before, -1), (after, 1)] {
                guard let key = footprint.liveService, var service = services[key] else { continue }
                service.liveTaskCount = (service.liveTaskCount ?? 0) + sign
                if footprint.healthyService != nil {
                    service.healthyTaskCount = (service.healthyTaskCount ?? 0) + sign
                }
                services[key] = service
            }
        }
    }

    private mutating func adjustInstance(_ id: String, by footprint: Footprint, sign: Int, _ context: Context) {
        guard var instance = instances[id] else { return }
        instance.remainingResources = instance.remainingResources.map { resource in
            var resource = resource
            switch resource.name {
            case "CPU": resource.integerValue = (resource.integerValue ?? 0) - sign * footprint.cpu
            case "MEMORY": resource.integerValue = (resource.integerValue ?? 0) - sign * footprint.memory
            case "PORTS", "PORTS_UDP":
                let prefix = resource.name == "PORTS" ? "tcp/" : "udp/"
                let ports = Set(footprint.ports.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(4)) })
                guard !ports.isEmpty else { return resource }
                var set = Set(resource.stringSetValue ?? [])
                if sign > 0 { set.formUnion(ports) } else { set.subtract(ports) }
                resource.stringSetValue = set.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
            default: break
            }
            return resource
        }
        instance.pendingTasksCount += sign * footprint.instancePending
        instance.runningTasksCount += sign * footprint.instanceRunning
        touch(&instance, context)
    }

    private mutating func adjustDeployment(by footprint: Footprint, sign: Int) {
        guard let key = footprint.service, let id = footprint.deployment, var service = services[key],
            let position = service.deployments.firstIndex(where: { $0.id == id })
        else { return }
        service.deployments[position].pendingCount += sign * footprint.deploymentPending
        service.deployments[position].runningCount += sign * footprint.deploymentRunning
        service.pendingCount += sign * footprint.deploymentPending
        service.runningCount += sign * footprint.deploymentRunning
        services[key] = service
    }
}
