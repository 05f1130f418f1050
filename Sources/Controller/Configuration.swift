package import API
import ClusterState

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything a controller needs to start, from its JSON config file with command-line flags on top.
package struct ControllerConfiguration: Sendable, Equatable {
    /// This controller's Raft node id (a positive integer, unique in the cluster).
    package var nodeID: UInt64 = 0
    /// The cluster's id; peers of another cluster are refused.
    package var clusterID = ""
    /// Where the write-ahead log and snapshots live.
    package var dataDirectory = ""
    /// `host:port` the peer (Raft) port binds to and other controllers dial.
    package var peerAddress = ""
    /// `host:port` the HTTP admin API binds to.
    package var apiAddress = ""
    /// The founding members, node id → peer address. Every founding controller gets the same list.
    package var members: [UInt64: String] = [:]
    /// True for a controller that joins a running cluster (after `gantry operator raft add`); it starts empty and
    /// learns the configuration from the leader.
    package var join = false
    /// Leader heartbeat interval in milliseconds.
    package var heartbeatMilliseconds = 100
    /// Election timeout in milliseconds (randomized between this and twice this).
    package var electionMilliseconds = 1000
    /// The tokens file (see `TokenTable`).
    package var tokensFile = ""
    /// A file holding the cluster's shared peer secret (at least 16 bytes, same on every controller).
    package var peerSecretFile = ""
    /// Applied entries between two state snapshots (log compaction).
    package var snapshotEvery = 10_000
    /// How long an instance's agent may go without a heartbeat before the leader declares the instance lost and
    /// replaces its tasks elsewhere; a new leader first gives every instance this long.
    package var instanceTTLMilliseconds = 30_000
    /// Largest accepted request body in bytes.
    package var maxBodyBytes = 1 << 20
    /// Concurrent HTTP connections accepted.
    package var maxConnections = 4096
    /// How long a write or linearizable read may wait for the cluster before a 503, in milliseconds.
    package var requestTimeoutMilliseconds = 10_000
    /// How long STOPPED tasks stay describable before the leader prunes them, in seconds.
    package var taskRetentionSeconds = 3600
    /// Whether unsigned calls to the ECS face may read (as role readonly); off by default, so every ECS call must be
    /// signed with an access key of the tokens file.
    package var allowAnonymousRead = false
    /// The region in resource ARNs (`arn:aws:ecs:<region>:<account>:…`), as the AWS CLI and boto3 expect them.
    package var region = "us-east-1"
    /// The 12-digit account in resource ARNs.
    package var account = "123456789012"
    /// A backup file to initialize an empty data directory from (restore).
    package var restoreFrom: String?

    /// An empty configuration, to fill from a file and flags.
    package init() {}

    /// The JSON file's shape: every field optional, flags fill or override.
    struct File: Decodable {
        var nodeId: UInt64?
        var clusterId: String?
        var dataDir: String?
        var peerAddress: String?
        var apiAddress: String?
        var members: [String: String]?
        var join: Bool?
        var heartbeatMs: Int?
        var electionMs: Int?
        var tokensFile: String?
        var peerSecretFile: String?
        var snapshotEvery: Int?
        var instanceTtlMs: Int?
        var maxBodyBytes: Int?
        var maxConnections: Int?
        var requestTimeoutMs: Int?
        var region: String?
        var account: String?
        var taskRetentionSeconds: Int?
        var allowAnonymousRead: Bool?
    }

    /// Fills fields from a config file's JSON.
    package mutating func load(json bytes: [UInt8], path: String) throws(ConfigurationError) {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch let DecodingError.typeMismatch(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError("\(path): field \(field) has the wrong type")
        } catch {
            throw ConfigurationError("\(path): not valid JSON for a controller config (see gantry controller --help)")
        }
        if let value = file.nodeId { nodeID = value }
        if let value = file.clusterId { clusterID = value }
        if let value = file.dataDir { dataDirectory = value }
        if let value = file.peerAddress { peerAddress = value }
        if let value = file.apiAddress { apiAddress = value }
        if let value = file.members { members = try Self.parseMembers(value, source: "\(path): members") }
        if let value = file.join { join = value }
        if let value = file.heartbeatMs { heartbeatMilliseconds = value }
        if let value = file.electionMs { electionMilliseconds = value }
        if let value = file.tokensFile { tokensFile = value }
        if let value = file.peerSecretFile { peerSecretFile = value }
        if let value = file.snapshotEvery { snapshotEvery = value }
        if let value = file.instanceTtlMs { instanceTTLMilliseconds = value }
        if let value = file.maxBodyBytes { maxBodyBytes = value }
        if let value = file.maxConnections { maxConnections = value }
        if let value = file.requestTimeoutMs { requestTimeoutMilliseconds = value }
        if let value = file.region { region = value }
        if let value = file.account { account = value }
        if let value = file.taskRetentionSeconds { taskRetentionSeconds = value }
        if let value = file.allowAnonymousRead { allowAnonymousRead = value }
    }

    /// Parses `{"1": "host:port", ...}` into ids → addresses.
    static func parseMembers(_ raw: [String: String], source: String) throws(ConfigurationError) -> [UInt64: String] {
        var members: [UInt64: String] = [:]
        for (key, address) in raw {
            guard let id = UInt64(key), id > 0 else {
                throw ConfigurationError("\(source): member id '\(key)' must be a positive integer")
            }
            if let problem = ParameterRules.addressProblem(address) {
                throw ConfigurationError("\(source): member \(id) address '\(address)' \(problem)")
            }
            members[id] = address
        }
        return members
    }

    /// Parses the `--members 1=host:port,2=host:port` flag.
    package static func parseMembersFlag(_ text: String) throws(ConfigurationError) -> [UInt64: String] {
        var raw: [String: String] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ConfigurationError("--members: '\(item)' must be id=host:port")
            }
            raw[String(parts[0])] = String(parts[1])
        }
        guard !raw.isEmpty else { throw ConfigurationError("--members: give at least one id=host:port") }
        return try parseMembers(raw, source: "--members")
    }

    /// Checks every rule; throws the first broken one as a line naming the field.
    package func validate() throws(ConfigurationError) {
        guard nodeID > 0 else { throw ConfigurationError("nodeId (--node-id) is required and must be positive") }
        guard !clusterID.isEmpty, clusterID.utf8.count <= 64,
            clusterID.utf8.allSatisfy({ isIdentifierByte($0) })
        else {
            throw ConfigurationError(
                "clusterId (--cluster-id) is required: 1 to 64 letters, digits, '-', '_' or '.'"
            )
        }
        guard !dataDirectory.isEmpty else { throw ConfigurationError("dataDir (--data-dir) is required") }
        if let problem = ParameterRules.addressProblem(peerAddress) {
            throw ConfigurationError("peerAddress (--peer-address) '\(peerAddress)' \(problem)")
        }
        if let problem = ParameterRules.addressProblem(apiAddress) {
            throw ConfigurationError("apiAddress (--api-address) '\(apiAddress)' \(problem)")
        }
        guard peerAddress != apiAddress else {
            throw ConfigurationError("peerAddress and apiAddress must differ (both are \(peerAddress))")
        }
        if join {
            guard !members.isEmpty else {
                throw ConfigurationError("members (--members) must list the running cluster's controllers to join it")
            }
        } else {
            guard let own = members[nodeID] else {
                throw ConfigurationError(
                    "members (--members) must include this node (\(nodeID)); use join: true for a node joining later"
                )
            }
            guard own == peerAddress else {
                throw ConfigurationError(
                    "members[\(nodeID)] is \(own) but peerAddress is \(peerAddress); they must match"
                )
            }
        }
        let addresses = members.values.sorted()
        guard Set(addresses).count == addresses.count else {
            throw ConfigurationError("members lists one peer address twice")
        }
        guard (10...10_000).contains(heartbeatMilliseconds) else {
            throw ConfigurationError(
                "heartbeatMs (--heartbeat-ms) must be from 10 to 10000, got \(heartbeatMilliseconds)"
            )
        }
        guard electionMilliseconds >= 3 * heartbeatMilliseconds, electionMilliseconds <= 60_000 else {
            throw ConfigurationError(
                "electionMs (--election-ms) must be at least 3 × heartbeatMs (\(3 * heartbeatMilliseconds)) and at most 60000"
            )
        }
        guard !tokensFile.isEmpty else { throw ConfigurationError("tokensFile (--tokens-file) is required") }
        guard !peerSecretFile.isEmpty else {
            throw ConfigurationError("peerSecretFile (--peer-secret-file) is required")
        }
        guard snapshotEvery >= 100 else { throw ConfigurationError("snapshotEvery must be at least 100") }
        guard (1_000...3_600_000).contains(instanceTTLMilliseconds) else {
            throw ConfigurationError("instanceTtlMs (--instance-ttl-ms) must be 1000 to 3600000")
        }
        guard maxBodyBytes >= 70_000 else {
            throw ConfigurationError("maxBodyBytes must be at least 70000 (a 64 KiB parameter value must fit)")
        }
        guard maxConnections >= 1 else { throw ConfigurationError("maxConnections must be at least 1") }
        guard requestTimeoutMilliseconds >= 100 else {
            throw ConfigurationError("requestTimeoutMs must be at least 100")
        }
        guard (60...30 * 24 * 3600).contains(taskRetentionSeconds) else {
            throw ConfigurationError("taskRetentionSeconds (--task-retention-seconds) must be 60 to 2592000 (30 days)")
        }
        let regionValid = region.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
        guard (1...32).contains(region.utf8.count), regionValid else {
            throw ConfigurationError(
                "region (--region) must be 1 to 32 lowercase letters, digits or '-', got '\(region)'"
            )
        }
        guard account.utf8.count == 12,
            account.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else {
            throw ConfigurationError("account (--account) must be 12 digits, got '\(account)'")
        }
    }

    /// The prefix of every resource ARN: `arn:aws:ecs:<region>:<account>`, ECS's form, so tools that parse ARNs work.
    package var arnPrefix: String { "arn:aws:ecs:\(region):\(account)" }

    /// Milliseconds per Raft tick: a tenth of the heartbeat, so timeouts are randomized finely.
    package var tickMilliseconds: Int { max(1, heartbeatMilliseconds / 10) }

    func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
