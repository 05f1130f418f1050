import Raft
import Testing

@testable import RaftStorage

/// One step of the scripted workload.
enum WorkloadStep {
    case save(Raft.Ready)
    case compact(Raft.Snapshot)
}

/// A deterministic workload touching every record type, segment rotation, overwrites, local compaction and a
/// snapshot installed from a leader.
func scriptedWorkload() -> [WorkloadStep] {
    var steps: [WorkloadStep] = []
    var index: UInt64 = 0
    let configuration = Raft.Configuration(voters: [1, 2, 3])
    func append(_ count: Int, term: UInt64, commitLag: UInt64 = 2) {
        let entries = (0..<count).map { _ -> Raft.Entry in
            index += 1
            return entry(index, term: term, size: 30 + Int(index % 50))
        }
        steps.append(
            .save(
                ready(
                    entries,
                    hardState: Raft.HardState(term: term, vote: 1, commit: index > commitLag ? index - commitLag : 0)
                )
            )
        )
    }
    for round in 0..<12 { append(1 + round % 4, term: 1) }
    steps.append(.save(ready([], hardState: Raft.HardState(term: 2, vote: 3, commit: index - 2))))
    // A new leader overwrites the uncommitted tail.
    index -= 2
    append(3, term: 2)
    steps.append(
        .compact(
            Raft.Snapshot(
                metadata: Raft.SnapshotMetadata(
                    last: Raft.LogPosition(index: 20, term: 1),
                    configuration: configuration
                ),
                data: Array(repeating: 7, count: 200)
            )
        )
    )
    for round in 0..<8 { append(2 + round % 3, term: 2) }
    let installed = Raft.Snapshot(
        metadata: Raft.SnapshotMetadata(
            last: Raft.LogPosition(index: index + 10, term: 3),
            configuration: configuration
        ),
        data: Array(repeating: 9, count: 500)
    )
    index += 10
    steps.append(.save(ready([], hardState: Raft.HardState(term: 3, vote: nil, commit: index), snapshot: installed)))
    for round in 0..<6 { append(1 + round % 2, term: 3, commitLag: 1) }
    return steps
}

/// Applies a workload step to the model.
func apply(_ step: WorkloadStep, to model: inout LogModel) {
    switch step {
    case .save(let ready):
        model.apply(ready)
    case .compact(let snapshot):
        model.snapshot = snapshot.metadata
        model.entries.removeAll { $0.index <= snapshot.metadata.last.index }
    }
}

/// Whether `state` holds the same log as `model`, allowing compaction to have happened or not.
func equivalent(_ state: Raft.PersistentState, _ model: LogModel, compacted: LogModel? = nil) -> Bool {
    let modelLast = model.entries.last?.index ?? model.snapshot?.last.index ?? 0
    let stateLast = state.entries.last?.index ?? state.snapshot?.metadata.last.index ?? 0
    guard stateLast == modelLast, state.hardState.term == model.hardState.term,
        state.hardState.vote == model.hardState.vote
    else { return false }
    let modelCommit = max(model.hardState.commit, model.snapshot?.last.index ?? 0)
    guard
        state.hardState.commit == modelCommit
            || state.hardState.commit == max(model.hardState.commit, state.snapshot?.metadata.last.index ?? 0)
    else { return false }
    for stored in state.entries {
        if let expected = model.entries.first(where: { $0.index == stored.index }), expected != stored { return false }
    }
    for expected in model.entries where expected.index > (state.snapshot?.metadata.last.index ?? 0) {
        guard state.entries.contains(expected) else { return false }
    }
    return true
}

/// Runs the workload until the file system crashes; returns the models before and after the step that crashed.
func runUntilCrash(_ fileSystem: SimulatedFileSystem) -> (acknowledged: LogModel, attempted: LogModel?, steps: Int) {
    var model = LogModel()
    guard
        let (storage, _, _) = try? DurableStorage.open(
            fileSystem: fileSystem,
            directory: "/n",
            options: smallSegments(1_024)
        )
    else { return (model, nil, 0) }
    var completed = 0
    for step in scriptedWorkload() {
        var next = model
        apply(step, to: &next)
        do {
            switch step {
            case .save(let ready): try storage.save(ready)
            case .compact(let snapshot): try storage.saveSnapshot(snapshot)
            }
        } catch {
            return (model, next, completed)
        }
        model = next
        completed += 1
    }
    return (model, nil, completed)
}

@Suite("Crash recovery")
struct CrashRecoveryTests {
    @Test(
        "at every write and fsync of a scripted workload, a crash loses nothing acknowledged and invents nothing",
        arguments: [SimulatedFileSystem.CrashMode.loseUnsynced, .tornWrites]
    )
    func everyCrashPoint(mode: SimulatedFileSystem.CrashMode) throws {
        let dryRun = SimulatedFileSystem(seed: 0)
        let full = runUntilCrash(dryRun)
        #expect(full.steps == scriptedWorkload().count)
        let points = dryRun.operationCount
        #expect(points > 100)
        for point in 1...points {
            let fileSystem = SimulatedFileSystem(seed: UInt64(point))
            fileSystem.crash(atOperation: point, mode: mode)
            let outcome = runUntilCrash(fileSystem)
            fileSystem.restart()
            let recovered: Raft.PersistentState
            do {
                recovered = try DurableStorage.open(
                    fileSystem: fileSystem,
                    directory: "/n",
                    options: smallSegments(1_024)
                ).state
            } catch {
                Issue.record("crash at operation \(point) (\(mode)): recovery failed: \(error)")
                continue
            }
            let ok =
                equivalent(recovered, outcome.acknowledged)
                || outcome.attempted.map { equivalent(recovered, $0) } == true
            #expect(
                ok,
                "crash at operation \(point) (\(mode)) after \(outcome.steps) acknowledged steps: recovered \(recovered.entries.map(\.position)) hard state \(recovered.hardState)"
            )
        }
        print("crash points tested (\(mode)): \(points)")
    }

    @Test("random crash points with torn writes, across many seeds, then a second crash during recovery's repair")
    func randomCrashes() throws {
        let points = { () -> Int in
            let fileSystem = SimulatedFileSystem(seed: 0)
            _ = runUntilCrash(fileSystem)
            return fileSystem.operationCount
        }()
        var random = TestRandom(state: 99)
        for seed in 1...300 {
            let fileSystem = SimulatedFileSystem(seed: UInt64(seed))
            fileSystem.crash(atOperation: 1 + random.below(points), mode: .tornWrites)
            let outcome = runUntilCrash(fileSystem)
            fileSystem.restart()
            // Crash again somewhere inside recovery (its torn-tail repair writes and syncs).
            fileSystem.crash(atOperation: fileSystem.operationCount + 1 + random.below(4), mode: .tornWrites)
            _ = try? DurableStorage.open(fileSystem: fileSystem, directory: "/n", options: smallSegments(1_024))
            // If recovery finished before the scheduled crash, crash now (which also cancels the scheduled one).
            if !fileSystem.isCrashed { fileSystem.crash(mode: .tornWrites) }
            fileSystem.restart()
            let recovered = try DurableStorage.open(
                fileSystem: fileSystem,
                directory: "/n",
                options: smallSegments(1_024)
            ).state
            let ok =
                equivalent(recovered, outcome.acknowledged)
                || outcome.attempted.map { equivalent(recovered, $0) } == true
            #expect(ok, "seed \(seed)")
        }
    }
}
