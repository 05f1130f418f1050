import ChaosCheck
import Testing

/// Histories no linearization explains: the checker must reject them with a witness that makes sense.
@Suite("illegal histories")
struct IllegalHistoryTests {
    @Test("a read after a completed write cannot see the older value")
    func staleRead() throws {
        var history = RegisterHistory()
        let first = history.write(1, from: 0, to: 10)
        let second = history.write(2, from: 20, to: 30)
        let read = history.read(1, from: 40, to: 50, client: 1)
        let witness = try #require(history.check().witness)
        #expect(witness.linearizedPrefix == [first, second])
        #expect(witness.stuckOperations == [read])
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.description.contains("#\(read)"))
        #expect(witness.description.contains("Optional(2)"))
    }

    @Test("a read cannot return a value nobody wrote")
    func valueNeverWritten() throws {
        var history = RegisterHistory()
        let write = history.write(1, from: 0, to: 10)
        let read = history.read(7, from: 20, to: 30, client: 1)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.linearizedPrefix == [write])
        #expect(witness.stuckOperations == [read])
        #expect(witness.description.contains("read(7)"))
    }

    @Test("two clients cannot observe two writes in opposite orders")
    func oppositeOrders() throws {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 100, client: 0)
        history.write(2, from: 0, to: 100, client: 1)
        history.read(1, from: 10, to: 20, client: 2)
        history.read(2, from: 30, to: 40, client: 2)
        history.read(2, from: 10, to: 20, client: 3)
        history.read(1, from: 30, to: 40, client: 3)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(!witness.stuckOperations.isEmpty)
        #expect(witness.linearizedPrefix.count < history.operations.count)
    }

    @Test("a read cannot see a value before its write was invoked")
    func readBeforeWrite() throws {
        var history = RegisterHistory()
        let read = history.read(1, from: 0, to: 10, client: 1)
        history.write(1, from: 20, to: 30)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.linearizedPrefix.isEmpty)
        #expect(witness.stuckOperations == [read])
        #expect(witness.description.contains("nil"))
    }

    @Test("a compare-and-set cannot succeed against a value the register does not hold")
    func compareAndSetWrongValue() throws {
        var history = RegisterHistory()
        let write = history.write(1, from: 0, to: 10)
        let swap = history.add(
            .compareAndSet(expected: 2, new: 3),
            .compareAndSet(succeeded: true),
            from: 20,
            to: 30,
            client: 1
        )
        history.read(3, from: 40, to: 50, client: 2)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.linearizedPrefix == [write])
        #expect(witness.stuckOperations == [swap])
    }

    @Test("a compare-and-set cannot fail when the register holds the expected value")
    func compareAndSetSpuriousFailure() throws {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10)
        let swap = history.add(.compareAndSet(expected: 1, new: 3), .compareAndSet(succeeded: false), from: 20, to: 30)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.stuckOperations == [swap])
    }

    @Test("once a read sees a new value, later reads cannot see the old one")
    func newOldInversion() throws {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10, client: 0)
        history.write(2, from: 20, to: 60, client: 0)
        history.read(2, from: 25, to: 30, client: 1)
        let stale = history.read(1, from: 35, to: 40, client: 2)
        let witness = try #require(history.check().witness)
        #expect(witness.stuckOperations.first == stale)
        #expect(isConsistent(witness, with: history.operations))
    }

    @Test("the effect of an unknown-outcome write cannot be undone")
    func unknownWriteCannotUndo() throws {
        var history = RegisterHistory()
        let write = history.write(1, from: 0, to: 10)
        let pending = history.add(.write(2), nil, from: 20, to: nil, client: 1)
        let sawNew = history.read(2, from: 30, to: 40, client: 2)
        let sawOld = history.read(1, from: 50, to: 60, client: 2)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.linearizedPrefix == [write, pending, sawNew])
        #expect(witness.stuckOperations == [sawOld])
        #expect(witness.description.contains("model state is Optional(2)"))
    }

    @Test("an output of the wrong kind is never possible")
    func wrongOutputKind() throws {
        var history = RegisterHistory()
        let read = history.add(.read, .written, from: 0, to: 10)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.stuckOperations == [read])
    }

    @Test("a read that never returned still needs a place when its output is known")
    func knownReadWithoutReturn() throws {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10)
        let read = history.add(.read, .read(5), from: 20, to: nil, client: 1)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.stuckOperations == [read])
        #expect(witness.description.contains("the history ends"))
    }

    @Test("the witness lists every candidate that could not be placed")
    func witnessListsCandidates() throws {
        var history = RegisterHistory()
        let write = history.write(1, from: 0, to: 10)
        let first = history.read(8, from: 20, to: 30, client: 1)
        let second = history.read(9, from: 22, to: 40, client: 2)
        let witness = try #require(history.check().witness)
        #expect(isConsistent(witness, with: history.operations))
        #expect(witness.linearizedPrefix == [write])
        #expect(witness.stuckOperations == [first, second])
    }
}
