import API
import Glibc
import HTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

let clusterHelp = """
    gantry cluster — clusters (writes need role operator).
    Usage:
      gantry cluster create NAME [--tags key=value,key=value]
      gantry cluster list [--max-results N] [--next-token T]
      gantry cluster describe NAME
      gantry cluster delete NAME          refused while it has services, instances or tasks
    Common options: --addr HOST:PORT (GANTRY_ADDR), --token TOKEN (GANTRY_TOKEN), --output table|json
    """

let taskDefinitionHelp = """
    gantry taskdef — task definitions: families of immutable, numbered revisions (family:revision).
    Usage:
      gantry taskdef register --file taskdef.json    an ECS task definition file, as is
      gantry taskdef list [--family-prefix P] [--status ACTIVE|INACTIVE] [--sort ASC|DESC]
      gantry taskdef families [--family-prefix P] [--status ACTIVE|INACTIVE]
      gantry taskdef describe FAMILY[:REVISION] | ARN    a family alone means its latest ACTIVE revision
      gantry taskdef deregister FAMILY:REVISION          ACTIVE → INACTIVE (still describable)
      gantry taskdef delete FAMILY:REVISION              only INACTIVE revisions
    Common options: --addr HOST:PORT (GANTRY_ADDR), --token TOKEN (GANTRY_TOKEN), --output table|json

    Exit codes (every gantry client command): 0 success; 1 the controller refused or could not be reached (the
    message is on stderr); 2 bad usage.
    """

/// Builds a query string from the non-empty pairs.
func queryString(_ pairs: [(String, String?)]) -> String {
    let parts = pairs.compactMap { name, value in value.map { "\(name)=\(pathEscaped($0))" } }
    return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
}

/// `gantry cluster ...`.
func runCluster(_ words: [String]) throws(CommandError) {
    if words.first == nil || words.first == "--help" {
        print(clusterHelp)
        return
    }
    let arguments = try Arguments(
        words,
        valued: clientFlags.union(["tags", "max-results", "next-token"]),
        booleans: []
    )
    let client = try Client(arguments)
    let positional = arguments.positional
    struct ClusterBody: Decodable {
        var clusterArn: String
        var clusterName: String
        var status: String
    }
    struct One: Decodable { var cluster: ClusterBody }
    switch positional.first {
    case "create":
        guard positional.count == 2 else { throw CommandError("usage: gantry cluster create NAME [--tags k=v,...]") }
        struct Body: Encodable {
            var clusterName: String
            var tags: [[String: String]]
        }
        var tags: [[String: String]] = []
        for pair in (arguments["tags"] ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw CommandError("--tags: '\(pair)' must be key=value") }
            tags.append(["key": String(parts[0]), "value": String(parts[1])])
        }
        let response = try client.expectSuccess(
            "POST",
            "/v1/clusters",
            body: JSON.encode(Body(clusterName: positional[1], tags: tags)),
            write: true
        )
        if client.json { return printJSON(response) }
        print(try decodeBody(One.self, response).cluster.clusterArn)
    case "list":
        let target =
            "/v1/clusters"
            + queryString([("maxResults", arguments["max-results"]), ("nextToken", arguments["next-token"])])
        let response = try client.expectSuccess("GET", target)
        if client.json { return printJSON(response) }
        struct List: Decodable {
            var clusters: [ClusterBody]
            var nextToken: String?
        }
        let list = try decodeBody(List.self, response)
        print(pad("NAME", 24) + pad("STATUS", 10) + "ARN")
        for cluster in list.clusters {
            print(pad(cluster.clusterName, 24) + pad(cluster.status, 10) + cluster.clusterArn)
        }
        if let next = list.nextToken { print("more: --next-token \(next)") }
    case "describe":
        guard positional.count == 2 else { throw CommandError("usage: gantry cluster describe NAME") }
        let response = try client.expectSuccess("GET", "/v1/clusters/\(pathEscaped(positional[1]))")
        if client.json { return printJSON(response) }
        let cluster = try decodeBody(One.self, response).cluster
        print("\(cluster.clusterName) \(cluster.status) \(cluster.clusterArn)")
    case "delete":
        guard positional.count == 2 else { throw CommandError("usage: gantry cluster delete NAME") }
        let response = try client.expectSuccess("DELETE", "/v1/clusters/\(pathEscaped(positional[1]))", write: true)
        if client.json { return printJSON(response) }
        print("deleted \(try decodeBody(One.self, response).cluster.clusterArn)")
    default:
        throw CommandError("usage: gantry cluster create|list|describe|delete (see gantry cluster --help)")
    }
}

/// `gantry taskdef ...`.
func runTaskDefinition(_ words: [String]) throws(CommandError) {
    if words.first == nil || words.first == "--help" {
        print(taskDefinitionHelp)
        return
    }
    let arguments = try Arguments(
        words,
        valued: clientFlags.union(["file", "family-prefix", "status", "sort", "max-results", "next-token"]),
        booleans: []
    )
    let client = try Client(arguments)
    let positional = arguments.positional
    struct Summary: Decodable {
        var taskDefinitionArn: String
        var family: String
        var revision: Int
        var status: String
    }
    struct One: Decodable { var taskDefinition: Summary }
    let paging = [("maxResults", arguments["max-results"]), ("nextToken", arguments["next-token"])]
    switch positional.first {
    case "register":
        guard positional.count == 1, let path = arguments["file"] else {
            throw CommandError("usage: gantry taskdef register --file taskdef.json")
        }
        let body = try readConfigFile(path)
        let response = try client.expectSuccess("POST", "/v1/task-definitions", body: body, write: true)
        if client.json { return printJSON(response) }
        let summary = try decodeBody(One.self, response).taskDefinition
        print("\(summary.family):\(summary.revision) \(summary.taskDefinitionArn)")
    case "list":
        let target =
            "/v1/task-definitions"
            + queryString(
                [
                    ("familyPrefix", arguments["family-prefix"]), ("status", arguments["status"]),
                    ("sort", arguments["sort"]),
                ] + paging
            )
        let response = try client.expectSuccess("GET", target)
        if client.json { return printJSON(response) }
        struct List: Decodable {
            var taskDefinitionArns: [String]
            var nextToken: String?
        }
        let list = try decodeBody(List.self, response)
        for arn in list.taskDefinitionArns { print(arn) }
        if let next = list.nextToken { print("more: --next-token \(next)") }
    case "families":
        let target =
            "/v1/task-definition-families"
            + queryString([("familyPrefix", arguments["family-prefix"]), ("status", arguments["status"])] + paging)
        let response = try client.expectSuccess("GET", target)
        if client.json { return printJSON(response) }
        struct List: Decodable {
            var families: [String]
            var nextToken: String?
        }
        let list = try decodeBody(List.self, response)
        for family in list.families { print(family) }
        if let next = list.nextToken { print("more: --next-token \(next)") }
    case "describe":
        guard positional.count == 2 else { throw CommandError("usage: gantry taskdef describe FAMILY[:REVISION]") }
        let response = try client.expectSuccess("GET", "/v1/task-definitions/\(pathEscaped(positional[1]))")
        if client.json { return printJSON(response) }
        let summary = try decodeBody(One.self, response).taskDefinition
        print("\(summary.family):\(summary.revision) \(summary.status) \(summary.taskDefinitionArn)")
    case "deregister", "delete":
        guard positional.count == 2 else {
            throw CommandError("usage: gantry taskdef \(positional[0]) FAMILY:REVISION")
        }
        let reference = pathEscaped(positional[1])
        let response =
            positional[0] == "deregister"
            ? try client.expectSuccess("POST", "/v1/task-definitions/\(reference)/deregister", write: true)
            : try client.expectSuccess("DELETE", "/v1/task-definitions/\(reference)", write: true)
        if client.json { return printJSON(response) }
        let summary = try decodeBody(One.self, response).taskDefinition
        print("\(summary.family):\(summary.revision) \(summary.status)")
    default:
        throw CommandError("usage: gantry taskdef register|list|families|describe|deregister|delete")
    }
}
