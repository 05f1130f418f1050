import Glibc
import HTTP
import Testing

/// The domain API over loopback against a real 3-node cluster: writes through followers, reads from followers.
@Suite("Domain API on a 3-node cluster (real processes)", .serialized)
struct DomainClusterTests {
    /// The sample task definition shipped in deploy/examples, found from the test bundle's location.
    static func sampleTaskDefinition() throws -> String {
        var directory = try ProcessCluster.locateBinary()
        for _ in 0..<8 {
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
            if let bytes = try? readWholeFile(directory + "/deploy/examples/web-taskdef.json") {
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        throw ClusterError("deploy/examples/web-taskdef.json not found above the gantry binary")
    }

    @Test("clusters and task definitions: written through one follower, read from the other")
    func clustersAndTaskDefinitions() throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        let followers = [1, 2, 3].map(UInt64.init).filter { $0 != leader }
        let (writer, reader) = (followers[0], followers[1])

        let created = try #require(cluster.request(writer, "POST", "/v1/clusters", body: #"{"clusterName":"prod"}"#))
        #expect(created.status == 200, "\(created.bodyText)")
        #expect(created.bodyText.contains(#""clusterArn":"arn:aws:ecs:us-east-1:123456789012:cluster/prod""#))
        let described = try #require(cluster.request(reader, "GET", "/v1/clusters/prod"))
        #expect(described.status == 200)
        #expect(described.header("X-Gantry-Consistency") == "linearizable")

        let sample = try Self.sampleTaskDefinition()
        for revision in 1...2 {
            let registered = try #require(cluster.request(writer, "POST", "/v1/task-definitions", body: sample))
            #expect(registered.status == 200, "\(registered.bodyText)")
            #expect(registered.bodyText.contains(#""revision":\#(revision)"#))
        }
        let latest = try #require(cluster.request(reader, "GET", "/v1/task-definitions/web"))
        #expect(latest.bodyText.contains(#""revision":2"#))
        #expect(latest.bodyText.contains(#""containerPort":8080"#))
        let deregistered = try #require(cluster.request(reader, "POST", "/v1/task-definitions/web:2/deregister"))
        #expect(deregistered.bodyText.contains(#""status":"INACTIVE""#))
        let afterDeregister = try #require(cluster.request(writer, "GET", "/v1/task-definitions/web"))
        #expect(afterDeregister.bodyText.contains(#""revision":1"#))
        let page = try #require(cluster.request(reader, "GET", "/v1/task-definitions?maxResults=1"))
        #expect(page.bodyText.contains("web:1") && page.bodyText.contains("nextToken"))
        let families = try #require(cluster.request(reader, "GET", "/v1/task-definition-families"))
        #expect(families.bodyText.contains(#""families":["web"]"#))

        let invalid = try #require(
            cluster.request(
                writer,
                "POST",
                "/v1/task-definitions",
                body:
                    #"{"family":"x","containerDefinitions":[{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":70000}]}]}"#
            )
        )
        #expect(invalid.status == 400)
        #expect(
            invalid.bodyText.contains("containerDefinitions[0].portMappings[0].containerPort"),
            "\(invalid.bodyText)"
        )
        let awsvpc = try #require(
            cluster.request(
                writer,
                "POST",
                "/v1/task-definitions",
                body:
                    #"{"family":"x","networkMode":"awsvpc","containerDefinitions":[{"name":"a","image":"i","memory":64}]}"#
            )
        )
        #expect(awsvpc.status == 400)
        #expect(awsvpc.bodyText.contains("bridge"), "\(awsvpc.bodyText)")

        // Instances, services and tasks: written through one follower, read from the other.
        let registration =
            #"{"hostname":"host-1","cpu":2048,"memory":3900,"agentVersion":"0.1.0","availabilityZone":"rack-1"}"#
        let instance = try #require(
            cluster.request(writer, "POST", "/v1/clusters/prod/container-instances", body: registration)
        )
        #expect(instance.status == 200, "\(instance.bodyText)")
        let instanceID = try #require(jsonString(instance.bodyText, "id"))
        let drained = try #require(
            cluster.request(
                reader,
                "PUT",
                "/v1/clusters/prod/container-instances/\(instanceID)/state",
                body: #"{"status":"DRAINING"}"#
            )
        )
        #expect(drained.bodyText.contains(#""status":"DRAINING""#))
        #expect(
            cluster.request(writer, "GET", "/v1/clusters/prod/container-instances?status=DRAINING")?.bodyText.contains(
                instanceID
            ) == true
        )
        let service = try #require(
            cluster.request(
                writer,
                "POST",
                "/v1/clusters/prod/services",
                body: #"{"serviceName":"web","taskDefinition":"web:1","desiredCount":2}"#,
                headers: [HTTPHeader(name: "X-Gantry-Client-Token", value: "create-web")]
            )
        )
        #expect(service.status == 200, "\(service.bodyText)")
        let retried = try #require(
            cluster.request(
                reader,
                "POST",
                "/v1/clusters/prod/services",
                body: #"{"serviceName":"web","taskDefinition":"web:1","desiredCount":2}"#,
                headers: [HTTPHeader(name: "X-Gantry-Client-Token", value: "create-web")]
            )
        )
        #expect(retried.status == 200, "a retry with the same token returns the first result, not a 409")
        #expect(
            cluster.request(reader, "GET", "/v1/clusters/prod/services/web")?.bodyText.contains(#""desiredCount":2"#)
                == true
        )
        let tasks = try #require(
            cluster.request(writer, "POST", "/v1/clusters/prod/tasks", body: #"{"taskDefinition":"web:1","count":2}"#)
        )
        #expect(tasks.status == 200)
        let listed = try #require(cluster.request(reader, "GET", "/v1/clusters/prod/tasks?family=web"))
        #expect(countOccurrences("task/prod/", in: listed.bodyText) == 2, "\(listed.bodyText)")
        let busy = try #require(cluster.request(reader, "DELETE", "/v1/clusters/prod"))
        #expect(busy.status == 409, "a cluster with a service, tasks and an instance is not deleted")

    }

    @Test("the README's worked example, through the gantry CLI against a follower")
    func workedExample() throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        let follower = try #require([1, 2, 3].map(UInt64.init).first { $0 != leader })
        let sample = cluster.directory + "/web-taskdef.json"
        try writeFile(sample, try Self.sampleTaskDefinition())
        let environment = [
            "GANTRY_ADDR=127.0.0.1:\(cluster.members[follower]!.apiPort)", "GANTRY_TOKEN=\(ProcessCluster.adminToken)",
        ]
        func gantry(_ arguments: String...) throws -> String {
            let (status, output) = try run([cluster.binary] + arguments, environment: environment)
            #expect(status == 0, "gantry \(arguments.joined(separator: " ")): \(output)")
            return output
        }
        #expect(try gantry("parameter", "put", "app/db/password", "s3cret", "--secret").contains("version 1"))
        #expect(try gantry("cluster", "create", "demo").contains("cluster/demo"))
        #expect(try gantry("taskdef", "register", "--file", sample).hasPrefix("web:1 "))
        let created = try gantry(
            "service",
            "create",
            "--cluster",
            "demo",
            "--name",
            "web",
            "--task-definition",
            "web",
            "--desired-count",
            "2"
        )
        #expect(created.contains("web ACTIVE REPLICA desired 2"))
        #expect(try gantry("service", "list", "--cluster", "demo").contains("web:1"))
        let started = try gantry("task", "run", "--cluster", "demo", "--task-definition", "web:1", "--count", "2")
        #expect(started.split(separator: "\n").count == 2)
        #expect(try gantry("task", "list", "--cluster", "demo").split(separator: "\n").count == 2)
        let json = try gantry("service", "describe", "--cluster", "demo", "web", "--output", "json")
        #expect(json.hasPrefix(#"{"service":{"#))
        let (status, output) = try run(
            [
                cluster.binary, "service", "create", "--cluster", "demo", "--name", "web", "--task-definition", "web",
                "--desired-count", "1",
            ],
            environment: environment
        )
        #expect(status == 1)
        #expect(output.contains("error 409") && output.split(separator: "\n").count == 1, "\(output)")
    }

    @Test("the leader places waiting tasks on registered instances without overcommitting, also across a leader kill")
    func leaderPlacesTasks() throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        let follower = try #require([1, 2, 3].map(UInt64.init).first { $0 != leader })
        #expect(cluster.request(follower, "POST", "/v1/clusters", body: #"{"clusterName":"prod"}"#)?.status == 200)
        let definition =
            #"{"family":"job","containerDefinitions":[{"name":"a","image":"busybox","memory":512,"cpu":128}]}"#
        #expect(cluster.request(follower, "POST", "/v1/task-definitions", body: definition)?.status == 200)
        var instanceIDs: [String] = []
        for host in 1...2 {
            let body = "{\"hostname\":\"h\(host)\",\"cpu\":4096,\"memory\":2048,\"agentVersion\":\"0.1.0\"}"
            let response = try #require(
                cluster.request(follower, "POST", "/v1/clusters/prod/container-instances", body: body)
            )
            instanceIDs.append(try #require(jsonString(response.bodyText, "id")))
        }
        // 2 instances × 2048 MiB hold 8 tasks of 512 MiB; 10 are asked for.
        #expect(
            cluster.request(follower, "POST", "/v1/clusters/prod/tasks", body: #"{"taskDefinition":"job","count":10}"#)?
                .status == 200
        )
        func pending() -> [Int] {
            instanceIDs.map { id in
                let text =
                    cluster.request(follower, "GET", "/v1/clusters/prod/container-instances/\(id)")?.bodyText ?? ""
                return Int(jsonNumber(text, "pendingTasksCount") ?? "") ?? -1
            }
        }
        #expect(poll(timeoutMilliseconds: 10_000) { pending() == [4, 4] ? true : nil } == true, "placed: \(pending())")
        let waiting = cluster.request(follower, "GET", "/v1/clusters/prod/tasks?desiredStatus=RUNNING")?.bodyText ?? ""
        #expect(countOccurrences("task/prod/", in: waiting) == 10)
        // A new leader keeps placing (two more tasks fit once the cluster grows) and never places twice.
        cluster.signal(leader, SIGKILL)
        let survivors = [1, 2, 3].map(UInt64.init).filter { $0 != leader }
        #expect(cluster.waitForLeader(among: survivors) != nil)
        let body = #"{"hostname":"h3","cpu":4096,"memory":2048,"agentVersion":"0.1.0"}"#
        let third = try #require(
            cluster.request(survivors[0], "POST", "/v1/clusters/prod/container-instances", body: body)
        )
        instanceIDs.append(try #require(jsonString(third.bodyText, "id")))
        func total() -> Int { pending().reduce(0, +) }
        #expect(poll(timeoutMilliseconds: 10_000) { total() == 10 ? true : nil } == true, "placed: \(pending())")
        #expect(pending().allSatisfy { $0 <= 4 })
    }
}

/// How many times `needle` occurs in `text`.
func countOccurrences(_ needle: String, in text: String) -> Int {
    var count = 0
    var index = text.startIndex
    while index < text.endIndex {
        if text[index...].hasPrefix(needle) { count += 1 }
        index = text.index(after: index)
    }
    return count
}
