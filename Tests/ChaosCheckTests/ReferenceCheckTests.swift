import ChaosCheck
import Testing

/// Decides linearizability the slow, obvious way: try every order of every admissible subset of operations.
///
/// An operation may come next when no unplaced operation with a known output returned before it was invoked;
/// operations with an unknown output bound nobody and may be left out. Exponential: only for a handful of operations.
func bruteForceIsLinearizable(_ history: [RegisterOperation]) -> Bool {
    let model = RegisterModel()
    func search(_ state: UInt64?, _ placed: [Bool]) -> Bool {
        let unplacedRequired = history.indices.filter { !placed[$0] && history[$0].output != nil }
        if unplacedRequired.isEmpty {
            return true
        }
        for candidate in history.indices where !placed[candidate] {
            let mustWait = unplacedRequired.contains { other in
                history[other].returnedAt.map { $0 < history[candidate].invokedAt } ?? false
            }
            guard !mustWait, let next = model.step(state, history[candidate].input, history[candidate].output) else {
                continue
            }
            var nowPlaced = placed
            nowPlaced[candidate] = true
            if search(next, nowPlaced) {
                return true
            }
        }
        return false
    }
    return search(model.initialState, Array(repeating: false, count: history.count))
}

/// A small random register history over three values, with random intervals and outputs: often illegal.
func randomSmallHistory(seed: UInt64) -> [RegisterOperation] {
    var random = SplitMix64(seed: seed)
    func value() -> UInt64? {
        let drawn = UInt64.random(in: 0...3, using: &random)
        return drawn == 0 ? nil : drawn
    }
    let unknownPercent = Int.random(in: 0...60, using: &random)
    return (0..<Int.random(in: 1...7, using: &random)).map { id in
        let input: RegisterInput
        let output: RegisterOutput
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            input = .read
            output = .read(value())
        case 1:
            input = .write(UInt64.random(in: 1...3, using: &random))
            output = .written
        default:
            input = .compareAndSet(expected: value(), new: UInt64.random(in: 1...3, using: &random))
            output = .compareAndSet(succeeded: Bool.random(using: &random))
        }
        let invokedAt = UInt64.random(in: 0...40, using: &random)
        let returnedAt = invokedAt + UInt64.random(in: 0...15, using: &random)
        let isUnknown = Int.random(in: 0..<100, using: &random) < unknownPercent
        return RegisterOperation(
            id: id,
            client: id,
            input: input,
            output: isUnknown ? nil : output,
            invokedAt: invokedAt,
            returnedAt: Int.random(in: 0..<4, using: &random) == 0 ? nil : returnedAt
        )
    }
}

/// The checker against the brute-force definition, on small random histories of both kinds.
@Suite("reference agreement")
struct ReferenceCheckTests {
    @Test("the checker agrees with a brute-force search on small random histories")
    func agreesWithBruteForce() {
        var verdictCounts = (linearizable: 0, illegal: 0)
        for seed in UInt64(0)..<2_000 {
            let history = randomSmallHistory(seed: seed)
            let expected = bruteForceIsLinearizable(history)
            let verdict = LinearizabilityChecker(model: RegisterModel()).check(history)
            if expected {
                verdictCounts.linearizable += 1
                #expect(verdict == .linearizable, "replay: randomSmallHistory(seed: \(seed))")
            } else {
                verdictCounts.illegal += 1
                let witness = verdict.witness
                #expect(
                    witness.map { isConsistent($0, with: history) } == true,
                    "replay: randomSmallHistory(seed: \(seed))"
                )
            }
        }
        // Both kinds must actually be exercised for the agreement to mean anything.
        #expect(verdictCounts.linearizable > 200)
        #expect(verdictCounts.illegal > 200)
    }
}
