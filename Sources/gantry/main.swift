import Controller

#if canImport(Glibc)
import Glibc
#endif

let usage = """
    gantry — a self-hosted, highly available container orchestrator with the concepts of Amazon ECS.

    Usage: gantry <command> [options]

    Daemons:
      controller           run a controller (gantry controller --help)
      agent                run an agent on a container host (gantry agent --help)

    Client commands (any controller's address works; GANTRY_ADDR, GANTRY_TOKEN):
      status               this controller's view: role, term, leader, indexes
      operator             raft list|add|remove|transfer, snapshot save
      parameter            put|get|list|delete replicated parameters
      cluster              create|list|describe|delete clusters
      taskdef              register|list|families|describe|deregister|delete task definitions
      instance             list|describe|drain|activate|deregister container instances, attributes
      service              create|list|describe|update|delete|events|deployments|rollback|explain services
      task                 run|list|describe|stop tasks, logs of their containers

    Other:
      version, --version   print the version
      help, --help         print this help
    """

let arguments = Array(CommandLine.arguments.dropFirst())
let rest = Array(arguments.dropFirst())
do throws(CommandError) {
    switch arguments.first {
    case "--version", "version":
        print("gantry \(gantryVersion)")
    case nil, "--help", "-h", "help":
        print(usage)
    case "controller":
        try runController(rest)
    case "agent":
        try runAgent(rest)
    case "status":
        try runStatus(rest)
    case "operator":
        try runOperator(rest)
    case "parameter":
        try runParameter(rest)
    case "cluster":
        try runCluster(rest)
    case "taskdef":
        try runTaskDefinition(rest)
    case "instance":
        try runInstance(rest)
    case "service":
        try runService(rest)
    case "task":
        try runTask(rest)
    case let other?:
        throw CommandError("unknown command '\(other)'; run 'gantry --help' for the list")
    }
} catch {
    printError("gantry: \(error.message)")
    exit(error.exitCode)
}
