import Raft
import Synchronization

@testable import RaftStorage

#if canImport(Glibc)
import Glibc
#endif

/// A deterministic generator for tests: the core's SplitMix64.
struct TestRandom {
    var generator: Raft.SplitMix64

    init(state: UInt64) {
        generator = Raft.SplitMix64(seed: state)
    }

    mutating func next() -> UInt64 { generator.next() }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// An entry with a recognisable payload.
func entry(_ index: UInt64, term: UInt64, size: Int = 24) -> Raft.Entry {
    var bytes = [UInt8](repeating: 0, count: size)
    for position in bytes.indices { bytes[position] = UInt8(truncatingIfNeeded: index &* 31 &+ UInt64(position)) }
    return Raft.Entry(index: index, term: term, payload: .command(bytes))
}

/// A ready that persists `entries` and `hardState`.
func ready(_ entries: [Raft.Entry], hardState: Raft.HardState? = nil, snapshot: Raft.Snapshot? = nil) -> Raft.Ready {
    var ready = Raft.Ready()
    ready.entries = entries
    ready.hardState = hardState
    ready.snapshot = snapshot
    return ready
}

/// Small segments so tests cross segment boundaries often.
func smallSegments(_ size: Int = 4_096) -> DurableStorage.Options {
    var options = DurableStorage.Options()
    options.wal.segmentSize = size
    return options
}

/// The model of what a log should hold: applies the same writes as the storage under test.
struct LogModel: Equatable {
    var hardState = Raft.HardState()
    var snapshot: Raft.SnapshotMetadata?
    var entries: [Raft.Entry] = []

    mutating func apply(_ ready: Raft.Ready) {
        if let snapshot = ready.snapshot {
            self.snapshot = snapshot.metadata
            entries = []
        }
        if let first = ready.entries.first {
            entries.removeAll { $0.index >= first.index }
            entries.append(contentsOf: ready.entries)
        }
        if let hardState = ready.hardState { self.hardState = hardState }
    }

    /// Whether a recovered state is exactly this model.
    func matches(_ state: Raft.PersistentState) -> Bool {
        let recoveredCommit = max(hardState.commit, snapshot?.last.index ?? 0)
        return state.snapshot?.metadata == snapshot && state.entries == entries
            && state.hardState.term == hardState.term && state.hardState.vote == hardState.vote
            && state.hardState.commit == recoveredCommit
    }
}

/// A fresh temporary directory on the real disk, removed by `removeTree`.
func temporaryDirectory(_ label: String) -> String {
    let path = "/tmp/gantry-storage-test-\(getpid())-\(label)-\(TemporaryCounter.next())"
    _ = mkdir(path, 0o755)
    return path
}

/// Unique suffixes for temporary directories.
enum TemporaryCounter {
    static let lock = Mutex<Int>(0)

    static func next() -> Int {
        lock.withLock { value in
            value += 1
            return value
        }
    }
}
