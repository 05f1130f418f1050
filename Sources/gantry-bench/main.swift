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
      http-load --system gantry|etcd --endpoints HOST:PORT[,...] [--clients N] [--duration-seconds S]
                [--warmup-seconds S] [--value-bytes B] [--keys K] [--token T] [--target leader|all]
                [--request-timeout-ms MS] [--json]
          Closed-loop writes over HTTP/1.1 keep-alive: N client threads, each writing a B-byte value to a random
          one of K keys and waiting for the acknowledgement. --target leader (default) sends every write to the
          node that says it leads; all spreads the clients over the endpoints. Prints writes/s, p50/p99/max
          latency and errors (defaults: 1 client, 10 s + 2 s warm-up, 1024 B, 1000 keys).
      failover --system gantry|etcd --endpoints HOST:PORT,... --pid-files FILE,... [--kills N] [--clients N]
               [--token T] [--fault kill|stop] [--request-timeout-ms MS] [--pause-ms MS] [--ready-timeout-seconds S]
               [--json]
          Under a steady write load (default 4 clients over all endpoints), N times (default 20): kill -9 the
          leader (its PID from the PID file listed at the same position as its endpoint), measure the time to the
          next acknowledged write, restart it with the same command line (from /proc), update its PID file, wait
          until it rejoins. Prints p50 and max of the gaps. --fault stop freezes the leader (SIGSTOP) instead and
          kills it after the gap, so no closed socket tells the followers; they must wait out the election timeout.
      scale --endpoints HOST:PORT,... [--token T] [--instances N] [--tasks M] [--services S] [--agent-threads K]
            [--pid-files FILE,...]
          Against a running cluster (bench/scale starts one): registers N simulated instances, creates S services
          totalling M tasks, and runs the instances' agents in this process (they read their assignments from the
          followers and report them RUNNING). Prints registrations/s, placements/s end to end, the time until all
          tasks are RUNNING and each controller's resident memory.
      scale-core [--instances N] [--tasks M] [--services S]
          The orchestrator alone in one process (no Raft, no HTTP): reconcile rounds applied to one domain, every
          placed task reported RUNNING between rounds. Shows where the leader's own time goes.
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
case "http-load":
    HTTPLoad.run(BenchOptions(arguments: arguments, command: benchmark))
case "failover":
    Failover.run(BenchOptions(arguments: arguments, command: benchmark))
case "scale":
    ScaleBenchmark.run(BenchOptions(arguments: arguments, command: benchmark))
case "scale-core":
    ScaleCore.run(
        instances: option("instances", in: arguments, default: 1_000),
        tasks: option("tasks", in: arguments, default: 50_000),
        services: option("services", in: arguments, default: 10)
    )
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
