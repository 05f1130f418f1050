/// A resource of a container instance, in ECS's shape.
package struct InstanceResource: Sendable, Equatable, Codable {
    /// CPU, MEMORY, PORTS or PORTS_UDP.
    package var name: String
    /// INTEGER or STRINGSET.
    package var type: String
    /// For INTEGER resources.
    package var integerValue: Int?
    /// For STRINGSET resources (port numbers as strings).
    package var stringSetValue: [String]?

    /// An INTEGER resource.
    package static func integer(_ name: String, _ value: Int) -> InstanceResource {
        InstanceResource(name: name, type: "INTEGER", integerValue: value, stringSetValue: nil)
    }

    /// A STRINGSET resource of ports.
    package static func ports(_ name: String, _ ports: [Int]) -> InstanceResource {
        InstanceResource(
            name: name,
            type: "STRINGSET",
            integerValue: nil,
            stringSetValue: ports.sorted().map(String.init)
        )
    }
}

/// An attribute of a container instance (ECS: name, value, targetType, targetId).
package struct Attribute: Sendable, Equatable, Codable, Hashable {
    /// 1-128 of letters, digits, `-`, `_`, `/`, `\`, `.`.
    package var name: String
    /// Optional; 1-128 of letters, digits, `-`, `_`, `.`, `@`, `/`, `\`, `:` and spaces.
    package var value: String?
    /// `container-instance` (the only target type).
    package var targetType: String?
    /// The container instance id or ARN the attribute belongs to.
    package var targetId: String?

    /// Creates an attribute.
    package init(name: String, value: String?, targetType: String? = nil, targetId: String? = nil) {
        self.name = name
        self.value = value
        self.targetType = targetType
        self.targetId = targetId
    }
}

/// A host registered by its agent: what it offers, what is left, its attributes and state.
package struct ContainerInstance: Sendable, Equatable, Codable {
    /// `arn:gantry:ecs:<region>:<account>:container-instance/<cluster>/<id>`.
    package var containerInstanceArn: String
    /// The id the leader assigned (32 hex digits).
    package var id: String
    /// The cluster's name.
    package var cluster: String
    /// The host's name, as its agent reported it.
    package var hostname: String
    /// ACTIVE, DRAINING or INACTIVE (deregistered).
    package var status: String
    /// Whether the agent is connected (the leader records transitions, not heartbeats).
    package var agentConnected: Bool
    /// The agent's version.
    package var agentVersion: String
    /// What the host offers: CPU (units, 1024 per core), MEMORY (MiB), PORTS and PORTS_UDP reserved by the host.
    package var registeredResources: [InstanceResource]
    /// What is left after the tasks placed on it.
    package var remainingResources: [InstanceResource]
    /// Built-in (`ecs.os-type`, `ecs.cpu-architecture`, `ecs.availability-zone`) and custom attributes.
    package var attributes: [Attribute]
    /// Tasks RUNNING on it.
    package var runningTasksCount: Int
    /// Tasks placed and not yet running.
    package var pendingTasksCount: Int
    /// Leader time of registration.
    package var registeredAt: Int64
    /// Leader time of the last change.
    package var updatedAt: Int64
    /// +1 on every change (optimistic concurrency for placement).
    package var version: Int
    /// `host:port` where the instance's agent serves its own API (task logs), as it registered it; nil when it gave
    /// none (its tasks' logs cannot then be read through the controllers).
    package var agentAddress: String?
    /// The agent's credential (`AgentCredential`), chosen by the leader at registration; nil for instances
    /// registered before agents had credentials (optional, so older snapshots still decode).
    ///
    /// Held in plain text on purpose, not as a hash: the controllers must present it to the agent when they proxy
    /// its tasks' logs, so they need the secret itself. The replicated state holds it as it holds secret parameter
    /// values, and state snapshots are admin-only. The API never renders it: `DomainRender` blanks it in every view
    /// of an instance, and only the registration's answer carries it (as `agentCredential`).
    package var agentCredential: String?
}

/// What an agent registers.
package struct InstanceRegistration: Sendable, Equatable, Codable {
    /// Assigned by the leader when the command is proposed (nil in the API's request).
    package var id: String?
    /// The host's name.
    package var hostname: String
    /// CPU units offered (1024 per core), 1 to 1,048,576.
    package var cpu: Int
    /// Memory offered in MiB, 6 to 16,777,216.
    package var memory: Int
    /// Host ports already taken (by the host, not by tasks).
    package var reservedPorts: [Int]
    /// `ecs.os-type` (default linux).
    package var osType: String
    /// `ecs.cpu-architecture` (e.g. x86_64, arm64).
    package var cpuArchitecture: String
    /// `ecs.availability-zone` from the agent's configuration (optional).
    package var availabilityZone: String?
    /// Custom attributes.
    package var attributes: [Attribute]
    /// The agent's version.
    package var agentVersion: String
    /// `host:port` where controllers reach the agent's API (for task logs); optional.
    package var agentAddress: String?
    /// The agent's credential, assigned by the leader together with `id` (nil in the API's request).
    package var agentCredential: String?

    /// Creates a registration.
    package init(
        id: String? = nil,
        hostname: String,
        cpu: Int,
        memory: Int,
        reservedPorts: [Int] = [],
        osType: String = "linux",
        cpuArchitecture: String = "x86_64",
        availabilityZone: String? = nil,
        attributes: [Attribute] = [],
        agentVersion: String,
        agentAddress: String? = nil,
        agentCredential: String? = nil
    ) {
        self.id = id
        self.hostname = hostname
        self.cpu = cpu
        self.memory = memory
        self.reservedPorts = reservedPorts
        self.osType = osType
        self.cpuArchitecture = cpuArchitecture
        self.availabilityZone = availabilityZone
        self.attributes = attributes
        self.agentVersion = agentVersion
        self.agentAddress = agentAddress
        self.agentCredential = agentCredential
    }

    /// Why this registration breaks a rule, as (field, rule), or nil.
    package func problem() -> (String, String)? {
        if hostname.isEmpty || hostname.utf8.count > 253 { return ("hostname", "must be 1 to 253 characters") }
        if !(1...1_048_576).contains(cpu) { return ("cpu", "must be 1 to 1048576 CPU units (1024 per core)") }
        if !(6...16_777_216).contains(memory) { return ("memory", "must be 6 to 16777216 MiB") }
        for (position, port) in reservedPorts.enumerated() where !(1...65535).contains(port) {
            return ("reservedPorts[\(position)]", "must be 1-65535")
        }
        if Set(reservedPorts).count != reservedPorts.count { return ("reservedPorts", "must not repeat a port") }
        if !["linux", "windows"].contains(osType) { return ("osType", "must be linux or windows") }
        if cpuArchitecture.isEmpty || cpuArchitecture.utf8.count > 32 {
            return ("cpuArchitecture", "must be 1 to 32 characters")
        }
        if let zone = availabilityZone, zone.isEmpty || zone.utf8.count > 64 {
            return ("availabilityZone", "must be 1 to 64 characters")
        }
        if agentVersion.isEmpty || agentVersion.utf8.count > 64 {
            return ("agentVersion", "must be 1 to 64 characters")
        }
        if let address = agentAddress, let problem = AgentAddressRules.problem(address) {
            return ("agentAddress", problem)
        }
        if attributes.count > 10 { return ("attributes", "at most 10 custom attributes") }
        for (position, attribute) in attributes.enumerated() {
            if let (field, rule) = AttributeRules.problem(attribute) {
                return ("attributes[\(position)].\(field)", rule)
            }
            if attribute.name.hasPrefix("ecs.") {
                return ("attributes[\(position)].name", "the ecs. prefix is reserved for built-in attributes")
            }
        }
        return nil
    }
}

/// ECS's attribute rules.
package enum AttributeRules {
    /// Why `attribute` breaks a rule, as (field, rule), or nil.
    package static func problem(_ attribute: Attribute) -> (String, String)? {
        let name = attribute.name
        guard (1...128).contains(name.utf8.count),
            name.utf8.allSatisfy({ isAlphanumeric($0) || "-_/\\.".utf8.contains($0) })
        else {
            return ("name", "must be 1 to 128 letters, digits, '-', '_', '/', '\\' or '.'")
        }
        if let value = attribute.value {
            guard (1...128).contains(value.utf8.count),
                value.utf8.allSatisfy({ isAlphanumeric($0) || "-_.@/\\: ".utf8.contains($0) })
            else {
                return ("value", "must be 1 to 128 letters, digits, spaces, '-', '_', '.', '@', '/', '\\' or ':'")
            }
        }
        if let type = attribute.targetType, type != "container-instance" {
            return ("targetType", "must be container-instance")
        }
        return nil
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
