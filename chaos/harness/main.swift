// gantry-chaos: runs one chaos scenario against real `gantry controller` processes — each in its own network
// namespace behind a bridge (or on loopback as a fallback) — records what the clients saw, injects seeded faults,
// heals, and checks the history: linearizability per key with the open-ended operations of unknown outcome, Raft
// indexes per client, the set of created objects on every node, leaders per term, the nodes' state digests. Writes
// the run's folder and appends one row to the report. `chaos/run` drives it; see chaos/README.md.
import ChaosCheck
import Dispatch
import Glibc
import HTTP
import Synchronization

/// Runs the scenario; 0 when it passed (for a planted bug: when the violation was caught).
func run(_ options: Options) -> Int32 {
    let scenario = Scenario.named(options.scenario)!
    let name = "\(options.scenario)-n\(options.nodes)-s\(options.seed)\(options.plantedBug.map { "-bug-\($0)" } ?? "")"
    let directory = "\(options.output)/\(name)"
    mkdir(options.output, 0o755)
    _ = system("rm -rf '\(directory)'")
    mkdir(directory, 0o755)
    signal(SIGPIPE, SIG_IGN)
    // Before any thread starts: the clients' namespace is entered by this (single) thread and inherited by all.
    let topology = Topology(options, commandLog: "\(directory)/commands.log")
    defer { topology.tearDown() }
    cleanups.append { topology.tearDown() }
    if topology.mode == .loopback && scenario.needsNetworkNamespaces {
        print("gantry-chaos: \(name): needs the network-namespace topology (not available here); FAIL")
        return 1
    }
    let libfiu = scenario.kinds.contains { $0.needsLibfiu } && access("/usr/lib/fiu/fiu_posix_preload.so", R_OK) == 0
    if scenario.kinds.contains(where: \.needsLibfiu) && !libfiu {
        // Not skipped quietly: a scenario that cannot inject its faults has not shown anything.
        print("gantry-chaos: \(name): needs libfiu (apt-get install fiu-utils) to inject fsync and write errors; FAIL")
        return 1
    }
    topology.enterClientNamespace()
    writeFile(
        "\(directory)/scenario.txt",
        "scenario \(options.scenario): faults \(scenario.kinds.map(\.rawValue).joined(separator: ", ")), targets "
            + "\(scenario.targets.map(\.rawValue).joined(separator: ", "))\nnodes \(options.nodes), seed \(options.seed), "
            + "\(options.seconds) s, \(options.clients) register clients on \(options.keys) keys, \(options.setClients) "
            + "set clients, topology \(topology.mode.rawValue)\(options.plantedBug.map { ", planted bug \($0)" } ?? "")\n"
    )
    let cluster = Cluster(options, topology: topology, directory: directory, libfiu: libfiu)
    defer { cluster.stopAll() }
    cleanups.append { cluster.stopAll() }
    for id in 1...options.nodes { cluster.start(id) }
    var initialTerm: UInt64 = 0
    for _ in 0..<150 {
        let (leader, term) = cluster.leader()
        if leader != nil {
            initialTerm = term
            break
        }
        sleepMilliseconds(100)
    }
    cluster.log(
        "cluster of \(options.nodes) up on \(topology.mode.rawValue) (term \(initialTerm)); \(options.clients) register "
            + "clients on \(options.keys) keys, \(options.setClients) set clients"
    )
    let recorder = Recorder()
    let setRecorder = SetRecorder()
    let runStart = nowNanoseconds()
    let deadline = runStart + UInt64(options.seconds) * 1_000_000_000
    let group = DispatchGroup()
    for client in 0..<options.clients {
        DispatchQueue.global().async(group: group) { runRegisterClient(client, cluster, recorder, deadline: deadline) }
    }
    for client in 0..<options.setClients {
        DispatchQueue.global().async(group: group) { runSetClient(client, cluster, setRecorder, deadline: deadline) }
    }
    let agents = scenario.orchestration ? Agents(cluster) : nil
    defer { agents?.stopAll() }
    if let agents { cleanups.append { agents.stopAll() } }
    let book = ServiceBook()
    if let agents {
        // The cluster first: an agent whose cluster does not exist is refused, and gives up.
        if !prepareOrchestration(cluster) { cluster.log("orchestration: could not create the cluster") }
        for process in 0..<Agents.processes { agents.start(process) }
        DispatchQueue.global().async(group: group) { runOrchestrationClient(cluster, book, deadline: deadline) }
    }
    let nemesis = Nemesis(cluster, scenario: scenario, agents: agents)
    let faults = nemesis.run(deadline: deadline)
    group.wait()
    let clientsEnded = nowNanoseconds()

    // Heal: the network whole, every node running and continued, then a leader.
    topology.healNetwork()
    for node in cluster.nodes {
        if node.pid == nil { cluster.start(node.id) } else if node.paused { cluster.signal(node.id, SIGCONT) }
    }
    var healed: UInt64?
    var finalTerm: UInt64 = 0
    for _ in 0..<150 {
        let (leader, term) = cluster.leader()
        finalTerm = term
        if leader != nil {
            healed = nowNanoseconds()
            break
        }
        sleepMilliseconds(100)
    }
    cluster.log("healed; leader \(healed == nil ? "NOT found" : "found") (term \(finalTerm))")
    // Final reads of every key and of the set from every node, linearizable, with retries while the cluster settles
    // (two minutes at most in all).
    let finalDeadline = nowNanoseconds() + 120_000_000_000
    for node in 1...options.nodes {
        for key in 0..<options.keys {
            while nowNanoseconds() < finalDeadline {
                let invoked = nowNanoseconds()
                guard let result = readRegister(cluster, node: node, key: "k\(key)") else {
                    sleepMilliseconds(250)
                    continue
                }
                recorder.record(
                    key: "k\(key)",
                    client: 1_000 + node,
                    id: recorder.id(),
                    input: .read,
                    output: .read(result.value),
                    invokedAt: invoked,
                    returnedAt: nowNanoseconds(),
                    node: node,
                    index: result.index
                )
                break
            }
        }
    }
    cluster.log("final register reads done")
    // The set from every node, compared at one applied index or until the reads agree (a create of unknown outcome
    // may still be landing), in at most 10 rounds.
    var finalSets: [Int: Set<String>?] = [:]
    for _ in 0..<10 where options.setClients > 0 && nowNanoseconds() < finalDeadline {
        var reads: [Int: (names: Set<String>, index: UInt64)] = [:]
        for node in 1...options.nodes {
            for _ in 0..<8 where reads[node] == nil && nowNanoseconds() < finalDeadline {
                let asked = nowNanoseconds()
                reads[node] = readSet(cluster, node: node)
                if reads[node] == nil {
                    cluster.log(
                        "final set read from node \(node): no answer in \((nowNanoseconds() - asked) / 1_000_000) ms"
                    )
                    sleepMilliseconds(250)
                }
            }
        }
        finalSets = Dictionary(uniqueKeysWithValues: (1...options.nodes).map { ($0, reads[$0]?.names) })
        cluster.log(
            "final set reads: "
                + reads.sorted { $0.key < $1.key }.map {
                    "node \($0.key) \($0.value.names.count) names at \($0.value.index)"
                }
                .joined(separator: ", ")
        )
        if reads.count == options.nodes
            && (Set(reads.values.map(\.index)).count == 1 || Set(reads.values.map(\.names)).count == 1)
        {
            break
        }
        sleepMilliseconds(250)
    }
    cluster.log("final reads done")
    // The orchestrator workload: every agent process running again, every service at its desired count in time.
    var convergence: Convergence?
    var overlaps: [String] = []
    if let agents {
        for process in 0..<Agents.processes where agents.lock.withLock({ _ in agents.pids[process] == nil }) {
            agents.start(process)
        }
        convergence = converge(cluster, book, agents: agents, deadlineSeconds: 60)
        cluster.log(
            "orchestration: \(convergence!.services) services, \(convergence!.tasks) tasks "
                + (convergence!.seconds.map { "at desired count \(String(format: $0)) s after healing" }
                    ?? "NOT converged")
        )
        agents.stopAll()
        overlaps = overlappingRuns(agents.runs())
    }
    // Settled: every node applied the same index; their states must then be identical.
    var digests: [Int: (index: UInt64, digest: String)] = [:]
    let digestDeadline = nowNanoseconds() + 30_000_000_000
    while nowNanoseconds() < digestDeadline {
        digests = [:]
        for node in 1...options.nodes {
            if let response = cluster.request(node, "GET", "/v1/test/state-digest"), response.status == 200,
                let index = number(response.bodyText, "appliedIndex"), let digest = string(response.bodyText, "digest")
            {
                digests[node] = (index, digest)
            }
        }
        if digests.count == options.nodes && Set(digests.values.map(\.index)).count == 1 { break }
        sleepMilliseconds(250)
    }
    cluster.stopAll()

    // MARK: Checks
    let entries = recorder.entries.withLock { $0 }
    let verdict = summarize(checkKeyedRegisters(entries.map { KeyedOperation(key: $0.key, operation: $0.operation) }))
    let writes = entries.filter { if case .read = $0.operation.input { return false } else { return true } }
    let acknowledged = writes.filter(\.ok).count
    let unknown = writes.count - acknowledged
    let reads = entries.count - writes.count
    let regressions = indexRegressions(indexedAnswers(entries))
    let setVerdict =
        options.setClients > 0
        ? checkSet(creates: setRecorder.creates.withLock { $0 }, finalReads: finalSets)
        : checkSet(creates: [:], finalReads: [:])
    var logs: [Int: String] = [:]
    for node in 1...options.nodes { logs[node] = readText("\(directory)/node\(node).log") ?? "" }
    let terms = leadersPerTerm(leaderClaims(logs: logs))
    var digestProblem: String?
    if digests.count < options.nodes || Set(digests.values.map(\.index)).count != 1 {
        digestProblem =
            "nodes did not settle at one applied index: "
            + digests.sorted { $0.key < $1.key }.map { "node \($0.key) at \($0.value.index)" }.joined(separator: ", ")
    } else if Set(digests.values.map(\.digest)).count != 1 {
        digestProblem =
            "state digests differ at index \(digests.first!.value.index): "
            + digests.sorted { $0.key < $1.key }.map { "node \($0.key) \($0.value.digest.prefix(12))" }.joined(
                separator: ", "
            )
    }

    // Availability: answered / attempted client operations before the first fault, during faults, and after.
    let attempts = recorder.attempts.withLock { $0 }
    func availability(_ inWindow: (UInt64) -> Bool) -> String {
        let chosen = attempts.filter { inWindow($0.invoked) }
        guard !chosen.isEmpty else { return "–" }
        return "\(chosen.filter(\.answered).count * 100 / chosen.count)%"
    }
    let firstFault = faults.windows.first?.0 ?? clientsEnded
    let lastHealed = faults.lastHealed ?? runStart
    let before = availability { $0 < firstFault }
    let during = availability { time in faults.windows.contains { time >= $0.0 && time <= $0.1 } }
    let after = availability { $0 > lastHealed }
    let answered = attempts.filter(\.answered).map(\.invoked).sorted()
    var longest: UInt64 = 0
    var previous = runStart
    for time in answered {
        longest = max(longest, time - previous)
        previous = time
    }
    longest = max(longest, clientsEnded - previous)

    let verdictText: String
    let illegal: Bool
    switch verdict {
    case .linearizable:
        verdictText = "linearizable"
        illegal = false
    case .illegal(let witness):
        verdictText = "ILLEGAL: \(witness.description)"
        illegal = true
    case .unknown(let explored):
        verdictText = "UNKNOWN after \(explored) states (a failure)"
        illegal = true
    }
    var failures: [String] = []
    if illegal { failures.append("register: \(verdictText)") }
    failures += regressions.map { "index went back: \($0)" }
    if !setVerdict.ok { failures.append("set: \(setVerdict.description)") }
    failures += terms.problems.map { "two leaders: \($0)" }
    if let digestProblem { failures.append(digestProblem) }
    failures += faults.problems
    failures += overlaps.map { "ran twice: \($0)" }
    failures += convergence?.problems ?? []
    let expectViolation = options.plantedBug != nil
    let violated = !failures.isEmpty
    // A planted bug counts as caught only by the checks it breaks, not by any failure.
    let caught: Bool
    switch options.plantedBug {
    case "local-linearizable-reads": caught = (illegal && !verdictText.hasPrefix("UNKNOWN")) || !regressions.isEmpty
    case "ack-on-propose": caught = (illegal && !verdictText.hasPrefix("UNKNOWN")) || !setVerdict.lost.isEmpty
    default: caught = false
    }
    let passed = expectViolation ? caught : (!violated && healed != nil)
    // Recovery: from the end of the last fault to the first write acknowledged after it (the clients still run).
    let firstAckAfter =
        faults.lastHealed.flatMap { healedAt in
            writes.filter { $0.ok && $0.operation.invokedAt >= healedAt }.compactMap(\.operation.returnedAt).min()
                .map { $0 - healedAt }
        }
    let recovery =
        healed == nil
        ? "never (no leader after healing)"
        : firstAckAfter.map { "\($0 / 1_000_000) ms" } ?? "no write after the last fault"
    var history = ""
    for entry in entries.sorted(by: { $0.operation.invokedAt < $1.operation.invokedAt }) {
        let operation = entry.operation
        history +=
            #"{"id":\#(operation.id),"client":\#(operation.client),"node":\#(entry.node),"key":"\#(entry.key)","#
            + #""input":"\#(operation.input)","output":"\#(operation.output.map { "\($0)" } ?? "unknown")","#
            + #""index":\#(entry.index.map(String.init) ?? "null"),"invokedNs":\#(operation.invokedAt - runStart),"#
            + #""returnedNs":\#(operation.returnedAt.map { String($0 - runStart) } ?? "null")}"#
            + "\n"
    }
    writeFile("\(directory)/history.jsonl", history)
    var setHistory = ""
    for (name, outcome) in setRecorder.creates.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
        setHistory += #"{"create":"\#(name)","outcome":"\#(outcome.rawValue)"}"# + "\n"
    }
    writeFile("\(directory)/set-history.jsonl", setHistory)
    writeFile("\(directory)/faults.log", cluster.faultLog.joined(separator: "\n") + "\n")
    let replay =
        "chaos/run one --scenario \(options.scenario) --nodes \(options.nodes) --seed \(options.seed) --seconds "
        + "\(options.seconds)\(options.plantedBug.map { " --planted-bug \($0)" } ?? "")"
    let result =
        expectViolation
        ? (caught ? "violation caught (planted bug)" : "FAIL: planted bug NOT caught") : (passed ? "pass" : "FAIL")
    let checks = failures.isEmpty ? verdictText : failures.joined(separator: "; ")
    let row =
        "| \(name) | \(topology.mode.rawValue) | \(faults.count) | \(faults.leaderKills) | "
        + "\(acknowledged) / \(unknown) / \(reads) | \(setVerdict.acknowledged) / \(setVerdict.lost.count) | "
        + "\(before) / \(during) / \(after) | \(String(format: Double(longest) / 1e9)) s | \(finalTerm - initialTerm) | "
        + "\(recovery) | \(checks.prefix(200)) | \(result) | `\(replay)` |\n"
    var orchestrationSummary = "not in this scenario"
    if let convergence {
        orchestrationSummary =
            "\(book.operations.load(ordering: .relaxed)) service operations (\(book.acknowledged.load(ordering: .relaxed)) "
            + "acknowledged; answers by status: "
            + book.statuses.withLock { $0 }.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(
                separator: ", "
            )
            + "); \(convergence.services) services, \(convergence.tasks) tasks at the end; "
            + (convergence.seconds.map { "every service at its desired count \(String(format: $0)) s after healing" }
                ?? convergence.problems.joined(separator: "; "))
            + "; "
            + (overlaps.isEmpty ? "no task ran twice at once under one epoch" : overlaps.joined(separator: "; "))
    }
    let summary = """
        # \(name)

        \(readText("\(directory)/scenario.txt") ?? "")
        | faults | leader kills | acknowledged writes | unknown writes | reads | set: acknowledged / lost | availability before / during / after | longest gap | elections | recovery |
        | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
        | \(faults.count) | \(faults.leaderKills) | \(acknowledged) | \(unknown) | \(reads) | \(setVerdict.acknowledged) / \(setVerdict.lost.count) | \(before) / \(during) / \(after) | \(String(format: Double(longest) / 1e9)) s | \(finalTerm - initialTerm) | \(recovery) |

        - Registers: \(verdictText)
        - Raft index per client: \(regressions.isEmpty ? "never went back" : regressions.joined(separator: "; "))
        - Set: \(setVerdict.ok ? "every acknowledged create on every node, nothing else; " : "")\(setVerdict.description)
        - Leaders: \(terms.problems.isEmpty ? "at most one per term (\(terms.terms) terms with a leader)" : terms.problems.joined(separator: "; "))
        - State digests: \(digestProblem ?? "identical on every node at index \(digests.first?.value.index ?? 0)")
        - Node behaviour under disk faults: \(faults.problems.isEmpty ? "as required" : faults.problems.joined(separator: "; "))
        - Orchestration: \(orchestrationSummary)

        Result: \(result)

        Replay: `\(replay)`

        """
    writeFile("\(directory)/report.md", summary)
    if !options.report.isEmpty { appendFile(options.report, row) }
    print("gantry-chaos: \(name): \(checks.prefix(300)); \(passed ? "PASS" : "FAIL")")
    return passed ? 0 : 1
}

exit(run(Options.parse(Array(CommandLine.arguments.dropFirst()))))
