import ChaosCheck
import Testing

/// A keyed history recorded from a real sequential execution with random overlapping intervals around each
/// operation's instant of effect: linearizable by construction.
struct GeneratedHistory {
    /// The operations, shuffled.
    var operations: [KeyedOperation]

    /// Generates the history for `seed`.
    init(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var operations: [KeyedOperation] = []
        var nextValue: UInt64 = 1
        func record(_ key: String, _ input: RegisterInput, _ output: RegisterOutput?, _ from: UInt64, _ to: UInt64?) {
            let operation = RegisterOperation(
                id: operations.count,
                client: Int.random(in: 0..<5, using: &random),
                input: input,
                output: output,
                invokedAt: from,
                returnedAt: to
            )
            operations.append(KeyedOperation(key: key, operation: operation))
        }

        for keyIndex in 0..<Int.random(in: 1...3, using: &random) {
            let key = "key-\(keyIndex)"
            let count = Int.random(in: 1...40, using: &random)
            var value: UInt64?
            for step in 0...count {
                // The instant the operation takes effect; the interval recorded around it overlaps its neighbours'.
                let instant = 100 + UInt64(step) * 10
                let input: RegisterInput
                let output: RegisterOutput
                switch step == count ? 0 : Int.random(in: 0..<10, using: &random) {
                case 0..<4:
                    input = .read
                    output = .read(value)
                case 4..<7:
                    input = .write(nextValue)
                    output = .written
                    value = nextValue
                    nextValue += 1
                default:
                    let expected: UInt64? =
                        switch Int.random(in: 0..<4, using: &random) {
                        case 0, 1: value
                        case 2: nil
                        default: UInt64.random(in: 1...nextValue, using: &random)
                        }
                    input = .compareAndSet(expected: expected, new: nextValue)
                    output = .compareAndSet(succeeded: expected == value)
                    if expected == value {
                        value = nextValue
                    }
                    nextValue += 1
                }
                let invokedAt = instant - UInt64.random(in: 0...30, using: &random)
                let returnedAt = instant + UInt64.random(in: 0...30, using: &random)
                // The last operation is always a read with a known output, so every key has one to corrupt.
                if step < count && Int.random(in: 0..<10, using: &random) == 0 {
                    record(key, input, nil, invokedAt, Bool.random(using: &random) ? nil : returnedAt)
                } else {
                    record(key, input, output, invokedAt, returnedAt)
                }
            }
            // Writes that were sent but never took effect.
            for _ in 0..<Int.random(in: 0...2, using: &random) {
                let invokedAt = UInt64.random(in: 0...(100 + UInt64(count) * 10), using: &random)
                let returnedAt =
                    Bool.random(using: &random) ? nil : invokedAt + UInt64.random(in: 0...30, using: &random)
                record(key, .write(nextValue), nil, invokedAt, returnedAt)
                nextValue += 1
            }
        }
        operations.shuffle(using: &random)
        self.operations = operations
    }

    /// The operations on `key`.
    func operations(on key: String) -> [RegisterOperation] {
        operations.filter { $0.key == key }.map(\.operation)
    }
}

/// Histories generated from real executions: all must pass, and each must fail once one read is corrupted.
@Suite("randomized histories")
struct RandomizedHistoryTests {
    @Test("histories recorded from a sequential execution are linearizable", arguments: UInt64(0)..<300)
    func generatedHistoriesAreLinearizable(seed: UInt64) {
        let history = GeneratedHistory(seed: seed)
        let verdicts = checkKeyedRegisters(history.operations)
        #expect(summarize(verdicts) == .linearizable, "replay: GeneratedHistory(seed: \(seed))")
    }

    @Test("a read of a value never written makes a generated history illegal", arguments: UInt64(0)..<300)
    func corruptedReadIsIllegal(seed: UInt64) throws {
        var history = GeneratedHistory(seed: seed)
        var random = SplitMix64(seed: ~seed)
        let reads = history.operations.indices.filter {
            history.operations[$0].operation.input == .read && history.operations[$0].operation.output != nil
        }
        let corrupted = try #require(reads.randomElement(using: &random))
        history.operations[corrupted].operation.output = .read(1_000_000)
        let corruptedKey = history.operations[corrupted].key

        let verdicts = checkKeyedRegisters(history.operations)
        for (key, verdict) in verdicts where key != corruptedKey {
            #expect(verdict == .linearizable, "key \(key), replay: GeneratedHistory(seed: \(seed))")
        }
        let witness = try #require(verdicts[corruptedKey]?.witness, "replay: GeneratedHistory(seed: \(seed))")
        #expect(isConsistent(witness, with: history.operations(on: corruptedKey)))
        #expect(!witness.stuckOperations.isEmpty)
        #expect(summarize(verdicts).witness?.description.hasPrefix("key \"\(corruptedKey)\"") == true)
    }
}
