// The chaos suite's checks besides linearizability, pure: Raft indexes per client, a set's final reads, leaders per
// term, and tasks that ran twice at once.

/// An answered operation and the Raft index its answer carried (a write's entry index, a read's applied index).
package struct IndexedAnswer: Sendable {
    package var client: Int
    package var id: Int
    package var invokedAt: UInt64
    package var index: UInt64
    /// What it was, for messages (e.g. "write(5) at node 2").
    package var description: String

    package init(client: Int, id: Int, invokedAt: UInt64, index: UInt64, description: String) {
        self.client = client
        self.id = id
        self.invokedAt = invokedAt
        self.index = index
        self.description = description
    }
}

/// Each client's operations run one after another, and each answer is at or after the index of the one before: a
/// client that sees the index go back was answered from an older state than one it had already seen (or was handed
/// someone else's answer). One line per violation, at most `limit`.
package func indexRegressions(_ answers: [IndexedAnswer], limit: Int = 5) -> [String] {
    var problems: [String] = []
    let byClient = Dictionary(grouping: answers, by: \.client)
    for client in byClient.keys.sorted() {
        var highest: IndexedAnswer?
        for answer in byClient[client]!.sorted(by: { $0.invokedAt < $1.invokedAt }) {
            if let highest, answer.index < highest.index {
                problems.append(
                    "client \(client): operation \(answer.id) (\(answer.description)) answered at index "
                        + "\(answer.index), after operation \(highest.id) at index \(highest.index)"
                )
            }
            if answer.index > highest?.index ?? 0 { highest = answer }
        }
    }
    return Array(problems.prefix(limit))
}

/// How a create ended, as its client saw it.
package enum CreateOutcome: String, Sendable {
    /// Answered with success: it must be there.
    case acknowledged
    /// Refused outright (validation): it must not be there.
    case failed
    /// No answer, or an answer that does not say (timeout, no leader): either way.
    case unknown
}

/// What the final reads of a set say about its creates.
package struct SetVerdict: Sendable, CustomStringConvertible {
    package var acknowledged = 0
    package var unknown = 0
    /// Acknowledged creates missing from a node's final read ("name (node N)").
    package var lost: [String] = []
    /// Names in a final read that no client created, or whose create was refused.
    package var phantom: [String] = []
    /// Nodes whose final reads differ.
    package var divergent: [String] = []
    /// Nodes that did not answer the final read.
    package var unread: [Int] = []

    package var ok: Bool { lost.isEmpty && phantom.isEmpty && divergent.isEmpty && unread.isEmpty }

    package var description: String {
        var parts = ["\(acknowledged) acknowledged, \(unknown) unknown"]
        if !lost.isEmpty { parts.append("LOST \(lost.count) acknowledged: \(lost.prefix(3).joined(separator: ", "))") }
        if !phantom.isEmpty { parts.append("PHANTOM \(phantom.count): \(phantom.prefix(3).joined(separator: ", "))") }
        if !divergent.isEmpty { parts.append("DIVERGENT: \(divergent.prefix(2).joined(separator: "; "))") }
        if !unread.isEmpty { parts.append("NOT READ from nodes \(unread.map(String.init).joined(separator: ", "))") }
        return parts.joined(separator: "; ")
    }
}

/// Every acknowledged create is in every node's final read; nothing is there that no client created; the nodes
/// agree. `finalReads[node]` is nil when the node did not answer.
package func checkSet(creates: [String: CreateOutcome], finalReads: [Int: Set<String>?]) -> SetVerdict {
    var verdict = SetVerdict()
    verdict.acknowledged = creates.values.filter { $0 == .acknowledged }.count
    verdict.unknown = creates.values.filter { $0 == .unknown }.count
    var reference: (node: Int, names: Set<String>)?
    for (node, read) in finalReads.sorted(by: { $0.key < $1.key }) {
        guard let names = read else {
            verdict.unread.append(node)
            continue
        }
        for (name, outcome) in creates.sorted(by: { $0.key < $1.key }) where outcome == .acknowledged {
            if !names.contains(name) { verdict.lost.append("\(name) (node \(node))") }
        }
        for name in names.sorted() where creates[name] == nil || creates[name] == .failed {
            verdict.phantom.append("\(name) (node \(node))")
        }
        if let reference {
            if reference.names != names {
                verdict.divergent.append(
                    "node \(node) holds \(names.count) names, node \(reference.node) \(reference.names.count); "
                        + "\(names.symmetricDifference(reference.names).count) differ"
                )
            }
        } else {
            reference = (node, names)
        }
    }
    return verdict
}

/// The terms in which more than one node claims to have become leader. `claims` are (node, term) pairs, e.g. from
/// the nodes' logs.
package func leadersPerTerm(_ claims: [(node: Int, term: UInt64)]) -> (terms: Int, problems: [String]) {
    var leaders: [UInt64: Set<Int>] = [:]
    for claim in claims { leaders[claim.term, default: []].insert(claim.node) }
    let problems = leaders.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map {
        "term \($0.key): nodes \($0.value.sorted().map(String.init).joined(separator: ", ")) each became leader"
    }
    return (leaders.count, problems)
}

/// A task's life on a host, as an agent recorded it: started at `start`, stopped at `stop` (nil: still running when
/// the run ended).
package struct TaskRun: Sendable {
    package var task: String
    package var epoch: UInt64
    package var host: String
    package var start: UInt64
    package var stop: UInt64?

    package init(task: String, epoch: UInt64, host: String, start: UInt64, stop: UInt64?) {
        self.task = task
        self.epoch = epoch
        self.host = host
        self.start = start
        self.stop = stop
    }
}

/// Runs of one task at overlapping times with the same epoch: the task ran twice at once without the controllers
/// having moved it on (a new epoch). One line per violation, at most `limit`.
package func overlappingRuns(_ runs: [TaskRun], limit: Int = 5) -> [String] {
    var problems: [String] = []
    let byTask = Dictionary(grouping: runs) { "\($0.task)#\($0.epoch)" }
    for key in byTask.keys.sorted() {
        let sorted = byTask[key]!.sorted { $0.start < $1.start }
        for (position, run) in sorted.enumerated() {
            for other in sorted[(position + 1)...] where other.start < (run.stop ?? UInt64.max) {
                problems.append(
                    "task \(run.task) epoch \(run.epoch) ran on \(run.host) and \(other.host) at once "
                        + "(\(run.start)–\(run.stop.map(String.init) ?? "end") and \(other.start)–"
                        + "\(other.stop.map(String.init) ?? "end"))"
                )
            }
        }
    }
    return Array(problems.prefix(limit))
}
