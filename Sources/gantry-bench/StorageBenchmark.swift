import Dispatch
import Raft
import RaftStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `gantry-bench storage`: write-ahead-log appends per second and fdatasyncs per second for 1 KiB entries with 1,
/// 16 and 256 concurrent proposers (closed loop: each proposer submits its next entry when the previous one is
/// durable), next to the raw fdatasync rate of the same disk measured by the same program.
enum StorageBenchmark {
    /// Runs the whole table.
    static func run(directory: String, seconds: Double, entryBytes: Int, proposers: [Int]) {
        let fileSystem = POSIXFileSystem()
        _ = mkdir(directory, 0o755)
        print("storage: \(entryBytes) B entries, \(seconds) s per row, directory \(directory)")
        let raw = rawSyncRate(directory: directory, seconds: seconds, bytes: entryBytes)
        print("  raw write+fdatasync of \(entryBytes) B (the disk's limit for one writer): \(Int(raw)) /s")
        print("  | proposers | appends/s | fdatasyncs/s | entries per fdatasync | vs raw fdatasync |")
        print("  | --- | --- | --- | --- | --- |")
        for count in proposers {
            let runDirectory = directory + "/p\(count)"
            removeTree(runDirectory)
            do {
                let (storage, _, _) = try DurableStorage.open(fileSystem: fileSystem, directory: runDirectory)
                let log = GroupCommitLog(storage.wal)
                let (appends, syncs) = measure(log: log, proposers: count, seconds: seconds, bytes: entryBytes)
                let perSync = syncs > 0 ? appends / syncs : 0
                print(
                    "  | \(count) | \(Int(appends)) | \(Int(syncs)) | \(formatted(perSync)) | "
                        + "\(formatted(appends / raw))× |"
                )
            } catch {
                printError("gantry-bench: storage: \(error)")
                exit(1)
            }
            removeTree(runDirectory)
        }
    }

    /// Closed-loop proposers for `seconds`; returns appends and fdatasyncs per second.
    static func measure(log: GroupCommitLog, proposers: Int, seconds: Double, bytes: Int) -> (Double, Double) {
        let command = [UInt8](repeating: 0x5A, count: bytes)
        let deadline = monotonicSeconds() + seconds
        let running = DispatchGroup()
        let completed = Atomic<Int>(0)
        let start = monotonicSeconds()
        let startBatches = log.batches

        /// One proposer: submit, and on durability submit again until the deadline.
        @Sendable func propose() {
            log.submitNext(term: 1, command: command) { result in
                guard case .success = result else {
                    printError("gantry-bench: storage write failed: \(result)")
                    exit(1)
                }
                completed.add(1, ordering: .relaxed)
                if monotonicSeconds() < deadline {
                    propose()
                } else {
                    running.leave()
                }
            }
        }
        for _ in 0..<proposers {
            running.enter()
            propose()
        }
        running.wait()
        let elapsed = monotonicSeconds() - start
        return (
            Double(completed.load(ordering: .relaxed)) / elapsed,
            Double(log.batches - startBatches) / elapsed
        )
    }

    /// Sequential write + fdatasync of `bytes` at increasing offsets, as fast as the disk allows.
    static func rawSyncRate(directory: String, seconds: Double, bytes: Int) -> Double {
        let path = directory + "/raw-fdatasync"
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            printError("gantry-bench: cannot create \(path): errno \(errno)")
            exit(1)
        }
        defer {
            close(descriptor)
            unlink(path)
        }
        _ = posix_fallocate(descriptor, 0, 64 << 20)
        let block = [UInt8](repeating: 0xA5, count: bytes)
        var offset = 0
        var count = 0
        let start = monotonicSeconds()
        while monotonicSeconds() - start < seconds {
            _ = block.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, bytes, off_t(offset)) }
            _ = fdatasync(descriptor)
            offset = (offset + bytes) % (64 << 20)
            count += 1
        }
        return Double(count) / (monotonicSeconds() - start)
    }

    /// Removes a storage directory tree (two levels).
    static func removeTree(_ path: String) {
        let fileSystem = POSIXFileSystem()
        for name in (try? fileSystem.list(path)) ?? [] {
            let child = path + "/" + name
            for inner in (try? fileSystem.list(child)) ?? [] { unlink(child + "/" + inner) }
            if rmdir(child) != 0 { unlink(child) }
        }
        rmdir(path)
    }
}
