import ChaosCheck
import Testing

/// Histories that some real-time-respecting order explains: the checker must accept them.
@Suite("linearizable histories")
struct LinearizableHistoryTests {
    @Test("an empty history is linearizable")
    func emptyHistory() {
        #expect(RegisterHistory().check() == .linearizable)
    }

    @Test("a sequential history of writes and reads is linearizable")
    func sequentialHistory() {
        var history = RegisterHistory()
        history.read(nil, from: 0, to: 5)
        history.write(1, from: 10, to: 15)
        history.read(1, from: 20, to: 25)
        history.write(2, from: 30, to: 35)
        history.read(2, from: 40, to: 45)
        history.read(2, from: 50, to: 55)
        #expect(history.check() == .linearizable)
    }

    @Test("concurrent writes may take effect in either order")
    func concurrentWritesEitherOrder() {
        for observed: UInt64 in [1, 2] {
            var history = RegisterHistory()
            history.write(1, from: 0, to: 10, client: 0)
            history.write(2, from: 0, to: 10, client: 1)
            history.read(observed, from: 20, to: 30, client: 2)
            history.read(observed, from: 40, to: 50, client: 0)
            #expect(history.check() == .linearizable, "reading \(observed)")
        }
    }

    @Test("reads overlapping a write may see the old value and then the new one")
    func readsOverlappingWrite() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10, client: 0)
        history.write(2, from: 20, to: 60, client: 0)
        history.read(1, from: 25, to: 30, client: 1)
        history.read(2, from: 31, to: 35, client: 1)
        history.read(2, from: 36, to: 40, client: 2)
        #expect(history.check() == .linearizable)
    }

    @Test("operations sharing an endpoint instant are concurrent")
    func sharedEndpointIsConcurrent() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 5)
        history.write(2, from: 6, to: 10)
        // Invoked at the instant the write returned: it may still be ordered before the write.
        history.read(1, from: 10, to: 12, client: 1)
        #expect(history.check() == .linearizable)
    }

    @Test("a concurrent read and write are linearized in whichever order the outputs need")
    func interleavedClients() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 100, client: 0)
        history.read(nil, from: 10, to: 20, client: 1)
        history.read(1, from: 30, to: 40, client: 1)
        history.write(2, from: 50, to: 150, client: 2)
        history.read(1, from: 110, to: 120, client: 0)
        history.read(2, from: 130, to: 140, client: 1)
        #expect(history.check() == .linearizable)
    }

    @Test("an unknown-outcome write that took effect explains a later read")
    func unknownWriteTookEffect() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10)
        history.add(.write(2), nil, from: 20, to: nil, client: 1)
        history.read(2, from: 30, to: 40, client: 2)
        history.read(2, from: 50, to: 60, client: 2)
        #expect(history.check() == .linearizable)
    }

    @Test("an unknown-outcome write may never take effect")
    func unknownWriteNeverTookEffect() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10)
        history.add(.write(2), nil, from: 20, to: nil, client: 1)
        history.read(1, from: 30, to: 40, client: 2)
        history.read(1, from: 50, to: 60, client: 2)
        #expect(history.check() == .linearizable)
    }

    @Test("an unknown-outcome write that timed out may take effect after its timeout")
    func timedOutWriteTakesEffectLater() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10)
        history.add(.write(2), nil, from: 20, to: 25, client: 1)
        history.read(1, from: 30, to: 40, client: 2)
        history.read(2, from: 50, to: 60, client: 2)
        #expect(history.check() == .linearizable)
    }

    @Test("a write acknowledged but never seen returning is placed after its invocation")
    func knownOutputWithoutReturn() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10)
        history.add(.write(2), .written, from: 20, to: nil, client: 1)
        history.read(1, from: 30, to: 40, client: 2)
        history.read(2, from: 50, to: 60, client: 2)
        #expect(history.check() == .linearizable)
    }

    @Test("compare-and-set succeeds on the expected value and fails otherwise")
    func compareAndSetSequence() {
        var history = RegisterHistory()
        history.add(.compareAndSet(expected: nil, new: 1), .compareAndSet(succeeded: true), from: 0, to: 5)
        history.add(.compareAndSet(expected: 1, new: 2), .compareAndSet(succeeded: true), from: 10, to: 15)
        history.add(.compareAndSet(expected: 1, new: 3), .compareAndSet(succeeded: false), from: 20, to: 25)
        history.read(2, from: 30, to: 35)
        history.add(.compareAndSet(expected: nil, new: 4), .compareAndSet(succeeded: false), from: 40, to: 45)
        history.read(2, from: 50, to: 55)
        #expect(history.check() == .linearizable)
    }

    @Test("of two concurrent compare-and-sets from the same value, one wins")
    func concurrentCompareAndSet() {
        var history = RegisterHistory()
        history.write(0, from: 0, to: 5)
        history.add(.compareAndSet(expected: 0, new: 1), .compareAndSet(succeeded: false), from: 10, to: 30, client: 1)
        history.add(.compareAndSet(expected: 0, new: 2), .compareAndSet(succeeded: true), from: 12, to: 28, client: 2)
        history.read(2, from: 40, to: 45, client: 3)
        #expect(history.check() == .linearizable)
    }

    @Test("an unknown-outcome compare-and-set does what the register would do")
    func unknownCompareAndSet() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 5)
        history.add(.compareAndSet(expected: 1, new: 2), nil, from: 10, to: nil, client: 1)
        history.read(1, from: 20, to: 25, client: 2)
        history.read(2, from: 30, to: 35, client: 2)
        #expect(history.check() == .linearizable)
    }

    @Test("unknown-outcome reads constrain nothing")
    func unknownReads() {
        var history = RegisterHistory()
        for index in 0..<20 {
            history.add(.read, nil, from: UInt64(index), to: nil, client: index)
        }
        history.write(1, from: 30, to: 35)
        history.read(1, from: 40, to: 45)
        #expect(history.check() == .linearizable)
    }

    @Test("the order of operations in the array does not matter")
    func arrayOrderIrrelevant() {
        var history = RegisterHistory()
        history.write(1, from: 0, to: 10)
        history.read(1, from: 20, to: 30, client: 1)
        history.write(2, from: 40, to: 50)
        history.read(2, from: 60, to: 70, client: 1)
        let reversed = Array(history.operations.reversed())
        #expect(LinearizabilityChecker(model: RegisterModel()).check(reversed) == .linearizable)
    }

    @Test("many pending unknown-outcome writes do not slow a linearizable history down")
    func manyPendingWrites() {
        var history = RegisterHistory()
        for index in 0..<40 {
            history.add(.write(1_000 + UInt64(index)), nil, from: UInt64(index), to: nil, client: 100 + index)
        }
        for index in 0..<300 {
            let start = 100 + UInt64(index) * 10
            if index % 2 == 0 {
                history.write(UInt64(index), from: start, to: start + 5)
            } else {
                history.read(UInt64(index - 1), from: start, to: start + 5)
            }
        }
        // One pending write shows up at the very end.
        history.read(1_017, from: 10_000, to: 10_005)
        #expect(history.check(maxExploredStates: 100_000) == .linearizable)
    }
}
