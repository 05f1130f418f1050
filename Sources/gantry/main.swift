#if canImport(Glibc)
import Glibc
#endif

/// Gantry's version, printed by `gantry --version`.
let gantryVersion = "0.1.0"

let usage = """
    gantry — a self-hosted, highly available container orchestrator with the concepts of Amazon ECS.

    Usage: gantry <command> [options]

    Commands:
      version, --version   print the version
      help, --help         print this help

    The controller, agent and client commands arrive with the issues that build them.
    """

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "--version", "version":
    print("gantry \(gantryVersion)")
case nil, "--help", "-h", "help":
    print(usage)
case let other?:
    let line = "gantry: unknown command '\(other)'; run 'gantry --help' for the list\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
    exit(2)
}
