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
      storage [--dir PATH] [--seconds S] [--size BYTES]
          Write-ahead-log appends/s and fdatasyncs/s with 1, 16 and 256 concurrent proposers, next to the raw
          fdatasync rate of the same disk. PATH defaults to ./.bench-storage (on the disk under test).
      storage-crash-child --dir PATH
          Internal: appends forever with group commit, printing each durable index (for the SIGKILL test).
    """

var arguments = Array(CommandLine.arguments.dropFirst())
guard let benchmark = arguments.first, benchmark != "--help", benchmark != "-h" else {
    print(usage)
    exit(0)
}
arguments.removeFirst()

/// Reads `--name value` from `arguments` as text.
func stringOption(_ name: String, in arguments: [String]) -> String? {
    guard let position = arguments.firstIndex(of: "--\(name)"), position + 1 < arguments.count else { return nil }
    return arguments[position + 1]
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
case "storage":
    let directory = stringOption("dir", in: arguments) ?? "./.bench-storage"
    StorageBenchmark.run(
        directory: directory,
        seconds: Double(option("seconds", in: arguments, default: 3)),
        entryBytes: option("size", in: arguments, default: 1_024),
        proposers: [1, 16, 256]
    )
case "storage-crash-child":
    guard let directory = stringOption("dir", in: arguments) else {
        printError("gantry-bench: storage-crash-child needs --dir PATH")
        exit(2)
    }
    StorageCrashChild.run(directory: directory)
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
