package import ClusterState
import Glibc

/// Plain processes, for development and tests: each container's `entryPoint` + `command` is started with
/// `posix_spawnp` in its own process group, with the container's environment (plus PATH), working directory, and
/// stdout/stderr appended to `<logDirectory>/<task>-<container>.log`. No isolation of any kind — no namespaces,
/// no cgroups, no image: the "image" is ignored and the command runs on the host as the agent's user. Health checks
/// (`CMD` / `CMD-SHELL`) run as processes too, every `interval` seconds after `startPeriod`, `retries` failures in a
/// row making the container UNHEALTHY. The task exits when an essential container exits; its other containers are
/// then stopped. Pid files (`<task>-<container>.pid`: pid, epoch, essential) let a restarted agent adopt what an
/// earlier run left running.
package final class ExecRuntime: ContainerRuntime {
    struct Process {
        var container: String
        var pid: pid_t
        var essential: Bool
        var exitCode: Int?
        var check: ContainerDefinition.HealthCheck?
        var checkPID: pid_t?
        var checkDeadline: Int64 = 0
        var nextCheck: Int64 = 0
        var failures = 0
        var health: String?
        /// Started by an earlier run of the agent: not our child, so watched with `kill(pid, 0)`, exit code unknown.
        var adopted = false
    }

    struct Entry {
        var epoch: Int
        var processes: [Process]
        var stopDeadline: Int64?
        var exitCode: Int?
    }

    package let name = "exec"
    let logDirectory: String
    let clock: () -> Int64
    var entries: [String: Entry] = [:]

    /// A runtime writing container output under `logDirectory` (created if missing), reading time from `clock`
    /// (milliseconds, monotonic).
    package init(logDirectory: String, clock: @escaping () -> Int64) {
        self.logDirectory = logDirectory
        self.clock = clock
        mkdir(logDirectory, 0o755)
    }

    /// Adopts the containers an earlier run of the agent left running (found by their pid files), so a restarted
    /// agent neither starts duplicates nor loses track of what it must stop. Returns the adopted task ids.
    package func adopt(instance: String) throws(RuntimeError) -> [String] {
        guard let directory = opendir(logDirectory) else { return [] }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".pid") && name.utf8.count > 37 { names.append(name) }
        }
        closedir(directory)
        for name in names.sorted() {
            let task = String(name.prefix(32))
            let container = String(name.dropFirst(33).dropLast(4))
            let path = "\(logDirectory)/\(name)"
            guard let file = fopen(path, "r") else { continue }
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = fread(&buffer, 1, buffer.count, file)
            fclose(file)
            let fields = String(decoding: buffer[0..<count], as: UTF8.self).split(whereSeparator: {
                $0 == " " || $0 == "\n"
            })
            guard fields.count >= 3, let pid = pid_t(fields[0]), let epoch = Int(fields[1]), kill(pid, 0) == 0 else {
                unlink(path)
                continue
            }
            var entry = entries[task] ?? Entry(epoch: epoch, processes: [])
            entry.processes.append(
                Process(container: container, pid: pid, essential: fields[2] == "1", health: nil, adopted: true)
            )
            entries[task] = entry
        }
        return entries.keys.sorted()
    }

    /// `<logDirectory>/<task>-<container>.pid` holds each running container's process (group) id, so that what
    /// the agent started can be found after the agent itself is gone.
    func pidFile(_ task: String, _ container: String) -> String { "\(logDirectory)/\(task)-\(container).pid" }

    // No deinit that kills: containers outlive the agent (a restarted agent adopts them by their pid files), as
    // the agent's help says.

    package var logs: any LogReader { FileLogReader(directory: logDirectory) }

    package func start(_ task: TaskRecord, _ definition: TaskDefinitionSpec, secrets: TaskSecrets) throws(RuntimeError)
    {
        var processes: [Process] = []
        let now = clock()
        for container in definition.containerDefinitions {
            let override = task.overrides.containerOverrides?.first { $0.name == container.name }
            let arguments = (container.entryPoint ?? []) + (override?.command ?? container.command ?? [])
            guard !arguments.isEmpty else {
                for process in processes { kill(-process.pid, SIGKILL) }
                throw RuntimeError(
                    "container \(container.name): the exec runtime runs entryPoint + command and has neither"
                )
            }
            let environment =
                ((container.environment ?? []) + (override?.environment ?? []) + (secrets[container.name] ?? []))
                .map { "\($0.name)=\($0.value)" }
                + ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
            let log = "\(logDirectory)/\(task.id)-\(container.name).log"
            let pid: pid_t
            do {
                pid = try Self.spawn(
                    arguments,
                    environment: environment,
                    directory: container.workingDirectory,
                    log: log
                )
            } catch {
                for process in processes { kill(-process.pid, SIGKILL) }
                throw error
            }
            if let file = fopen(pidFile(task.id, container.name), "w") {
                fputs("\(pid) \(task.epoch) \(container.isEssential ? 1 : 0)\n", file)
                fclose(file)
            }
            let check = container.healthCheck
            processes.append(
                Process(
                    container: container.name,
                    pid: pid,
                    essential: container.isEssential,
                    check: check,
                    nextCheck: now + Int64(check?.startPeriod ?? 0) * 1_000,
                    health: check == nil ? nil : "UNKNOWN"
                )
            )
        }
        entries[task.id] = Entry(epoch: task.epoch, processes: processes)
    }

    package func stop(_ task: String, timeoutSeconds: Int) {
        guard var entry = entries[task], entry.exitCode == nil, entry.stopDeadline == nil else { return }
        for process in entry.processes where process.exitCode == nil { kill(-process.pid, SIGTERM) }
        entry.stopDeadline = clock() + Int64(max(0, timeoutSeconds)) * 1_000
        entries[task] = entry
    }

    package func poll() -> [String: LocalContainer] {
        let now = clock()
        var states: [String: LocalContainer] = [:]
        for id in entries.keys.sorted() {
            var entry = entries[id]!
            for position in entry.processes.indices where entry.processes[position].exitCode == nil {
                var status: Int32 = 0
                let pid = entry.processes[position].pid
                if entry.processes[position].adopted {
                    if (kill(pid, 0) != 0 && errno == ESRCH) || Self.isZombie(pid) {
                        // Not our child: its exit code is gone with it.
                        entry.processes[position].exitCode = -1
                        unlink(pidFile(id, entry.processes[position].container))
                    }
                } else if waitpid(pid, &status, WNOHANG) == pid {
                    entry.processes[position].exitCode = Self.exitCode(status)
                    unlink(pidFile(id, entry.processes[position].container))
                }
            }
            if let deadline = entry.stopDeadline, now >= deadline {
                for process in entry.processes where process.exitCode == nil { kill(-process.pid, SIGKILL) }
            }
            if entry.exitCode == nil,
                let essential = entry.processes.first(where: { $0.essential && $0.exitCode != nil })
            {
                entry.exitCode = entry.stopDeadline == nil ? essential.exitCode : 0
                if entry.stopDeadline == nil {
                    // An essential container exited: the task is over; stop the rest.
                    for process in entry.processes where process.exitCode == nil { kill(-process.pid, SIGTERM) }
                    entry.stopDeadline = now + 10_000
                }
            }
            for position in entry.processes.indices where entry.exitCode == nil {
                runHealthCheck(&entry.processes[position], now: now)
            }
            entries[id] = entry
            let health: String?
            let checked = entry.processes.compactMap(\.health)
            if checked.isEmpty {
                health = nil
            } else if checked.contains("UNHEALTHY") {
                health = "UNHEALTHY"
            } else {
                health = checked.allSatisfy { $0 == "HEALTHY" } ? "HEALTHY" : "UNKNOWN"
            }
            let state: LocalContainer.State =
                entry.exitCode.map { .exited(code: $0) } ?? (entry.stopDeadline != nil ? .stopping : .running)
            states[id] = LocalContainer(task: id, epoch: entry.epoch, state: state, health: health)
        }
        return states
    }

    package func remove(_ task: String) {
        guard let entry = entries[task] else { return }
        for process in entry.processes {
            if process.exitCode == nil {
                kill(-process.pid, SIGKILL)
                var status: Int32 = 0
                if !process.adopted { waitpid(process.pid, &status, 0) }
            }
            unlink(pidFile(task, process.container))
        }
        entries[task] = nil
    }

    /// Advances one container's health check: reaps a finished check, or starts the next one when due.
    func runHealthCheck(_ process: inout Process, now: Int64) {
        guard let check = process.check, process.exitCode == nil else { return }
        if let pid = process.checkPID {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                process.checkPID = nil
                record(&process, passed: Self.exitCode(status) == 0, check: check)
            } else if now >= process.checkDeadline {
                kill(-pid, SIGKILL)
                waitpid(pid, &status, 0)
                process.checkPID = nil
                record(&process, passed: false, check: check)
            }
            return
        }
        guard now >= process.nextCheck else { return }
        let interval = Int64(check.interval ?? ContainerDefinition.HealthCheck.defaultInterval) * 1_000
        process.nextCheck = now + interval
        var arguments = Array(check.command.dropFirst())
        if check.command.first == "CMD-SHELL" { arguments = ["/bin/sh", "-c", arguments.joined(separator: " ")] }
        guard !arguments.isEmpty,
            let pid = try? Self.spawn(arguments, environment: ["PATH=/usr/bin:/bin"], directory: nil, log: "/dev/null")
        else {
            record(&process, passed: false, check: check)
            return
        }
        process.checkPID = pid
        process.checkDeadline = now + Int64(check.timeout ?? ContainerDefinition.HealthCheck.defaultTimeout) * 1_000
    }

    func record(_ process: inout Process, passed: Bool, check: ContainerDefinition.HealthCheck) {
        if passed {
            process.failures = 0
            process.health = "HEALTHY"
        } else {
            process.failures += 1
            if process.failures >= (check.retries ?? ContainerDefinition.HealthCheck.defaultRetries) {
                process.health = "UNHEALTHY"
            }
        }
    }

    /// Whether `pid` has exited but is not yet reaped (an adopted process whose new parent has not waited for it).
    static func isZombie(_ pid: pid_t) -> Bool {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return false }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = fread(&buffer, 1, buffer.count, file)
        // "pid (comm) S …": the state follows the last ')'.
        guard let close = buffer[0..<count].lastIndex(of: UInt8(ascii: ")")), close + 2 < count else { return false }
        return buffer[close + 2] == UInt8(ascii: "Z")
    }

    /// The exit code of a wait status: the code, or 128 + the signal.
    static func exitCode(_ status: Int32) -> Int {
        let signal = status & 0x7f
        return signal == 0 ? Int((status >> 8) & 0xff) : 128 + Int(signal)
    }

    /// Starts `arguments` in a new process group.
    static func spawn(
        _ arguments: [String],
        environment: [String],
        directory: String?,
        log: String
    ) throws(RuntimeError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group; no signal blocked and the usual dispositions (the agent blocks SIGTERM/SIGINT and
        // ignores SIGPIPE, which a child would otherwise inherit and then ignore a stop).
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        )
        posix_spawnattr_setpgroup(&attributes, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // The working directory through a shell (posix_spawn_file_actions_addchdir_np is not exposed here).
        let arguments = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + arguments } ?? arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, &envp)
        guard result == 0 else {
            throw RuntimeError(
                "cannot start \(arguments[0]): \(String(decoding: strerrorBytes(result), as: UTF8.self))"
            )
        }
        return pid
    }

    static func strerrorBytes(_ code: Int32) -> [UInt8] {
        guard let text = strerror(code) else { return Array("error \(code)".utf8) }
        var bytes: [UInt8] = []
        var pointer = text
        while pointer.pointee != 0 {
            bytes.append(UInt8(bitPattern: pointer.pointee))
            pointer += 1
        }
        return bytes
    }
}

/// The exec runtime's container output: `<directory>/<task>-<container>.log`, running while its pid file names a live
/// process.
struct FileLogReader: LogReader {
    let directory: String

    func read(task: String, container: String, offset: Int, limit: Int) throws(RuntimeError) -> LogChunk? {
        guard task.utf8.allSatisfy({ $0 != UInt8(ascii: "/") }), container.utf8.allSatisfy({ $0 != UInt8(ascii: "/") }),
            let file = fopen("\(directory)/\(task)-\(container).log", "r")
        else { return nil }
        defer { fclose(file) }
        fseek(file, 0, SEEK_END)
        let size = Int(ftell(file))
        let start = min(max(0, offset), size)
        fseek(file, start, SEEK_SET)
        var buffer = [UInt8](repeating: 0, count: max(0, min(limit, size - start)))
        let count = buffer.isEmpty ? 0 : fread(&buffer, 1, buffer.count, file)
        var running = false
        if let pidFile = fopen("\(directory)/\(task)-\(container).pid", "r") {
            var line = [UInt8](repeating: 0, count: 64)
            let read = fread(&line, 1, line.count, pidFile)
            fclose(pidFile)
            let pid = pid_t(String(decoding: line[0..<read], as: UTF8.self).split(separator: " ").first ?? "") ?? 0
            running = pid > 0 && kill(pid, 0) == 0
        }
        return LogChunk(
            task: task,
            container: container,
            text: String(decoding: buffer[0..<count], as: UTF8.self),
            offset: start + count,
            running: running
        )
    }
}
