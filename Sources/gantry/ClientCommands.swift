import API
import Glibc
import HTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

let clientFlags: Set<String> = ["addr", "token", "output"]

let statusHelp = """
    gantry status — this controller's view of the cluster.
    Usage: gantry status [--addr HOST:PORT[,HOST:PORT...]] [--token TOKEN] [--output text|json]
    --addr defaults to GANTRY_ADDR (else 127.0.0.1:8001); --token to GANTRY_TOKEN.
    """

let operatorHelp = """
    gantry operator — cluster membership, leadership and backups (role admin; list: readonly).
    Usage:
      gantry operator raft list                       members, suffrage, match index and lag
      gantry operator raft add --id N --address H:P   add a controller as a learner (promoted once caught up);
                                                      then start it with --join
      gantry operator raft remove ID                  remove a controller
      gantry operator raft transfer [--to ID]         move leadership (default: the most caught-up voter)
      gantry operator snapshot save FILE              download a backup of the replicated state
    Common options: --addr HOST:PORT (GANTRY_ADDR), --token TOKEN (GANTRY_TOKEN), --output text|json
    """

let parameterHelp = """
    gantry parameter — the replicated parameter store.
    Usage:
      gantry parameter put NAME VALUE [--secret] [--cas VERSION]   (VALUE '-' reads standard input)
      gantry parameter get NAME [--stale]
      gantry parameter list [--prefix PREFIX] [--stale]
      gantry parameter delete NAME [--cas VERSION]
    --cas 0 writes only if NAME does not exist; --cas N only if it is at version N.
    Common options: --addr HOST:PORT (GANTRY_ADDR), --token TOKEN (GANTRY_TOKEN), --output text|json
    """

/// Prints a response body as JSON (for --output json).
func printJSON(_ response: HTTPClientResponse) {
    writeStandardOutput(response.body + [0x0A])
}

/// `gantry status`.
func runStatus(_ words: [String]) throws(CommandError) {
    if words.contains("--help") {
        print(statusHelp)
        return
    }
    let arguments = try Arguments(words, valued: clientFlags, booleans: [])
    guard arguments.positional.isEmpty else { throw CommandError("gantry status takes no arguments") }
    let client = try Client(arguments)
    let response = try client.expectSuccess("GET", "/v1/status")
    if client.json { return printJSON(response) }
    let status = try decodeBody(NodeStatusView.self, response)
    let leader = status.leader == 0 ? "none" : String(status.leader)
    let contact = status.lastContactMilliseconds < 0 ? "never" : "\(status.lastContactMilliseconds) ms ago"
    print("node \(status.id) (cluster \(status.clusterID), gantry \(status.version))")
    print("role \(status.role), term \(status.term), leader \(leader), last contact \(contact)")
    print("commit index \(status.commitIndex), applied index \(status.appliedIndex)")
    if let halted = status.halted { print("HALTED: \(halted)") }
}

/// `gantry operator ...`.
func runOperator(_ words: [String]) throws(CommandError) {
    guard let area = words.first, area != "--help" else {
        print(operatorHelp)
        return
    }
    let rest = Array(words.dropFirst())
    switch area {
    case "raft":
        try runOperatorRaft(rest)
    case "snapshot":
        let arguments = try Arguments(rest, valued: clientFlags, booleans: [])
        guard arguments.positional.count == 2, arguments.positional[0] == "save" else {
            throw CommandError("usage: gantry operator snapshot save FILE")
        }
        let client = try Client(arguments)
        let response = try client.expectSuccess("GET", "/v1/operator/snapshot")
        let path = arguments.positional[1]
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CommandError("cannot create \(path): \(String(cString: strerror(errno)))", exitCode: 1)
        }
        let written = response.body.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == response.body.count, synced == 0 else {
            throw CommandError("writing \(path) failed", exitCode: 1)
        }
        print(
            "saved a backup at index \(response.header("X-Gantry-Index") ?? "?") to \(path) (\(response.body.count) bytes)"
        )
    default:
        throw CommandError("unknown operator command '\(area)'; see gantry operator --help")
    }
}

func runOperatorRaft(_ words: [String]) throws(CommandError) {
    let arguments = try Arguments(words, valued: clientFlags.union(["id", "address", "to"]), booleans: [])
    let client = try Client(arguments)
    switch arguments.positional.first {
    case "list":
        let response = try client.expectSuccess("GET", "/v1/operator/raft")
        if client.json { return printJSON(response) }
        let view = try decodeBody(RaftMembersView.self, response)
        print("term \(view.term), leader \(view.leader == 0 ? "unknown" : String(view.leader))")
        print(pad("ID", 6) + pad("ADDRESS", 24) + pad("SUFFRAGE", 10) + pad("LEADER", 8) + pad("MATCH", 10) + "LAG")
        for member in view.members {
            print(
                pad(String(member.id), 6) + pad(member.address ?? "?", 24) + pad(member.suffrage, 10)
                    + pad(member.leader ? "yes" : "", 8) + pad(member.matchIndex.map(String.init) ?? "-", 10)
                    + (member.lag.map(String.init) ?? "-")
            )
        }
    case "add":
        guard let id = try arguments.integer("id"), id > 0, let address = arguments["address"] else {
            throw CommandError("usage: gantry operator raft add --id N --address HOST:PORT")
        }
        let body = Array("{\"id\":\(id),\"address\":\"\(address)\"}".utf8)
        let response = try client.expectSuccess("POST", "/v1/operator/raft/members", body: body, write: true)
        if client.json { return printJSON(response) }
        print("node \(id) added as a learner; start it with --join; it is promoted to voter once caught up")
    case "remove":
        guard arguments.positional.count == 2, let id = UInt64(arguments.positional[1]) else {
            throw CommandError("usage: gantry operator raft remove ID")
        }
        let response = try client.expectSuccess("DELETE", "/v1/operator/raft/members/\(id)", write: true)
        if client.json { return printJSON(response) }
        print("node \(id) removed")
    case "transfer":
        let body = try arguments.integer("to").map { Array("{\"to\":\($0)}".utf8) } ?? []
        let response = try client.expectSuccess("POST", "/v1/operator/raft/transfer", body: body, write: true)
        if client.json { return printJSON(response) }
        struct Leader: Decodable { var leader: UInt64 }
        print("node \(try decodeBody(Leader.self, response).leader) now leads")
    default:
        throw CommandError("usage: gantry operator raft list|add|remove|transfer (see gantry operator --help)")
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

/// The JSON view of a parameter, as the API returns it.
struct ParameterBody: Decodable {
    var name: String
    var value: String?
    var secret: Bool
    var version: UInt64
    var modifiedIndex: UInt64
}

/// `gantry parameter ...`.
func runParameter(_ words: [String]) throws(CommandError) {
    if words.first == nil || words.first == "--help" {
        print(parameterHelp)
        return
    }
    let arguments = try Arguments(words, valued: clientFlags.union(["cas", "prefix"]), booleans: ["secret", "stale"])
    let client = try Client(arguments)
    let positional = arguments.positional
    let stale = arguments.isSet("stale") ? "consistency=stale" : ""
    let cas = try arguments.integer("cas").map { "cas=\($0)" } ?? ""
    func query(_ parts: String...) -> String {
        let joined = parts.filter { !$0.isEmpty }.joined(separator: "&")
        return joined.isEmpty ? "" : "?" + joined
    }
    switch positional.first {
    case "put":
        guard positional.count == 3 else {
            throw CommandError("usage: gantry parameter put NAME VALUE [--secret] [--cas N]")
        }
        let value = positional[2] == "-" ? readStandardInput() : positional[2]
        struct Body: Encodable {
            var value: String
            var secret: Bool
        }
        let body = JSON.encode(Body(value: value, secret: arguments.isSet("secret")))
        let response = try client.expectSuccess(
            "PUT",
            "/v1/parameters/\(pathEscaped(positional[1]))" + query(cas),
            body: body,
            write: true
        )
        if client.json { return printJSON(response) }
        struct Written: Decodable {
            var name: String
            var version: UInt64
            var index: UInt64
        }
        let written = try decodeBody(Written.self, response)
        print("\(written.name): version \(written.version) (log index \(written.index))")
    case "get":
        guard positional.count == 2 else { throw CommandError("usage: gantry parameter get NAME [--stale]") }
        let response = try client.expectSuccess("GET", "/v1/parameters/\(pathEscaped(positional[1]))" + query(stale))
        if client.json { return printJSON(response) }
        print(try decodeBody(ParameterBody.self, response).value ?? "")
    case "list":
        guard positional.count == 1 else { throw CommandError("usage: gantry parameter list [--prefix P] [--stale]") }
        let prefix = arguments["prefix"].map { "prefix=\(pathEscaped($0))" } ?? ""
        let response = try client.expectSuccess("GET", "/v1/parameters" + query(prefix, stale))
        if client.json { return printJSON(response) }
        struct List: Decodable { var parameters: [ParameterBody] }
        for parameter in try decodeBody(List.self, response).parameters {
            let value = parameter.secret ? "(secret)" : (parameter.value ?? "")
            print(pad(parameter.name, 32) + pad("v\(parameter.version)", 8) + value)
        }
    case "delete":
        guard positional.count == 2 else { throw CommandError("usage: gantry parameter delete NAME [--cas N]") }
        let response = try client.expectSuccess(
            "DELETE",
            "/v1/parameters/\(pathEscaped(positional[1]))" + query(cas),
            write: true
        )
        if client.json { return printJSON(response) }
        print("\(positional[1]) deleted")
    default:
        throw CommandError("usage: gantry parameter put|get|list|delete (see gantry parameter --help)")
    }
}

func readStandardInput() -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
