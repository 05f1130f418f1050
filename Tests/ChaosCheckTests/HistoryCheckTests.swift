import ChaosCheck
import Testing

/// The chaos suite's checks besides linearizability, on hand-built good and bad histories.
@Suite("history checks")
struct HistoryCheckTests {
    func answer(_ client: Int, _ id: Int, at time: UInt64, index: UInt64) -> IndexedAnswer {
        IndexedAnswer(client: client, id: id, invokedAt: time, index: index, description: "op \(id)")
    }

    @Test("indexes that only grow per client pass, whatever other clients see")
    func indexesGrow() {
        let answers = [
            answer(1, 1, at: 10, index: 5), answer(1, 2, at: 20, index: 5), answer(1, 3, at: 30, index: 9),
            answer(2, 4, at: 15, index: 3), answer(2, 5, at: 25, index: 12),
        ]
        #expect(indexRegressions(answers).isEmpty)
    }

    @Test("an answer at an older index than one the client already saw is reported, naming both")
    func indexGoesBack() {
        // The shape the suite found: a restarted follower handed client 2 the answer to an earlier write.
        let answers = [answer(2, 9654, at: 10, index: 4817), answer(2, 9658, at: 20, index: 3717)]
        let problems = indexRegressions(answers)
        #expect(problems.count == 1)
        #expect(problems.first?.contains("operation 9658") == true)
        #expect(problems.first?.contains("after operation 9654 at index 4817") == true)
    }

    @Test("a set whose acknowledged creates are on every node passes; unknown ones may be anywhere")
    func setGood() {
        let creates: [String: CreateOutcome] = ["a": .acknowledged, "b": .unknown, "c": .unknown]
        let verdict = checkSet(creates: creates, finalReads: [1: ["a", "b"], 2: ["a", "b"], 3: ["a", "b"]])
        #expect(verdict.ok)
        #expect(verdict.acknowledged == 1 && verdict.unknown == 2)
    }

    @Test("a lost acknowledged create, a phantom, a divergent node and a silent node are each reported")
    func setBad() {
        let creates: [String: CreateOutcome] = ["a": .acknowledged, "b": .acknowledged, "x": .failed]
        let lost = checkSet(creates: creates, finalReads: [1: ["a"], 2: ["a"]])
        #expect(lost.lost == ["b (node 1)", "b (node 2)"])
        #expect(!lost.ok)
        let phantom = checkSet(creates: creates, finalReads: [1: ["a", "b", "x", "zz"]])
        #expect(phantom.phantom == ["x (node 1)", "zz (node 1)"])
        let divergent = checkSet(creates: ["a": .unknown], finalReads: [1: ["a"], 2: []])
        #expect(divergent.divergent.count == 1)
        #expect(!divergent.ok)
        let silent = checkSet(creates: ["a": .unknown], finalReads: [1: ["a"], 2: nil])
        #expect(silent.unread == [2])
        #expect(!silent.ok)
    }

    @Test("one leader per term passes; two nodes leading the same term are reported")
    func leaders() {
        let good = leadersPerTerm([(1, 1), (2, 2), (2, 2), (3, 5)])
        #expect(good.terms == 3 && good.problems.isEmpty)
        let bad = leadersPerTerm([(1, 1), (2, 3), (3, 3)])
        #expect(bad.problems == ["term 3: nodes 2, 3 each became leader"])
    }

    @Test("a task moved on with a new epoch may overlap its old run; the same epoch twice at once may not")
    func taskOverlap() {
        let moved = [
            TaskRun(task: "t1", epoch: 1, host: "a", start: 10, stop: 50),
            TaskRun(task: "t1", epoch: 2, host: "b", start: 40, stop: nil),
            TaskRun(task: "t2", epoch: 1, host: "a", start: 10, stop: 20),
            TaskRun(task: "t2", epoch: 1, host: "a", start: 20, stop: nil),
        ]
        #expect(overlappingRuns(moved).isEmpty)
        let twice = [
            TaskRun(task: "t1", epoch: 1, host: "a", start: 10, stop: 50),
            TaskRun(task: "t1", epoch: 1, host: "b", start: 40, stop: 60),
            TaskRun(task: "t3", epoch: 4, host: "a", start: 10, stop: nil),
            TaskRun(task: "t3", epoch: 4, host: "b", start: 90, stop: nil),
        ]
        let problems = overlappingRuns(twice)
        #expect(problems.count == 2)
        #expect(problems.first?.contains("task t1 epoch 1 ran on a and b at once") == true)
    }
}
