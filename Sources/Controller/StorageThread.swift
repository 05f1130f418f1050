import Dispatch
import Raft
import RaftStorage

/// Runs every `DurableStorage` call on one serial queue, off the node loop, so the leader keeps replicating while its
/// own log write and fdatasync are in flight (thesis §10.2.1). Each `Ready` is one batch and one fdatasync; all
/// proposals that arrive during an fdatasync travel in the next one (group commit).
final class StorageThread: @unchecked Sendable {
    // Safe: `storage`'s log is touched only on `queue`, a serial queue, after `init` hands it over. Its snapshot
    // store is also used on `snapshotQueue`, for compaction snapshots, so that writing a large snapshot file does
    // not delay the log's fdatasyncs; `save` drains `snapshotQueue` before it writes a snapshot of its own, so the
    // two never touch the snapshot store at once, and only `queue` releases old data.
    private let storage: DurableStorage
    private let queue = DispatchQueue(label: "gantry.storage")
    private let snapshotQueue = DispatchQueue(label: "gantry.storage.snapshots")

    init(_ storage: DurableStorage) {
        self.storage = storage
    }

    /// Persists `ready`'s snapshot, entries and hard state, then calls `done` with the seconds it took and any error.
    func save(_ ready: Raft.Ready, done: @escaping @Sendable (Double, StorageError?) -> Void) {
        queue.async { [self] in
            if ready.snapshot != nil { snapshotQueue.sync {} }
            let start = Clock.monotonicNanoseconds()
            do throws(StorageError) {
                try storage.save(ready)
                done(Double(Clock.monotonicNanoseconds() - start) / 1e9, nil)
            } catch {
                done(Double(Clock.monotonicNanoseconds() - start) / 1e9, error)
            }
        }
    }

    /// Stores a compaction snapshot (on the snapshot queue), then releases what it covers (on the log's queue).
    func saveSnapshot(_ snapshot: Raft.Snapshot, done: @escaping @Sendable (StorageError?) -> Void) {
        snapshotQueue.async { [self] in
            do throws(StorageError) {
                try storage.snapshots.save(snapshot)
            } catch {
                done(error)
                return
            }
            queue.async { [self] in
                do throws(StorageError) {
                    try storage.releaseOldData()
                    done(nil)
                } catch {
                    done(error)
                }
            }
        }
    }

    /// Waits for everything queued so far.
    func drain() {
        snapshotQueue.sync {}
        queue.sync {}
    }
}
