package import Raft
import Wire

extension WriteAheadLog {
    /// Opens the log in `directory` (created if missing), replaying every segment. `snapshot` is the position of the
    /// snapshot recovery loaded (entries at or below it are covered by it).
    ///
    /// A torn tail — an incomplete last batch at the end of the last segment — is cut off and reported. Anything
    /// else that fails to verify (a damaged record in an earlier batch or segment, a batch followed by a valid one, a
    /// gap in indexes, a missing segment) throws `StorageError.corrupt` naming the file and offset.
    package static func open(
        fileSystem: any FileSystem,
        directory: String,
        snapshot: Raft.LogPosition?,
        options: Options = Options(),
        report: inout RecoveryReport
    ) throws(StorageError) -> (log: WriteAheadLog, replayed: Replayed) {
        let log = WriteAheadLog(fileSystem: fileSystem, directory: directory, options: options)
        let names: [String]
        do {
            try fileSystem.makeDirectory(directory)
            names = try fileSystem.list(directory).filter { $0.hasPrefix("wal-") && $0.hasSuffix(".log") }
        } catch {
            throw .io(error)
        }
        var replay = Replay(snapshot: snapshot)
        for (position, name) in names.enumerated() {
            let isLast = position == names.count - 1
            try log.replaySegment(name, isLast: isLast, replay: &replay, report: &report)
        }
        try replay.finish(file: names.last ?? directory)
        // What was read back may have been in the page cache only: a process killed between its write and its
        // fdatasync leaves such a tail, and this node must not vote or answer on data a power cut would still take.
        if let file = log.file {
            do {
                try fileSystem.sync(file)
                // And its name: the previous process may have died between creating the segment and syncing the
                // directory.
                try fileSystem.syncDirectory(directory)
            } catch {
                throw .io(error)
            }
            log.reportDurable()
        }
        log.hardState = replay.state.hardState
        log.batchSequence = replay.batchSequence
        return (log, replay.state)
    }

    /// Replay state across segments.
    struct Replay {
        let snapshot: Raft.LogPosition?
        var state = Replayed()
        var batchSequence: UInt64 = 0
        /// Term of the entry written at the snapshot's index since the last reset, if any.
        var termAtSnapshot: UInt64?

        init(snapshot: Raft.LogPosition?) {
            self.snapshot = snapshot
            state.base = snapshot?.index ?? 0
        }

        mutating func apply(
            _ kind: WALRecord.Kind,
            _ payload: ArraySlice<UInt8>,
            file: String,
            offset: Int
        )
            throws(StorageError)
        {
            do {
                switch kind {
                case .entry:
                    let entry = try Raft.Entry.decode(Array(payload))
                    try add(entry, file: file, offset: offset)
                case .hardState:
                    state.hardState = try Raft.HardState.decode(Array(payload))
                case .logReset:
                    let position = try Raft.LogPosition.decode(Array(payload))
                    guard let snapshot, snapshot.index >= position.index else {
                        throw StorageError.corrupt(
                            file: file,
                            offset: offset,
                            reason: "the log was reset to snapshot \(position) but no snapshot at or after it is stored"
                        )
                    }
                    state.entries = []
                    state.base = snapshot.index
                    termAtSnapshot = position.index == snapshot.index ? position.term : nil
                case .segmentHeader, .commit:
                    throw StorageError.corrupt(file: file, offset: offset, reason: "misplaced \(kind) record")
                }
            } catch let error as WireError {
                throw .corrupt(file: file, offset: offset, reason: "undecodable \(kind) record: \(error)")
            } catch let error as StorageError {
                throw error
            } catch {
                throw .corrupt(file: file, offset: offset, reason: "\(error)")
            }
        }

        mutating func add(_ entry: Raft.Entry, file: String, offset: Int) throws(StorageError) {
            if let snapshot, entry.index == snapshot.index { termAtSnapshot = entry.term }
            guard entry.index > state.base else { return }
            let last = state.base + UInt64(state.entries.count)
            guard entry.index <= last + 1 else {
                throw .corrupt(
                    file: file,
                    offset: offset,
                    reason: "entry \(entry.position) leaves a gap after index \(last)"
                )
            }
            if entry.index <= last {
                state.entries.removeSubrange(Int(entry.index - state.base - 1)...)
            }
            state.entries.append(entry)
        }

        /// Checks the replayed log against the snapshot and the hard state.
        mutating func finish(file: String) throws(StorageError) {
            if let snapshot, snapshot.index > 0, termAtSnapshot != snapshot.term, !state.entries.isEmpty {
                // The snapshot became durable but the log reset that followed it did not: the entries after it
                // belong to the history the snapshot replaced (Figure 13 of the paper, "discard the entire log").
                state.entries = []
            }
            let last = state.base + UInt64(state.entries.count)
            if state.hardState.commit > last {
                throw .corrupt(
                    file: file,
                    offset: 0,
                    reason: "hard state commit \(state.hardState.commit) is beyond the last stored entry \(last)"
                )
            }
        }
    }

    /// Replays one segment; the last one may end in a torn batch, which is cut off.
    func replaySegment(
        _ name: String,
        isLast: Bool,
        replay: inout Replay,
        report: inout RecoveryReport
    ) throws(StorageError) {
        let bytes: [UInt8]
        let handle: FileDescriptor
        do {
            handle = try fileSystem.open(path(name), create: false)
            bytes = try fileSystem.read(handle, at: 0, count: try fileSystem.size(handle))
        } catch {
            throw .io(error)
        }
        var keepOpen = false
        defer { if !keepOpen { fileSystem.close(handle) } }
        // The segment header.
        guard case .success(let first) = WALRecord.parse(bytes, at: 0), first.kind == .segmentHeader else {
            if isLast && bytes.allSatisfy({ $0 == 0 }) {
                // Created and preallocated, but the crash came before its header was durable.
                report.truncatedTail = (name, 0, 0)
                do {
                    try fileSystem.remove(path(name))
                    try fileSystem.syncDirectory(directory)
                } catch {
                    throw .io(error)
                }
                return
            }
            throw .corrupt(file: name, offset: 0, reason: "missing or damaged segment header")
        }
        let sequence: UInt64
        do {
            let header = try WALRecord.decodeSegmentHeader(first.payload)
            guard header.version == WALRecord.version else {
                throw StorageError.unsupported(file: name, reason: "WAL format version \(header.version)")
            }
            sequence = header.sequence
        } catch let error as StorageError {
            throw error
        } catch {
            throw .corrupt(file: name, offset: 0, reason: "bad segment header: \(error)")
        }
        if let previous = segments.last, sequence != previous.sequence + 1 {
            throw .corrupt(
                file: name,
                offset: 0,
                reason: "segment \(sequence) follows \(previous.sequence): one is missing"
            )
        }
        segments.append(Segment(sequence: sequence, name: name, maxEntryIndex: segments.last?.maxEntryIndex ?? 0))
        report.segments.append(name)

        var position = first.next
        var batchStart = position
        var staged: [(kind: WALRecord.Kind, payload: ArraySlice<UInt8>, offset: Int)] = []
        while true {
            switch WALRecord.parse(bytes, at: position) {
            case .success(let record):
                if record.kind == .commit {
                    guard let commit = try? WALRecord.decodeCommit(record.payload),
                        // The first batch replayed may follow batches in segments already released.
                        commit.sequence == replay.batchSequence + 1
                            || (replay.batchSequence == 0 && commit.sequence > 0),
                        commit.length == position - batchStart,
                        CRC32C.checksum(bytes[batchStart..<position]) == commit.checksum
                    else {
                        try failBatch(
                            handle,
                            name: name,
                            bytes: bytes,
                            at: batchStart,
                            isLast: isLast,
                            reason: "batch commit record does not verify",
                            report: &report
                        )
                        keepOpen = isLast
                        return
                    }
                    for item in staged {
                        try replay.apply(item.kind, item.payload, file: name, offset: item.offset)
                        if item.kind == .entry, let index = try? Raft.Entry.decode(Array(item.payload)).index {
                            segments[segments.count - 1].maxEntryIndex = max(
                                segments[segments.count - 1].maxEntryIndex,
                                index
                            )
                        }
                    }
                    report.records += staged.count
                    replay.batchSequence = commit.sequence
                    staged.removeAll()
                    position = record.next
                    batchStart = position
                } else {
                    staged.append((record.kind, record.payload, position))
                    position = record.next
                }
            case .failure(.endOfData) where staged.isEmpty:
                // Clean end of the written part.
                if isLast { adopt(handle, endOfData: position) }
                keepOpen = isLast
                return
            case .failure(let failure):
                let reason: String
                switch failure {
                case .endOfData: reason = "batch ends without a commit record"
                case .incomplete: reason = "record runs past the end of the segment"
                case .damaged(let why): reason = why
                }
                try failBatch(
                    handle,
                    name: name,
                    bytes: bytes,
                    at: batchStart,
                    isLast: isLast,
                    reason: reason,
                    report: &report
                )
                keepOpen = isLast
                return
            }
        }
    }

    /// Continues writing in the last segment after its valid data.
    func adopt(_ handle: FileDescriptor, endOfData: Int) {
        file = handle
        offset = endOfData
    }

    /// A batch at `start` failed to verify. In the last segment, with no verifiable batch after it, it is a torn
    /// tail: cut it off. Otherwise it is corruption.
    func failBatch(
        _ handle: FileDescriptor,
        name: String,
        bytes: [UInt8],
        at start: Int,
        isLast: Bool,
        reason: String,
        report: inout RecoveryReport
    ) throws(StorageError) {
        guard isLast, !Self.containsVerifiableBatch(bytes, after: start) else {
            throw .corrupt(file: name, offset: start, reason: reason)
        }
        try truncateTorn(handle, name: name, bytes: bytes, at: start, report: &report)
        adopt(handle, endOfData: start)
    }

    /// Whether an intact commit record (its own checksum verifies) closes a batch starting at or after `start`.
    /// Batches are written whole and in order, so a crash can only leave the last batch without its commit record;
    /// when one is there, the batch was written completely and a checksum mismatch is damage to acknowledged data,
    /// which must never be cut off as if it were a torn write.
    static func containsVerifiableBatch(_ bytes: [UInt8], after start: Int) -> Bool {
        var candidate = start
        while candidate + WALRecord.headerSize <= bytes.count {
            // Padding is not checked here: a commit record whose checksum verifies was written whole (its padding
            // shares its sector), so damage to its padding is corruption of an acknowledged batch, not a torn write.
            if case .success(let record) = WALRecord.parse(bytes, at: candidate, checkPadding: false),
                record.kind == .commit,
                let commit = try? WALRecord.decodeCommit(record.payload),
                commit.length <= candidate - start
            {
                return true
            }
            candidate += 8
        }
        return false
    }

    /// Zeroes the segment from `start` on (keeping its preallocated size) and makes that durable.
    func truncateTorn(
        _ handle: FileDescriptor,
        name: String,
        bytes: [UInt8],
        at start: Int,
        report: inout RecoveryReport
    ) throws(StorageError) {
        let lastNonZero = bytes.lastIndex { $0 != 0 } ?? (start - 1)
        report.truncatedTail = (name, start, max(0, lastNonZero + 1 - start))
        do {
            try fileSystem.truncate(handle, to: start)
            try fileSystem.preallocate(handle, size: max(options.segmentSize, start))
            try fileSystem.sync(handle)
        } catch {
            throw .io(error)
        }
    }
}
