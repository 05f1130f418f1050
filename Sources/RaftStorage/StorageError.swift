package import Raft

/// Why storage refused to open or to write. Every case names the file and, where it applies, the offset, and says
/// what the operator can do.
package enum StorageError: Error, Equatable, CustomStringConvertible {
    /// A file-system call failed.
    case io(FileSystemError)
    /// A stored record or snapshot is damaged somewhere a crash cannot explain.
    case corrupt(file: String, offset: Int, reason: String)
    /// An earlier write or sync failed; after a failed fsync the page cache cannot be trusted, so the log refuses
    /// every further write until the process restarts and recovers from what is really on disk.
    case failedEarlier(String)
    /// The directory holds something this version cannot read.
    case unsupported(file: String, reason: String)

    /// A message an operator can act on.
    package var description: String {
        switch self {
        case .io(let error):
            return "storage I/O failed: \(error)"
        case .corrupt(let file, let offset, let reason):
            return "corrupt data in \(file) at offset \(offset): \(reason). This node's data cannot be trusted: "
                + "stop it, move its data directory aside, and rejoin it to the cluster as a new member (remove "
                + "it, then add it again as a learner); the leader then sends it a snapshot"
        case .failedEarlier(let reason):
            return "storage stopped accepting writes after an earlier failure (\(reason)); restart the node so it "
                + "recovers from what is on disk"
        case .unsupported(let file, let reason):
            return "cannot read \(file): \(reason)"
        }
    }
}

/// What recovery found and did, for the shell to log.
package struct RecoveryReport: Sendable, Equatable {
    /// The snapshot loaded, if any.
    package var snapshot: Raft.SnapshotMetadata?
    /// Segments replayed.
    package var segments: [String] = []
    /// Records replayed.
    package var records = 0
    /// A torn tail cut off the last segment: the file, the offset it was cut at, and the bytes dropped. A torn tail
    /// is a write the crash interrupted; it was never acknowledged.
    package var truncatedTail: (file: String, offset: Int, bytes: Int)?

    /// Creates an empty report.
    package init() {}

    /// Compares everything.
    package static func == (lhs: RecoveryReport, rhs: RecoveryReport) -> Bool {
        lhs.snapshot == rhs.snapshot && lhs.segments == rhs.segments && lhs.records == rhs.records
            && lhs.truncatedTail?.file == rhs.truncatedTail?.file
            && lhs.truncatedTail?.offset == rhs.truncatedTail?.offset
            && lhs.truncatedTail?.bytes == rhs.truncatedTail?.bytes
    }
}
