import API
import Controller
import Glibc

let controllerHelp = """
    gantry controller — run one controller of a Gantry cluster (3 or 5 per cluster).

    Usage: gantry controller [--config FILE] [options]

    Settings come from the JSON config file (field names in parentheses); options override it.
      --config FILE             JSON config file, e.g. deploy/config/3-node/node1.json
      --node-id N               (nodeId) this controller's id, a positive integer unique in the cluster
      --cluster-id ID           (clusterId) the cluster's name; controllers of another cluster are refused
      --data-dir DIR            (dataDir) write-ahead log and snapshots; created if missing
      --peer-address HOST:PORT  (peerAddress) Raft peer port to bind; other controllers dial it
      --api-address HOST:PORT   (apiAddress) HTTP admin API to bind
      --members LIST            (members) founding members, 1=host:port,2=host:port,... (same on every node)
      --join                    (join) start empty and join a running cluster; add it first with
                                'gantry operator raft add'
      --heartbeat-ms N          (heartbeatMs) leader heartbeat interval, default 100
      --election-ms N           (electionMs) election timeout, randomized in [N, 2N), default 1000;
                                must be at least 3 × heartbeat
      --tokens-file FILE        (tokensFile) API tokens: {"tokens":[{"name","role","token"}]},
                                roles admin, operator, readonly, and agent (a join token: it can only
                                register container instances; each gets its own agent credential);
                                also "accessKeys":[{"name","role","accessKeyId","secretAccessKey"}] for
                                the ECS protocol (aws CLI, boto3; SigV4); the same file on every controller
      --peer-secret-file FILE   (peerSecretFile) shared peer secret, at least 16 bytes, same on every controller
      --snapshot-every N        (snapshotEvery) applied entries between snapshots, default 10000
      --instance-ttl-ms N       (instanceTtlMs) an agent silent this long has its instance declared lost and its
                                tasks replaced elsewhere; a new leader first waits this long, default 30000
      --max-body-bytes N        (maxBodyBytes) largest request body, default 1048576
      --request-timeout-ms N    (requestTimeoutMs) how long a write or read waits for a quorum, default 10000
      --task-retention-seconds N
                                (taskRetentionSeconds) how long STOPPED tasks stay describable, default 3600
      --region NAME             (region) region in resource ARNs (arn:aws:ecs:REGION:…), default us-east-1
      --account DIGITS          (account) 12-digit account in resource ARNs, default 123456789012
      --allow-anonymous-read    (allowAnonymousRead) unsigned ECS-protocol calls may read (role readonly);
                                off by default: every call must be signed with an access key (SigV4)
      --restore FILE            initialize an EMPTY data directory from a backup taken with
                                'gantry operator snapshot save' (every founding node restores the same file)

    The controller runs until SIGTERM or SIGINT, then stops cleanly.
    """

/// `gantry controller`.
func runController(_ words: [String]) throws(CommandError) {
    if words.contains("--help") || words.contains("-h") {
        print(controllerHelp)
        return
    }
    let arguments = try Arguments(
        words,
        valued: [
            "config", "node-id", "cluster-id", "data-dir", "peer-address", "api-address", "members", "heartbeat-ms",
            "election-ms", "tokens-file", "peer-secret-file", "snapshot-every", "max-body-bytes",
            "request-timeout-ms", "restore", "region", "account", "task-retention-seconds", "instance-ttl-ms",
        ],
        booleans: ["join", "allow-anonymous-read"]
    )
    guard arguments.positional.isEmpty else {
        throw CommandError("gantry controller takes no positional arguments (got '\(arguments.positional[0])')")
    }
    var configuration = ControllerConfiguration()
    do {
        if let path = arguments["config"] {
            try configuration.load(json: try readConfigFile(path), path: path)
        }
        if let value = try arguments.integer("node-id") { configuration.nodeID = UInt64(value) }
        if let value = arguments["cluster-id"] { configuration.clusterID = value }
        if let value = arguments["data-dir"] { configuration.dataDirectory = value }
        if let value = arguments["peer-address"] { configuration.peerAddress = value }
        if let value = arguments["api-address"] { configuration.apiAddress = value }
        if let value = arguments["members"] {
            configuration.members = try ControllerConfiguration.parseMembersFlag(value)
        }
        if arguments.flags["join"] != nil { configuration.join = arguments.isSet("join") }
        if arguments.flags["allow-anonymous-read"] != nil {
            configuration.allowAnonymousRead = arguments.isSet("allow-anonymous-read")
        }
        if let value = try arguments.integer("heartbeat-ms") { configuration.heartbeatMilliseconds = value }
        if let value = try arguments.integer("election-ms") { configuration.electionMilliseconds = value }
        if let value = arguments["tokens-file"] { configuration.tokensFile = value }
        if let value = arguments["peer-secret-file"] { configuration.peerSecretFile = value }
        if let value = try arguments.integer("snapshot-every") { configuration.snapshotEvery = value }
        if let value = try arguments.integer("instance-ttl-ms") { configuration.instanceTTLMilliseconds = value }
        if let value = try arguments.integer("max-body-bytes") { configuration.maxBodyBytes = value }
        if let value = try arguments.integer("request-timeout-ms") { configuration.requestTimeoutMilliseconds = value }
        if let value = arguments["restore"] { configuration.restoreFrom = value }
        if let value = arguments["region"] { configuration.region = value }
        if let value = arguments["account"] { configuration.account = value }
        if let value = try arguments.integer("task-retention-seconds") { configuration.taskRetentionSeconds = value }
        try configuration.validate()
    } catch let error as CommandError {
        throw error
    } catch {
        throw CommandError("gantry controller: \(error)")
    }
    // Block the stop signals in every thread (threads inherit the mask), then wait for one here.
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGTERM)
    sigaddset(&signals, SIGINT)
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    signal(SIGPIPE, SIG_IGN)
    let node = ControllerNode(configuration: configuration)
    do {
        _ = try node.start()
    } catch {
        throw CommandError("gantry controller: \(error)", exitCode: 1)
    }
    var received: Int32 = 0
    sigwait(&signals, &received)
    node.stop()
}

/// Reads a config file with a one-line error.
func readConfigFile(_ path: String) throws(CommandError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        throw CommandError("--config \(path): cannot open (\(String(cString: strerror(errno))))", exitCode: 1)
    }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count >= 0 else { throw CommandError("--config \(path): read failed", exitCode: 1) }
        if count == 0 { return bytes }
        bytes += buffer[0..<count]
        guard bytes.count <= 1 << 20 else { throw CommandError("--config \(path): larger than 1 MiB", exitCode: 1) }
    }
}
