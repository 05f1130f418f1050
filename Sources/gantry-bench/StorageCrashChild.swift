import Dispatch
import Raft
import RaftStorage

#if canImport(Glibc)
import Glibc
#endif

/// The child of the real-disk crash test: recovers the log in `directory`, then appends 1 KiB entries forever with
/// eight closed-loop proposers through group commit, writing `durable <index>` to standard output as soon as each
/// entry is durable. The test kills it with SIGKILL at a random moment and checks that every reported index is
/// still there.
enum StorageCrashChild {
    static func run(directory: String) -> Never {
        let storage: DurableStorage
        let state: Raft.PersistentState
        do {
            (storage, state, _) = try DurableStorage.open(fileSystem: POSIXFileSystem(), directory: directory)
        } catch {
            printError("storage-crash-child: recovery failed: \(error)")
            exit(3)
        }
        let next = (state.entries.last?.index ?? state.snapshot?.metadata.last.index ?? 0) + 1
        let log = GroupCommitLog(storage.wal, nextIndex: next)
        let command = [UInt8](repeating: 0x42, count: 1_024)
        @Sendable func propose() {
            log.submitNext(term: 1, command: command) { result in
                guard case .success(let index) = result else {
                    printError("storage-crash-child: write failed: \(result)")
                    exit(4)
                }
                let line = "durable \(index)\n"
                _ = line.utf8CString.withUnsafeBufferPointer { write(STDOUT_FILENO, $0.baseAddress, $0.count - 1) }
                propose()
            }
        }
        for _ in 0..<8 { propose() }
        while true { sleep(60) }
    }
}
