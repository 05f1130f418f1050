import API
import HTTP

let instanceHelp = """
    gantry instance — container instances of a cluster (registered by agents; writes need role operator).
    Usage:
      gantry instance list --cluster C [--status ACTIVE|DRAINING|INACTIVE]
      gantry instance describe --cluster C ID
      gantry instance drain --cluster C ID            ACTIVE → DRAINING (no new tasks; services move theirs)
      gantry instance activate --cluster C ID         DRAINING → ACTIVE
      gantry instance deregister --cluster C ID [--force]
      gantry instance attributes --cluster C          list attributes
      gantry instance set-attribute --cluster C ID NAME[=VALUE]
      gantry instance delete-attribute --cluster C ID NAME
    Common options: --addr HOST:PORT (GANTRY_ADDR), --token TOKEN (GANTRY_TOKEN), --output table|json
    """

/// `gantry instance ...`.
func runInstance(_ words: [String]) throws(CommandError) {
    if words.first == nil || words.first == "--help" {
        print(instanceHelp)
        return
    }
    let arguments = try Arguments(
        words,
        valued: clientFlags.union(["cluster", "status", "max-results", "next-token"]),
        booleans: ["force"]
    )
    let client = try Client(arguments)
    let positional = arguments.positional
    guard let cluster = arguments["cluster"] else { throw CommandError("--cluster is required") }
    let base = "/v1/clusters/\(pathEscaped(cluster))"
    struct Instance: Decodable {
        var id: String
        var hostname: String
        var status: String
        var agentConnected: Bool
        var runningTasksCount: Int
    }
    struct One: Decodable { var containerInstance: Instance }
    func show(_ response: HTTPClientResponse) throws(CommandError) {
        if client.json { return printJSON(response) }
        let instance = try decodeBody(One.self, response).containerInstance
        print("\(instance.id) \(instance.hostname) \(instance.status)")
    }
    switch (positional.first, positional.count) {
    case ("list", 1):
        let target =
            base + "/container-instances"
            + queryString([
                ("status", arguments["status"]), ("maxResults", arguments["max-results"]),
                ("nextToken", arguments["next-token"]),
            ])
        let response = try client.expectSuccess("GET", target)
        if client.json { return printJSON(response) }
        struct List: Decodable {
            var containerInstances: [Instance]
            var nextToken: String?
        }
        let list = try decodeBody(List.self, response)
        print(pad("ID", 34) + pad("HOSTNAME", 20) + pad("STATUS", 10) + pad("AGENT", 7) + "RUNNING")
        for instance in list.containerInstances {
            print(
                pad(instance.id, 34) + pad(instance.hostname, 20) + pad(instance.status, 10)
                    + pad(instance.agentConnected ? "up" : "down", 7) + String(instance.runningTasksCount)
            )
        }
        if let next = list.nextToken { print("more: --next-token \(next)") }
    case ("describe", 2):
        try show(try client.expectSuccess("GET", base + "/container-instances/\(pathEscaped(positional[1]))"))
    case ("drain", 2), ("activate", 2):
        let status = positional[0] == "drain" ? "DRAINING" : "ACTIVE"
        let response = try client.expectSuccess(
            "PUT",
            base + "/container-instances/\(pathEscaped(positional[1]))/state",
            body: Array("{\"status\":\"\(status)\"}".utf8),
            write: true
        )
        try show(response)
    case ("deregister", 2):
        let force = arguments.isSet("force") ? "?force=true" : ""
        try show(
            try client.expectSuccess(
                "DELETE",
                base + "/container-instances/\(pathEscaped(positional[1]))" + force,
                write: true
            )
        )
    case ("attributes", 1):
        let response = try client.expectSuccess("GET", base + "/attributes")
        if client.json { return printJSON(response) }
        struct List: Decodable {
            struct Item: Decodable {
                var name: String
                var value: String?
                var targetId: String?
            }
            var attributes: [Item]
        }
        for item in try decodeBody(List.self, response).attributes {
            let instance = item.targetId?.split(separator: "/").last.map(String.init) ?? "?"
            print(pad(instance, 34) + item.name + (item.value.map { "=" + $0 } ?? ""))
        }
    case ("set-attribute", 3), ("delete-attribute", 3):
        let parts = positional[2].split(separator: "=", maxSplits: 1)
        struct Body: Encodable {
            struct Item: Encodable {
                var name: String
                var value: String?
                var targetId: String
            }
            var attributes: [Item]
        }
        let item = Body.Item(
            name: String(parts[0]),
            value: parts.count == 2 ? String(parts[1]) : nil,
            targetId: positional[1]
        )
        let deleting = positional[0] == "delete-attribute"
        let response = try client.expectSuccess(
            deleting ? "POST" : "PUT",
            base + (deleting ? "/attributes/delete" : "/attributes"),
            body: JSON.encode(Body(attributes: [item])),
            write: true
        )
        if client.json { return printJSON(response) }
        print(deleting ? "deleted \(item.name)" : "set \(positional[2])")
    default:
        throw CommandError(
            "usage: gantry instance list|describe|drain|activate|deregister|attributes|set-attribute|delete-attribute"
        )
    }
}
