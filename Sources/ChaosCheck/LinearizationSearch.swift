/// One run of the search over one history. Internal: `LinearizabilityChecker.check` is the entry point.
///
/// Operations with a known output are *required*: each must be linearized within its interval. Operations with an
/// unknown output are *optional*: each may be linearized at any point after its invocation, or never. Required
/// operations live in `requiredEvents` (a call node and a return node each, in time order); optional ones only have
/// a call node in `optionalEvents`, since their response, if any, constrains nobody.
///
/// A configuration is (required operations linearized R, model state s, optional operations linearized O). From a
/// configuration the search first tries the required candidates (Lowe: calls before the first pending return); only
/// when all fail does it try the optional candidates, and then it registers all of their successors in the memo
/// before exploring any (see `enterOptionalPhase`), which is what keeps pending writes from multiplying the work.
struct LinearizationSearch<Model: SequentialModel> {
    /// An operation of the history being checked.
    typealias Operation = HistoryOperation<Model.Input, Model.Output>

    /// A linearization step, undone when the search backtracks.
    private struct Frame {
        /// Whether `index` numbers a required operation (else an optional one).
        var isRequired: Bool
        /// The operation's index in `required` or `optional`.
        var index: Int
        /// The model state before the step.
        var previousState: Model.State
    }

    /// The optional steps still to explore from one configuration whose required candidates are exhausted.
    private struct OptionalPhase {
        /// The required operation whose pending response bounds the candidates.
        var blockingOperation: Int
        /// Optional operations (by index) and the states they lead to, already registered in the memo.
        var candidates: [(index: Int, state: Model.State)]
        /// Invariant: `candidates[..<nextCandidate]` have been explored or are being explored.
        var nextCandidate = 0
    }

    /// Where the search stands.
    private enum Cursor {
        /// Scanning `requiredEvents` at `node` for the next required operation to linearize.
        case required(Int)
        /// Exploring the optional steps of the innermost `OptionalPhase`.
        case optional
    }

    /// The deepest dead end met so far, the raw material of the witness.
    private struct DeadEnd {
        /// The number of required operations linearized.
        var depth: Int
        /// The ids of the linearized operations, in order.
        var prefix: [Int]
        /// The model state after them.
        var state: Model.State
        /// The index of the required operation whose response ended the candidates.
        var blockingOperation: Int
        /// The indices of the other required operations that were candidates.
        var otherCandidates: [Int]
    }

    private let model: Model
    private let maxExploredStates: Int
    /// Required operations, sorted by invocation; the bit index of an operation is its index here.
    private let required: [Operation]
    /// Optional operations, sorted by invocation; the bit index of an operation is its index here.
    private let optional: [Operation]
    /// Nodes `2 + 2i` (call) and `3 + 2i` (return) for `required[i]`, in time order.
    private var requiredEvents: LinkedEvents
    /// Node `2 + i` (call) for `optional[i]`, in time order.
    private var optionalEvents: LinkedEvents
    /// The position in the merged time order of each node of `requiredEvents`.
    private let requiredPositions: [Int]
    /// The position in the merged time order of each node of `optionalEvents`.
    private let optionalPositions: [Int]

    private var state: Model.State
    private var linearized: LinearizedSet
    private var linearizedOptional: OptionalSet
    /// Invariant: the number of required operations not in `linearized`.
    private var remaining: Int
    private var stack: [Frame] = []
    /// Invariant: one entry per configuration on the path that has entered its optional phase, innermost last.
    private var phases: [OptionalPhase] = []
    private var cache: [ConfigurationKey<Model.State>: ExploredOptionalSets] = [:]
    private var exploredStates = 0
    private var deepestDeadEnd: DeadEnd?

    /// Prepares the event lists for `history`.
    init(model: Model, history: [Operation], maxExploredStates: Int) {
        self.model = model
        self.maxExploredStates = maxExploredStates
        let byInvocation = history.indices.sorted { (history[$0].invokedAt, $0) < (history[$1].invokedAt, $1) }
        let required = byInvocation.map { history[$0] }.filter { $0.output != nil }
        let optional = byInvocation.map { history[$0] }.filter { $0.output == nil }
        self.required = required
        self.optional = optional

        // Merged time order. At equal times calls sort before returns: an operation returning at t and one invoked
        // at t overlap, since real time orders a before b only when a returned strictly before b was invoked.
        // Missing returns sort after everything.
        var events: [TimedEvent] = []
        events.reserveCapacity(2 * required.count + optional.count)
        for (index, operation) in required.enumerated() {
            let callKey = (0, operation.invokedAt, 0, events.count)
            events.append(TimedEvent(key: callKey, isRequired: true, node: 2 + 2 * index))
            let returnKey = operation.returnedAt.map { (0, $0, 1, events.count) } ?? (1, 0, 1, events.count)
            events.append(TimedEvent(key: returnKey, isRequired: true, node: 3 + 2 * index))
        }
        for (index, operation) in optional.enumerated() {
            let callKey = (0, operation.invokedAt, 0, events.count)
            events.append(TimedEvent(key: callKey, isRequired: false, node: 2 + index))
        }
        events.sort { $0.key < $1.key }

        var requiredPositions = Array(repeating: Int.max, count: 2 + 2 * required.count)
        var optionalPositions = Array(repeating: Int.max, count: 2 + optional.count)
        for (position, event) in events.enumerated() {
            if event.isRequired {
                requiredPositions[event.node] = position
            } else {
                optionalPositions[event.node] = position
            }
        }
        self.requiredPositions = requiredPositions
        self.optionalPositions = optionalPositions
        requiredEvents = LinkedEvents(
            nodeCount: 2 + 2 * required.count,
            order: events.filter(\.isRequired).map(\.node)
        )
        optionalEvents = LinkedEvents(
            nodeCount: 2 + optional.count,
            order: events.filter { !$0.isRequired }.map(\.node)
        )

        state = model.initialState
        linearized = LinearizedSet(capacity: required.count)
        linearizedOptional = OptionalSet(capacity: optional.count)
        remaining = required.count
    }

    /// Runs the search to a verdict.
    mutating func run() -> LinearizabilityVerdict {
        if remaining == 0 {
            return .linearizable
        }
        _ = visit(state)
        var cursor = Cursor.required(requiredEvents.next[LinkedEvents.head])
        while true {
            if exploredStates > maxExploredStates {
                return .unknown(exploredStates: exploredStates)
            }
            switch cursor {
            case .required(let node):
                precondition(node != LinkedEvents.tail, "required operations remain, so a return event remains")
                let index = (node - 2) / 2
                if node & 1 == 1 {
                    // The first pending response: later calls are not candidates yet, and every earlier one failed.
                    enterOptionalPhase(blockingOperation: index, blockingPosition: requiredPositions[node])
                    cursor = .optional
                    continue
                }
                let operation = required[index]
                guard let next = model.step(state, operation.input, operation.output), visitRequired(index, next)
                else {
                    cursor = .required(requiredEvents.next[node])
                    continue
                }
                stack.append(Frame(isRequired: true, index: index, previousState: state))
                state = next
                remaining -= 1
                if remaining == 0 {
                    return .linearizable
                }
                requiredEvents.remove(node)
                requiredEvents.remove(node + 1)
                cursor = .required(requiredEvents.next[LinkedEvents.head])

            case .optional:
                let phase = phases.count - 1
                if phases[phase].nextCandidate < phases[phase].candidates.count {
                    let (index, next) = phases[phase].candidates[phases[phase].nextCandidate]
                    phases[phase].nextCandidate += 1
                    stack.append(Frame(isRequired: false, index: index, previousState: state))
                    state = next
                    linearizedOptional.insert(index)
                    optionalEvents.remove(2 + index)
                    cursor = .required(requiredEvents.next[LinkedEvents.head])
                    continue
                }
                // Dead end: nothing can follow this configuration. Undo the step that led here.
                recordDeadEnd(blockingOperation: phases[phase].blockingOperation)
                phases.removeLast()
                guard let frame = stack.popLast() else {
                    return .illegal(witness())
                }
                state = frame.previousState
                if frame.isRequired {
                    let callNode = 2 + 2 * frame.index
                    requiredEvents.restore(callNode + 1)
                    requiredEvents.restore(callNode)
                    linearized.remove(frame.index)
                    remaining += 1
                    cursor = .required(requiredEvents.next[callNode])
                } else {
                    optionalEvents.restore(2 + frame.index)
                    linearizedOptional.remove(frame.index)
                    cursor = .optional
                }
            }
        }
    }

    /// Starts the optional phase of the current configuration: registers every successor reached by one optional
    /// candidate (one invoked before `blockingPosition`) in the memo, and pushes the new ones for exploration.
    ///
    /// Registering all siblings first matters: a chain of optional steps o1, o2 reaching state s from (R, _, O) is
    /// then dominated by the sibling (R, s, O + {o2}) whenever o2 alone reaches s too (a pending write overwrites
    /// whatever came before it), instead of the search trying every subset of the pending operations. It is sound
    /// because every registered configuration is explored before the search gives up on its parent.
    private mutating func enterOptionalPhase(blockingOperation: Int, blockingPosition: Int) {
        var candidates: [(index: Int, state: Model.State)] = []
        var node = optionalEvents.next[LinkedEvents.head]
        while node != LinkedEvents.tail && optionalPositions[node] < blockingPosition {
            let index = node - 2
            let operation = optional[index]
            // A step that leaves the state unchanged is dominated by not taking it (see `visit`).
            if let next = model.step(state, operation.input, nil), next != state {
                linearizedOptional.insert(index)
                if visit(next) {
                    candidates.append((index, next))
                }
                linearizedOptional.remove(index)
            }
            node = optionalEvents.next[node]
        }
        phases.append(OptionalPhase(blockingOperation: blockingOperation, candidates: candidates))
    }

    /// Linearizes `required[index]` into a configuration with state `next`, if that configuration is new.
    private mutating func visitRequired(_ index: Int, _ next: Model.State) -> Bool {
        linearized.insert(index)
        let isNew = visit(next)
        if !isNew {
            linearized.remove(index)
        }
        return isNew
    }

    /// Registers the configuration (`linearized`, `next`, `linearizedOptional`) in the memo; false when it, or a
    /// configuration dominating it, was registered before.
    ///
    /// (R, s, O) dominates (R, s, O') when O is a subset of O': both have the same required operations left, and
    /// therefore the same candidates at every later point (optional operations bound nobody, having no response),
    /// so any completion of the second is a completion of the first, which has more optional operations still free
    /// to use or leave out.
    private mutating func visit(_ next: Model.State) -> Bool {
        let key = ConfigurationKey(linearized: linearized.compacted(), state: next)
        if let explored = cache[key], explored.containsSubset(of: linearizedOptional) {
            return false
        }
        cache[key, default: ExploredOptionalSets()].insert(linearizedOptional)
        exploredStates += 1
        return true
    }

    /// Keeps the current dead end if it is the deepest so far.
    ///
    /// At a strictly deeper dead end, every required candidate was skipped because the model rejected it (a memo
    /// hit would mean a configuration one deeper was registered, and it would have reached a dead end of its own by
    /// now), so the witness can say they are all impossible.
    private mutating func recordDeadEnd(blockingOperation: Int) {
        let depth = required.count - remaining
        if let deepest = deepestDeadEnd, deepest.depth >= depth {
            return
        }
        var candidates: [Int] = []
        var node = requiredEvents.next[LinkedEvents.head]
        while node != LinkedEvents.tail && node & 1 == 0 {
            let index = (node - 2) / 2
            if index != blockingOperation {
                candidates.append(index)
            }
            node = requiredEvents.next[node]
        }
        deepestDeadEnd = DeadEnd(
            depth: depth,
            prefix: stack.map { $0.isRequired ? required[$0.index].id : optional[$0.index].id },
            state: state,
            blockingOperation: blockingOperation,
            otherCandidates: candidates
        )
    }

    /// Explains the deepest dead end.
    private func witness() -> Witness {
        guard let deadEnd = deepestDeadEnd else {
            preconditionFailure("an illegal verdict always follows at least one dead end")
        }
        let blocking = required[deadEnd.blockingOperation]
        let others = deadEnd.otherCandidates.map { required[$0] }
        let shownPrefix = deadEnd.prefix.suffix(10).map { "#\($0)" }.joined(separator: ", ")
        let prefixText = deadEnd.prefix.count > 10 ? "..., \(shownPrefix)" : shownPrefix
        let deadline = blocking.returnedAt.map { "it returned at \($0)" } ?? "the history ends"
        var description =
            "not linearizable: after linearizing \(deadEnd.prefix.count) operation(s) [\(prefixText)] the model "
            + "state is \(deadEnd.state), and \(Self.describe(blocking)) must take effect before \(deadline) but "
            + "is impossible in that state"
        if !others.isEmpty {
            description += "; so are the other operations that could come next: "
            description += others.map { Self.describe($0) }.joined(separator: "; ")
        }
        return Witness(
            linearizedPrefix: deadEnd.prefix,
            stuckOperations: [blocking.id] + others.map(\.id),
            description: description
        )
    }

    /// One operation in words, for witnesses.
    private static func describe(_ operation: Operation) -> String {
        let output = operation.output.map { "\($0)" } ?? "unknown"
        let returned = operation.returnedAt.map { "returned at \($0)" } ?? "never returned"
        return "#\(operation.id) (client \(operation.client): \(operation.input) -> \(output), invoked at "
            + "\(operation.invokedAt), \(returned))"
    }
}
