/// Checks histories for linearizability against a sequential model.
///
/// The search is Wing and Gong's, with Lowe's "just-in-time linearization" refinement and memoisation of
/// (set of linearized operations, model state): events are kept in a linked list in time order, and an operation
/// may be linearized next only if its invocation comes before the first pending response. Operations whose outcome
/// is unknown are tried only after the operations with known outcomes, and may stay out of the linearization.
///
/// Cost: linear in the history for sequential histories; exponential in the worst case for heavily concurrent
/// ones, which `maxExploredStates` bounds. Check each independent object separately (see `checkKeyedRegisters`):
/// linearizability is compositional, and many small searches are far cheaper than one large one.
package struct LinearizabilityChecker<Model: SequentialModel>: Sendable {
    /// The sequential specification.
    private let model: Model
    /// The number of distinct search configurations after which the checker gives up with `.unknown`.
    private let maxExploredStates: Int

    /// Creates a checker; `maxExploredStates` bounds time and memory (about 150 bytes per explored state).
    package init(model: Model, maxExploredStates: Int = 5_000_000) {
        self.model = model
        self.maxExploredStates = maxExploredStates
    }

    /// Checks `history`: operation ids must be unique, and no operation may return before it was invoked.
    package func check(_ history: [HistoryOperation<Model.Input, Model.Output>]) -> LinearizabilityVerdict {
        var ids = Set<Int>()
        for operation in history {
            precondition(ids.insert(operation.id).inserted, "operation id \(operation.id) appears twice in the history")
            precondition(
                operation.returnedAt.map { $0 >= operation.invokedAt } ?? true,
                "operation \(operation.id) returned at \(operation.returnedAt ?? 0) before its invocation at "
                    + "\(operation.invokedAt)"
            )
        }
        var search = LinearizationSearch(model: model, history: history, maxExploredStates: maxExploredStates)
        return search.run()
    }
}
