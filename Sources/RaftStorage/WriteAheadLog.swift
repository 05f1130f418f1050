package import Raft
import Wire

/// The write-ahead log: Raft entries, hard states and log resets in preallocated, checksummed segment files
/// (`wal-<sequence>.log`, see `WALRecord` for the format). Not thread-safe: one owner (the node's storage thread)
/// calls it. Hard state lives in the same log as the entries rather than in a separate file: one fdatasync makes
/// a whole `Ready` durable, instead of one for the entries and a write-rename-fsync-fsync dance for the hard state.
/// Every segment starts with the current hard state, so deleting old segments never loses it.
package final class WriteAheadLog {
    /// Tuning.
    package struct Options: Sendable {
        /// Bytes a segment is preallocated to; a batch that does not fit starts a new segment.
        package var segmentSize = 64 << 20
        /// Test mode only: a file to which the log writes, after every fdatasync, the segment and offset now durable
        /// (one fixed-width line, `<segment> <offset>`). A chaos harness reads it after a `kill -9` (which keeps the
        /// page cache) and drops what a power cut at that moment could have lost. Not synced itself.
        package var durableOffsetsFile: String?

        /// Default options.
        package init() {}
    }

    /// What replaying the log found.
    package struct Replayed: Sendable {
        /// The last hard state written.
        package var hardState = Raft.HardState()
        /// The entries after `base`, contiguous.
        package var entries: [Raft.Entry] = []
        /// Index of the entry before `entries` (the snapshot's, or a log reset's).
        package var base: UInt64 = 0
    }

    struct Segment {
        var sequence: UInt64
        var name: String
        /// Highest entry index written in this segment (0 if none).
        var maxEntryIndex: UInt64
    }

    let fileSystem: any FileSystem
    let directory: String
    let options: Options
    var segments: [Segment] = []
    var file: FileDescriptor?
    var offset = 0
    var batchSequence: UInt64 = 0
    var pending: [(kind: WALRecord.Kind, payload: [UInt8])] = []
    var pendingMaxEntryIndex: UInt64 = 0
    var hardState = Raft.HardState()
    var failure: String?
    var buffer: [UInt8] = []
    var durableOffsets: FileDescriptor?

    init(fileSystem: any FileSystem, directory: String, options: Options) {
        self.fileSystem = fileSystem
        self.directory = directory
        self.options = options
    }

    deinit {
        if let file { fileSystem.close(file) }
        if let durableOffsets { fileSystem.close(durableOffsets) }
    }

    static func segmentName(_ sequence: UInt64) -> String {
        let hex = String(sequence, radix: 16)
        return "wal-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".log"
    }

    func path(_ name: String) -> String { directory + "/" + name }

    // MARK: Writing

    /// Queues entries for the next `commit()`.
    package func append(_ entries: [Raft.Entry]) {
        for entry in entries {
            pending.append((.entry, entry.encoded()))
            pendingMaxEntryIndex = max(pendingMaxEntryIndex, entry.index)
        }
    }

    /// Queues a hard state for the next `commit()`.
    package func append(_ state: Raft.HardState) {
        hardState = state
        pending.append((.hardState, state.encoded()))
    }

    /// Queues a log reset (a snapshot from the leader replaced the log) for the next `commit()`. The snapshot file
    /// must already be durable.
    package func appendLogReset(to position: Raft.LogPosition) {
        pending.append((.logReset, position.encoded()))
    }

    /// Whether anything is queued.
    package var hasPending: Bool { !pending.isEmpty }

    /// Writes every queued record as one batch and makes it durable with one fdatasync. On failure the log refuses
    /// all further writes (see `StorageError.failedEarlier`).
    package func commit() throws(StorageError) {
        if let failure { throw .failedEarlier(failure) }
        guard !pending.isEmpty else { return }
        do {
            try writeBatch()
        } catch {
            failure = error.description
            throw error
        }
    }

    private func writeBatch() throws(StorageError) {
        buffer.removeAll(keepingCapacity: true)
        let estimated = pending.reduce(0) { $0 + WALRecord.size(payloadLength: $1.payload.count) } + 64
        if file == nil || (offset + estimated > options.segmentSize && offset > WALRecord.size(payloadLength: 20)) {
            try startSegment()
            // Each segment carries the current hard state, so older segments can be deleted.
            if !pending.contains(where: { $0.kind == .hardState }) {
                pending.insert((.hardState, hardState.encoded()), at: 0)
            }
        }
        for record in pending {
            WALRecord.append(record.kind, payload: record.payload, to: &buffer)
        }
        batchSequence += 1
        let checksum = CRC32C.checksum(buffer[...])
        WALRecord.append(
            .commit,
            payload: WALRecord.commit(sequence: batchSequence, length: buffer.count, checksum: checksum),
            to: &buffer
        )
        let target = file!
        do {
            try fileSystem.write(target, buffer, at: offset)
            try fileSystem.sync(target)
        } catch {
            throw .io(error)
        }
        offset += buffer.count
        reportDurable()
        segments[segments.count - 1].maxEntryIndex = max(
            segments[segments.count - 1].maxEntryIndex,
            pendingMaxEntryIndex
        )
        pending.removeAll(keepingCapacity: true)
        pendingMaxEntryIndex = 0
    }

    /// Creates, preallocates and registers the next segment, and writes its header.
    func startSegment() throws(StorageError) {
        let sequence = (segments.last?.sequence ?? 0) + 1
        let name = Self.segmentName(sequence)
        do {
            if let file { fileSystem.close(file) }
            file = nil
            let created = try fileSystem.open(path(name), create: true)
            file = created
            try fileSystem.preallocate(created, size: options.segmentSize)
            var header: [UInt8] = []
            WALRecord.append(.segmentHeader, payload: WALRecord.segmentHeader(sequence: sequence), to: &header)
            try fileSystem.write(created, header, at: 0)
            try fileSystem.sync(created)
            try fileSystem.syncDirectory(directory)
            offset = header.count
        } catch {
            throw .io(error)
        }
        segments.append(Segment(sequence: sequence, name: name, maxEntryIndex: segments.last?.maxEntryIndex ?? 0))
        reportDurable()
    }

    /// Deletes whole segments, oldest first, whose entries all lie at or below `index` (the oldest retained
    /// snapshot's). The current segment is always kept.
    package func release(through index: UInt64) throws(StorageError) {
        var removed = false
        while segments.count > 1, segments[0].maxEntryIndex <= index {
            do {
                try fileSystem.remove(path(segments[0].name))
            } catch {
                throw .io(error)
            }
            segments.removeFirst()
            removed = true
        }
        if removed {
            do { try fileSystem.syncDirectory(directory) } catch { throw .io(error) }
        }
    }

    /// Names of the live segments, oldest first.
    package var segmentNames: [String] { segments.map(\.name) }

    /// Writes the durable position for `Options.durableOffsetsFile` (test mode; no-op otherwise). Best effort: a
    /// failure here never fails the log.
    func reportDurable() {
        guard let path = options.durableOffsetsFile, let name = segments.last?.name else { return }
        if durableOffsets == nil { durableOffsets = try? fileSystem.open(path, create: true) }
        guard let durableOffsets else { return }
        let digits = String(offset)
        let line = name + " " + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + "\n"
        try? fileSystem.write(durableOffsets, Array(line.utf8), at: 0)
    }
}
