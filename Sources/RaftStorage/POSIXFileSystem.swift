import Glibc
import Synchronization

/// The real file system, through the C library. Every call goes through `systemCall`: EINTR is retried, EBADF
/// traps, anything else is thrown as `.posix(errno, call, path)`.
///
/// Holds no mutable state but the path of each open descriptor, kept only so that errors name the file.
package final class POSIXFileSystem: FileSystem {
    /// The path each open descriptor was opened with, for error messages.
    ///
    /// Invariant: holds exactly the descriptors opened by `open` and not yet passed to `close`.
    private let paths = Mutex<[Int32: String]>([:])

    /// Creates the (stateless) real file system.
    package init() {}

    /// Opens `path` O_RDWR | O_CLOEXEC, with O_CREAT and mode 0644 when `create`.
    package func open(_ path: String, create: Bool) throws(FileSystemError) -> FileDescriptor {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let descriptor = try systemCall("open", path: path) { Glibc.open(path, flags, 0o644) }
        paths.withLock { $0[descriptor] = path }
        return FileDescriptor(rawValue: descriptor)
    }

    /// Closes the descriptor. Errors from close(2) are dropped: write-back failures are reported by `sync`, and
    /// Linux releases the descriptor even when close fails, so there is nothing to retry.
    package func close(_ file: FileDescriptor) {
        // Forget the path first: once closed, the kernel may hand the same number to a concurrent `open`.
        let path = paths.withLock { $0.removeValue(forKey: file.rawValue) } ?? "descriptor \(file.rawValue)"
        _ = try? systemCall("close", path: path, retryingInterrupts: false) { Glibc.close(file.rawValue) }
    }

    /// Writes all of `bytes` at `offset` with pwrite(2), looping on short writes.
    package func write(_ file: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError)
    {
        precondition(offset >= 0, "write at negative offset \(offset)")
        var done = 0
        while done < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
            let written = try systemCall("pwrite", path: self.path(of: file)) {
                pwrite(file.rawValue, rest.baseAddress, rest.count, off_t(offset + done))
            }
            // A regular file never accepts zero bytes of a non-empty write; rather than spin, report an I/O error.
            guard written > 0 else { throw .posix(errno: EIO, call: "pwrite", path: path(of: file)) }
            done += written
        }
    }

    /// Reads up to `count` bytes at `offset` with pread(2), looping on short reads until end of file.
    package func read(_ file: FileDescriptor, at offset: Int, count: Int) throws(FileSystemError) -> [UInt8] {
        precondition(offset >= 0 && count >= 0, "read of \(count) bytes at offset \(offset)")
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        // `withUnsafeMutableBytes` only rethrows untyped errors; carry the typed one out in a `Result`.
        let outcome = bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(FileSystemError) in
                while done < count {
                    let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
                    let got = try systemCall("pread", path: self.path(of: file)) {
                        pread(file.rawValue, rest.baseAddress, rest.count, off_t(offset + done))
                    }
                    if got == 0 { break }  // end of file
                    done += got
                }
            }
        }
        try outcome.get()
        bytes.removeLast(count - done)
        return bytes
    }

    /// The file's size, from fstat(2).
    package func size(_ file: FileDescriptor) throws(FileSystemError) -> Int {
        var info = stat()
        _ = try systemCall("fstat", path: path(of: file)) { fstat(file.rawValue, &info) }
        return Int(info.st_size)
    }

    /// Sets the size with ftruncate(2).
    package func truncate(_ file: FileDescriptor, to size: Int) throws(FileSystemError) {
        precondition(size >= 0, "truncate to negative size \(size)")
        _ = try systemCall("ftruncate", path: path(of: file)) { ftruncate(file.rawValue, off_t(size)) }
    }

    /// Allocates blocks for the first `size` bytes with posix_fallocate(3), growing the file (with zeros) if it is
    /// shorter. ENOSPC here, rather than in a later write, is the point.
    package func preallocate(_ file: FileDescriptor, size: Int) throws(FileSystemError) {
        precondition(size >= 0, "preallocate to negative size \(size)")
        guard size > 0 else { return }  // posix_fallocate rejects an empty range with EINVAL
        // posix_fallocate returns the error number instead of setting errno.
        _ = try systemCall(
            "posix_fallocate",
            path: path(of: file),
            failure: { $0 == 0 ? nil : $0 },
            { posix_fallocate(file.rawValue, 0, off_t(size)) }
        )
    }

    /// Flushes the file's data, and the metadata needed to read it back (its size), with fdatasync(2).
    package func sync(_ file: FileDescriptor) throws(FileSystemError) {
        _ = try systemCall("fdatasync", path: path(of: file)) { fdatasync(file.rawValue) }
    }

    /// rename(2): atomically replaces `to`, if it exists.
    package func rename(_ from: String, to: String) throws(FileSystemError) {
        _ = try systemCall("rename", path: from) { Glibc.rename(from, to) }
    }

    /// unlink(2). A directory is refused with EISDIR.
    package func remove(_ path: String) throws(FileSystemError) {
        _ = try systemCall("unlink", path: path) { unlink(path) }
    }

    /// The entries of `directory` from readdir(3), without "." and "..", sorted.
    package func list(_ directory: String) throws(FileSystemError) -> [String] {
        let failed: (OpaquePointer?) -> Int32? = { $0 == nil ? errno : nil }
        let stream = try systemCall("opendir", path: directory, failure: failed, { opendir(directory) })!
        defer { _ = try? systemCall("closedir", path: directory, retryingInterrupts: false) { closedir(stream) } }
        var names: [String] = []
        // readdir returns nil both at the end and on error; only errno tells them apart, so clear it first.
        let failure: (UnsafeMutablePointer<dirent>?) -> Int32? = { $0 == nil && errno != 0 ? errno : nil }
        let next = { () -> UnsafeMutablePointer<dirent>? in
            errno = 0
            return readdir(stream)
        }
        while let entry = try systemCall("readdir", path: directory, failure: failure, next) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// mkdir(2) (mode 0755) for each missing component, then fsync of every new directory and of the parent of the
    /// first one, so that the whole new chain survives a crash.
    package func makeDirectory(_ path: String) throws(FileSystemError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        var parentOfFirstCreated: String?
        var created: [String] = []
        for component in path.split(separator: "/") {
            let parent = prefix.isEmpty ? "." : prefix
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            let directory = prefix
            // EEXIST is not a failure here: mkdir -p walks through existing directories.
            let failure: (Int32) -> Int32? = { $0 == -1 && errno != EEXIST ? errno : nil }
            let result = try systemCall("mkdir", path: directory, failure: failure, { mkdir(directory, 0o755) })
            if result == 0 {
                if created.isEmpty { parentOfFirstCreated = parent }
                created.append(directory)
            }
        }
        if created.last != prefix {
            // The last component already existed; as with mkdir -p, that is fine only if it is a directory.
            var info = stat()
            _ = try systemCall("stat", path: prefix) { stat(prefix, &info) }
            if info.st_mode & S_IFMT != S_IFDIR { throw .posix(errno: EEXIST, call: "mkdir", path: prefix) }
        }
        if let parentOfFirstCreated { try syncDirectory(parentOfFirstCreated) }
        for directory in created { try syncDirectory(directory) }
    }

    /// Opens the directory O_RDONLY | O_DIRECTORY and fsyncs it, making its entries durable.
    package func syncDirectory(_ path: String) throws(FileSystemError) {
        let descriptor = try systemCall("open", path: path) { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = try? systemCall("close", path: path, retryingInterrupts: false) { Glibc.close(descriptor) } }
        _ = try systemCall("fsync", path: path) { fsync(descriptor) }
    }

    /// access(2) with F_OK: false also when the path cannot be searched.
    package func exists(_ path: String) -> Bool {
        (try? systemCall("access", path: path) { access(path, F_OK) }) != nil
    }

    /// The path `file` was opened with, for error messages.
    private func path(of file: FileDescriptor) -> String {
        paths.withLock { $0[file.rawValue] } ?? "descriptor \(file.rawValue)"
    }
}
