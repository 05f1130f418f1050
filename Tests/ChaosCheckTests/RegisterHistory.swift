import ChaosCheck

/// An operation on one register, as the tests build them.
typealias RegisterOperation = HistoryOperation<RegisterInput, RegisterOutput>

/// Builds a register history one operation at a time, numbering the operations 0, 1, 2... in the order added.
struct RegisterHistory {
    /// The operations so far.
    private(set) var operations: [RegisterOperation] = []

    /// Adds an operation and returns its id.
    @discardableResult
    mutating func add(
        _ input: RegisterInput,
        _ output: RegisterOutput?,
        from invokedAt: UInt64,
        to returnedAt: UInt64?,
        client: Int = 0
    ) -> Int {
        let id = operations.count
        operations.append(
            RegisterOperation(
                id: id,
                client: client,
                input: input,
                output: output,
                invokedAt: invokedAt,
                returnedAt: returnedAt
            )
        )
        return id
    }

    /// Adds a write of `value` that returned `written`.
    @discardableResult
    mutating func write(_ value: UInt64, from invokedAt: UInt64, to returnedAt: UInt64, client: Int = 0) -> Int {
        add(.write(value), .written, from: invokedAt, to: returnedAt, client: client)
    }

    /// Adds a read that returned `value`.
    @discardableResult
    mutating func read(_ value: UInt64?, from invokedAt: UInt64, to returnedAt: UInt64, client: Int = 0) -> Int {
        add(.read, .read(value), from: invokedAt, to: returnedAt, client: client)
    }

    /// Checks the history against a register that starts never written.
    func check(maxExploredStates: Int = 5_000_000) -> LinearizabilityVerdict {
        LinearizabilityChecker(model: RegisterModel(), maxExploredStates: maxExploredStates).check(operations)
    }
}

extension LinearizabilityVerdict {
    /// The witness of an illegal verdict, else nil.
    var witness: Witness? {
        if case .illegal(let witness) = self {
            return witness
        }
        return nil
    }
}

/// Whether `witness` holds up against `history`: its prefix replays, and every stuck operation is impossible in the
/// state the prefix reaches.
func isConsistent(_ witness: Witness, with history: [RegisterOperation]) -> Bool {
    let model = RegisterModel()
    guard let state = state(after: witness.linearizedPrefix, of: history), !witness.stuckOperations.isEmpty else {
        return false
    }
    return witness.stuckOperations.allSatisfy { id in
        guard let operation = history.first(where: { $0.id == id }) else {
            return false
        }
        return model.step(state, operation.input, operation.output) == nil
    }
}

/// The register's state after applying the operations named by `ids` in order, or nil when one is rejected.
private func state(after ids: [Int], of history: [RegisterOperation]) -> UInt64?? {
    let model = RegisterModel()
    var state = model.initialState
    for id in ids {
        guard let operation = history.first(where: { $0.id == id }),
            let next = model.step(state, operation.input, operation.output)
        else {
            return nil
        }
        state = next
    }
    return .some(state)
}

/// SplitMix64: a small seeded generator, so every randomized case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    /// A generator that produces the sequence for `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
