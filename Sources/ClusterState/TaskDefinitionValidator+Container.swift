/// What container rules need to know about the rest of the task.
struct TaskContext {
    /// The task's containers, normalized.
    var containers: [ContainerDefinition]
    /// The network mode, defaulted.
    var networkMode: String
    /// Whether the task sets `memory`.
    var hasTaskMemory: Bool
    /// Task memory in MiB, when it parses.
    var taskMemoryMiB: Int?
    /// The names of the task's volumes.
    var volumeNames: Set<String>
    /// Each container name's first index.
    var indexByName: [String: Int]

    /// Gathers the context from a normalized spec.
    init(_ spec: TaskDefinitionSpec) {
        containers = spec.containerDefinitions
        networkMode = spec.networkMode ?? TaskDefinitionSpec.defaultNetworkMode
        hasTaskMemory = spec.memory != nil
        taskMemoryMiB = spec.memoryMiB
        volumeNames = Set((spec.volumes ?? []).map(\.name))
        var indexByName: [String: Int] = [:]
        for (index, container) in spec.containerDefinitions.enumerated() where indexByName[container.name] == nil {
            indexByName[container.name] = index
        }
        self.indexByName = indexByName
    }
}

extension TaskDefinitionValidator {
    /// The largest container `cpu`, in CPU units (ECS's limit: 10 vCPU).
    package static let maxContainerCPU = 10_240
    /// The smallest container memory limit or reservation, in MiB (Docker's minimum).
    package static let minContainerMemoryMiB = 6
    /// The longest image reference.
    package static let maxImageLength = 4096
    /// Accepted `logConfiguration.logDriver` values; `awslogs` is accepted and ignored.
    package static let logDrivers = ["json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "none"]
    /// Accepted `dependsOn.condition` values.
    package static let dependencyConditions = ["START", "COMPLETE", "SUCCESS", "HEALTHY"]
    /// Docker's ulimit names.
    package static let ulimitNames = [
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
        "rttime", "sigpending", "stack",
    ]

    /// Appends the problems of container `index` that need only it and `task`; host-port clashes and dependency
    /// cycles span containers and are checked separately.
    static func checkContainer(at index: Int, in task: TaskContext, into problems: inout [FieldProblem]) {
        let container = task.containers[index]
        let path = "containerDefinitions[\(index)]"
        func add(_ field: String, _ rule: String) {
            problems.append(FieldProblem(field: "\(path).\(field)", rule: rule))
        }

        if !isIdentifier(container.name) {
            add("name", identifierRule)
        } else if let first = task.indexByName[container.name], first != index {
            add("name", "duplicates containerDefinitions[\(first)].name")
        }
        if container.image.isEmpty || container.image.count > maxImageLength {
            add("image", "must be 1-\(maxImageLength) characters")
        }
        if let cpu = container.cpu, cpu < 0 || cpu > maxContainerCPU {
            add("cpu", "must be 0-\(maxContainerCPU)")
        }
        checkMemory(container, task: task, add: add)
        if let mappings = container.portMappings {
            checkPortMappings(mappings, networkMode: task.networkMode, add: add)
        }
        checkVariables(container, path: path, add: add)
        if let check = container.healthCheck {
            checkHealth(check, add: add)
        }
        if let stopTimeout = container.stopTimeout, stopTimeout < 2 || stopTimeout > 120 {
            add("stopTimeout", "must be 2-120")
        }
        if let driver = container.logConfiguration?.logDriver, !logDrivers.contains(driver) {
            add("logConfiguration.logDriver", "must be one of \(logDrivers.joined(separator: ", "))")
        }
        checkDependencies(container, at: index, task: task, add: add)
        for (limitIndex, limit) in (container.ulimits ?? []).enumerated() {
            if !ulimitNames.contains(limit.name) {
                add("ulimits[\(limitIndex)].name", "must be one of \(ulimitNames.joined(separator: ", "))")
            }
            if limit.softLimit > limit.hardLimit {
                add("ulimits[\(limitIndex)].softLimit", "must not exceed hardLimit (\(limit.hardLimit))")
            }
        }
        if container.hostname != nil && task.networkMode == "host" {
            add("hostname", "must be omitted in host network mode")
        }
        for (mountIndex, mount) in (container.mountPoints ?? []).enumerated() {
            if !task.volumeNames.contains(mount.sourceVolume) {
                add("mountPoints[\(mountIndex)].sourceVolume", "must name a volume of the task")
            }
            if !mount.containerPath.hasPrefix("/") {
                add("mountPoints[\(mountIndex)].containerPath", "must be an absolute path")
            }
        }
    }

    private static func checkMemory(
        _ container: ContainerDefinition,
        task: TaskContext,
        add: (String, String) -> Void
    ) {
        let minimum = minContainerMemoryMiB
        if let memory = container.memory, memory < minimum {
            add("memory", "must be at least \(minimum) MiB")
        }
        if let reservation = container.memoryReservation, reservation < minimum {
            add("memoryReservation", "must be at least \(minimum) MiB")
        }
        if let reservation = container.memoryReservation, let memory = container.memory, reservation > memory {
            add("memoryReservation", "must not exceed memory (\(memory) MiB)")
        }
        if container.memory == nil && container.memoryReservation == nil && !task.hasTaskMemory {
            add("memory", "is required when neither memoryReservation nor the task's memory is set")
        }
        if let memory = container.memory, let taskMemory = task.taskMemoryMiB, memory > taskMemory {
            add("memory", "must not exceed the task's memory (\(taskMemory) MiB)")
        }
    }

    private static func checkPortMappings(
        _ mappings: [ContainerDefinition.PortMapping],
        networkMode: String,
        add: (String, String) -> Void
    ) {
        if networkMode == "none" && !mappings.isEmpty {
            add("portMappings", "must be empty in none network mode")
        }
        for (index, mapping) in mappings.enumerated() {
            let path = "portMappings[\(index)]"
            if !(1...65_535).contains(mapping.containerPort) {
                add("\(path).containerPort", "must be 1-65535")
            }
            if let hostPort = mapping.hostPort {
                if !(0...65_535).contains(hostPort) {
                    add("\(path).hostPort", "must be 0-65535")
                } else if networkMode == "host" && hostPort != mapping.containerPort {
                    add("\(path).hostPort", "must equal containerPort (\(mapping.containerPort)) in host network mode")
                }
            }
            if let transport = mapping.protocol, transport != "tcp" && transport != "udp" {
                add("\(path).protocol", "must be tcp or udp")
            }
        }
    }

    /// Host ports are a node-wide resource: two mappings of one task cannot both bind the same port and protocol. In
    /// host mode an absent host port is the container port; in bridge mode it (like 0) is dynamic and never clashes.
    static func checkHostPorts(_ task: TaskContext, into problems: inout [FieldProblem]) {
        guard task.networkMode == "host" || task.networkMode == "bridge" else { return }
        var seen: [String: String] = [:]
        for (containerIndex, container) in task.containers.enumerated() {
            for (index, mapping) in (container.portMappings ?? []).enumerated() {
                let hostPort = mapping.hostPort ?? (task.networkMode == "host" ? mapping.containerPort : 0)
                guard hostPort > 0 && hostPort <= 65_535 else { continue }
                let key = "\(hostPort)/\(mapping.protocol ?? ContainerDefinition.PortMapping.defaultProtocol)"
                let field = "containerDefinitions[\(containerIndex)].portMappings[\(index)].hostPort"
                if let first = seen[key] {
                    problems.append(FieldProblem(field: field, rule: "duplicates \(first) (\(key))"))
                } else {
                    seen[key] = field
                }
            }
        }
    }

    private static func checkVariables(_ container: ContainerDefinition, path: String, add: (String, String) -> Void) {
        // One namespace: a secret and a plain variable with the same name would silently shadow each other.
        var seen: [String: String] = [:]
        func checkName(_ name: String, _ field: String) {
            if name.isEmpty {
                add("\(field).name", "must not be empty")
            } else if let first = seen[name] {
                add("\(field).name", "duplicates \(path).\(first).name")
            } else {
                seen[name] = field
            }
        }
        for (index, variable) in (container.environment ?? []).enumerated() {
            checkName(variable.name, "environment[\(index)]")
        }
        for (index, secret) in (container.secrets ?? []).enumerated() {
            checkName(secret.name, "secrets[\(index)]")
            if secret.valueFrom.hasPrefix("arn:") && secret.parameterName == secret.valueFrom {
                add("secrets[\(index)].valueFrom", "must be a parameter name or an ARN ending in :parameter/NAME")
            } else if let problem = ParameterRules.nameProblem(secret.parameterName) {
                add("secrets[\(index)].valueFrom", "parameter name \(problem)")
            }
        }
    }

    private static func checkHealth(_ check: ContainerDefinition.HealthCheck, add: (String, String) -> Void) {
        let command = check.command
        if command.count < 2 || (command[0] != "CMD" && command[0] != "CMD-SHELL") {
            add("healthCheck.command", "must start with CMD or CMD-SHELL followed by the command")
        }
        let interval = check.interval ?? ContainerDefinition.HealthCheck.defaultInterval
        let timeout = check.timeout ?? ContainerDefinition.HealthCheck.defaultTimeout
        let intervalValid = (5...300).contains(interval)
        if !intervalValid { add("healthCheck.interval", "must be 5-300") }
        if !(2...60).contains(timeout) {
            add("healthCheck.timeout", "must be 2-60")
        } else if intervalValid && timeout >= interval {
            add("healthCheck.timeout", "must be less than interval (\(interval))")
        }
        if let retries = check.retries, !(1...10).contains(retries) {
            add("healthCheck.retries", "must be 1-10")
        }
        if let startPeriod = check.startPeriod, !(0...300).contains(startPeriod) {
            add("healthCheck.startPeriod", "must be 0-300")
        }
    }

    private static func checkDependencies(
        _ container: ContainerDefinition,
        at containerIndex: Int,
        task: TaskContext,
        add: (String, String) -> Void
    ) {
        for (index, dependency) in (container.dependsOn ?? []).enumerated() {
            let path = "dependsOn[\(index)]"
            let target = task.indexByName[dependency.containerName].map { task.containers[$0] }
            if target == nil || dependency.containerName == container.name {
                add("\(path).containerName", "must name another container of the task")
            }
            let condition = dependency.condition
            if !dependencyConditions.contains(condition) {
                add("\(path).condition", "must be START, COMPLETE, SUCCESS or HEALTHY")
            } else if let target, target.name != container.name {
                if condition == "HEALTHY" && target.healthCheck == nil {
                    add("\(path).condition", "HEALTHY requires container '\(target.name)' to have a healthCheck")
                }
                if (condition == "COMPLETE" || condition == "SUCCESS") && target.isEssential {
                    add("\(path).condition", "\(condition) requires container '\(target.name)' to be non-essential")
                }
            }
        }
    }

    /// Reports each start-order cycle once, at the container where the search first closes it.
    static func checkDependencyCycles(_ containers: [ContainerDefinition], into problems: inout [FieldProblem]) {
        var indexByName: [String: Int] = [:]
        for (index, container) in containers.enumerated() where indexByName[container.name] == nil {
            indexByName[container.name] = index
        }
        let edges: [[Int]] = containers.enumerated().map { index, container in
            (container.dependsOn ?? []).compactMap { dependency in
                indexByName[dependency.containerName].flatMap { $0 == index ? nil : $0 }
            }
        }
        // 0: not visited, 1: on the current path, 2: finished.
        var state = [UInt8](repeating: 0, count: containers.count)
        var stack: [Int] = []
        func visit(_ node: Int) {
            state[node] = 1
            stack.append(node)
            for next in edges[node] {
                if state[next] == 1, let start = stack.lastIndex(of: next) {
                    let names = (stack[start...] + [next]).map { containers[$0].name }
                    problems.append(
                        FieldProblem(
                            field: "containerDefinitions[\(next)].dependsOn",
                            rule: "forms a cycle: \(names.joined(separator: " -> "))"
                        )
                    )
                } else if state[next] == 0 {
                    visit(next)
                }
            }
            stack.removeLast()
            state[node] = 2
        }
        for node in containers.indices where state[node] == 0 {
            visit(node)
        }
    }
}
