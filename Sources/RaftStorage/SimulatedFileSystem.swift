import Glibc
import Raft
import Synchronization

/// An in-memory disk with a page cache, for tests. Deterministic: every random choice derives from the `init` seed.
///
/// Each file (an inode) has `durable` content (the disk), `current` content (the page cache: what reads see) and the
/// writes, truncates and preallocations since its last `sync`. Each directory has a `current` and a `durable`
/// namespace (name → inode): `open(create:)`, `rename` and `remove` change `current`, `syncDirectory` copies it to
/// `durable`, `makeDirectory` changes both. A crash reverts namespaces to `durable`, files as `CrashMode` says.
///
/// Mutating calls (write, truncate, preallocate, sync, rename, remove, syncDirectory, open with `create`) are
/// counted by `operationCount`, so that `crash(atOperation:mode:)` can crash instead of performing one of them.
/// `failNext` injects errors, `flipBit` latent media corruption.
///
/// Paths are absolute or relative to the root; "." and ".." are not resolved. Namespaces are per directory: a file
/// moved between two directories of which only one was synced may, after a crash, have both names or neither.
package final class SimulatedFileSystem: FileSystem {
    /// What reaches the disk in a crash.
    package enum CrashMode: Sendable, Hashable {
        /// Every file reverts to what its last `sync` made durable.
        case loseUnsynced
        /// Per file: the durable content plus a random prefix, in order, of the writes since the last `sync`; the
        /// last write kept may be torn at a random byte (bytes past the tear keep their old content, and the file
        /// grows only as far as the tear). Each truncate or preallocation since the last `sync` happened or did not,
        /// independently. Writeback out of order (a later write surviving an earlier one) is not modelled.
        case tornWrites
    }

    /// Calls `failNext` can make fail. Each also names the call reported in `FileSystemError.posix`.
    package enum FaultKind: Sendable, Hashable, CaseIterable {
        /// `open` ("open"), with or without `create`; nothing is created.
        case open
        /// `read` ("pread").
        case read
        /// `write` ("pwrite"); nothing is written.
        case write
        /// `truncate` ("ftruncate").
        case truncate
        /// `preallocate` ("posix_fallocate"); the ENOSPC case.
        case preallocate
        /// `sync` ("fdatasync"). As on Linux, where failed writeback marks the dirty pages clean (and they may be
        /// evicted) so that a retried fsync reports success, the file's unsynced changes are dropped from `current`
        /// too: it reads back as its durable content, and the next `sync` succeeds with nothing to write. The only
        /// safe reaction to a failed sync is to stop and recover from what is durable.
        case sync
        /// `rename` ("rename"); nothing moves.
        case rename
        /// `remove` ("unlink"); nothing is removed.
        case remove
        /// `syncDirectory` ("fsync"); the namespace stays as it was (current, not durable).
        case syncDirectory
    }

    /// The whole simulated machine, behind one lock: each call is atomic.
    private let machine: Mutex<Machine>

    /// Creates an empty file system (only the root directory) whose every random choice derives from `seed`.
    package init(seed: UInt64 = 0) { machine = Mutex(Machine(seed: seed)) }

    /// How many mutating calls have been attempted, failed or not, since `init` (restarts do not reset it).
    package var operationCount: Int { machine.withLock { $0.operationCount } }

    /// Whether the machine has crashed and not yet restarted.
    package var isCrashed: Bool { machine.withLock { $0.isCrashed } }

    /// Crashes now: the disk keeps what `mode` says, every descriptor becomes invalid, scheduled crashes and
    /// injected faults are forgotten, and every call throws `.crashed` until `restart()`.
    package func crash(mode: CrashMode) {
        machine.withLock { $0.crash(mode) }
    }

    /// Crashes (as `crash(mode:)`) when mutating call number `operation` is attempted, instead of performing it:
    /// that call throws `.crashed`. Calls are numbered from 1, so `operationCount + 1` is the next one.
    package func crash(atOperation operation: Int, mode: CrashMode) {
        machine.withLock { machine in
            precondition(operation > machine.operationCount, "crash(atOperation: \(operation)): that one has run")
            machine.scheduledCrash = (operation, mode)
        }
    }

    /// Boots the crashed machine again; calls now see what survived the crash. Old descriptors stay invalid.
    package func restart() {
        machine.withLock { machine in
            precondition(machine.isCrashed, "restart() of a machine that has not crashed")
            machine.isCrashed = false
        }
    }

    /// Makes the next `count` calls of `kind` throw `.posix(errno:call:path:)` without effect (but see
    /// `FaultKind.sync`). Replaces what was pending for `kind`; a count of 0 cancels it.
    package func failNext(_ kind: FaultKind, errno: Int32, count: Int = 1) {
        precondition(count >= 0, "failNext(\(kind), count: \(count))")
        machine.withLock { $0.faults[kind] = count == 0 ? nil : (errno, count) }
    }

    /// Flips bit `bit` (0 = least significant) of byte `byteOffset` of the file at `path`, in both the durable and
    /// the current content (where the file is that long): latent media corruption that a checksum must catch.
    package func flipBit(path: String, byteOffset: Int, bit: Int) {
        machine.withLock { $0.flipBit(path: path, byteOffset: byteOffset, bit: bit) }
    }

    /// What the file at `path` would hold after a `.loseUnsynced` crash now (found through the durable
    /// namespaces), or nil if no file would be there.
    package func durableContents(_ path: String) -> [UInt8]? {
        machine.withLock { $0.contents(path, durable: true) }
    }

    /// What reading the file at `path` returns now, or nil if there is no file there.
    package func contents(_ path: String) -> [UInt8]? {
        machine.withLock { $0.contents(path, durable: false) }
    }

    /// Opens a file; with `create`, a new name is in the current namespace only until `syncDirectory`.
    package func open(_ path: String, create: Bool) throws(FileSystemError) -> FileDescriptor {
        try locked { (machine) throws(FileSystemError) in try machine.open(path, create: create) }
    }

    /// Closes the descriptor. A descriptor invalidated by a crash may be closed, even while crashed.
    package func close(_ file: FileDescriptor) {
        machine.withLock { $0.close(file) }
    }

    /// Writes into the current content; durable only after `sync`.
    package func write(_ file: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError)
    {
        let change = Change.write(offset: offset, bytes: [UInt8](bytes))
        try locked { (machine) throws(FileSystemError) in try machine.change(file, change) }
    }

    /// Reads the current content.
    package func read(_ file: FileDescriptor, at offset: Int, count: Int) throws(FileSystemError) -> [UInt8] {
        try locked { (machine) throws(FileSystemError) in try machine.read(file, at: offset, count: count) }
    }

    /// The size of the current content.
    package func size(_ file: FileDescriptor) throws(FileSystemError) -> Int {
        try locked { (machine) throws(FileSystemError) in try machine.size(file) }
    }

    /// Resizes the current content; durable only after `sync`.
    package func truncate(_ file: FileDescriptor, to size: Int) throws(FileSystemError) {
        try locked { (machine) throws(FileSystemError) in try machine.change(file, .truncate(size: size)) }
    }

    /// Grows the current content with zeros up to `size`; durable only after `sync`.
    package func preallocate(_ file: FileDescriptor, size: Int) throws(FileSystemError) {
        try locked { (machine) throws(FileSystemError) in try machine.change(file, .preallocate(size: size)) }
    }

    /// Makes the file's current content durable.
    package func sync(_ file: FileDescriptor) throws(FileSystemError) {
        try locked { (machine) throws(FileSystemError) in try machine.sync(file) }
    }

    /// Moves a name in the current namespaces; durable only after `syncDirectory` (of both parents).
    package func rename(_ from: String, to: String) throws(FileSystemError) {
        try locked { (machine) throws(FileSystemError) in try machine.rename(from, to: to) }
    }

    /// Removes a name from the current namespace; open descriptors keep working.
    package func remove(_ path: String) throws(FileSystemError) {
        try locked { (machine) throws(FileSystemError) in try machine.remove(path) }
    }

    /// The names in the directory's current namespace, sorted.
    package func list(_ directory: String) throws(FileSystemError) -> [String] {
        try locked { (machine) throws(FileSystemError) in try machine.list(directory) }
    }

    /// Creates the missing directories, durably at once (not counted as an operation).
    package func makeDirectory(_ path: String) throws(FileSystemError) {
        try locked { (machine) throws(FileSystemError) in try machine.makeDirectory(path) }
    }

    /// Copies the directory's current namespace to its durable one.
    package func syncDirectory(_ path: String) throws(FileSystemError) {
        try locked { (machine) throws(FileSystemError) in try machine.syncDirectory(path) }
    }

    /// Whether `path` names a file or directory in the current namespaces; false while crashed.
    package func exists(_ path: String) -> Bool {
        machine.withLock { !$0.isCrashed && $0.lookup(path, durable: false) != nil }
    }

    /// Runs `body` on the machine under the lock.
    private func locked<Result: Sendable>(
        _ body: (inout Machine) throws(FileSystemError) -> Result
    ) throws(FileSystemError) -> Result {
        try machine.withLock { (machine) throws(FileSystemError) -> Result in try body(&machine) }
    }
}

extension SimulatedFileSystem {
    /// A change to a file's content since its last `sync`.
    private enum Change: Sendable {
        case write(offset: Int, bytes: [UInt8])
        case truncate(size: Int)
        case preallocate(size: Int)

        /// The call that makes the change (to fail it, and to name it in errors), and its offset or size.
        var call: (fault: FaultKind, name: String, value: Int) {
            switch self {
            case .write(let offset, _): (.write, "pwrite", offset)
            case .truncate(let size): (.truncate, "ftruncate", size)
            case .preallocate(let size): (.preallocate, "posix_fallocate", size)
            }
        }

        /// Applies the change to `content`; a write past the end zero-fills the gap.
        func apply(to content: inout [UInt8]) {
            func grow(to size: Int) {
                if size > content.count { content.append(contentsOf: repeatElement(0, count: size - content.count)) }
            }
            switch self {
            case .write(let offset, let bytes):
                grow(to: offset + bytes.count)
                content.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            case .truncate(let size):
                grow(to: size)
                content.removeLast(content.count - size)
            case .preallocate(let size):
                grow(to: size)
            }
        }
    }

    /// An inode of a regular file.
    private struct File: Sendable {
        /// What survives a crash that loses everything unsynced.
        var durable: [UInt8] = []
        /// What reads return. Invariant: `unsynced` applied to `durable` gives `current` (but for `flipBit`).
        var current: [UInt8] = []
        /// The changes since the last `sync`, oldest first.
        var unsynced: [Change] = []
    }

    /// A directory entry: a name's inode.
    private enum Entry: Hashable, Sendable {
        case file(Int)
        case directory(Int)
    }

    /// An inode of a directory: the names lookups see, and the names that survive a crash.
    private struct Directory: Sendable {
        var current: [String: Entry] = [:]
        var durable: [String: Entry] = [:]
    }

    /// The machine's only source of randomness: the core's seeded SplitMix64.
    private struct SplitMix64: Sendable {
        var generator: Raft.SplitMix64

        init(state: UInt64) {
            generator = Raft.SplitMix64(seed: state)
        }

        /// The next 64 random bits.
        mutating func next() -> UInt64 { generator.next() }

        /// A number in `0..<bound`. Not `Int.random(in:using:)`, whose algorithm may change between Swift versions:
        /// seeds must replay. The modulo bias is negligible for the bounds used here.
        mutating func next(below bound: Int) -> Int {
            precondition(bound > 0)
            return Int(next() % UInt64(bound))
        }
    }

    /// The state of the simulated machine. Every method runs under `SimulatedFileSystem.machine`'s lock.
    private struct Machine: Sendable {
        /// The inode of the root directory.
        static let root = 0
        /// Regular files by inode. Invariant: holds every file that an entry or a descriptor refers to.
        var files: [Int: File] = [:]
        /// Directories by inode. Invariant: holds `root` and every directory an entry refers to.
        var directories: [Int: Directory] = [Machine.root: Directory()]
        var nextInode = Machine.root + 1
        /// Open descriptors: the file, and the path it was opened with. Invariant: disjoint from `invalidated`.
        var descriptors: [Int32: (inode: Int, path: String)] = [:]
        /// Descriptors a crash invalidated that their owner has not yet closed.
        var invalidated: Set<Int32> = []
        /// The next descriptor number; never reused, even across restarts.
        var nextDescriptor: Int32 = 3
        var operationCount = 0
        /// The crash `crash(atOperation:mode:)` scheduled.
        var scheduledCrash: (operation: Int, mode: CrashMode)?
        /// Pending injected failures: the errno, and how many more calls fail.
        var faults: [FaultKind: (errno: Int32, remaining: Int)] = [:]
        var isCrashed = false
        var random: SplitMix64

        init(seed: UInt64) { random = SplitMix64(state: seed) }

        /// Refuses every call while crashed; counts a mutating call and fires the crash scheduled for it.
        mutating func admit(mutating isMutating: Bool) throws(FileSystemError) {
            guard !isCrashed else { throw .crashed }
            guard isMutating else { return }
            operationCount += 1
            if let scheduled = scheduledCrash, scheduled.operation == operationCount {
                crash(scheduled.mode)
                throw .crashed
            }
        }

        /// Throws the injected failure pending for `kind`, if any, and counts it down.
        mutating func injectFault(_ kind: FaultKind, call: String, path: String) throws(FileSystemError) {
            guard let fault = faults[kind] else { return }
            faults[kind] = fault.remaining > 1 ? (fault.errno, fault.remaining - 1) : nil
            throw .posix(errno: fault.errno, call: call, path: path)
        }

        /// The open file behind `file`; misuse traps, as EBADF does for the real file system.
        func openFile(_ file: FileDescriptor) -> (inode: Int, path: String) {
            precondition(
                !invalidated.contains(file.rawValue),
                "descriptor \(file.rawValue) was invalidated by a crash: reopen the file after restart()"
            )
            guard let open = descriptors[file.rawValue] else {
                preconditionFailure("descriptor \(file.rawValue) is not open (closed already, or never opened)")
            }
            return open
        }

        /// The names along `path`.
        static func components(_ path: String) -> [String] {
            let names = path.split(separator: "/").map(String.init)
            precondition(!names.contains(".") && !names.contains(".."), "'.' and '..' are not simulated: \(path)")
            return names
        }

        /// The entry at `path` in the current or durable namespaces, nil if there is none.
        func lookup(_ path: String, durable: Bool) -> Entry? {
            var entry = Entry.directory(Machine.root)
            for name in Machine.components(path) {
                guard case .directory(let inode) = entry, let directory = directories[inode],
                    let next = durable ? directory.durable[name] : directory.current[name]
                else { return nil }
                entry = next
            }
            return entry
        }

        /// The durable or current content of the file at `path` in the durable or current namespaces.
        func contents(_ path: String, durable: Bool) -> [UInt8]? {
            guard case .file(let inode)? = lookup(path, durable: durable), let file = files[inode] else { return nil }
            return durable ? file.durable : file.current
        }

        /// The directory that holds (or would hold) the last component of `path`, and that component; ENOENT or
        /// ENOTDIR, as from the kernel, when a directory on the way is missing or a file.
        func parent(of path: String, call: String) throws(FileSystemError) -> (directory: Int, name: String) {
            var names = Machine.components(path)
            guard let name = names.popLast() else { throw .posix(errno: EISDIR, call: call, path: path) }
            var inode = Machine.root
            for component in names {
                switch directories[inode]!.current[component] {
                case .directory(let next)?: inode = next
                case .file?: throw .posix(errno: ENOTDIR, call: call, path: path)
                case nil: throw .posix(errno: ENOENT, call: call, path: path)
                }
            }
            return (inode, name)
        }

        /// The inode of the directory at `path`, or ENOENT / ENOTDIR.
        func directory(at path: String, call: String) throws(FileSystemError) -> Int {
            if Machine.components(path).isEmpty { return Machine.root }
            let (parent, name) = try parent(of: path, call: call)
            switch directories[parent]!.current[name] {
            case .directory(let inode)?: return inode
            case .file?: throw .posix(errno: ENOTDIR, call: call, path: path)
            case nil: throw .posix(errno: ENOENT, call: call, path: path)
            }
        }

        /// Drops the files nothing refers to any more (no name, current or durable, and no descriptor), so that
        /// long simulations that create and delete files do not grow without bound.
        mutating func collectGarbage() {
            var referenced = Set(descriptors.values.map(\.inode))
            for directory in directories.values {
                for case .file(let inode) in directory.current.values { referenced.insert(inode) }
                for case .file(let inode) in directory.durable.values { referenced.insert(inode) }
            }
            files = files.filter { referenced.contains($0.key) }
        }

        mutating func open(_ path: String, create: Bool) throws(FileSystemError) -> FileDescriptor {
            try admit(mutating: create)
            try injectFault(.open, call: "open", path: path)
            let (parent, name) = try parent(of: path, call: "open")
            let inode: Int
            switch directories[parent]!.current[name] {
            case .file(let existing)?:
                inode = existing
            case .directory?:
                throw .posix(errno: EISDIR, call: "open", path: path)
            case nil:
                guard create else { throw .posix(errno: ENOENT, call: "open", path: path) }
                inode = nextInode
                nextInode += 1
                files[inode] = File()
                directories[parent]!.current[name] = .file(inode)
            }
            let descriptor = nextDescriptor
            nextDescriptor += 1
            descriptors[descriptor] = (inode, path)
            return FileDescriptor(rawValue: descriptor)
        }

        mutating func close(_ file: FileDescriptor) {
            if invalidated.remove(file.rawValue) != nil { return }
            precondition(
                descriptors.removeValue(forKey: file.rawValue) != nil,
                "close of descriptor \(file.rawValue), which is not open (closed twice?)"
            )
            collectGarbage()
        }

        mutating func read(_ file: FileDescriptor, at offset: Int, count: Int) throws(FileSystemError) -> [UInt8] {
            try admit(mutating: false)
            let open = openFile(file)
            try injectFault(.read, call: "pread", path: open.path)
            precondition(offset >= 0 && count >= 0, "read of \(count) bytes at offset \(offset)")
            let content = files[open.inode]!.current
            guard offset < content.count else { return [] }
            return Array(content[offset..<(offset + min(count, content.count - offset))])
        }

        mutating func size(_ file: FileDescriptor) throws(FileSystemError) -> Int {
            try admit(mutating: false)
            return files[openFile(file).inode]!.current.count
        }

        /// `write`, `truncate` or `preallocate`: applies `change` to the current content, remembered as unsynced.
        mutating func change(_ file: FileDescriptor, _ change: Change) throws(FileSystemError) {
            try admit(mutating: true)
            let open = openFile(file)
            let call = change.call
            try injectFault(call.fault, call: call.name, path: open.path)
            precondition(call.value >= 0, "\(call.name) of '\(open.path)' at \(call.value)")
            change.apply(to: &files[open.inode]!.current)
            files[open.inode]!.unsynced.append(change)
        }

        mutating func sync(_ file: FileDescriptor) throws(FileSystemError) {
            try admit(mutating: true)
            let open = openFile(file)
            do {
                try injectFault(.sync, call: "fdatasync", path: open.path)
            } catch {
                // The failed writeback's pages are gone: see `FaultKind.sync`.
                files[open.inode]!.current = files[open.inode]!.durable
                files[open.inode]!.unsynced = []
                throw error
            }
            files[open.inode]!.durable = files[open.inode]!.current
            files[open.inode]!.unsynced = []
        }

        mutating func rename(_ from: String, to: String) throws(FileSystemError) {
            try admit(mutating: true)
            try injectFault(.rename, call: "rename", path: from)
            let source = try parent(of: from, call: "rename")
            let target = try parent(of: to, call: "rename")
            guard let moving = directories[source.directory]!.current[source.name] else {
                throw .posix(errno: ENOENT, call: "rename", path: from)
            }
            if let replaced = directories[target.directory]!.current[target.name] {
                if replaced == moving { return }  // the same inode under both names: POSIX says do nothing
                switch (moving, replaced) {
                case (.file, .file): break
                case (.file, .directory): throw .posix(errno: EISDIR, call: "rename", path: from)
                case (.directory, .file): throw .posix(errno: ENOTDIR, call: "rename", path: from)
                case (.directory, .directory(let inode)):
                    if !directories[inode]!.current.isEmpty {
                        throw .posix(errno: ENOTEMPTY, call: "rename", path: from)
                    }
                }
            }
            let fromNames = Machine.components(from)
            let toNames = Machine.components(to)
            if toNames.count > fromNames.count && Array(toNames.prefix(fromNames.count)) == fromNames {
                throw .posix(errno: EINVAL, call: "rename", path: from)  // a directory into itself
            }
            directories[source.directory]!.current[source.name] = nil
            directories[target.directory]!.current[target.name] = moving
            collectGarbage()
        }

        mutating func remove(_ path: String) throws(FileSystemError) {
            try admit(mutating: true)
            try injectFault(.remove, call: "unlink", path: path)
            let (parent, name) = try parent(of: path, call: "unlink")
            switch directories[parent]!.current[name] {
            case .file?: directories[parent]!.current[name] = nil
            case .directory?: throw .posix(errno: EISDIR, call: "unlink", path: path)
            case nil: throw .posix(errno: ENOENT, call: "unlink", path: path)
            }
            collectGarbage()
        }

        mutating func list(_ path: String) throws(FileSystemError) -> [String] {
            try admit(mutating: false)
            return directories[try directory(at: path, call: "opendir")]!.current.keys.sorted()
        }

        mutating func makeDirectory(_ path: String) throws(FileSystemError) {
            try admit(mutating: false)
            let names = Machine.components(path)
            let root = path.hasPrefix("/") ? "/" : ""
            var inode = Machine.root
            for (index, name) in names.enumerated() {
                switch directories[inode]!.current[name] {
                case .directory(let next)?:
                    inode = next
                case .file?:
                    // As mkdir -p: an existing file is EEXIST as the last component, ENOTDIR on the way.
                    let isLast = index == names.count - 1
                    let failed = root + names.prefix(index + (isLast ? 1 : 2)).joined(separator: "/")
                    throw .posix(errno: isLast ? EEXIST : ENOTDIR, call: "mkdir", path: failed)
                case nil:
                    let created = nextInode
                    nextInode += 1
                    directories[created] = Directory()
                    directories[inode]!.current[name] = .directory(created)
                    directories[inode]!.durable[name] = .directory(created)
                    inode = created
                }
            }
        }

        mutating func syncDirectory(_ path: String) throws(FileSystemError) {
            try admit(mutating: true)
            try injectFault(.syncDirectory, call: "fsync", path: path)
            let inode = try directory(at: path, call: "open")
            directories[inode]!.durable = directories[inode]!.current
            collectGarbage()
        }

        mutating func crash(_ mode: CrashMode) {
            directories = directories.mapValues { Directory(current: $0.durable, durable: $0.durable) }
            invalidated.formUnion(descriptors.keys)
            descriptors = [:]
            collectGarbage()
            // In inode order: dictionary order changes from run to run, and the random draws must not.
            for inode in files.keys.sorted() {
                let file = files[inode]!
                let survivor = mode == .loseUnsynced ? file.durable : tornSurvivor(of: file)
                files[inode] = File(durable: survivor, current: survivor, unsynced: [])
            }
            scheduledCrash = nil
            faults = [:]
            isCrashed = true
        }

        /// What of `file` reaches the disk under `.tornWrites`.
        mutating func tornSurvivor(of file: File) -> [UInt8] {
            var content = file.durable
            guard !file.unsynced.isEmpty else { return content }
            let kept = random.next(below: file.unsynced.count { if case .write = $0 { true } else { false } } + 1)
            let tearsLast = random.next(below: 2) == 0
            var writes = 0
            for change in file.unsynced {
                guard case .write(let offset, let bytes) = change else {
                    if random.next(below: 2) == 0 { change.apply(to: &content) }
                    continue
                }
                writes += 1
                if writes < kept || (writes == kept && !tearsLast) {
                    change.apply(to: &content)
                } else if writes == kept && !bytes.isEmpty {
                    let torn = random.next(below: bytes.count)  // the bytes that made it: fewer than all
                    if torn > 0 { Change.write(offset: offset, bytes: Array(bytes.prefix(torn))).apply(to: &content) }
                }
            }
            return content
        }

        mutating func flipBit(path: String, byteOffset: Int, bit: Int) {
            precondition((0..<8).contains(bit), "flipBit: bit \(bit) is not in 0..<8")
            guard case .file(let inode)? = lookup(path, durable: false) else {
                preconditionFailure("flipBit: no file at '\(path)'")
            }
            var flipped = false
            for content in [\File.durable, \File.current] where byteOffset < files[inode]![keyPath: content].count {
                files[inode]![keyPath: content][byteOffset] ^= 1 << bit
                flipped = true
            }
            precondition(flipped && byteOffset >= 0, "flipBit: no byte \(byteOffset) in '\(path)'")
        }
    }
}
