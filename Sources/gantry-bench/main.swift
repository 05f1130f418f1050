import Raft

#if canImport(Glibc)
import Glibc
#endif

/// `gantry-bench`: release-mode benchmarks. Run `swift run -c release gantry-bench --help`.
let usage = """
    Usage: gantry-bench <benchmark> [options]

    Benchmarks:
      raft-core [--proposals N] [--size BYTES] [--window N] [--runs N]
          Pushes N proposals through a 3-node in-memory Raft cluster (no disk, no network: the pure core and an
          in-memory message queue) and prints committed proposals per second and heap allocations per proposal,
          the median of --runs runs.
    """

var arguments = Array(CommandLine.arguments.dropFirst())
guard let benchmark = arguments.first, benchmark != "--help", benchmark != "-h" else {
    print(usage)
    exit(0)
}
arguments.removeFirst()

/// Writes one line to standard error.
func printError(_ line: String) {
    let text = line + "\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
}

/// Reads `--name value` from `arguments`, or the default.
func option(_ name: String, in arguments: [String], default value: Int) -> Int {
    guard let position = arguments.firstIndex(of: "--\(name)"), position + 1 < arguments.count else { return value }
    guard let parsed = Int(arguments[position + 1]), parsed > 0 else {
        printError("gantry-bench: --\(name) takes a positive whole number")
        exit(2)
    }
    return parsed
}

switch benchmark {
case "raft-core":
    let proposals = option("proposals", in: arguments, default: 200_000)
    let size = option("size", in: arguments, default: 128)
    let window = option("window", in: arguments, default: 1_024)
    let runs = option("runs", in: arguments, default: 5)
    var rates: [Double] = []
    var allocations: [Double] = []
    for _ in 0..<runs {
        let result = RaftCoreBenchmark.run(proposals: proposals, payloadBytes: size, window: window)
        rates.append(result.proposalsPerSecond)
        allocations.append(result.allocationsPerProposal)
    }
    print(
        "raft-core: 3 nodes in memory, \(proposals) proposals of \(size) B, \(window) in flight, \(runs) runs"
    )
    let spread = "[min \(Int(rates.min()!)), max \(Int(rates.max()!))]"
    print("  committed proposals/s (median): \(Int(median(rates)))  \(spread)")
    if AllocationCounter.isActive {
        print("  heap allocations per proposal (median, whole cluster): \(formatted(median(allocations)))")
    } else {
        print("  heap allocations per proposal: not measured (allocator interposition inactive in this build)")
    }
default:
    printError("gantry-bench: unknown benchmark '\(benchmark)'; run 'gantry-bench --help'")
    exit(2)
}

/// The median of a non-empty list.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Two decimals.
func formatted(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
