import ChaosCheck
import Testing

/// The search budget, per-key partitioning, verdict folding and the cost of long histories.
@Suite("budget, keys and scale")
struct BudgetAndKeyTests {
    /// `writers` concurrent writes of distinct values, then a read of a value none of them wrote: proving it
    /// illegal means trying every subset of the writes.
    private func hardHistory(writers: Int) -> RegisterHistory {
        var history = RegisterHistory()
        for index in 0..<writers {
            history.write(UInt64(index + 1), from: 0, to: 1_000, client: index)
        }
        history.read(999, from: 2_000, to: 2_010, client: writers)
        return history
    }

    @Test("a tiny budget on a hard concurrent history gives unknown")
    func tinyBudget() throws {
        let verdict = hardHistory(writers: 24).check(maxExploredStates: 1_000)
        guard case .unknown(let exploredStates) = verdict else {
            Issue.record("expected unknown, got \(verdict)")
            return
        }
        #expect(exploredStates > 1_000)
    }

    @Test("a hard concurrent history within budget gets a verdict")
    func hardHistoryWithinBudget() throws {
        let history = hardHistory(writers: 10)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.stuckOperations.first == 10)
    }

    @Test("keys are checked independently and every key gets a verdict")
    func keyedHistory() throws {
        var history: [KeyedOperation] = []
        func add(_ key: String, _ input: RegisterInput, _ output: RegisterOutput, _ from: UInt64, _ to: UInt64) {
            let operation = RegisterOperation(
                id: history.count,
                client: 0,
                input: input,
                output: output,
                invokedAt: from,
                returnedAt: to
            )
            history.append(KeyedOperation(key: key, operation: operation))
        }
        add("a", .write(1), .written, 0, 10)
        add("b", .write(1), .written, 5, 15)
        add("a", .write(2), .written, 20, 30)
        // Linearizable on its own key, though it would be stale if keys were mixed up.
        add("b", .read, .read(1), 40, 50)
        add("c", .read, .read(nil), 40, 50)
        add("a", .read, .read(1), 60, 70)

        let verdicts = checkKeyedRegisters(history)
        #expect(verdicts.count == 3)
        #expect(verdicts["b"] == .linearizable)
        #expect(verdicts["c"] == .linearizable)
        let witness = try #require(verdicts["a"]?.witness)
        #expect(witness.stuckOperations == [5])
        #expect(witness.linearizedPrefix == [0, 2])

        let summary = try #require(summarize(verdicts).witness)
        #expect(summary.description.hasPrefix("key \"a\": "))
        #expect(summary.stuckOperations == [5])
    }

    @Test("summarize prefers illegal, then unknown, then linearizable")
    func summarizeOrder() throws {
        let witness = Witness(linearizedPrefix: [1], stuckOperations: [2], description: "stuck")
        #expect(summarize([:]) == .linearizable)
        #expect(summarize(["a": .linearizable, "b": .linearizable]) == .linearizable)
        #expect(
            summarize(["a": .linearizable, "b": .unknown(exploredStates: 7), "c": .unknown(exploredStates: 3)])
                == .unknown(exploredStates: 10)
        )
        let folded = summarize(["z": .illegal(witness), "b": .unknown(exploredStates: 7), "y": .illegal(witness)])
        let summary = try #require(folded.witness)
        #expect(summary.description == "key \"y\" (1 of 2 non-linearizable keys): stuck")
        #expect(summary.linearizedPrefix == [1])
        #expect(summary.stuckOperations == [2])
    }

    @Test("two thousand sequential operations on one key check quickly")
    func longSequentialHistory() {
        var history = RegisterHistory()
        for index in 0..<2_000 {
            let start = UInt64(index) * 10
            if index % 2 == 0 {
                history.write(UInt64(index), from: start, to: start + 5, client: index % 7)
            } else {
                history.read(UInt64(index - 1), from: start, to: start + 5, client: index % 7)
            }
        }
        #expect(history.check() == .linearizable)
    }

    @Test("a long history with overlapping pairs of operations checks quickly")
    func longOverlappingHistory() {
        var history = RegisterHistory()
        for index in 0..<3_000 {
            // Each operation overlaps its neighbours; the value read is the one written just before.
            let start = UInt64(index) * 10
            if index % 3 == 0 {
                history.write(UInt64(index), from: start, to: start + 15, client: index % 5)
            } else {
                history.read(UInt64(index - index % 3), from: start + 6, to: start + 25, client: index % 5)
            }
        }
        #expect(history.check(maxExploredStates: 200_000) == .linearizable)
    }
}
