/// An operation on one register of a key-value register store.
package enum RegisterInput: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Reads the register.
    case read
    /// Overwrites the register.
    case write(UInt64)
    /// Sets the register to `new` if it holds `expected` (nil: never written), atomically.
    case compareAndSet(expected: UInt64?, new: UInt64)

    /// The operation in words, as witnesses print it.
    package var description: String {
        switch self {
        case .read:
            "read"
        case .write(let value):
            "write(\(value))"
        case .compareAndSet(let expected, let new):
            "compareAndSet(expected: \(expected.map(String.init) ?? "nil"), new: \(new))"
        }
    }
}

/// The answer to a `RegisterInput`.
package enum RegisterOutput: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The value read; nil when the register was never written.
    case read(UInt64?)
    /// The write took effect.
    case written
    /// Whether the compare-and-set found the expected value and stored the new one.
    case compareAndSet(succeeded: Bool)

    /// The answer in words, as witnesses print it.
    package var description: String {
        switch self {
        case .read(let value):
            "read(\(value.map(String.init) ?? "nil"))"
        case .written:
            "written"
        case .compareAndSet(let succeeded):
            "compareAndSet(succeeded: \(succeeded))"
        }
    }
}

/// A key-value register store: each key is an independent register holding an optional value.
///
/// The model covers one register; `checkKeyedRegisters` checks each key of a store against it separately.
package struct RegisterModel: SequentialModel {
    /// The register's value; nil until the first write.
    package typealias State = UInt64?

    /// The value before any operation (nil: never written).
    package var initialState: UInt64?

    /// A register holding `initialValue`, nil (never written) by default.
    package init(initialValue: UInt64? = nil) {
        initialState = initialValue
    }

    /// Reads return the current value, writes replace it, and a compare-and-set succeeds exactly when the value is
    /// the expected one. With an unknown output, the operation does what the sequential register would do.
    package func step(_ state: UInt64?, _ input: RegisterInput, _ output: RegisterOutput?) -> UInt64?? {
        switch (input, output) {
        case (.read, nil):
            return .some(state)
        case (.read, .read(let value)?):
            return value == state ? .some(state) : nil
        case (.write(let value), nil), (.write(let value), .written?):
            return .some(value)
        case (.compareAndSet(let expected, let new), nil):
            return .some(state == expected ? new : state)
        case (.compareAndSet(let expected, let new), .compareAndSet(let succeeded)?):
            guard (state == expected) == succeeded else {
                return nil
            }
            return .some(succeeded ? new : state)
        case (.read, _), (.write, _), (.compareAndSet, _):
            // An output of another kind than the input (a read answered `written`) is never possible.
            return nil
        }
    }
}

/// One operation of a keyed history: an operation on the register named `key`.
package struct KeyedOperation: Sendable, Equatable {
    /// The register the operation addresses.
    package var key: String
    /// The operation. Ids must be unique within one key; unique across the whole history is simplest.
    package var operation: HistoryOperation<RegisterInput, RegisterOutput>

    /// Creates a keyed operation.
    package init(key: String, operation: HistoryOperation<RegisterInput, RegisterOutput>) {
        self.key = key
        self.operation = operation
    }
}

/// Checks a keyed history by checking each key's sub-history independently (linearizability is compositional).
///
/// Returns every key's verdict, linearizable ones included; `summarize` folds them into one. Every register starts
/// never written; the budget applies to each key separately.
package func checkKeyedRegisters(
    _ history: [KeyedOperation],
    maxExploredStatesPerKey: Int = 5_000_000
) -> [String: LinearizabilityVerdict] {
    var byKey: [String: [HistoryOperation<RegisterInput, RegisterOutput>]] = [:]
    for keyed in history {
        byKey[keyed.key, default: []].append(keyed.operation)
    }
    let checker = LinearizabilityChecker(model: RegisterModel(), maxExploredStates: maxExploredStatesPerKey)
    return byKey.mapValues { checker.check($0) }
}
