import Glibc

/// The `gantry` executable next to the test bundle (SwiftPM puts both in the build directory), or GANTRY_BINARY.
extension ProcessCluster {
    static func locateBinary() throws -> String {
        if let override = getenv("GANTRY_BINARY") { return String(cString: override) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw ClusterError("readlink /proc/self/exe failed") }
        var path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for _ in 0..<4 {
            guard let slash = path.lastIndex(of: "/") else { break }
            path = String(path[..<slash])
            let candidate = path + "/gantry"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw ClusterError("cannot find the gantry binary near the test bundle; build it or set GANTRY_BINARY")
    }
}

/// Starts `arguments` with stdout and stderr appended to `log`; returns the PID.
func spawn(_ arguments: [String], log: String, environment extra: [String] = []) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    var pid: pid_t = 0
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var envp: [UnsafeMutablePointer<CChar>?] = (currentEnvironment() + extra).map { strdup($0) } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    let result = posix_spawn(&pid, arguments[0], &actions, nil, &argv, &envp)
    guard result == 0 else { throw ClusterError("posix_spawn \(arguments[0]) failed: \(result)") }
    return pid
}

/// Waits for `pid` to exit (bounded: 10 s, then SIGKILL and wait).
func reap(_ pid: pid_t) {
    var status: Int32 = 0
    for _ in 0..<200 {
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid || result < 0 { return }
        usleep(50_000)
    }
    kill(pid, SIGKILL)
    waitpid(pid, &status, 0)
}

/// Runs `arguments` to completion (bounded by `timeoutMilliseconds`) and returns the exit status and output.
func run(
    _ arguments: [String],
    environment extra: [String] = [],
    timeoutMilliseconds: Int = 30_000
) throws -> (
    status: Int32, output: String
) {
    var template = Array("/tmp/gantry-run-XXXXXX".utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else { throw ClusterError("mkstemp failed") }
    close(descriptor)
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    defer { unlink(path) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    let environmentStrings = currentEnvironment() + extra
    var envp: [UnsafeMutablePointer<CChar>?] = environmentStrings.map { strdup($0) } + [nil]
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, arguments[0], &actions, nil, &argv, &envp)
    guard result == 0 else { throw ClusterError("posix_spawn failed: \(result)") }
    var status: Int32 = 0
    let deadline = monotonicMilliseconds() + Int64(timeoutMilliseconds)
    while waitpid(pid, &status, WNOHANG) == 0 {
        if monotonicMilliseconds() > deadline {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            throw ClusterError("\(arguments.joined(separator: " ")) did not finish in \(timeoutMilliseconds) ms")
        }
        usleep(20_000)
    }
    let output = String(decoding: try readWholeFile(path), as: UTF8.self)
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitStatus, output)
}

/// A TCP port that was free a moment ago (bind to port 0, read it, close).
func freePort() throws -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw ClusterError("socket failed") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw ClusterError("bind failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
}

func writeFile(_ path: String, _ text: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard descriptor >= 0 else { throw ClusterError("cannot create \(path)") }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
        throw ClusterError("short write to \(path)")
    }
}

func readWholeFile(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw ClusterError("cannot open \(path)") }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count <= 0 { return bytes }
        bytes += buffer[0..<count]
    }
}

/// A joinable pthread running a closure (the test target does not import Foundation).
final class Thread: @unchecked Sendable {
    // Unchecked: `thread` is written once by `start()` and read by `join()` on the same test thread.
    let body: @Sendable () -> Void
    var thread: pthread_t?

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let created = pthread_create(
            &handle,
            nil,
            { raw in
                let thread = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
                thread.body()
                return nil
            },
            box
        )
        precondition(created == 0, "pthread_create failed: \(created)")
        thread = handle
    }

    /// Waits for the body to finish; a second call does nothing.
    func join() {
        guard let handle = thread else { return }
        thread = nil
        pthread_join(handle, nil)
    }
}

/// This process's environment as `NAME=value` strings.
func currentEnvironment() -> [String] {
    var strings: [String] = []
    var pointer = environ
    while let entry = pointer.pointee {
        strings.append(String(cString: entry))
        pointer += 1
    }
    return strings
}
