// Small helpers: errors, time, seeded randomness, files and processes.
import Glibc
import Raft

/// Run (last registered first) before `fail` exits, so that nothing a run started outlives it: its processes, its
/// namespaces. Only the main thread registers and fails.
nonisolated(unsafe) var cleanups: [() -> Void] = []

func fail(_ message: String) -> Never {
    let line = "gantry-chaos: \(message)\n"
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
    for cleanup in cleanups.reversed() { cleanup() }
    exit(2)
}

func nowNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Seeded choices (Raft's SplitMix64), so a run replays them.
struct Random {
    var generator: Raft.SplitMix64

    init(state: UInt64) { generator = Raft.SplitMix64(seed: state) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// `count` distinct items of `items`, in random order.
    mutating func choose<T>(_ count: Int, of items: [T]) -> [T] {
        var pool = items
        var chosen: [T] = []
        while chosen.count < count && !pool.isEmpty { chosen.append(pool.remove(at: below(pool.count))) }
        return chosen
    }
}

func number(_ text: String, _ key: String) -> UInt64? {
    guard let range = text.firstRange(of: "\"\(key)\":") else { return nil }
    var rest = text[range.upperBound...]
    if rest.first == "\"" { rest = rest.dropFirst() }
    return UInt64(rest.prefix { $0.isNumber })
}

func string(_ text: String, _ key: String) -> String? {
    guard let range = text.firstRange(of: "\"\(key)\":\"") else { return nil }
    return String(text[range.upperBound...].prefix { $0 != "\"" })
}

extension String {
    init(format seconds: Double) {
        let tenths = Int((seconds * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}

func writeFile(_ path: String, _ text: String) {
    guard let file = fopen(path, "w") else { fail("cannot write \(path)") }
    fputs(text, file)
    fclose(file)
}

func appendFile(_ path: String, _ text: String) {
    guard let file = fopen(path, "a") else { return }
    fputs(text, file)
    fclose(file)
}

func readFile(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { break }
        bytes += chunk[0..<count]
    }
    return bytes
}

func readText(_ path: String) -> String? { readFile(path).map { String(decoding: $0, as: UTF8.self) } }

func spawn(_ arguments: [String], log: String, environment: [String]) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, &envp) == 0 else {
        fail("cannot start \(arguments[0])")
    }
    return pid
}

/// Runs a command to completion (its output appended to `log`); true when it exited 0.
@discardableResult
func command(_ arguments: [String], log: String = "/dev/null") -> Bool {
    let pid = spawn(arguments, log: log, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status == 0
}

func sleepMilliseconds(_ milliseconds: Int) { usleep(UInt32(milliseconds * 1_000)) }
