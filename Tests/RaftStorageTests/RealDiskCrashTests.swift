import Raft
import Testing

@testable import RaftStorage

#if canImport(Glibc)
import Glibc
#endif

/// The `gantry-bench` binary built next to this test binary.
func benchBinary() -> String? {
    var buffer = [CChar](repeating: 0, count: 4_096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return nil }
    let executable = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var directory = executable
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        let candidate = directory + "/gantry-bench"
        if access(candidate, X_OK) == 0 { return candidate }
        if directory.hasSuffix("/debug") || directory.hasSuffix("/release") { break }
    }
    return nil
}

/// A child process with its standard output on a pipe.
struct Child {
    let pid: pid_t
    let output: Int32

    /// Starts `path` with `arguments`.
    static func spawn(_ path: String, _ arguments: [String]) -> Child? {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], STDOUT_FILENO)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
        posix_spawn_file_actions_destroy(&actions)
        close(pipeEnds[1])
        guard status == 0 else {
            close(pipeEnds[0])
            return nil
        }
        return Child(pid: pid, output: pipeEnds[0])
    }

    /// Reads what is available within `milliseconds`; nil at end of file.
    func read(waiting milliseconds: Int32) -> [UInt8]? {
        var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = Glibc.read(output, &buffer, buffer.count)
        return count > 0 ? Array(buffer[0..<count]) : nil
    }
}

@Suite("Real disk")
struct RealDiskCrashTests {
    @Test(
        "a child appending with group commit is killed with SIGKILL again and again; every index it reported durable survives"
    )
    func sigkillLoop() throws {
        let binary = try #require(
            benchBinary(),
            "gantry-bench must be built next to the tests (swift build --build-tests)"
        )
        let directory = temporaryDirectory("sigkill")
        defer { removeTree(directory) }
        var random = TestRandom(state: UInt64(getpid()))
        var reported: UInt64 = 0
        var kills = 0
        for _ in 0..<25 {
            let child = try #require(Child.spawn(binary, ["storage-crash-child", "--dir", directory]))
            var text: [UInt8] = []
            let killAfter = 20 + random.below(300)
            var waited = 0
            while waited < killAfter, let chunk = child.read(waiting: 10) {
                text += chunk
                waited += 10
            }
            kill(child.pid, SIGKILL)
            kills += 1
            // Whatever the child wrote before it died is still in the pipe.
            while let chunk = child.read(waiting: 1_000), !chunk.isEmpty { text += chunk }
            close(child.output)
            var status: Int32 = 0
            waitpid(child.pid, &status, 0)
            for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
                if line.hasPrefix("durable "), let index = UInt64(line.dropFirst(8)) { reported = max(reported, index) }
            }
            let (_, state, report) = try DurableStorage.open(fileSystem: POSIXFileSystem(), directory: directory)
            let last = state.entries.last?.index ?? 0
            #expect(last >= reported, "the child reported \(reported) durable but only \(last) survived (\(report))")
            #expect(state.entries.first?.index == 1 && state.entries.count == Int(last))
        }
        #expect(kills == 25)
        #expect(reported > 0, "the child made progress")
        print("SIGKILL test: \(kills) kills, \(reported) entries reported durable, all present after each kill")
    }
}
