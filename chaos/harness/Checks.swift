// Glue between what the harness recorded and ChaosCheck's pure checks.
import ChaosCheck

/// The register answers that carried a Raft index, for `indexRegressions`.
func indexedAnswers(_ entries: [Recorder.Entry]) -> [IndexedAnswer] {
    entries.compactMap { entry in
        guard entry.ok, let index = entry.index else { return nil }
        return IndexedAnswer(
            client: entry.operation.client,
            id: entry.operation.id,
            invokedAt: entry.operation.invokedAt,
            index: index,
            description: "\(entry.operation.input) at node \(entry.node)"
        )
    }
}

/// Who claimed leadership of which term, from the nodes' logs ("leader is now node N (term T, role leader)" in node
/// N's own log).
func leaderClaims(logs: [Int: String]) -> [(node: Int, term: UInt64)] {
    var claims: [(node: Int, term: UInt64)] = []
    for (node, text) in logs {
        for line in text.split(separator: "\n") where line.contains("leader is now node \(node) (term ") {
            guard let range = line.firstRange(of: "(term "),
                let term = UInt64(line[range.upperBound...].prefix { $0.isNumber })
            else { continue }
            claims.append((node, term))
        }
    }
    return claims
}
