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
        // Every candidate is judged once; afterwards only the one a task went to can change, so only it is judged
        // again. The rejection counts and the spread counts are kept up to date the same way, so placing n tasks
        // on m instances costs O(m) for the judging plus O(eligible) per task for the strategies.
        var rejections: [String: Int] = [:]
        var eligible: [Int] = []
        for (position, candidate) in pool.enumerated() {
            if let reason = rejection(candidate, request, memberOf: memberOf, unparsable: unparsable) {
                rejections[reason, default: 0] += 1
            } else {
                eligible.append(position)
            }
        }
        var spread = SpreadCounts(request: request, pool: pool)
        spread.countEligible(eligible)
        var decisions: [PlacementDecision] = []
        decisions.reserveCapacity(count)
        var scratch: [Int] = []
        scratch.reserveCapacity(eligible.count)
        for _ in 0..<count {
            guard !eligible.isEmpty else {
                decisions.append(.unplaced(reason: explain(rejections, total: pool.count)))
                continue
            }
            let chosen = choose(
                eligible,
                in: pool,
                request: request,
                spread: spread,
                random: &random,
                remaining: &scratch
            )
            decisions.append(.placed(instanceID: pool[chosen].instance.id))
            pool[chosen].freeCPU -= request.cpu
            pool[chosen].freeMemory -= request.memory
            pool[chosen].usedPorts.formUnion(request.ports)
            pool[chosen].tasks.append(placeholderTask(group: request.group, cpu: request.cpu, memory: request.memory))
            spread.add(chosen)
            if let reason = rejection(pool[chosen], request, memberOf: memberOf, unparsable: unparsable) {
                rejections[reason, default: 0] += 1
                if let slot = eligible.firstIndex(of: chosen) { eligible.remove(at: slot) }
                spread.removeEligible(chosen)
            }
        }
        return decisions
    }

    /// The request's group's tasks counted per value of each spread field, kept up to date as tasks are placed.
    /// Values are numbered once, so scoring a candidate is two array reads.
    struct SpreadCounts {
        /// The field each strategy step spreads over, in step order.
        var fields: [String] = []
        /// For each field: each candidate's value number.
        var values: [[Int]] = []
        /// For each field: the group's tasks per value number, over every candidate (not just eligible ones).
        var counts: [[Int]] = []

        init(request: PlacementRequest, pool: [PlacementCandidate]) {
            let steps =
                request.strategy.isEmpty ? [PlacementStrategy(type: "spread", field: "instanceId")] : request.strategy
            for step in steps where step.type == "spread" {
                let field = step.field ?? "instanceId"
                guard !fields.contains(field) else { continue }
                fields.append(field)
                var numbers: [String: Int] = [:]
                var perCandidate: [Int] = []
                var tally: [Int] = []
                for candidate in pool {
                    let value = Placement.spreadValue(candidate.instance, field: field)
                    let number: Int
                    if let known = numbers[value] {
                        number = known
                    } else {
                        number = tally.count
                        numbers[value] = number
                        tally.append(0)
                    }
                    perCandidate.append(number)
                    tally[number] += candidate.tasks.filter { $0.group == request.group }.count
                }
                values.append(perCandidate)
                counts.append(tally)
            }
        }

        /// For each field: the eligible candidates per value number (kept as candidates become ineligible).
        var eligibleCounts: [[Int]] = []

        /// Counts the eligible candidates per value.
        mutating func countEligible(_ eligible: [Int]) {
            eligibleCounts = counts.map { [Int](repeating: 0, count: $0.count) }
            for slot in fields.indices {
                for position in eligible { eligibleCounts[slot][values[slot][position]] += 1 }
            }
        }

        /// `position` is no longer eligible.
        mutating func removeEligible(_ position: Int) {
            for slot in fields.indices { eligibleCounts[slot][values[slot][position]] -= 1 }
        }

        /// With a single spread step over a field of few values (zones, racks): the lowest eligible position whose
        /// value has the fewest of the group's tasks among values with an eligible candidate — the generic
        /// answer, found by looking at the values instead of scoring every candidate.
        func fewValuesChoice(slot: Int, eligible: [Int]) -> Int? {
            guard counts[slot].count <= 64 else { return nil }
            var best = Int.max
            for value in counts[slot].indices where eligibleCounts[slot][value] > 0 {
                best = min(best, counts[slot][value])
            }
            guard best != Int.max else { return nil }
            return eligible.first { counts[slot][values[slot][$0]] == best }
        }

        /// The slot of `field`.
        func slot(_ field: String) -> Int? { fields.firstIndex(of: field) }

        /// The group's tasks sharing `position`'s value of the field in `slot`.
        func score(_ position: Int, slot: Int) -> Int { counts[slot][values[slot][position]] }

        /// A task of the group went to `position`.
        mutating func add(_ position: Int) {
            for slot in fields.indices { counts[slot][values[slot][position]] += 1 }
        }
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
    /// The first step reads `eligible` as is and the last one stops at the first best candidate; steps in between
    /// narrow `remaining`, scratch space reused across calls, in place (no allocation per task placed).
    static func choose(
        _ eligible: [Int],
        in pool: [PlacementCandidate],
        request: PlacementRequest,
        spread: SpreadCounts,
        random: inout UInt64,
        remaining: inout [Int]
    ) -> Int {
        let steps =
            request.strategy.isEmpty ? [PlacementStrategy(type: "spread", field: "instanceId")] : request.strategy
        if steps.count == 1, steps[0].type == "spread", let slot = spread.slot(steps[0].field ?? "instanceId"),
            let choice = spread.fewValuesChoice(slot: slot, eligible: eligible)
        {
            return choice
        }
        var narrowed = false
        for (number, step) in steps.enumerated() {
            let current = narrowed ? remaining : eligible
            if current.count == 1 { return current[0] }
            let last = number == steps.count - 1
            let score: (Int) -> Int
            switch step.type {
            case "binpack":
                // Fullest first: the least of the resource left after placing.
                let memory = step.field == "memory"
                score = { memory ? pool[$0].freeMemory : pool[$0].freeCPU }
            case "spread":
                guard let slot = spread.slot(step.field ?? "instanceId") else { continue }
                score = { spread.score($0, slot: slot) }
            case "random":
                random = splitMix(random)
                let pick = current[Int(random % UInt64(current.count))]
                if last { return pick }
                remaining.removeAll(keepingCapacity: true)
                remaining.append(pick)
                narrowed = true
                continue
            default:
                continue
            }
            var best = Int.max
            for position in current { best = min(best, score(position)) }
            if last { return current.first { score($0) == best }! }
            remaining.removeAll(keepingCapacity: true)
            for position in current where score(position) == best { remaining.append(position) }
            narrowed = true
        }
        return narrowed ? remaining[0] : eligible[0]
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
