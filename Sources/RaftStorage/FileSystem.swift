import Glibc

/// An open file of a `FileSystem`.
///
/// A plain number: the file system that issued it is the only one that understands it. Using a descriptor after
/// `close` is a programmer error and traps.
package struct FileDescriptor: Hashable, Sendable {
    /// The descriptor number (the kernel's for `POSIXFileSystem`, a counter for `SimulatedFileSystem`).
    package let rawValue: Int32

    /// Wraps a descriptor number.
    package init(rawValue: Int32) {
        self.rawValue = rawValue
    }
}

/// Why a file system call failed. Misuse (a closed descriptor, a negative offset) is not an error: it traps.
package enum FileSystemError: Error, Equatable, CustomStringConvertible {
    /// A system call failed: errno, the call ("fdatasync"), and the path it concerned.
    case posix(errno: Int32, call: String, path: String)
    /// Simulated only: the simulated machine crashed; every call fails until `restart()`.
    case crashed

    /// What failed, on which path, and why, in words an operator can act on.
    package var description: String {
        switch self {
        case .posix(let errno, let call, let path):
            return "\(call) '\(path)' failed: \(Self.explain(errno))"
        case .crashed:
            return "the simulated machine crashed; every file system call fails until restart()"
        }
    }

    /// The symbolic name and meaning of the errors storage is likely to meet; the number for the rest.
    private static func explain(_ errno: Int32) -> String {
        switch errno {
        case ENOENT: return "ENOENT (no such file or directory)"
        case EEXIST: return "EEXIST (already exists)"
        case ENOTDIR: return "ENOTDIR (a path component is not a directory)"
        case EISDIR: return "EISDIR (is a directory)"
        case ENOTEMPTY: return "ENOTEMPTY (directory not empty)"
        case EACCES: return "EACCES (permission denied; check the data directory's owner and mode)"
        case EPERM: return "EPERM (operation not permitted)"
        case EROFS: return "EROFS (the file system is mounted read-only)"
        case ENOSPC: return "ENOSPC (no space left on the device; free space or move the data directory)"
        case EDQUOT: return "EDQUOT (disk quota exceeded)"
        case EFBIG: return "EFBIG (file too large)"
        case EIO: return "EIO (I/O error; the disk may be failing, check the kernel log)"
        case EMFILE: return "EMFILE (this process has too many open files; raise the limit with ulimit -n)"
        case ENFILE: return "ENFILE (the system has too many open files)"
        case ENAMETOOLONG: return "ENAMETOOLONG (file name too long)"
        case EINVAL: return "EINVAL (invalid argument)"
        case EXDEV: return "EXDEV (rename across file systems)"
        case EBUSY: return "EBUSY (resource busy)"
        case EOPNOTSUPP: return "EOPNOTSUPP (not supported by this file system)"
        default: return "errno \(errno)"
        }
    }
}

/// Every file access of the storage layer goes through this, so tests can inject torn writes, lost unsynced data,
/// bit flips and I/O errors.
///
/// Durability follows POSIX: data written is durable only after `sync` of its file; a created, renamed or removed
/// name only after `syncDirectory` of its parent. Calls block (`POSIXFileSystem` does disk I/O): make them from a
/// dedicated thread, never from the cooperative pool.
package protocol FileSystem: AnyObject, Sendable {
    /// Opens (creating it if `create`) a file for reading and writing.
    func open(_ path: String, create: Bool) throws(FileSystemError) -> FileDescriptor
    /// Closes a descriptor; closing one twice traps. A descriptor invalidated by a simulated crash may be closed.
    func close(_ file: FileDescriptor)
    /// Writes all of `bytes` at `offset` (loops on short writes, retries EINTR).
    func write(_ file: FileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError)
    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    func read(_ file: FileDescriptor, at offset: Int, count: Int) throws(FileSystemError) -> [UInt8]
    /// The file's size in bytes.
    func size(_ file: FileDescriptor) throws(FileSystemError) -> Int
    /// Sets the file's size, dropping bytes past `size` or appending zeros up to it.
    func truncate(_ file: FileDescriptor, to size: Int) throws(FileSystemError)
    /// Reserves space up to `size` bytes (zero-filled; real: posix_fallocate/fallocate). Never shrinks.
    func preallocate(_ file: FileDescriptor, size: Int) throws(FileSystemError)
    /// Makes the file's data durable (real: fdatasync).
    func sync(_ file: FileDescriptor) throws(FileSystemError)
    /// Atomically renames (real: rename(2)); durable only after `syncDirectory` of the parent. Errors name `from`.
    func rename(_ from: String, to: String) throws(FileSystemError)
    /// Removes a file; durable only after `syncDirectory`.
    func remove(_ path: String) throws(FileSystemError)
    /// Names (not paths) of the entries of a directory, sorted.
    func list(_ directory: String) throws(FileSystemError) -> [String]
    /// Creates the directory and its parents if missing (mkdir -p); makes the new entries durable.
    func makeDirectory(_ path: String) throws(FileSystemError)
    /// Makes the directory's entries (creates, renames, removes) durable (real: open O_DIRECTORY + fsync).
    func syncDirectory(_ path: String) throws(FileSystemError)
    /// Whether a file or directory exists at `path`.
    func exists(_ path: String) -> Bool
}

extension FileSystem {
    /// Writes all of `bytes` at `offset`.
    package func write(_ file: FileDescriptor, _ bytes: [UInt8], at offset: Int) throws(FileSystemError) {
        // `withUnsafeBytes` only rethrows untyped errors; carry the typed one out in a `Result`.
        let outcome = bytes.withUnsafeBytes { buffer in
            Result { () throws(FileSystemError) in try write(file, buffer, at: offset) }
        }
        try outcome.get()
    }
}
