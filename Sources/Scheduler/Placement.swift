package import ClusterState

/// One instance as placement sees it: what it offers and what is already placed on it.
package struct PlacementCandidate: Sendable, Equatable {
    /// The instance.
    package var instance: ContainerInstance
    /// Its tasks that have not stopped (for constraints and spread).
    package var tasks: [TaskRecord]
    /// Host ports taken, as `tcp/80` or `udp/53` (reserved by the host or bound by tasks).
    package var usedPorts: Set<String>
    /// CPU units free.
    package var freeCPU: Int
    /// Memory MiB free.
    package var freeMemory: Int

    /// A candidate from an instance and its live tasks. Free cpu, memory and host ports are the instance's
    /// `remainingResources`, which apply keeps as placements land and re-checks every placement against, so the
    /// placement core and apply judge "fits" from one source; `tasks` serve constraints and spread only.
    package init(instance: ContainerInstance, tasks: [TaskRecord]) {
        self.instance = instance
        self.tasks = tasks.filter { $0.lastStatus != "STOPPED" }
        let remaining = { (name: String) in instance.remainingResources.first { $0.name == name } }
        usedPorts = Set(
            (remaining("PORTS")?.stringSetValue ?? []).map { "tcp/\($0)" }
                + (remaining("PORTS_UDP")?.stringSetValue ?? []).map { "udp/\($0)" }
        )
        freeCPU = remaining("CPU")?.integerValue ?? 0
        freeMemory = remaining("MEMORY")?.integerValue ?? 0
    }
}

/// What one task needs.
package struct PlacementRequest: Sendable, Equatable {
    /// CPU units.
    package var cpu: Int
    /// Memory MiB.
    package var memory: Int
    /// Fixed host ports as `tcp/80` (dynamic ports, host port 0, need no check).
    package var ports: [String]
    /// The task group (`service:<name>` or `family:<family>`), for distinctInstance and spread.
    package var group: String
    /// Constraints: the service's and the task definition's.
    package var constraints: [TaskDefinitionSpec.PlacementConstraint]
    /// Strategy steps, applied in order (default: spread over instanceId).
    package var strategy: [PlacementStrategy]

    /// Creates a request.
    package init(
        cpu: Int,
        memory: Int,
        ports: [String] = [],
        group: String,
        constraints: [TaskDefinitionSpec.PlacementConstraint] = [],
        strategy: [PlacementStrategy] = []
    ) {
        self.cpu = cpu
        self.memory = memory
        self.ports = ports
        self.group = group
        self.constraints = constraints
        self.strategy = strategy
    }
}

/// Where each task went, or why it could not go anywhere.
package enum PlacementDecision: Sendable, Equatable {
    /// Placed on the instance with this id.
    case placed(instanceID: String)
    /// Not placed; the reason counts the instances each filter rejected.
    case unplaced(reason: String)
}

/// Placement: filters (status, agent, cpu, memory, ports, constraints), then strategies chained in order. Pure and
/// deterministic: `seed` (chosen by the leader and carried in the command) drives `random`.
package enum Placement {
    /// Places `count` tasks of `request` one after another, each seeing the previous ones' effect.
    package static func place(
        _ request: PlacementRequest,
        count: Int,
        on candidates: [PlacementCandidate],
        seed: UInt64
    ) -> [PlacementDecision] {
        var pool = candidates.sorted { $0.instance.id < $1.instance.id }
        var random = seed
        var memberOf: [Query] = []
        for constraint in request.constraints where constraint.type == "memberOf" {
            // Expressions were validated when stored; one that no longer parses rejects every instance, visibly.
            if let query = try? Query.parse(constraint.expression ?? "") { memberOf.append(query) }
        }
        let unparsable = request.constraints.filter { $0.type == "memberOf" }.count - memberOf.count
        var decisions: [PlacementDecision] = []
        for _ in 0..<count {
            var rejections: [String: Int] = [:]
            var eligible: [Int] = []
            for (position, candidate) in pool.enumerated() {
                if let reason = rejection(candidate, request, memberOf: memberOf, unparsable: unparsable) {
                    rejections[reason, default: 0] += 1
                } else {
                    eligible.append(position)
                }
            }
            guard !eligible.isEmpty else {
                decisions.append(.unplaced(reason: explain(rejections, total: pool.count)))
                continue
            }
            let chosen = choose(eligible, in: pool, request: request, random: &random)
            decisions.append(.placed(instanceID: pool[chosen].instance.id))
            pool[chosen].freeCPU -= request.cpu
            pool[chosen].freeMemory -= request.memory
            pool[chosen].usedPorts.formUnion(request.ports)
            pool[chosen].tasks.append(placeholderTask(group: request.group, cpu: request.cpu, memory: request.memory))
        }
        return decisions
    }

    /// For each candidate, why it cannot take one task of `request` now, or nil if it can (`explain`'s view).
    package static func rejections(_ request: PlacementRequest, on candidates: [PlacementCandidate]) -> [String?] {
        var memberOf: [Query] = []
        for constraint in request.constraints where constraint.type == "memberOf" {
            if let query = try? Query.parse(constraint.expression ?? "") { memberOf.append(query) }
        }
        let unparsable = request.constraints.filter { $0.type == "memberOf" }.count - memberOf.count
        return candidates.map { candidate in
            rejection(candidate, request, memberOf: memberOf, unparsable: unparsable).map { reason in
                reason.hasPrefix("{is}") ? "is" + reason.dropFirst(4) : reason
            }
        }
    }

    /// Why `candidate` cannot take the task, or nil.
    static func rejection(
        _ candidate: PlacementCandidate,
        _ request: PlacementRequest,
        memberOf: [Query],
        unparsable: Int
    ) -> String? {
        let instance = candidate.instance
        if instance.status != "ACTIVE" { return instance.status == "DRAINING" ? "{is} draining" : "{is} deregistered" }
        if !instance.agentConnected { return "had no connected agent" }
        if candidate.freeCPU < request.cpu { return "lacked \(request.cpu) CPU units" }
        if candidate.freeMemory < request.memory { return "lacked \(request.memory) MiB memory" }
        if let taken = request.ports.first(where: { candidate.usedPorts.contains($0) }) {
            return "had host port \(taken) taken"
        }
        if request.constraints.contains(where: { $0.type == "distinctInstance" })
            && candidate.tasks.contains(where: { $0.group == request.group })
        {
            return "already ran a task of \(request.group) (distinctInstance)"
        }
        if unparsable > 0 { return "could not be checked against an unparsable memberOf expression" }
        for query in memberOf where !query.matches(instance, tasksOnInstance: candidate.tasks) {
            return "failed memberOf(\(query))"
        }
        return nil
    }

    /// "3 instances lacked 512 MiB memory; 2 failed memberOf(attribute:zone == b)", largest first.
    static func explain(_ rejections: [String: Int], total: Int) -> String {
        guard total > 0 else { return "no container instances are registered in the cluster" }
        let parts = rejections.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map {
            reason,
            count -> String in
            // "{is}" at the start of a reason agrees with the count.
            let verb = reason.hasPrefix("{is}") ? (count == 1 ? "is" : "are") + reason.dropFirst(4) : reason
            return "\(count) instance\(count == 1 ? "" : "s") \(verb)"
        }
        return parts.joined(separator: "; ")
    }

    /// Applies the strategy steps in order, each keeping the best-scored candidates; ties end at the lowest id.
    static func choose(
        _ eligible: [Int],
        in pool: [PlacementCandidate],
        request: PlacementRequest,
        random: inout UInt64
    )
        -> Int
    {
        var remaining = eligible
        let steps =
            request.strategy.isEmpty ? [PlacementStrategy(type: "spread", field: "instanceId")] : request.strategy
        for step in steps where remaining.count > 1 {
            switch step.type {
            case "binpack":
                // Fullest first: the least of the resource left after placing.
                let score = { (position: Int) in
                    step.field == "memory" ? pool[position].freeMemory : pool[position].freeCPU
                }
                let best = remaining.map(score).min()!
                remaining = remaining.filter { score($0) == best }
            case "spread":
                let field = step.field ?? "instanceId"
                // Count the group's tasks per value of the field, over every instance (not just eligible ones).
                var perValue: [String: Int] = [:]
                for candidate in pool {
                    let value = spreadValue(candidate.instance, field: field)
                    perValue[value, default: 0] += candidate.tasks.filter { $0.group == request.group }.count
                }
                let score = { (position: Int) in perValue[spreadValue(pool[position].instance, field: field)] ?? 0 }
                let best = remaining.map(score).min()!
                remaining = remaining.filter { score($0) == best }
            case "random":
                random = splitMix(random)
                remaining = [remaining[Int(random % UInt64(remaining.count))]]
            default:
                break
            }
        }
        return remaining[0]
    }

    static func spreadValue(_ instance: ContainerInstance, field: String) -> String {
        switch field {
        case "instanceId", "host": return instance.id
        default:
            let name = field.hasPrefix("attribute:") ? String(field.dropFirst("attribute:".count)) : field
            return instance.attributes.first { $0.name == name }?.value ?? ""
        }
    }

    static func splitMix(_ state: UInt64) -> UInt64 {
        var z = state &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A stand-in for a task just placed, so the next placement of the same call sees it.
    static func placeholderTask(group: String, cpu: Int, memory: Int) -> TaskRecord {
        TaskRecord.placeholder(group: group, cpu: cpu, memory: memory)
    }
}
