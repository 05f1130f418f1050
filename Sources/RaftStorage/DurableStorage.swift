package import Raft

/// A node's durable Raft storage: the write-ahead log (`<directory>/wal`) and snapshots (`<directory>/snap`).
/// Not thread-safe: one owner calls it (see `GroupCommitLog` for a threaded front).
package final class DurableStorage {
    /// Tuning.
    package struct Options: Sendable {
        /// Write-ahead log options.
        package var wal = WriteAheadLog.Options()
        /// Snapshots kept; the log is released only below the oldest one, so a damaged newest snapshot can still be
        /// recovered by hand from the one before.
        package var retainedSnapshots = 2

        /// Default options.
        package init() {}
    }

    /// The log.
    package let wal: WriteAheadLog
    /// The snapshots.
    package let snapshots: SnapshotStore
    let options: Options

    init(wal: WriteAheadLog, snapshots: SnapshotStore, options: Options) {
        self.wal = wal
        self.snapshots = snapshots
        self.options = options
    }

    /// Opens (or creates) the storage in `directory` and recovers: the newest snapshot, then the log after it.
    /// Returns what the Raft node restarts from and a report for the log.
    package static func open(
        fileSystem: any FileSystem,
        directory: String,
        options: Options = Options()
    ) throws(StorageError) -> (storage: DurableStorage, state: Raft.PersistentState, report: RecoveryReport) {
        var report = RecoveryReport()
        do {
            try fileSystem.makeDirectory(directory)
        } catch {
            throw .io(error)
        }
        let snapshots = try SnapshotStore(fileSystem: fileSystem, directory: directory + "/snap")
        let snapshot = try snapshots.loadNewest()
        report.snapshot = snapshot?.metadata
        let (wal, replayed) = try WriteAheadLog.open(
            fileSystem: fileSystem,
            directory: directory + "/wal",
            snapshot: snapshot?.metadata.last,
            options: options.wal,
            report: &report
        )
        var hardState = replayed.hardState
        if let snapshot {
            let last = snapshot.metadata.last
            hardState.commit = max(hardState.commit, last.index)
            if last.term > hardState.term {
                // A snapshot from the leader became durable but the batch with the hard state of its term did not
                // (the crash fell between the two). The node had not voted in that term — a vote there would have
                // been persisted earlier — so it adopts the term with no vote, keeping term >= last log term.
                hardState.term = last.term
                hardState.vote = nil
            }
        }
        let state = Raft.PersistentState(hardState: hardState, snapshot: snapshot, entries: replayed.entries)
        return (DurableStorage(wal: wal, snapshots: snapshots, options: options), state, report)
    }

    /// Makes a `Ready`'s snapshot, entries and hard state durable (step 1 of `Raft.Ready`'s contract): the snapshot
    /// file first, then one log batch with the log reset, the entries and the hard state, and one fdatasync.
    package func save(_ ready: Raft.Ready) throws(StorageError) {
        if let snapshot = ready.snapshot {
            try snapshots.save(snapshot)
            wal.appendLogReset(to: snapshot.metadata.last)
        }
        wal.append(ready.entries)
        if let hardState = ready.hardState { wal.append(hardState) }
        try wal.commit()
        if ready.snapshot != nil { try releaseOldData() }
    }

    /// Stores a snapshot the local state machine took (compaction), then deletes old snapshots and the log segments
    /// every kept snapshot covers.
    package func saveSnapshot(_ snapshot: Raft.Snapshot) throws(StorageError) {
        try snapshots.save(snapshot)
        try releaseOldData()
    }

    /// Deletes snapshots beyond the retained count and the log segments every kept snapshot covers. With
    /// `SnapshotStore.save` run elsewhere first, this is `saveSnapshot` in two steps: the long file write need not
    /// hold up the log.
    package func releaseOldData() throws(StorageError) {
        let oldestKept = try snapshots.retain(options.retainedSnapshots)
        try wal.release(through: oldestKept)
    }
}
