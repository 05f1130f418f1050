package import Raft
import Wire

/// Snapshot files `snap-<index>-<term>.snap` in one directory:
///
///     "GNTRYSNP" | version: u32 | metadata length: u32 | metadata | data | data length: u64 | crc32c: u32
///
/// where the checksum covers everything before it (the length trails the data so a streamed snapshot is written in
/// one pass, checksummed as it goes). A snapshot is written to a temporary file, fsynced, renamed into
/// place and the directory fsynced; only then does it exist.
package final class SnapshotStore {
    static let magic: [UInt8] = Array("GNTRYSNP".utf8)
    static let version: UInt32 = 1

    let fileSystem: any FileSystem
    let directory: String

    /// Opens the store, creating the directory and removing temporary files a crash left behind.
    package init(fileSystem: any FileSystem, directory: String) throws(StorageError) {
        self.fileSystem = fileSystem
        self.directory = directory
        do {
            try fileSystem.makeDirectory(directory)
            for name in try fileSystem.list(directory) where name.hasSuffix(".tmp") {
                try fileSystem.remove(directory + "/" + name)
            }
        } catch {
            throw .io(error)
        }
    }

    static func name(for position: Raft.LogPosition) -> String {
        "snap-\(hex16(position.index))-\(hex16(position.term)).snap"
    }

    static func hex16(_ value: UInt64) -> String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    /// Stored snapshot files, oldest first.
    package func names() throws(StorageError) -> [String] {
        do {
            return try fileSystem.list(directory).filter { $0.hasPrefix("snap-") && $0.hasSuffix(".snap") }
        } catch {
            throw .io(error)
        }
    }

    /// Writes a snapshot durably.
    package func save(_ snapshot: Raft.Snapshot) throws(StorageError) {
        let writer = try beginWriting(snapshot.metadata)
        try writer.append(snapshot.data)
        try writer.finish()
    }

    /// Starts writing a snapshot whose data arrives in chunks (as when streamed from the leader).
    package func beginWriting(_ metadata: Raft.SnapshotMetadata) throws(StorageError) -> SnapshotWriter {
        try SnapshotWriter(store: self, metadata: metadata)
    }

    /// Loads and verifies the newest snapshot. A damaged one is corruption: the node must not start from an older
    /// state silently.
    package func loadNewest() throws(StorageError) -> Raft.Snapshot? {
        guard let newest = try names().last else { return nil }
        return try load(newest)
    }

    /// Loads and verifies one snapshot file.
    package func load(_ name: String) throws(StorageError) -> Raft.Snapshot {
        let bytes: [UInt8]
        do {
            let file = try fileSystem.open(directory + "/" + name, create: false)
            defer { fileSystem.close(file) }
            bytes = try fileSystem.read(file, at: 0, count: try fileSystem.size(file))
        } catch {
            throw .io(error)
        }
        guard bytes.count >= 8 + 4 + 4 + 8 + 4, Array(bytes[0..<8]) == Self.magic else {
            throw .corrupt(file: name, offset: 0, reason: "not a Gantry snapshot (bad magic or too short)")
        }
        let stored = WALRecord.readUInt32(bytes, bytes.count - 4)
        guard CRC32C.checksum(bytes[0..<(bytes.count - 4)]) == stored else {
            throw .corrupt(file: name, offset: bytes.count - 4, reason: "snapshot checksum mismatch")
        }
        do {
            var reader = ByteReader(Array(bytes[8..<(bytes.count - 4)]))
            let version = try reader.readUInt32(field: "snapshot format version")
            guard version == Self.version else {
                throw StorageError.unsupported(file: name, reason: "snapshot format version \(version)")
            }
            let metadataLength = Int(try reader.readUInt32(field: "metadata length"))
            let metadata = try Raft.SnapshotMetadata.decode(
                try reader.readRaw(count: metadataLength, field: "metadata")
            )
            let dataLength = reader.remaining - 8
            let data = try reader.readRaw(count: max(0, dataLength), field: "data")
            guard try reader.readUInt64(field: "data length") == UInt64(dataLength) else {
                throw WireError.invalid("snapshot data length does not match the file")
            }
            return Raft.Snapshot(metadata: metadata, data: data)
        } catch let error as StorageError {
            throw error
        } catch {
            throw .corrupt(file: name, offset: 8, reason: "undecodable snapshot: \(error)")
        }
    }

    /// Opens a stored snapshot for streaming to a follower. The file is verified first (its checksum, read in 1 MiB
    /// pieces), then its data is handed out chunk by chunk straight from the file, so a large snapshot is never held
    /// whole in memory.
    package func openReader(_ name: String) throws(StorageError) -> SnapshotReader {
        let path = directory + "/" + name
        let file: FileDescriptor
        do {
            file = try fileSystem.open(path, create: false)
        } catch {
            throw .io(error)
        }
        do {
            let size = try fileSystem.size(file)
            guard size >= 8 + 4 + 4 + 8 + 4 else {
                throw StorageError.corrupt(file: name, offset: 0, reason: "too short to be a Gantry snapshot")
            }
            var checksum: UInt32 = 0
            var position = 0
            while position < size - 4 {
                let piece = try fileSystem.read(file, at: position, count: min(1 << 20, size - 4 - position))
                checksum = CRC32C.checksum(piece, initial: checksum)
                position += piece.count
            }
            let stored = WALRecord.readUInt32(try fileSystem.read(file, at: size - 4, count: 4), 0)
            guard stored == checksum else {
                throw StorageError.corrupt(file: name, offset: size - 4, reason: "snapshot checksum mismatch")
            }
            let head = try fileSystem.read(file, at: 0, count: min(size, 16))
            guard Array(head[0..<8]) == Self.magic else {
                throw StorageError.corrupt(file: name, offset: 0, reason: "not a Gantry snapshot (bad magic)")
            }
            var reader = ByteReader(head[8...])
            let version = try reader.readUInt32(field: "snapshot format version")
            guard version == Self.version else {
                throw StorageError.unsupported(file: name, reason: "snapshot format version \(version)")
            }
            let metadataLength = Int(try reader.readUInt32(field: "metadata length"))
            guard 16 + metadataLength <= size - 12 else {
                throw StorageError.corrupt(file: name, offset: 12, reason: "metadata runs past the data")
            }
            let metadata = try Raft.SnapshotMetadata.decode(try fileSystem.read(file, at: 16, count: metadataLength))
            return SnapshotReader(
                fileSystem: fileSystem,
                file: file,
                metadata: metadata,
                dataStart: 16 + metadataLength,
                dataEnd: size - 12
            )
        } catch {
            fileSystem.close(file)
            switch error {
            case let storage as StorageError: throw storage
            case let io as FileSystemError: throw .io(io)
            default: throw .corrupt(file: name, offset: 8, reason: "undecodable snapshot: \(error)")
            }
        }
    }

    /// Deletes all but the newest `count` snapshots; returns the index of the oldest one kept (0 if none).
    @discardableResult
    package func retain(_ count: Int) throws(StorageError) -> UInt64 {
        let all = try names()
        let doomed = all.dropLast(max(count, 1))
        do {
            for name in doomed { try fileSystem.remove(directory + "/" + name) }
            if !doomed.isEmpty { try fileSystem.syncDirectory(directory) }
        } catch {
            throw .io(error)
        }
        guard let oldest = all.dropFirst(doomed.count).first else { return 0 }
        return UInt64(oldest.dropFirst(5).prefix(16), radix: 16) ?? 0
    }
}

/// Writes one snapshot in chunks: temporary file, then fsync, rename and directory fsync in `finish()`.
package final class SnapshotWriter {
    let store: SnapshotStore
    let metadata: Raft.SnapshotMetadata
    let temporaryPath: String
    let file: FileDescriptor
    var offset = 0
    var checksum: UInt32 = 0
    var dataLength: UInt64 = 0
    var finished = false

    init(store: SnapshotStore, metadata: Raft.SnapshotMetadata) throws(StorageError) {
        self.store = store
        self.metadata = metadata
        let name = SnapshotStore.name(for: metadata.last)
        temporaryPath = store.directory + "/" + name + ".tmp"
        do {
            file = try store.fileSystem.open(temporaryPath, create: true)
            try store.fileSystem.truncate(file, to: 0)
        } catch {
            throw .io(error)
        }
        var header = ByteWriter()
        header.writeRaw(SnapshotStore.magic)
        header.writeUInt32(SnapshotStore.version)
        let encodedMetadata = metadata.encoded()
        header.writeUInt32(UInt32(encodedMetadata.count))
        header.writeRaw(encodedMetadata)
        try put(header.bytes)
    }

    deinit {
        if !finished {
            store.fileSystem.close(file)
            try? store.fileSystem.remove(temporaryPath)
        }
    }

    private func put(_ bytes: [UInt8]) throws(StorageError) {
        checksum = CRC32C.checksum(bytes[...], initial: checksum)
        do {
            try store.fileSystem.write(file, bytes, at: offset)
        } catch {
            throw .io(error)
        }
        offset += bytes.count
    }

    /// Appends a chunk of the state machine's data.
    package func append(_ chunk: [UInt8]) throws(StorageError) {
        try put(chunk)
        dataLength += UInt64(chunk.count)
    }

    /// Makes the snapshot durable under its final name.
    package func finish() throws(StorageError) {
        var length = ByteWriter()
        length.writeUInt64(dataLength)
        try put(length.bytes)
        var trailer = ByteWriter()
        trailer.writeUInt32(checksum)
        try put(trailer.bytes)
        let fileSystem = store.fileSystem
        do {
            try fileSystem.sync(file)
            fileSystem.close(file)
            finished = true
            try fileSystem.rename(temporaryPath, to: store.directory + "/" + SnapshotStore.name(for: metadata.last))
            try fileSystem.syncDirectory(store.directory)
        } catch {
            throw .io(error)
        }
    }
}

/// Hands out a verified snapshot's data in chunks, read from its file (see `SnapshotStore.openReader(_:)`).
package final class SnapshotReader {
    /// What the snapshot covers; sent first so the receiver can start its `SnapshotWriter`.
    package let metadata: Raft.SnapshotMetadata
    let fileSystem: any FileSystem
    let file: FileDescriptor
    let dataEnd: Int
    var offset: Int

    init(
        fileSystem: any FileSystem,
        file: FileDescriptor,
        metadata: Raft.SnapshotMetadata,
        dataStart: Int,
        dataEnd: Int
    ) {
        self.fileSystem = fileSystem
        self.file = file
        self.metadata = metadata
        self.offset = dataStart
        self.dataEnd = dataEnd
    }

    deinit {
        fileSystem.close(file)
    }

    /// Data bytes not yet handed out.
    package var remaining: Int { dataEnd - offset }

    /// The next chunk of at most `maxBytes` bytes, or nil when all were handed out.
    package func nextChunk(maxBytes: Int) throws(StorageError) -> [UInt8]? {
        precondition(maxBytes > 0, "chunks must hold at least one byte")
        guard offset < dataEnd else { return nil }
        let count = min(maxBytes, dataEnd - offset)
        let chunk: [UInt8]
        do {
            chunk = try fileSystem.read(file, at: offset, count: count)
        } catch {
            throw .io(error)
        }
        offset += chunk.count
        return chunk
    }
}
