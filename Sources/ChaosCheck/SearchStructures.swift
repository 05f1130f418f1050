/// A doubly linked list over integer nodes whose removals can be undone in LIFO order ("dancing links").
///
/// Lowe's search walks the history's events in time order and lifts an operation's events out of the list when it
/// linearizes the operation; backtracking puts them back. Undoing in reverse order of removal restores the exact
/// list, because a removed node keeps its own links.
struct LinkedEvents {
    /// The sentinel before the first event.
    static let head = 0
    /// The sentinel after the last event.
    static let tail = 1

    /// `next[node]` is the node after `node`; meaningful for removed nodes too (their links at removal time).
    private(set) var next: [Int]
    /// `previous[node]` is the node before `node`.
    private var previous: [Int]

    /// Links `order` (node numbers from 2 to `nodeCount - 1`, each once) between the sentinels.
    init(nodeCount: Int, order: [Int]) {
        next = Array(repeating: Self.tail, count: nodeCount)
        previous = Array(repeating: Self.head, count: nodeCount)
        var last = Self.head
        for node in order {
            next[last] = node
            previous[node] = last
            last = node
        }
        next[last] = Self.tail
        previous[Self.tail] = last
    }

    /// Takes `node` out of the list.
    mutating func remove(_ node: Int) {
        next[previous[node]] = next[node]
        previous[next[node]] = previous[node]
    }

    /// Puts back `node`, which must be the most recently removed node still out of the list.
    mutating func restore(_ node: Int) {
        next[previous[node]] = node
        previous[next[node]] = node
    }
}

/// A call or return event, for sorting a history's events into time order before linking them.
struct TimedEvent {
    /// The sort key: events without a time (missing returns) last, then by time, calls before returns at equal
    /// times, then by creation order so that sorting is deterministic.
    var key: (infinite: Int, time: UInt64, isReturn: Int, sequence: Int)
    /// Whether the event belongs to a required operation (else to an optional one).
    var isRequired: Bool
    /// The event's node in its `LinkedEvents` list.
    var node: Int
}

/// A set of linearized operations, as a bitset over the operations sorted by invocation.
///
/// The search linearizes operations roughly in invocation order, so the set is nearly a prefix: `compacted()`
/// encodes it in a few words however long the history is, which keeps the memo small.
struct LinearizedSet {
    /// The bits, 64 operations per word.
    private var words: [UInt64]
    /// Invariant: the number of leading words whose bits are all set.
    private var fullPrefix = 0
    /// Invariant: every word after index `highWater` is zero.
    private var highWater = 0

    /// An empty set able to hold operations `0..<capacity`.
    init(capacity: Int) {
        words = Array(repeating: 0, count: max(1, (capacity + 63) / 64))
    }

    /// Adds operation `index`.
    mutating func insert(_ index: Int) {
        let word = index >> 6
        words[word] |= 1 << UInt64(index & 63)
        highWater = max(highWater, word)
        while fullPrefix < words.count && words[fullPrefix] == .max {
            fullPrefix += 1
        }
    }

    /// Removes operation `index`.
    mutating func remove(_ index: Int) {
        let word = index >> 6
        words[word] &= ~(1 << UInt64(index & 63))
        fullPrefix = min(fullPrefix, word)
        while highWater > 0 && words[highWater] == 0 {
            highWater -= 1
        }
    }

    /// A canonical encoding of the set: the count of leading full words, then the words up to the last nonzero one.
    func compacted() -> CompactBits {
        var end = highWater + 1
        while end > fullPrefix && words[end - 1] == 0 {
            end -= 1
        }
        let count = end - fullPrefix
        return CompactBits(
            fullWords: fullPrefix,
            first: count > 0 ? words[fullPrefix] : 0,
            second: count > 1 ? words[fullPrefix + 1] : 0,
            rest: count > 2 ? Array(words[(fullPrefix + 2)..<end]) : []
        )
    }
}

/// The encoding `LinearizedSet.compacted()` produces: the set has `fullWords` leading words of ones, then the words
/// `[first, second] + rest`, then zeros. Two sets of the same capacity are equal exactly when their encodings are,
/// because the encoded tail never ends in a zero word (`first` and `second` are zero only as padding or as words
/// followed by a nonzero one).
struct CompactBits: Hashable {
    /// The number of leading words with every bit set.
    var fullWords: Int
    /// The first word after them (zero when none is nonzero).
    var first: UInt64
    /// The second word after them (zero when it and all later words are zero, or as a word before a nonzero one).
    var second: UInt64
    /// The words after `second`, up to the last nonzero one; empty in the common case, so no allocation.
    var rest: [UInt64]
}

/// The memo key: which operations with known outcomes are linearized, and the model state they lead to.
struct ConfigurationKey<State: Hashable>: Hashable {
    /// The linearized operations with known outcomes.
    var linearized: CompactBits
    /// The model state after them (and after whichever operations with unknown outcomes were linearized).
    var state: State
}

/// A bitset over operations with unknown outcomes; usually one word, since such operations are few.
struct OptionalSet: Equatable {
    /// The bits, 64 operations per word.
    private(set) var words: [UInt64]

    /// An empty set able to hold operations `0..<capacity`.
    init(capacity: Int) {
        words = Array(repeating: 0, count: (capacity + 63) / 64)
    }

    /// Adds operation `index`.
    mutating func insert(_ index: Int) {
        words[index >> 6] |= 1 << UInt64(index & 63)
    }

    /// Removes operation `index`.
    mutating func remove(_ index: Int) {
        words[index >> 6] &= ~(1 << UInt64(index & 63))
    }
}

/// The optional-operation sets already explored for one `ConfigurationKey`, kept as an antichain: no member is a
/// superset of another, since a superset is dominated (see `LinearizationSearch.visit`).
///
/// Members are stored flattened, `width` words each, so the common case (no operation with an unknown outcome,
/// `width == 0`) allocates nothing.
struct ExploredOptionalSets {
    /// The members, `width` words each, one after another.
    private var flattened: [UInt64] = []

    /// Whether some member is a subset of `set` (always true for `width == 0`, where the only set is empty).
    func containsSubset(of set: OptionalSet) -> Bool {
        let width = set.words.count
        if width == 0 {
            return true
        }
        var start = 0
        while start < flattened.count {
            var isSubset = true
            for offset in 0..<width where flattened[start + offset] & ~set.words[offset] != 0 {
                isSubset = false
                break
            }
            if isSubset {
                return true
            }
            start += width
        }
        return false
    }

    /// Adds `set`, dropping the members it is a subset of. Call only when `containsSubset(of: set)` is false.
    mutating func insert(_ set: OptionalSet) {
        let width = set.words.count
        guard width > 0 else {
            return
        }
        var kept: [UInt64] = []
        kept.reserveCapacity(flattened.count + width)
        var start = 0
        while start < flattened.count {
            var isSuperset = true
            for offset in 0..<width where set.words[offset] & ~flattened[start + offset] != 0 {
                isSuperset = false
                break
            }
            if !isSuperset {
                kept.append(contentsOf: flattened[start..<(start + width)])
            }
            start += width
        }
        kept.append(contentsOf: set.words)
        flattened = kept
    }
}
