import API
import ClusterState
import HTTP

// `gantry service rollback | deployments | explain`: the commands that look into (and steer) a service's rollouts
// and placement. `runService` routes here.

/// `gantry service rollback NAME [--to REV]`: POST .../rollback; prints the new PRIMARY deployment.
func runServiceRollback(_ client: Client, _ base: String, _ name: String, to: String?) throws(CommandError) {
    struct Body: Encodable { var to: String? }
    let response = try client.expectSuccess(
        "POST",
        base + "/\(pathEscaped(name))/rollback",
        body: JSON.encode(Body(to: to)),
        write: true
    )
    if client.json { return printJSON(response) }
    let service = try decodeBody(ServiceDeployments.self, response).service
    guard let primary = service.deployments.first else {
        throw CommandError("the controller's answer has no deployment", exitCode: 1)
    }
    print(
        "\(service.serviceName): deployment \(primary.id) \(primary.status) \(shortTaskDefinition(primary.taskDefinition))"
            + " \(primary.rolloutState) \(primary.isRollback == true ? "rollback" : "")"
    )
}

/// `gantry service deployments NAME`: the service's deployments, then its history, as one table.
func runServiceDeployments(_ client: Client, _ base: String, _ name: String) throws(CommandError) {
    let response = try client.expectSuccess("GET", base + "/\(pathEscaped(name))")
    let service = try decodeBody(ServiceDeployments.self, response).service
    let history = service.deploymentHistory ?? []
    if client.json {
        struct Out: Encodable {
            var deployments: [Deployment]
            var history: [Deployment]
        }
        var bytes = JSON.encode(Out(deployments: service.deployments, history: history))
        bytes.append(UInt8(ascii: "\n"))
        return writeStandardOutput(bytes)
    }
    print(
        pad("ID", 18) + pad("STATUS", 9) + pad("TASK DEFINITION", 24) + pad("ROLLOUT", 12) + pad("DESIRED", 8)
            + pad("RUNNING", 8) + pad("PENDING", 8) + pad("FAILED", 7) + pad("CREATED", 21) + pad("FINISHED", 21)
            + "ROLLBACK"
    )
    for deployment in service.deployments + history {
        print(
            pad(deployment.id, 18) + pad(deployment.status, 9)
                + pad(shortTaskDefinition(deployment.taskDefinition), 24) + pad(deployment.rolloutState, 12)
                + pad(String(deployment.desiredCount), 8) + pad(String(deployment.runningCount), 8)
                + pad(String(deployment.pendingCount), 8) + pad(String(deployment.failedTasks), 7)
                + pad(utcTimestamp(deployment.createdAt), 21) + pad(deployment.finishedAt.map(utcTimestamp) ?? "-", 21)
                + (deployment.isRollback == true ? "yes" : "no")
        )
    }
}

/// `gantry service explain NAME`: the summary, then each instance's verdict.
func runServiceExplain(_ client: Client, _ base: String, _ name: String) throws(CommandError) {
    let response = try client.expectSuccess("GET", base + "/\(pathEscaped(name))/explain")
    if client.json { return printJSON(response) }
    struct Verdict: Decodable {
        var id: String
        var hostname: String
        var status: String
        var freeCPU: Int
        var freeMemory: Int
        var serviceTasks: Int
        var verdict: String
        var wouldPlace: Int
    }
    struct Explanation: Decodable {
        var summary: String
        var instances: [Verdict]
    }
    struct Body: Decodable { var explanation: Explanation }
    let explanation = try decodeBody(Body.self, response).explanation
    print(explanation.summary)
    guard !explanation.instances.isEmpty else {
        print("(no container instances registered in the cluster)")
        return
    }
    print(
        pad("INSTANCE", 34) + pad("HOST", 20) + pad("STATUS", 10) + pad("FREE CPU", 10) + pad("FREE MEM", 10)
            + pad("SERVICE TASKS", 15) + pad("WOULD PLACE", 13) + "VERDICT"
    )
    for instance in explanation.instances {
        print(
            pad(instance.id, 34) + pad(instance.hostname, 20) + pad(instance.status, 10)
                + pad(String(instance.freeCPU), 10) + pad(String(instance.freeMemory), 10)
                + pad(String(instance.serviceTasks), 15) + pad(String(instance.wouldPlace), 13) + instance.verdict
        )
    }
}

/// A service answer, as far as the deployment commands read it (deployments decoded whole, for `--output json`).
struct ServiceDeployments: Decodable {
    struct Body: Decodable {
        var serviceName: String
        var deployments: [Deployment]
        var deploymentHistory: [Deployment]?
    }
    var service: Body
}

/// `family:revision` out of a task definition ARN (or the reference itself).
func shortTaskDefinition(_ reference: String) -> String {
    reference.split(separator: "/").last.map(String.init) ?? reference
}

/// Milliseconds since the epoch as `2026-01-31T12:00:00Z` (UTC; no Foundation date formatting, see STYLE.md).
func utcTimestamp(_ milliseconds: Int64) -> String {
    let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
    var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    // Days to a civil date (Howard Hinnant's algorithm).
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let dayOfEra = days - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):"
        + "\(two(secondOfDay % 60))Z"
}
