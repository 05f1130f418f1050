import Glibc
import RaftStorage
import Testing

/// `content` after writing `bytes` at `offset`, zero-filling a gap: the reference the simulator is checked against.
private func applying(_ bytes: [UInt8], at offset: Int, to content: [UInt8]) -> [UInt8] {
    var result = content
    let end = offset + bytes.count
    if result.count < end { result += [UInt8](repeating: 0, count: end - result.count) }
    result.replaceSubrange(offset..<end, with: bytes)
    return result
}

/// Crash semantics and fault injection of the simulated disk.
@Suite("SimulatedFileSystem")
struct SimulatedFileSystemTests {
    @Test("a loseUnsynced crash keeps synced data and drops unsynced writes, truncates and preallocations")
    func loseUnsynced() throws {
        let fs = SimulatedFileSystem(seed: 7)
        try fs.makeDirectory("/d")
        try writeFile(fs, "/d/f", [1, 2, 3, 4])
        let file = try fs.open("/d/f", create: false)
        try fs.write(file, [9, 9], at: 2)
        try fs.write(file, [8], at: 10)
        try fs.truncate(file, to: 6)
        try fs.preallocate(file, size: 64)
        #expect(try fs.size(file) == 64)
        #expect(fs.durableContents("/d/f") == [1, 2, 3, 4])
        fs.crash(mode: .loseUnsynced)
        fs.restart()
        #expect(try readAll(fs, "/d/f") == [1, 2, 3, 4])
    }

    @Test("a created file whose directory was not synced is gone after a crash; once synced it stays")
    func creationNeedsDirectorySync() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        let file = try fs.open("/d/new", create: true)
        try fs.write(file, [1], at: 0)
        try fs.sync(file)
        #expect(fs.contents("/d/new") == [1])
        #expect(fs.durableContents("/d/new") == nil)
        fs.crash(mode: .loseUnsynced)
        fs.restart()
        #expect(!fs.exists("/d/new"))

        try writeFile(fs, "/d/new", [2])  // syncs the directory
        fs.crash(mode: .loseUnsynced)
        fs.restart()
        #expect(try readAll(fs, "/d/new") == [2])
    }

    @Test("a rename not followed by syncDirectory is undone by a crash; one followed by it survives")
    func renameNeedsDirectorySync() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        try writeFile(fs, "/d/meta.tmp", [1])
        try writeFile(fs, "/d/meta", [0])
        try fs.rename("/d/meta.tmp", to: "/d/meta")
        #expect(try readAll(fs, "/d/meta") == [1])
        fs.crash(mode: .loseUnsynced)
        fs.restart()
        #expect(try fs.list("/d") == ["meta", "meta.tmp"])
        #expect(try readAll(fs, "/d/meta") == [0])

        try fs.rename("/d/meta.tmp", to: "/d/meta")
        try fs.syncDirectory("/d")
        fs.crash(mode: .loseUnsynced)
        fs.restart()
        #expect(try fs.list("/d") == ["meta"])
        #expect(try readAll(fs, "/d/meta") == [1])
    }

    @Test("a remove not followed by syncDirectory is undone by a crash; one followed by it survives")
    func removeNeedsDirectorySync() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        try writeFile(fs, "/d/f", [5])
        try fs.remove("/d/f")
        fs.crash(mode: .tornWrites)
        fs.restart()
        #expect(try readAll(fs, "/d/f") == [5])
        try fs.remove("/d/f")
        try fs.syncDirectory("/d")
        fs.crash(mode: .tornWrites)
        fs.restart()
        #expect(!fs.exists("/d/f"))
    }

    @Test("makeDirectory is durable at once")
    func makeDirectoryIsDurable() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/a/b/c")
        fs.crash(mode: .loseUnsynced)
        fs.restart()
        #expect(fs.exists("/a/b/c"))
    }

    @Test("after a crash every call throws crashed until restart, and old descriptors stay invalid")
    func crashedMachineRefusesEverything() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        try writeFile(fs, "/d/f", [1, 2])
        let file = try fs.open("/d/f", create: false)
        fs.crash(mode: .loseUnsynced)
        #expect(fs.isCrashed)
        let calls: [(String, () throws -> Void)] = [
            ("open", { _ = try fs.open("/d/f", create: false) }),
            ("read", { _ = try fs.read(file, at: 0, count: 1) }),
            ("write", { try fs.write(file, [1], at: 0) }),
            ("size", { _ = try fs.size(file) }),
            ("truncate", { try fs.truncate(file, to: 0) }),
            ("preallocate", { try fs.preallocate(file, size: 10) }),
            ("sync", { try fs.sync(file) }),
            ("rename", { try fs.rename("/d/f", to: "/d/g") }),
            ("remove", { try fs.remove("/d/f") }),
            ("list", { _ = try fs.list("/d") }),
            ("makeDirectory", { try fs.makeDirectory("/e") }),
            ("syncDirectory", { try fs.syncDirectory("/d") }),
        ]
        for (name, call) in calls {
            #expect(throws: FileSystemError.crashed, "\(name)") { try call() }
        }
        #expect(!fs.exists("/d/f"))
        let before = fs.operationCount
        fs.restart()
        #expect(fs.operationCount == before)
        fs.close(file)  // the owner of a stale descriptor may still close it
        let reopened = try fs.open("/d/f", create: false)
        #expect(reopened.rawValue > file.rawValue)
        #expect(try fs.read(reopened, at: 0, count: 10) == [1, 2])
    }

    @Test("tornWrites keeps the durable data and a prefix of the unsynced writes, at most the last one torn")
    func tornWritesArePrefixes() throws {
        let base = [UInt8](repeating: 0xAA, count: 32)
        let writes: [(offset: Int, bytes: [UInt8])] = [
            (0, [UInt8](repeating: 1, count: 8)),
            (28, [UInt8](repeating: 2, count: 8)),  // grows the file
            (40, [UInt8](repeating: 3, count: 10)),  // leaves a gap
            (4, [UInt8](repeating: 4, count: 6)),  // overlaps the first
        ]
        // Every state the disk may be left in: k whole writes, then possibly the first `t` bytes of the next.
        var allowed: [[UInt8]: String] = [:]
        var whole = base
        for (index, write) in writes.enumerated() {
            allowed[whole] = "\(index) writes"
            for torn in 1..<write.bytes.count {
                allowed[applying(Array(write.bytes.prefix(torn)), at: write.offset, to: whole)] =
                    "\(index) writes and \(torn) bytes of the next"
            }
            whole = applying(write.bytes, at: write.offset, to: whole)
        }
        allowed[whole] = "all writes"

        var seen: Set<String> = []
        for seed in UInt64(0)..<400 {
            let fs = SimulatedFileSystem(seed: seed)
            try fs.makeDirectory("/d")
            try writeFile(fs, "/d/f", base)
            let file = try fs.open("/d/f", create: false)
            for write in writes { try fs.write(file, write.bytes, at: write.offset) }
            fs.crash(mode: .tornWrites)
            fs.restart()
            let survivor = try readAll(fs, "/d/f")
            let outcome = try #require(allowed[survivor], "seed \(seed): \(survivor) is not a prefix of the writes")
            seen.insert(outcome)
        }
        #expect(seen.contains("0 writes"))
        #expect(seen.contains("all writes"))
        #expect(seen.contains { $0.contains("bytes of the next") })
        #expect(seen.count >= 10)
    }

    @Test("tornWrites may or may not keep an unsynced truncate, and never loses synced data")
    func tornWritesAndTruncates() throws {
        var outcomes: Set<[UInt8]> = []
        for seed in UInt64(0)..<64 {
            let fs = SimulatedFileSystem(seed: seed)
            try fs.makeDirectory("/d")
            try writeFile(fs, "/d/f", Array(0..<100))
            let file = try fs.open("/d/f", create: false)
            try fs.truncate(file, to: 10)
            fs.crash(mode: .tornWrites)
            fs.restart()
            outcomes.insert(try readAll(fs, "/d/f"))
        }
        #expect(outcomes == [Array(0..<100), Array(0..<10)])
    }

    @Test("a crash is a function of the seed")
    func crashesAreDeterministic() throws {
        func survivor(seed: UInt64) throws -> [[UInt8]] {
            let fs = SimulatedFileSystem(seed: seed)
            try fs.makeDirectory("/d")
            var files: [FileDescriptor] = []
            for index in 0..<5 {
                try writeFile(fs, "/d/\(index)", [])
                files.append(try fs.open("/d/\(index)", create: false))
            }
            for round in 0..<6 {
                for file in files { try fs.write(file, [UInt8](repeating: UInt8(round), count: 7), at: round * 5) }
            }
            fs.crash(mode: .tornWrites)
            fs.restart()
            return try (0..<5).map { try readAll(fs, "/d/\($0)") }
        }
        for seed in UInt64(0)..<20 { #expect(try survivor(seed: seed) == survivor(seed: seed), "seed \(seed)") }
        #expect(Set(try (UInt64(0)..<20).map { try survivor(seed: $0) }).count > 10)
    }

    @Test("operationCount counts only mutating calls, failed ones included")
    func operationCount() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        #expect(fs.operationCount == 0)
        let file = try fs.open("/d/f", create: true)  // 1
        _ = try fs.open("/d/f", create: false)
        try fs.write(file, [1], at: 0)  // 2
        _ = try fs.read(file, at: 0, count: 1)
        _ = try fs.size(file)
        _ = try fs.list("/d")
        _ = fs.exists("/d/f")
        try fs.truncate(file, to: 4)  // 3
        try fs.preallocate(file, size: 8)  // 4
        try fs.sync(file)  // 5
        try fs.syncDirectory("/d")  // 6
        try fs.rename("/d/f", to: "/d/g")  // 7
        try fs.remove("/d/g")  // 8
        fs.failNext(.write, errno: EIO)
        #expect(throws: FileSystemError.posix(errno: EIO, call: "pwrite", path: "/d/f")) {
            try fs.write(file, [1], at: 0)  // 9
        }
        #expect(fs.operationCount == 9)
    }

    /// A small workload of one file and its directory, one step per mutating call.
    private static let workload: [@Sendable (SimulatedFileSystem) throws -> Void] = [
        { fs in fs.close(try fs.open("/d/log", create: true)) },
        { fs in try fs.syncDirectory("/d") },
        { fs in try fs.withFile { try fs.write($0, [1, 2, 3], at: 0) } },
        { fs in try fs.withFile { try fs.sync($0) } },
        { fs in try fs.withFile { try fs.write($0, [4, 5], at: 3) } },
        { fs in try fs.withFile { try fs.sync($0) } },
        { fs in try fs.rename("/d/log", to: "/d/final") },
        { fs in try fs.syncDirectory("/d") },
    ]

    @Test("crash(atOperation:) fires at exactly that call, instead of performing it, and then refuses all calls")
    func crashAtOperation() throws {
        for operation in 1...Self.workload.count {
            let fs = SimulatedFileSystem(seed: 3)
            try fs.makeDirectory("/d")
            fs.crash(atOperation: operation, mode: .loseUnsynced)
            // The reference: the same steps before `operation`, then an ordinary crash.
            let reference = SimulatedFileSystem(seed: 3)
            try reference.makeDirectory("/d")
            for (index, step) in Self.workload.enumerated() {
                if index + 1 < operation {
                    try step(fs)
                    try step(reference)
                } else {
                    #expect(throws: FileSystemError.crashed, "operation \(operation), step \(index + 1)") {
                        try step(fs)
                    }
                }
            }
            reference.crash(mode: .loseUnsynced)
            fs.restart()
            reference.restart()
            #expect(try fs.list("/d") == reference.list("/d"), "operation \(operation)")
            for name in ["log", "final"] {
                #expect(fs.contents("/d/" + name) == reference.contents("/d/" + name), "operation \(operation)")
            }
        }
    }

    @Test("failNext fails exactly that many calls of its kind, with its errno and without effect")
    func failNext() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        try writeFile(fs, "/d/f", [1, 2, 3])
        let file = try fs.open("/d/f", create: false)
        fs.failNext(.write, errno: EIO, count: 2)
        fs.failNext(.preallocate, errno: ENOSPC)
        for _ in 0..<2 {
            #expect(throws: FileSystemError.posix(errno: EIO, call: "pwrite", path: "/d/f")) {
                try fs.write(file, [9], at: 0)
            }
        }
        #expect(throws: FileSystemError.posix(errno: ENOSPC, call: "posix_fallocate", path: "/d/f")) {
            try fs.preallocate(file, size: 100)
        }
        #expect(try fs.size(file) == 3)
        try fs.write(file, [9], at: 0)
        try fs.preallocate(file, size: 4)
        #expect(fs.contents("/d/f") == [9, 2, 3, 0])

        fs.failNext(.read, errno: EIO)
        fs.failNext(.truncate, errno: EROFS)
        #expect(throws: FileSystemError.posix(errno: EIO, call: "pread", path: "/d/f")) {
            try fs.read(file, at: 0, count: 1)
        }
        #expect(throws: FileSystemError.posix(errno: EROFS, call: "ftruncate", path: "/d/f")) {
            try fs.truncate(file, to: 0)
        }
        #expect(try fs.read(file, at: 0, count: 1) == [9])

        fs.failNext(.open, errno: EMFILE)
        fs.failNext(.rename, errno: EIO)
        fs.failNext(.remove, errno: EACCES)
        #expect(throws: FileSystemError.posix(errno: EMFILE, call: "open", path: "/d/g")) {
            try fs.open("/d/g", create: true)
        }
        #expect(throws: FileSystemError.posix(errno: EIO, call: "rename", path: "/d/f")) {
            try fs.rename("/d/f", to: "/d/h")
        }
        #expect(throws: FileSystemError.posix(errno: EACCES, call: "unlink", path: "/d/f")) {
            try fs.remove("/d/f")
        }
        #expect(try fs.list("/d") == ["f"])

        fs.failNext(.syncDirectory, errno: EIO)
        try fs.rename("/d/f", to: "/d/h")
        #expect(throws: FileSystemError.posix(errno: EIO, call: "fsync", path: "/d")) { try fs.syncDirectory("/d") }
        fs.crash(mode: .loseUnsynced)
        fs.restart()
        #expect(try fs.list("/d") == ["f"])
        fs.failNext(.open, errno: EIO, count: 0)  // a count of zero injects nothing
        _ = try fs.open("/d/f", create: false)
    }

    @Test("a failed sync drops the unsynced writes: the file reads as durable, and a retry succeeds with nothing")
    func failedSyncDropsDirtyPages() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        try writeFile(fs, "/d/f", [1, 2])
        let file = try fs.open("/d/f", create: false)
        try fs.write(file, [3, 4], at: 2)
        fs.failNext(.sync, errno: EIO)
        #expect(throws: FileSystemError.posix(errno: EIO, call: "fdatasync", path: "/d/f")) { try fs.sync(file) }
        #expect(try fs.read(file, at: 0, count: 10) == [1, 2])
        try fs.sync(file)  // the retry "succeeds"
        try fs.write(file, [5], at: 5)
        try fs.sync(file)
        #expect(fs.durableContents("/d/f") == [1, 2, 0, 0, 0, 5])
    }

    @Test("flipBit changes exactly one bit of both the durable and the current content")
    func flipBit() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        let original = [UInt8](repeating: 0x5A, count: 16)
        try writeFile(fs, "/d/f", original)
        fs.flipBit(path: "/d/f", byteOffset: 9, bit: 6)
        for content in [fs.contents("/d/f"), fs.durableContents("/d/f")] {
            let flipped = try #require(content)
            let differing = zip(original, flipped).map { ($0 ^ $1).nonzeroBitCount }
            #expect(differing.reduce(0, +) == 1)
            #expect(flipped[9] == 0x5A ^ 0x40)
        }
        fs.crash(mode: .loseUnsynced)
        fs.restart()
        #expect(try readAll(fs, "/d/f")[9] == 0x1A)
    }

    @Test("descriptors are never reused, after close or restart")
    func descriptorsAreNeverReused() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        var issued: Set<FileDescriptor> = []
        for round in 0..<3 {
            for _ in 0..<4 {
                let file = try fs.open("/d/f", create: true)
                #expect(issued.insert(file).inserted)
                if round != 1 { fs.close(file) }
            }
            fs.crash(mode: .loseUnsynced)
            fs.restart()
        }
    }

    @Test("using a closed descriptor traps, as EBADF does on the real file system")
    func closedDescriptorTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let fs = SimulatedFileSystem()
            let file = try fs.open("/f", create: true)
            fs.close(file)
            _ = try? fs.size(file)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("is not open"))
    }

    @Test("using a descriptor a crash invalidated traps after restart")
    func invalidatedDescriptorTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let fs = SimulatedFileSystem()
            let file = try fs.open("/f", create: true)
            fs.crash(mode: .loseUnsynced)
            fs.restart()
            _ = try? fs.size(file)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("invalidated by a crash"))
    }

    @Test("a removed file stays readable through its descriptor after its directory is synced")
    func removedOpenFileSurvivesCollection() throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        try writeFile(fs, "/d/f", [7, 7, 7])
        let file = try fs.open("/d/f", create: false)
        try fs.remove("/d/f")
        try fs.syncDirectory("/d")
        #expect(try fs.read(file, at: 0, count: 3) == [7, 7, 7])
        fs.close(file)
        #expect(fs.contents("/d/f") == nil)
    }

    @Test("calls from many threads at once are safe")
    func concurrentCalls() async throws {
        let fs = SimulatedFileSystem()
        try fs.makeDirectory("/d")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let file = try fs.open("/d/\(task)", create: true)
                    for offset in 0..<200 { try fs.write(file, [UInt8(task)], at: offset) }
                    try fs.sync(file)
                    fs.close(file)
                }
            }
            try await group.waitForAll()
        }
        for task in 0..<8 { #expect(fs.contents("/d/\(task)") == [UInt8](repeating: UInt8(task), count: 200)) }
        #expect(fs.operationCount == 8 * 202)
    }
}

extension SimulatedFileSystem {
    /// Runs `body` with /d/log open.
    fileprivate func withFile(_ body: (FileDescriptor) throws -> Void) throws {
        let file = try open("/d/log", create: false)
        defer { close(file) }
        try body(file)
    }
}
