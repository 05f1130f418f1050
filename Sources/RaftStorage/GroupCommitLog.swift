import Dispatch
package import Raft
import Synchronization

/// A threaded front for a `WriteAheadLog` that batches concurrent appends: whatever arrives while an fdatasync is
/// in flight is written as the next batch, with one fdatasync for all of it, never one per entry. Each submitter
/// is told only after its records are durable.
package final class GroupCommitLog: Sendable {
    /// One submission.
    struct Submission {
        var entries: [Raft.Entry]
        var hardState: Raft.HardState?
        var completion: @Sendable (Result<Void, StorageError>) -> Void
    }

    struct State {
        var pending: [Submission] = []
        var draining = false
        /// Index `submitNext` gives the next command.
        var nextIndex: UInt64
    }

    /// Confines the log to the writer queue.
    final class Confined: @unchecked Sendable {
        // Safe: `wal` is only touched from `GroupCommitLog.queue`, a serial queue.
        let wal: WriteAheadLog

        init(_ wal: WriteAheadLog) {
            self.wal = wal
        }
    }

    private let queue = DispatchQueue(label: "gantry.wal.writer")
    private let state: Mutex<State>
    private let log: Confined
    private let batchCount = Atomic<Int>(0)
    private let submissionCount = Atomic<Int>(0)

    /// Takes ownership of `wal`: nothing else may use it afterwards. `nextIndex` is the index `submitNext` gives
    /// its first command (the recovered last index + 1).
    package init(_ wal: WriteAheadLog, nextIndex: UInt64 = 1) {
        log = Confined(wal)
        state = Mutex(State(nextIndex: nextIndex))
    }

    /// Batches written (each one fdatasync).
    package var batches: Int { batchCount.load(ordering: .relaxed) }
    /// Submissions made durable.
    package var submissions: Int { submissionCount.load(ordering: .relaxed) }

    /// Queues entries (and optionally a hard state); `completion` runs on the writer thread once they are durable or
    /// the write failed.
    package func submit(
        _ entries: [Raft.Entry],
        hardState: Raft.HardState? = nil,
        completion: @escaping @Sendable (Result<Void, StorageError>) -> Void
    ) {
        let startDrain = state.withLock { state -> Bool in
            state.pending.append(Submission(entries: entries, hardState: hardState, completion: completion))
            if state.draining { return false }
            state.draining = true
            return true
        }
        if startDrain {
            queue.async { [self] in drain() }
        }
    }

    /// Appends one command as the next entry of `term`, numbered under the same lock that orders the batch, so
    /// concurrent submitters always produce a contiguous log. `completion` receives the entry's index once durable.
    package func submitNext(
        term: UInt64,
        command: [UInt8],
        completion: @escaping @Sendable (Result<UInt64, StorageError>) -> Void
    ) {
        let startDrain = state.withLock { state -> Bool in
            let index = state.nextIndex
            state.nextIndex += 1
            let entry = Raft.Entry(index: index, term: term, payload: .command(command))
            state.pending.append(
                Submission(entries: [entry], hardState: nil) { result in completion(result.map { index }) }
            )
            if state.draining { return false }
            state.draining = true
            return true
        }
        if startDrain {
            queue.async { [self] in drain() }
        }
    }

    private func drain() {
        while true {
            let batch = state.withLock { state -> [Submission] in
                let taken = state.pending
                state.pending = []
                if taken.isEmpty { state.draining = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            for submission in batch {
                log.wal.append(submission.entries)
                if let hardState = submission.hardState { log.wal.append(hardState) }
            }
            let result: Result<Void, StorageError>
            do {
                try log.wal.commit()
                result = .success(())
            } catch {
                result = .failure(error)
            }
            batchCount.add(1, ordering: .relaxed)
            submissionCount.add(batch.count, ordering: .relaxed)
            for submission in batch { submission.completion(result) }
        }
    }
}
