#if canImport(Glibc)
import Glibc
#endif

/// How a cluster node was started, read from `/proc` before it is killed so that it can be started again the same
/// way: same arguments, same working directory, output appended to the same file.
struct NodeCommand: Sendable {
    /// `argv`, program first.
    var arguments: [String]
    /// The working directory.
    var directory: String
    /// Where standard output went, when it was a file (the node's log); nil sends output to /dev/null.
    var outputPath: String?

    /// The command line of the running process `pid`, or nil when it cannot be read (not running, not ours).
    static func capture(pid: pid_t) -> NodeCommand? {
        guard let raw = readWholeFile("/proc/\(pid)/cmdline"), !raw.isEmpty else { return nil }
        let arguments = raw.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
            String(decoding: $0, as: UTF8.self)
        }
        guard !arguments.isEmpty, let directory = readLink("/proc/\(pid)/cwd") else { return nil }
        var outputPath = readLink("/proc/\(pid)/fd/1")
        if let path = outputPath, !path.hasPrefix("/") || path.hasSuffix(" (deleted)") {
            outputPath = nil
        }
        // The program by absolute path, so that neither PATH nor the working directory matter at restart.
        var program = arguments
        if let executable = readLink("/proc/\(pid)/exe"), !executable.hasSuffix(" (deleted)") {
            program[0] = executable
        }
        return NodeCommand(arguments: program, directory: directory, outputPath: outputPath)
    }

    /// Starts the command with standard input from /dev/null and standard output and error appended to
    /// `outputPath`; returns the new process id, or a message saying why it could not start.
    func spawn() -> Result<pid_t, SpawnError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_APPEND | O_CREAT, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // glibc's posix_spawn_file_actions_addchdir_np is not visible to Swift, and chdir in this multi-threaded
        // process would race; a shell changes directory and then execs the node, keeping the same PID.
        let shell = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + arguments
        var argv: [UnsafeMutablePointer<CChar>?] = shell.map { strdup($0) }
        argv.append(nil)
        defer {
            for pointer in argv { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, shell[0], &actions, nil, argv, environ)
        guard status == 0 else {
            return .failure(SpawnError(message: "cannot start \(arguments[0]): \(String(cString: strerror(status)))"))
        }
        return .success(pid)
    }

    /// Why a node could not be restarted.
    struct SpawnError: Error, Equatable {
        /// For the user.
        var message: String
    }
}

/// Process helpers for the failover benchmark.
enum NodeProcess {
    /// The process id in `pidFile`, or nil when unreadable.
    static func readPID(_ pidFile: String) -> pid_t? {
        guard let bytes = readWholeFile(pidFile) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        return pid_t(text)
    }

    /// Replaces `pidFile`'s contents with `pid`, so that the caller's teardown finds the restarted node.
    static func writePID(_ pid: pid_t, to pidFile: String) -> Bool {
        let temporary = pidFile + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { return false }
        let text = Array("\(pid)\n".utf8)
        let written = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        return written == text.count && rename(temporary, pidFile) == 0
    }

    /// Whether `pid` is alive: one of its threads exists and is not a zombie. Reaps it if it is our child.
    static func isAlive(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            return false
        }
        // Every thread, not just the main one: in a multi-threaded process the main thread can be a zombie while
        // others are still exiting and holding the process's sockets (a restart then finds its port in use).
        return listDirectory("/proc/\(pid)/task").contains {
            guard let state = state(of: "/proc/\(pid)/task/\($0)/stat") else { return false }
            return state != "Z" && state != "X"
        }
    }

    /// Waits up to `timeoutMilliseconds` until every thread of `pid` is stopped (by SIGSTOP); true if they are.
    static func waitUntilStopped(_ pid: pid_t, timeoutMilliseconds: Int) -> Bool {
        let deadline = monotonicNanoseconds() + Int64(timeoutMilliseconds) * 1_000_000
        while true {
            let threads = listDirectory("/proc/\(pid)/task")
            let stopped = !threads.isEmpty && threads.allSatisfy { state(of: "/proc/\(pid)/task/\($0)/stat") == "T" }
            if stopped { return true }
            guard monotonicNanoseconds() < deadline else { return false }
            usleep(200)
        }
    }

    /// The one-letter state in a `/proc/.../stat` file, or nil when unreadable.
    static func state(of statPath: String) -> Character? {
        guard let stat = readWholeFile(statPath) else { return nil }
        // The state follows the parenthesised command name, which may itself contain spaces or parentheses.
        guard let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count else { return nil }
        return Character(Unicode.Scalar(stat[close + 2]))
    }

    /// The names in directory `path`, without `.` and `..`; empty when it cannot be read.
    static func listDirectory(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Waits up to `timeoutMilliseconds` for `pid` to die; true if it did.
    static func waitUntilDead(_ pid: pid_t, timeoutMilliseconds: Int) -> Bool {
        let deadline = monotonicNanoseconds() + Int64(timeoutMilliseconds) * 1_000_000
        while isAlive(pid) {
            guard monotonicNanoseconds() < deadline else { return false }
            usleep(200)
        }
        return true
    }
}

/// The whole contents of a (small) file, or nil.
func readWholeFile(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var contents: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4_096)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return count == 0 ? contents : nil }
        contents.append(contentsOf: buffer[0..<count])
    }
}

/// The target of the symbolic link at `path`, or nil.
func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 4_096)
    let count = readlink(path, &buffer, buffer.count)
    guard count > 0 else { return nil }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
