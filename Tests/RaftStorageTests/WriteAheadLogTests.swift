import Dispatch
import Raft
import Testing

@testable import RaftStorage

@Suite("Write-ahead log and snapshots")
struct WriteAheadLogTests {
    @Test("entries and hard states round-trip, across many segment boundaries")
    func roundTrip() throws {
        let fileSystem = SimulatedFileSystem(seed: 1)
        var model = LogModel()
        do {
            let (storage, state, _) = try DurableStorage.open(
                fileSystem: fileSystem,
                directory: "/n",
                options: smallSegments()
            )
            #expect(model.matches(state))
            var index: UInt64 = 0
            for round in 1...200 {
                let count = 1 + round % 7
                let entries = (0..<count).map { _ in
                    index += 1
                    return entry(index, term: UInt64(1 + round / 50), size: 10 + round % 90)
                }
                let write = ready(
                    entries,
                    hardState: Raft.HardState(term: UInt64(1 + round / 50), vote: 2, commit: index - 1)
                )
                try storage.save(write)
                model.apply(write)
            }
            #expect(storage.wal.segmentNames.count > 10)
        }
        let (_, recovered, report) = try DurableStorage.open(
            fileSystem: fileSystem,
            directory: "/n",
            options: smallSegments()
        )
        #expect(model.matches(recovered))
        #expect(report.truncatedTail == nil)
        #expect(report.segments.count > 10)
    }

    @Test("an entry at an existing index replaces it and everything after it, also after recovery")
    func overwrite() throws {
        let fileSystem = SimulatedFileSystem(seed: 2)
        var model = LogModel()
        let (storage, _, _) = try DurableStorage.open(fileSystem: fileSystem, directory: "/n", options: smallSegments())
        for write in [
            ready((1...10).map { entry($0, term: 1) }, hardState: Raft.HardState(term: 1, vote: 1, commit: 3)),
            ready((6...8).map { entry($0, term: 2, size: 40) }, hardState: Raft.HardState(term: 2, vote: 3, commit: 5)),
            ready([entry(9, term: 2)]),
        ] {
            try storage.save(write)
            model.apply(write)
        }
        let (_, recovered, _) = try DurableStorage.open(
            fileSystem: fileSystem,
            directory: "/n",
            options: smallSegments()
        )
        #expect(recovered.entries.map(\.index) == Array(1...9))
        #expect(model.matches(recovered))
    }

    @Test("a snapshot from the leader resets the log; a local snapshot releases old segments")
    func snapshots() throws {
        let fileSystem = SimulatedFileSystem(seed: 3)
        var model = LogModel()
        let (storage, _, _) = try DurableStorage.open(
            fileSystem: fileSystem,
            directory: "/n",
            options: smallSegments(2_048)
        )
        for first in stride(from: UInt64(1), through: 120, by: 10) {
            let history = ready(
                (first..<(first + 10)).map { entry($0, term: 1) },
                hardState: Raft.HardState(term: 1, vote: 1, commit: first + 9)
            )
            try storage.save(history)
            model.apply(history)
        }
        let segmentsBefore = storage.wal.segmentNames.count
        // Local compaction at 100, twice (two snapshots are retained), then at 110.
        for index: UInt64 in [50, 100, 110] {
            let configuration = Raft.Configuration(voters: [1, 2, 3])
            let local = Raft.Snapshot(
                metadata: Raft.SnapshotMetadata(
                    last: Raft.LogPosition(index: index, term: 1),
                    configuration: configuration
                ),
                data: Array(repeating: UInt8(index), count: 300)
            )
            try storage.saveSnapshot(local)
        }
        #expect(storage.wal.segmentNames.count < segmentsBefore)
        #expect(try storage.snapshots.names().count == 2)
        var (_, recovered, _) = try DurableStorage.open(
            fileSystem: fileSystem,
            directory: "/n",
            options: smallSegments(2_048)
        )
        #expect(recovered.snapshot?.metadata.last == Raft.LogPosition(index: 110, term: 1))
        #expect(recovered.entries.map(\.index) == Array(111...120))

        // The leader sends a snapshot at 130@3 that does not match our log: everything is replaced.
        let installed = Raft.Snapshot(
            metadata: Raft.SnapshotMetadata(
                last: Raft.LogPosition(index: 130, term: 3),
                configuration: Raft.Configuration(voters: [1, 2, 3], learners: [4])
            ),
            data: [1, 2, 3]
        )
        let (reopened, _, _) = try DurableStorage.open(
            fileSystem: fileSystem,
            directory: "/n",
            options: smallSegments(2_048)
        )
        try reopened.save(
            ready(
                [entry(131, term: 3)],
                hardState: Raft.HardState(term: 3, vote: nil, commit: 130),
                snapshot: installed
            )
        )
        (_, recovered, _) = try DurableStorage.open(
            fileSystem: fileSystem,
            directory: "/n",
            options: smallSegments(2_048)
        )
        #expect(recovered.snapshot == installed)
        #expect(recovered.entries == [entry(131, term: 3)])
        #expect(recovered.hardState.commit == 130)
    }

    @Test("a snapshot written in chunks reads back whole")
    func chunkedSnapshot() throws {
        let fileSystem = SimulatedFileSystem(seed: 4)
        let store = try SnapshotStore(fileSystem: fileSystem, directory: "/s")
        let metadata = Raft.SnapshotMetadata(
            last: Raft.LogPosition(index: 9, term: 2),
            configuration: Raft.Configuration(voters: [1])
        )
        let writer = try store.beginWriting(metadata)
        var data: [UInt8] = []
        for chunk in 0..<10 {
            let piece = [UInt8](repeating: UInt8(chunk), count: 1_000 + chunk)
            data += piece
            try writer.append(piece)
        }
        try writer.finish()
        #expect(try store.loadNewest() == Raft.Snapshot(metadata: metadata, data: data))
        // Streamed out again in chunks (as to a follower) into a second store, it arrives whole.
        let reader = try store.openReader(try #require(store.names().last))
        let receiver = try SnapshotStore(fileSystem: fileSystem, directory: "/received")
        let incoming = try receiver.beginWriting(reader.metadata)
        var chunks = 0
        while let chunk = try reader.nextChunk(maxBytes: 777) {
            try incoming.append(chunk)
            chunks += 1
        }
        try incoming.finish()
        #expect(chunks == (data.count + 776) / 777)
        #expect(try receiver.loadNewest() == Raft.Snapshot(metadata: metadata, data: data))
    }

    @Test("after a failed fdatasync the log refuses every further write and says why")
    func failedSync() throws {
        let fileSystem = SimulatedFileSystem(seed: 5)
        let (storage, _, _) = try DurableStorage.open(fileSystem: fileSystem, directory: "/n")
        try storage.save(ready([entry(1, term: 1)]))
        fileSystem.failNext(.sync, errno: 5)
        #expect(throws: StorageError.self) { try storage.save(ready([entry(2, term: 1)])) }
        do {
            try storage.save(ready([entry(3, term: 1)]))
            Issue.record("a write after a failed fsync was accepted")
        } catch {
            guard case .failedEarlier(let reason) = error else {
                Issue.record("expected failedEarlier, got \(error)")
                return
            }
            #expect(reason.contains("fdatasync") || reason.contains("sync"))
        }
    }

    @Test("group commit: appends that arrive while a batch is being synced go out together in the next one")
    func groupCommit() throws {
        let fileSystem = SimulatedFileSystem(seed: 6)
        var report = RecoveryReport()
        let (wal, _) = try WriteAheadLog.open(fileSystem: fileSystem, directory: "/g", snapshot: nil, report: &report)
        let log = GroupCommitLog(wal)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        done.enter()
        // The first batch's completion holds the writer thread until every other append has been submitted.
        log.submit([entry(1, term: 1)], hardState: Raft.HardState(term: 1, vote: 1, commit: 0)) { _ in
            entered.signal()
            release.wait()
            done.leave()
        }
        entered.wait()
        for index in 2...200 {
            done.enter()
            log.submit([entry(UInt64(index), term: 1)]) { result in
                #expect((try? result.get()) != nil)
                done.leave()
            }
        }
        release.signal()
        done.wait()
        #expect(log.submissions == 200)
        #expect(log.batches == 2)
        var again = RecoveryReport()
        let (_, replayed) = try WriteAheadLog.open(
            fileSystem: fileSystem,
            directory: "/g",
            snapshot: nil,
            report: &again
        )
        #expect(replayed.entries.map(\.index) == Array(1...200))
    }
}
