/// A sequential specification of an object.
///
/// A concurrent history is linearizable against a model when every operation can be given one instant between its
/// invocation and its response such that applying the operations one by one in that order, with `step`, accepts
/// every recorded output.
package protocol SequentialModel: Sendable {
    /// The object's state. The search memoises (linearized operations, state) pairs, so keep it small.
    associatedtype State: Hashable & Sendable
    /// What a client asked for.
    associatedtype Input: Sendable & Equatable
    /// What the object answered.
    associatedtype Output: Sendable & Equatable

    /// The state before any operation has taken effect.
    var initialState: State { get }

    /// Applies `input` in `state`. `output` is nil when the operation's outcome is unknown (it never returned):
    /// then any output is acceptable. Returns the next state, or nil when `output` is impossible in `state`.
    func step(_ state: State, _ input: Input, _ output: Output?) -> State?
}

/// One operation of a recorded history. Times are any monotonic clock (virtual ticks in the simulation).
///
/// The checker reads the fields this way:
/// - `output != nil`: the operation took effect exactly once, at some instant in `invokedAt...returnedAt`
///   (`returnedAt == nil` stretches the interval to the end of the history).
/// - `output == nil`: the outcome is unknown, so the operation may have taken effect at any instant after
///   `invokedAt` (even after `returnedAt`, since a request that timed out can still be delivered later), or never.
package struct HistoryOperation<Input: Sendable & Equatable, Output: Sendable & Equatable>: Sendable, Equatable {
    /// Unique within the history; witnesses name operations by it.
    package var id: Int
    /// The client that issued the operation. Only used in descriptions: real-time order alone constrains the search.
    package var client: Int
    /// What the client asked for.
    package var input: Input
    /// What the client was told, or nil when the outcome is unknown (the call timed out or never returned).
    package var output: Output?
    /// When the client sent the request.
    package var invokedAt: UInt64
    /// When the client received the response; nil when it never did (the operation is open-ended).
    /// Invariant: when present, `returnedAt >= invokedAt`.
    package var returnedAt: UInt64?

    /// Creates an operation; see the field documentation for how unknown outcomes are read.
    package init(id: Int, client: Int, input: Input, output: Output?, invokedAt: UInt64, returnedAt: UInt64?) {
        self.id = id
        self.client = client
        self.input = input
        self.output = output
        self.invokedAt = invokedAt
        self.returnedAt = returnedAt
    }
}
