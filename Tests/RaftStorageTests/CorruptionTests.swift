import Raft
import Testing

@testable import RaftStorage

/// Writes `batches` batches of entries into a fresh simulated node directory "/n"; returns the file system.
func filledFileSystem(batches: Int = 60, seed: UInt64 = 1) throws -> SimulatedFileSystem {
    let fileSystem = SimulatedFileSystem(seed: seed)
    let (storage, _, _) = try DurableStorage.open(
        fileSystem: fileSystem,
        directory: "/n",
        options: smallSegments(2_048)
    )
    var index: UInt64 = 0
    for _ in 0..<batches {
        let entries = (0..<3).map { _ -> Raft.Entry in
            index += 1
            return entry(index, term: 1, size: 40)
        }
        try storage.save(ready(entries, hardState: Raft.HardState(term: 1, vote: 1, commit: index)))
    }
    return fileSystem
}

/// Expects `open` to refuse with corruption in `file`, and returns the reported offset.
@discardableResult
func expectCorrupt(
    _ fileSystem: SimulatedFileSystem,
    file expectedFile: String,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Int? {
    do {
        _ = try DurableStorage.open(fileSystem: fileSystem, directory: "/n", options: smallSegments(2_048))
        Issue.record("recovery accepted corrupt data", sourceLocation: sourceLocation)
        return nil
    } catch {
        guard case .corrupt(let file, let offset, _) = error else {
            Issue.record("expected .corrupt, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(file == expectedFile, sourceLocation: sourceLocation)
        // The message tells the operator the way out.
        #expect(error.description.contains("rejoin"), sourceLocation: sourceLocation)
        return offset
    }
}

@Suite("Corruption")
struct CorruptionTests {
    @Test(
        "a flipped bit in an earlier segment is corruption, named by file and offset",
        arguments: [40, 333, 900, 1_500]
    )
    func bitFlipInEarlierSegment(byteOffset: Int) throws {
        let fileSystem = try filledFileSystem()
        let name = WriteAheadLog.segmentName(1)
        fileSystem.flipBit(path: "/n/wal/" + name, byteOffset: byteOffset, bit: 3)
        if let offset = expectCorrupt(fileSystem, file: name) {
            #expect(offset <= byteOffset)
        }
    }

    @Test("every written byte of an earlier segment is checked: a flip anywhere, padding included, is corruption")
    func everyByteChecked() throws {
        let fileSystem = try filledFileSystem()
        let name = WriteAheadLog.segmentName(1)
        let bytes = try #require(fileSystem.contents("/n/wal/" + name))
        // Through the end of the last record, its padding included.
        let end = (try #require(bytes.lastIndex { $0 != 0 }) + 8) & ~7
        var accepted: [Int] = []
        for byteOffset in 0..<end {
            fileSystem.flipBit(path: "/n/wal/" + name, byteOffset: byteOffset, bit: byteOffset % 8)
            do {
                _ = try DurableStorage.open(fileSystem: fileSystem, directory: "/n", options: smallSegments(2_048))
                accepted.append(byteOffset)
            } catch {
                guard case .corrupt = error else {
                    Issue.record("byte \(byteOffset): expected .corrupt, got \(error)")
                    return
                }
            }
            fileSystem.flipBit(path: "/n/wal/" + name, byteOffset: byteOffset, bit: byteOffset % 8)
        }
        #expect(accepted.isEmpty, "flips recovery did not notice, at bytes \(accepted.prefix(10))")
    }

    @Test("a flipped bit in the padding of the last segment's last commit record is corruption, not a torn tail")
    func bitFlipInLastCommitPadding() throws {
        let fileSystem = try filledFileSystem()
        let last = try #require(try fileSystem.list("/n/wal").last)
        let bytes = try #require(fileSystem.contents("/n/wal/" + last))
        var offset = 0
        while case .success(let record) = WALRecord.parse(bytes, at: offset) { offset = record.next }
        // `offset` is the end of the last record, a commit record (16-byte payload: 4 bytes of padding).
        #expect(WALRecord.size(payloadLength: 16) - WALRecord.headerSize - 16 == 4)
        fileSystem.flipBit(path: "/n/wal/" + last, byteOffset: offset - 1, bit: 5)
        expectCorrupt(fileSystem, file: last)
    }

    @Test("a flipped bit in the last, acknowledged batch is corruption, not a torn tail")
    func bitFlipInLastBatch() throws {
        let fileSystem = try filledFileSystem()
        let wal = try fileSystem.list("/n/wal")
        let last = try #require(wal.last)
        let bytes = try #require(fileSystem.contents("/n/wal/" + last))
        let end = try #require(bytes.lastIndex { $0 != 0 })
        // A payload byte of the last batch: well before its 32-byte commit record.
        fileSystem.flipBit(path: "/n/wal/" + last, byteOffset: end - 60, bit: 0)
        expectCorrupt(fileSystem, file: last)
    }

    @Test("a torn write at the end of the last segment is cut off, reported, and nothing acknowledged is lost")
    func tornTail() throws {
        var tornSeen = 0
        for seed in 1...120 {
            let fileSystem = try filledFileSystem(batches: 20, seed: UInt64(seed))
            let (storage, before, _) = try DurableStorage.open(
                fileSystem: fileSystem,
                directory: "/n",
                options: smallSegments(2_048)
            )
            // Crash at one of the next few calls: usually the fdatasync of the next batch, whose write is then in
            // the page cache and tears (when the batch starts a segment, the crash may hit that instead).
            fileSystem.crash(atOperation: fileSystem.operationCount + 1 + seed % 2, mode: .tornWrites)
            _ = try? storage.save(ready([entry(61, term: 1, size: 300), entry(62, term: 1, size: 300)]))
            if !fileSystem.isCrashed { fileSystem.crash(mode: .tornWrites) }
            fileSystem.restart()
            let (_, after, report) = try DurableStorage.open(
                fileSystem: fileSystem,
                directory: "/n",
                options: smallSegments(2_048)
            )
            #expect(
                after.entries.map(\.index) == before.entries.map(\.index)
                    || after.entries.count == before.entries.count + 2
            )
            if let torn = report.truncatedTail, torn.bytes > 0 {
                tornSeen += 1
                #expect(after.entries.map(\.index) == before.entries.map(\.index))
            }
        }
        #expect(tornSeen >= 10, "torn tails were produced and repaired")
    }

    @Test("a flipped bit in the newest snapshot is corruption")
    func snapshotBitFlip() throws {
        let fileSystem = try filledFileSystem(batches: 10)
        let (storage, _, _) = try DurableStorage.open(
            fileSystem: fileSystem,
            directory: "/n",
            options: smallSegments(2_048)
        )
        let snapshot = Raft.Snapshot(
            metadata: Raft.SnapshotMetadata(
                last: Raft.LogPosition(index: 20, term: 1),
                configuration: Raft.Configuration(voters: [1])
            ),
            data: Array(repeating: 5, count: 1_000)
        )
        try storage.saveSnapshot(snapshot)
        let name = SnapshotStore.name(for: snapshot.metadata.last)
        fileSystem.flipBit(path: "/n/snap/" + name, byteOffset: 500, bit: 6)
        expectCorrupt(fileSystem, file: name)
        // Streaming it to a follower is refused too: the reader verifies the whole file before the first chunk.
        do {
            _ = try storage.snapshots.openReader(name)
            Issue.record("a damaged snapshot was opened for streaming")
        } catch {
            guard case .corrupt(let file, _, _) = error else {
                Issue.record("expected .corrupt, got \(error)")
                return
            }
            #expect(file == name)
        }
    }

    @Test("a gap in indexes is corruption")
    func gap() throws {
        let fileSystem = SimulatedFileSystem(seed: 7)
        var report = RecoveryReport()
        let (wal, _) = try WriteAheadLog.open(
            fileSystem: fileSystem,
            directory: "/n/wal",
            snapshot: nil,
            report: &report
        )
        wal.append((1...5).map { entry($0, term: 1) })
        try wal.commit()
        wal.append([entry(7, term: 1)])
        try wal.commit()
        let offset = expectCorrupt(fileSystem, file: WriteAheadLog.segmentName(1))
        #expect(offset != nil)
    }

    @Test("a missing segment is corruption")
    func missingSegment() throws {
        let fileSystem = try filledFileSystem()
        let names = try fileSystem.list("/n/wal")
        #expect(names.count >= 3)
        try fileSystem.remove("/n/wal/" + names[1])
        expectCorrupt(fileSystem, file: names[2])
    }
}
