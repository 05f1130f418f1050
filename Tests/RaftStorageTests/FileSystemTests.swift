import Glibc
import RaftStorage
import Synchronization
import Testing

/// The file systems the contract tests run against.
enum Implementation: String, CaseIterable, CustomTestStringConvertible {
    case posix
    case simulated

    var testDescription: String { rawValue }
}

/// Numbers the temporary directories of this process, so that parallel tests never share one.
private let sandboxCounter = Atomic<Int>(0)

/// Runs `body` with a file system of `implementation` and an empty directory on it: for POSIX, a new directory
/// under /tmp, removed afterwards.
func withSandbox(_ implementation: Implementation, _ body: (any FileSystem, String) throws -> Void) throws {
    let directory = "/tmp/gantry-fs-test-\(getpid())-\(sandboxCounter.wrappingAdd(1, ordering: .relaxed).newValue)"
    let fileSystem: any FileSystem =
        switch implementation {
        case .posix: POSIXFileSystem()
        case .simulated: SimulatedFileSystem(seed: 1)
        }
    try fileSystem.makeDirectory(directory)
    defer { if implementation == .posix { removeTree(directory) } }
    try body(fileSystem, directory)
}

/// rm -rf, for test sandboxes.
func removeTree(_ path: String) {
    let fileSystem = POSIXFileSystem()
    guard let names = try? fileSystem.list(path) else {
        try? fileSystem.remove(path)
        return
    }
    for name in names { removeTree(path + "/" + name) }
    rmdir(path)
}

/// Everything in the file (whole-file read through a fresh descriptor).
func readAll(_ fileSystem: any FileSystem, _ path: String) throws -> [UInt8] {
    let file = try fileSystem.open(path, create: false)
    defer { fileSystem.close(file) }
    return try fileSystem.read(file, at: 0, count: try fileSystem.size(file))
}

/// Creates (or overwrites from offset 0) a file holding `bytes`, synced, and syncs its directory.
func writeFile(_ fileSystem: any FileSystem, _ path: String, _ bytes: [UInt8]) throws {
    let file = try fileSystem.open(path, create: true)
    defer { fileSystem.close(file) }
    try fileSystem.write(file, bytes, at: 0)
    try fileSystem.sync(file)
    try fileSystem.syncDirectory(String(path[..<path.lastIndex(of: "/")!]))
}

/// The behaviour both implementations promise: the `FileSystem` contract.
@Suite("FileSystem contract")
struct FileSystemContractTests {
    @Test("written bytes read back, and reads stop at the end of the file", arguments: Implementation.allCases)
    func writeThenRead(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            let file = try fs.open(root + "/f", create: true)
            defer { fs.close(file) }
            try fs.write(file, Array(1...10), at: 0)
            #expect(try fs.read(file, at: 0, count: 10) == Array(1...10))
            #expect(try fs.read(file, at: 5, count: 100) == Array(6...10))
            #expect(try fs.read(file, at: 10, count: 5) == [])
            #expect(try fs.read(file, at: 20, count: 5) == [])
            #expect(try fs.read(file, at: 3, count: 0) == [])
            #expect(try fs.size(file) == 10)
        }
    }

    @Test("a write past the end zero-fills the gap; an overwrite replaces in place", arguments: Implementation.allCases)
    func sparseAndOverwrite(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            let file = try fs.open(root + "/f", create: true)
            defer { fs.close(file) }
            try fs.write(file, [1, 2], at: 0)
            try fs.write(file, [9], at: 5)
            #expect(try fs.read(file, at: 0, count: 100) == [1, 2, 0, 0, 0, 9])
            try fs.write(file, [7, 7], at: 1)
            try fs.write(file, [], at: 3)
            #expect(try fs.read(file, at: 0, count: 100) == [1, 7, 7, 0, 0, 9])
        }
    }

    @Test("truncate shrinks, and grows with zeros", arguments: Implementation.allCases)
    func truncate(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            let file = try fs.open(root + "/f", create: true)
            defer { fs.close(file) }
            try fs.write(file, Array(1...8), at: 0)
            try fs.truncate(file, to: 3)
            #expect(try fs.size(file) == 3)
            #expect(try fs.read(file, at: 0, count: 100) == [1, 2, 3])
            try fs.truncate(file, to: 6)
            #expect(try fs.read(file, at: 0, count: 100) == [1, 2, 3, 0, 0, 0])
        }
    }

    @Test("preallocate reserves zero-filled space and never shrinks", arguments: Implementation.allCases)
    func preallocate(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            let file = try fs.open(root + "/f", create: true)
            defer { fs.close(file) }
            try fs.write(file, [5, 6, 7, 8], at: 0)
            try fs.preallocate(file, size: 4096)
            #expect(try fs.size(file) == 4096)
            #expect(try fs.read(file, at: 0, count: 4096) == [5, 6, 7, 8] + [UInt8](repeating: 0, count: 4092))
            try fs.preallocate(file, size: 16)
            try fs.preallocate(file, size: 0)
            #expect(try fs.size(file) == 4096)
        }
    }

    @Test("synced data reads back through a new descriptor, large writes whole", arguments: Implementation.allCases)
    func syncAndReopen(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
            try writeFile(fs, root + "/f", big)
            #expect(try readAll(fs, root + "/f") == big)
        }
    }

    @Test("open fails with ENOENT or EISDIR, naming open and the path", arguments: Implementation.allCases)
    func openErrors(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            #expect(throws: FileSystemError.posix(errno: ENOENT, call: "open", path: root + "/missing")) {
                try fs.open(root + "/missing", create: false)
            }
            #expect(throws: FileSystemError.posix(errno: ENOENT, call: "open", path: root + "/no/f")) {
                try fs.open(root + "/no/f", create: true)
            }
            #expect(throws: FileSystemError.posix(errno: EISDIR, call: "open", path: root)) {
                try fs.open(root, create: false)
            }
            #expect(!fs.exists(root + "/missing"))
        }
    }

    @Test("rename replaces the destination and the old name is gone", arguments: Implementation.allCases)
    func rename(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            try writeFile(fs, root + "/a", [1])
            try writeFile(fs, root + "/b", [2, 2])
            try fs.rename(root + "/a", to: root + "/b")
            try fs.syncDirectory(root)
            #expect(!fs.exists(root + "/a"))
            #expect(try readAll(fs, root + "/b") == [1])
            #expect(try fs.list(root) == ["b"])
            #expect(throws: FileSystemError.posix(errno: ENOENT, call: "rename", path: root + "/a")) {
                try fs.rename(root + "/a", to: root + "/c")
            }
        }
    }

    @Test("rename moves a directory with its files", arguments: Implementation.allCases)
    func renameDirectory(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            try fs.makeDirectory(root + "/snapshot.tmp")
            try writeFile(fs, root + "/snapshot.tmp/data", [4, 2])
            try fs.rename(root + "/snapshot.tmp", to: root + "/snapshot")
            #expect(try fs.list(root) == ["snapshot"])
            #expect(try readAll(fs, root + "/snapshot/data") == [4, 2])
            #expect(throws: FileSystemError.posix(errno: EINVAL, call: "rename", path: root + "/snapshot")) {
                try fs.rename(root + "/snapshot", to: root + "/snapshot/inner")
            }
        }
    }

    @Test("remove deletes the name, while an open descriptor still reads the file", arguments: Implementation.allCases)
    func remove(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            try writeFile(fs, root + "/f", [3, 1, 4])
            let file = try fs.open(root + "/f", create: false)
            defer { fs.close(file) }
            try fs.remove(root + "/f")
            try fs.syncDirectory(root)
            #expect(!fs.exists(root + "/f"))
            #expect(try fs.list(root) == [])
            #expect(try fs.read(file, at: 0, count: 10) == [3, 1, 4])
            #expect(throws: FileSystemError.posix(errno: ENOENT, call: "unlink", path: root + "/f")) {
                try fs.remove(root + "/f")
            }
            try fs.makeDirectory(root + "/d")
            #expect(throws: FileSystemError.posix(errno: EISDIR, call: "unlink", path: root + "/d")) {
                try fs.remove(root + "/d")
            }
        }
    }

    @Test("list returns the sorted names of files and directories", arguments: Implementation.allCases)
    func list(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            for name in ["b", "a.log", "a"] { try writeFile(fs, root + "/" + name, []) }
            try fs.makeDirectory(root + "/c")
            #expect(try fs.list(root) == ["a", "a.log", "b", "c"])
            #expect(try fs.list(root + "/c") == [])
            #expect(throws: FileSystemError.posix(errno: ENOENT, call: "opendir", path: root + "/none")) {
                try fs.list(root + "/none")
            }
            #expect(throws: FileSystemError.posix(errno: ENOTDIR, call: "opendir", path: root + "/b")) {
                try fs.list(root + "/b")
            }
        }
    }

    @Test("makeDirectory creates nested directories, again without complaint", arguments: Implementation.allCases)
    func makeDirectory(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            try fs.makeDirectory(root + "/x/y/z")
            try fs.makeDirectory(root + "/x/y/z")
            try fs.makeDirectory(root + "/x/y")
            #expect(fs.exists(root + "/x/y/z"))
            #expect(try fs.list(root + "/x") == ["y"])
            try writeFile(fs, root + "/x/y/z/f", [1])
            #expect(throws: FileSystemError.posix(errno: EEXIST, call: "mkdir", path: root + "/x/y/z/f")) {
                try fs.makeDirectory(root + "/x/y/z/f")
            }
            #expect(throws: FileSystemError.posix(errno: ENOTDIR, call: "mkdir", path: root + "/x/y/z/f/g")) {
                try fs.makeDirectory(root + "/x/y/z/f/g/h")
            }
        }
    }

    @Test("syncDirectory accepts directories only, naming open in its errors", arguments: Implementation.allCases)
    func syncDirectory(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            try fs.syncDirectory(root)
            try writeFile(fs, root + "/f", [1])
            #expect(throws: FileSystemError.posix(errno: ENOENT, call: "open", path: root + "/none")) {
                try fs.syncDirectory(root + "/none")
            }
            #expect(throws: FileSystemError.posix(errno: ENOTDIR, call: "open", path: root + "/f")) {
                try fs.syncDirectory(root + "/f")
            }
        }
    }

    @Test("exists sees files and directories", arguments: Implementation.allCases)
    func exists(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            #expect(fs.exists(root))
            #expect(!fs.exists(root + "/f"))
            let file = try fs.open(root + "/f", create: true)
            fs.close(file)
            #expect(fs.exists(root + "/f"))
            #expect(!fs.exists(root + "/f/g"))
        }
    }

    @Test("open descriptors are distinct, and two on one file share its content", arguments: Implementation.allCases)
    func descriptors(_ implementation: Implementation) throws {
        try withSandbox(implementation) { fs, root in
            let first = try fs.open(root + "/f", create: true)
            let second = try fs.open(root + "/f", create: false)
            let other = try fs.open(root + "/g", create: true)
            defer { for file in [first, second, other] { fs.close(file) } }
            #expect(Set([first, second, other]).count == 3)
            try fs.write(first, [1, 2, 3], at: 0)
            #expect(try fs.read(second, at: 1, count: 5) == [2, 3])
            #expect(try fs.size(other) == 0)
        }
    }
}

/// What only the real file system shows.
@Suite("POSIXFileSystem")
struct POSIXFileSystemTests {
    @Test("an error's description names the call, the path and the errno")
    func errorDescription() throws {
        try withSandbox(.posix) { fs, root in
            let path = root + "/missing"
            let error = #expect(throws: FileSystemError.self) { try fs.open(path, create: false) }
            #expect(error == .posix(errno: ENOENT, call: "open", path: path))
            #expect(error?.description == "open '\(path)' failed: ENOENT (no such file or directory)")
        }
    }

    @Test("using a closed descriptor traps: EBADF is a programmer error, not an environment failure")
    func closedDescriptorTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let fs = POSIXFileSystem()
            let file = try fs.open("/dev/null", create: false)
            fs.close(file)
            _ = try? fs.size(file)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("bad file descriptor"))
    }

    @Test("preallocate allocates blocks on the disk, not a sparse file")
    func preallocateAllocates() throws {
        try withSandbox(.posix) { fs, root in
            let file = try fs.open(root + "/f", create: true)
            defer { fs.close(file) }
            try fs.preallocate(file, size: 1 << 20)
            var info = stat()
            #expect(stat(root + "/f", &info) == 0)
            #expect(Int(info.st_blocks) * 512 >= 1 << 20)
        }
    }

    @Test("files are created with mode 0644 (less the umask)")
    func creationMode() throws {
        try withSandbox(.posix) { fs, root in
            fs.close(try fs.open(root + "/f", create: true))
            var info = stat()
            #expect(stat(root + "/f", &info) == 0)
            #expect(info.st_mode & 0o600 == 0o600)  // the umask never takes the owner's read and write away here
            #expect(info.st_mode & 0o777 & ~0o644 == 0)
        }
    }
}
