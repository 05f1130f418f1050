/// The outcome of checking a history for linearizability.
package enum LinearizabilityVerdict: Sendable, Equatable {
    /// Some order of the operations, consistent with real time, explains every recorded output.
    case linearizable
    /// No linearization exists. `witness` is a minimal-ish explanation: the ids of the operations in the longest
    /// linearizable prefix found, and the id of the operation that could not be placed after it, plus a
    /// human-readable description.
    case illegal(Witness)
    /// The search budget ran out before a verdict: callers treat this as a failure.
    case unknown(exploredStates: Int)
}

/// Why a history is not linearizable.
///
/// The search keeps the deepest dead end it met, measured in operations with known outcomes: a linearization of a
/// prefix of the history after which none of the operations that could come next is accepted by the model.
package struct Witness: Sendable, Equatable {
    /// The ids of the operations of that prefix, in linearization order. It may include operations with unknown
    /// outcomes that the search chose to let take effect.
    package var linearizedPrefix: [Int]
    /// The ids of the operations that could not be placed after the prefix. The first one is the operation whose
    /// response forced the dead end (it had to take effect before it returned); the others are the remaining
    /// operations with known outcomes that were also candidates at that point, none of them possible either.
    package var stuckOperations: [Int]
    /// A human-readable account of the dead end, naming the model state reached by the prefix.
    package var description: String

    /// Creates a witness.
    package init(linearizedPrefix: [Int], stuckOperations: [Int], description: String) {
        self.linearizedPrefix = linearizedPrefix
        self.stuckOperations = stuckOperations
        self.description = description
    }
}

/// Folds per-key verdicts into one: illegal if any key is illegal (the witness of the first such key in sorted key
/// order, its description prefixed with the key), else unknown if any key is unknown (with the explored states of
/// the unknown keys summed), else linearizable.
package func summarize(_ verdicts: [String: LinearizabilityVerdict]) -> LinearizabilityVerdict {
    var illegalKeys: [(key: String, witness: Witness)] = []
    var unknownStates: Int?
    for key in verdicts.keys.sorted() {
        switch verdicts[key] {
        case .illegal(let witness):
            illegalKeys.append((key, witness))
        case .unknown(let exploredStates):
            unknownStates = (unknownStates ?? 0) + exploredStates
        case .linearizable, nil:
            break
        }
    }
    if let first = illegalKeys.first {
        var witness = first.witness
        let others = illegalKeys.count > 1 ? " (1 of \(illegalKeys.count) non-linearizable keys)" : ""
        witness.description = "key \"\(first.key)\"\(others): \(witness.description)"
        return .illegal(witness)
    }
    if let unknownStates {
        return .unknown(exploredStates: unknownStates)
    }
    return .linearizable
}
