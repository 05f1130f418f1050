import HTTP

#if canImport(Glibc)
import Glibc
#endif

/// The monotonic clock in nanoseconds, for latencies and failover gaps.
func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// Sleeps for `milliseconds`.
func sleepMilliseconds(_ milliseconds: Int) {
    var request = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR {
        request = remaining
    }
}

/// A dedicated pthread for blocking I/O (load clients must not run on the cooperative pool). Its starter joins
/// it exactly once. (Not `~Copyable`: the benchmarks keep threads in arrays.)
struct BenchThread {
    /// Carries the body through `pthread_create`'s untyped context pointer.
    final class Body {
        /// What the thread runs.
        let run: @Sendable () -> Void

        /// A body for `run`.
        init(_ run: @escaping @Sendable () -> Void) {
            self.run = run
        }
    }

    /// The running thread.
    let thread: pthread_t

    /// Starts `body` on a new thread; failure to create a thread ends the benchmark, which cannot run without it.
    init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread,
            nil,
            { raw in
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                body.run()
                return nil
            },
            context
        )
        guard created == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            printError("gantry-bench: cannot start a thread: \(String(cString: strerror(created)))")
            exit(1)
        }
        self.thread = thread
    }

    /// Waits for the thread to finish.
    func join() {
        pthread_join(thread, nil)
    }
}

/// A small, fast generator for picking keys; seeded per client so that clients do not write in lockstep.
struct SplitMix64: RandomNumberGenerator {
    /// The state; any value is valid.
    var state: UInt64

    /// A generator starting from `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Standard base64 with padding (RFC 4648 §4), for etcd's JSON gateway, which carries keys and values as bytes.
func base64Encoded(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var output: [UInt8] = []
    output.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index < bytes.count {
        let first = UInt32(bytes[index])
        let second = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        let third = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
        let group = first << 16 | second << 8 | third
        output.append(alphabet[Int(group >> 18 & 63)])
        output.append(alphabet[Int(group >> 12 & 63)])
        output.append(index + 1 < bytes.count ? alphabet[Int(group >> 6 & 63)] : UInt8(ascii: "="))
        output.append(index + 2 < bytes.count ? alphabet[Int(group & 63)] : UInt8(ascii: "="))
        index += 3
    }
    return String(decoding: output, as: UTF8.self)
}

/// The text of the first `"name": value` in `json`: a string's contents without the quotes (escapes left as
/// they are) or a number or literal as written; nil when absent. Nesting is ignored, which is enough for the flat
/// status bodies read here (Gantry's `/v1/status`, etcd's `/v3/maintenance/status`).
func jsonField(_ name: String, in json: String) -> String? {
    let bytes = Array(json.utf8)
    let pattern = Array("\"\(name)\"".utf8)
    guard pattern.count <= bytes.count else { return nil }
    var start = 0
    while start + pattern.count <= bytes.count {
        defer { start += 1 }
        guard bytes[start..<start + pattern.count].elementsEqual(pattern) else { continue }
        var index = start + pattern.count
        while index < bytes.count && bytes[index] == UInt8(ascii: " ") { index += 1 }
        guard index < bytes.count && bytes[index] == UInt8(ascii: ":") else { continue }
        index += 1
        while index < bytes.count && bytes[index] == UInt8(ascii: " ") { index += 1 }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            var end = index + 1
            while end < bytes.count && bytes[end] != UInt8(ascii: "\"") {
                end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
            }
            return String(decoding: bytes[index + 1..<min(end, bytes.count)], as: UTF8.self)
        }
        var end = index
        while end < bytes.count && ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[end]) {
            end += 1
        }
        return String(decoding: bytes[index..<end], as: UTF8.self)
    }
    return nil
}

/// Latency summary of a sorted list of nanosecond samples, in milliseconds.
struct LatencySummary {
    /// Median.
    var p50: Double
    /// 99th percentile.
    var p99: Double
    /// Largest.
    var max: Double
    /// Arithmetic mean.
    var mean: Double

    /// The summary of `samples` (nanoseconds, any order); all zeros when empty.
    init(nanoseconds samples: [Int64]) {
        guard !samples.isEmpty else {
            (p50, p99, max, mean) = (0, 0, 0, 0)
            return
        }
        let sorted = samples.sorted()
        /// Nearest-rank percentile.
        func rank(_ fraction: Double) -> Double {
            let position = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
            return Double(sorted[Swift.max(0, Swift.min(sorted.count - 1, position))]) / 1e6
        }
        p50 = rank(0.50)
        p99 = rank(0.99)
        max = Double(sorted.last!) / 1e6
        mean = Double(sorted.reduce(0, +)) / Double(sorted.count) / 1e6
    }
}

/// Command-line options for the HTTP benchmarks: `--name value` pairs and bare `--flag`s.
struct BenchOptions {
    /// The arguments after the benchmark's name.
    let arguments: [String]
    /// The benchmark's name, for messages.
    let command: String

    /// Text of `--name value`, or nil.
    func text(_ name: String) -> String? {
        guard let position = arguments.firstIndex(of: "--\(name)"), position + 1 < arguments.count else {
            return nil
        }
        return arguments[position + 1]
    }

    /// Text of `--name value`, which must be given.
    func required(_ name: String) -> String {
        guard let value = text(name) else {
            fail("--\(name) is required")
        }
        return value
    }

    /// A whole number at least `minimum`, or the default.
    func integer(_ name: String, default value: Int, minimum: Int = 1) -> Int {
        guard let text = text(name) else { return value }
        guard let parsed = Int(text), parsed >= minimum else {
            fail("--\(name) takes a whole number of at least \(minimum), not '\(text)'")
        }
        return parsed
    }

    /// Whether the bare `--name` is present.
    func flag(_ name: String) -> Bool {
        arguments.contains("--\(name)")
    }

    /// A comma-separated list from `--name`, which must be given and non-empty.
    func list(_ name: String) -> [String] {
        let items = required(name).split(separator: ",").map(String.init)
        guard !items.isEmpty else { fail("--\(name) needs at least one item") }
        return items
    }

    /// Reports a usage error and exits with status 2.
    func fail(_ message: String) -> Never {
        printError("gantry-bench \(command): \(message)")
        exit(2)
    }
}

/// Formats a number with `places` decimals (0 to 3) without Foundation.
func decimal(_ value: Double, places: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = Int64((abs(value) * scale).rounded())
    let whole = scaled / Int64(scale)
    var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
    if places > 0 {
        let fraction = String(scaled % Int64(scale))
        text += "." + String(repeating: "0", count: places - fraction.count) + fraction
    }
    return text
}
