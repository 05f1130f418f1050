import API
import Dispatch
import Foundation
import Glibc
import HTTP
import Synchronization
import Testing

@testable import Controller

/// A stand-in for an agent's API on loopback: `GET /v1/tasks/{task}/logs?container=&offset=` answers from a fixed
/// text (stopped once it has all been read), recording every request it gets.
final class FakeAgent: Sendable {
    /// What the agent knows and saw, shared with its server's thread.
    final class Record: Sendable {
        /// What the agent was asked: target and Authorization header.
        let seen = Mutex<[(target: String, authorization: String?)]>([])
        /// The task it runs (settable: a test learns the id after registering the agent's address).
        let task: Mutex<String>

        init(task: String) { self.task = Mutex(task) }
    }

    let record: Record
    let server: HTTPServer
    let port: UInt16

    /// An agent whose one task `task` printed `text` in container `container`.
    init(task: String, container: String, text: String) throws {
        let record = Record(task: task)
        self.record = record
        let bytes = Array(text.utf8)
        server = HTTPServer(
            host: "127.0.0.1",
            port: 0,
            limits: HTTPParser.Limits(maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024)
        ) { request in
            record.seen.withLock { $0.append((request.target, request.header("Authorization"))) }
            let parts = request.target.split(separator: "?", maxSplits: 1).map(String.init)
            var query: [String: String] = [:]
            for pair in (parts.count == 2 ? parts[1] : "").split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1).map(String.init)
                query[keyValue[0]] = keyValue.count == 2 ? keyValue[1] : ""
            }
            guard parts[0] == "/v1/tasks/\(record.task.withLock { $0 })/logs", query["container"] == container else {
                return JSON.response(["error": ["code": "not_found", "message": "no such task here"]], status: 404)
            }
            // Six bytes at a time, so following takes several reads.
            let offset = min(Int(query["offset"] ?? "0") ?? 0, bytes.count)
            let end = min(offset + 6, bytes.count)
            struct Answer: Encodable {
                var task: String
                var container: String
                var text: String
                var offset: Int
                var running: Bool
            }
            return JSON.response(
                Answer(
                    task: task,
                    container: container,
                    text: String(decoding: bytes[offset..<end], as: UTF8.self),
                    offset: end,
                    running: end < bytes.count
                )
            )
        }
        port = try server.start()
    }

    var address: String { "127.0.0.1:\(port)" }

    func stop() { server.stop() }
}

/// Waits for one reply of the proxy.
final class ReplyBox: Sendable {
    let response = Mutex<HTTPResponse?>(nil)
    let done = DispatchSemaphore(value: 0)

    var reply: Reply {
        { [self] answer in
            response.withLock { $0 = answer }
            done.signal()
        }
    }

    func wait() -> HTTPResponse? {
        guard done.wait(timeout: .now() + .seconds(10)) == .success else { return nil }
        return response.withLock { $0 }
    }
}

@Suite("Task logs through the controller: the proxy against a stand-in agent")
struct AgentLogProxyTests {
    let task = String(repeating: "c", count: 32)
    let credential = "gagent." + String(repeating: "a", count: 32) + "." + String(repeating: "5", count: 64)

    func plan(_ address: String) -> AgentLogRequest {
        AgentLogRequest(
            instanceID: String(repeating: "a", count: 32),
            address: address,
            target: "/v1/tasks/\(task)/logs?container=web&offset=6",
            container: "web",
            credential: credential
        )
    }

    @Test("the agent is asked with its credential, and its answer comes back unchanged")
    func relays() throws {
        let agent = try FakeAgent(task: task, container: "web", text: "hello\nworld\n")
        defer { agent.stop() }
        let proxy = AgentLogProxy(timeoutMilliseconds: 5000)
        let box = ReplyBox()
        proxy.fetch(plan(agent.address), reply: box.reply)
        let response = try #require(box.wait())
        #expect(response.status == 200)
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == #"{"container":"web","offset":12,"running":false,"task":"\#(task)","text":"world\n"}"#
        )
        let seen = agent.record.seen.withLock { $0 }
        #expect(seen.map(\.target) == ["/v1/tasks/\(task)/logs?container=web&offset=6"])
        #expect(seen.map(\.authorization) == ["Bearer \(credential)"])

        var unknown = plan(agent.address)
        unknown.target = "/v1/tasks/\(String(repeating: "d", count: 32))/logs?container=web&offset=0"
        proxy.fetch(unknown, reply: box.reply)
        let missing = try #require(box.wait())
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self).contains("no such task here"))
    }

    @Test("an agent nobody listens for is 502 agent_unreachable naming its address")
    func unreachable() throws {
        let address = "127.0.0.1:\(try freePort())"
        let box = ReplyBox()
        AgentLogProxy(timeoutMilliseconds: 2000).fetch(plan(address), reply: box.reply)
        let response = try #require(box.wait())
        #expect(response.status == 502)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text.contains("agent_unreachable") && text.contains(address), "\(text)")
    }

    @Test("the calls in flight are bounded: one more is 503 at once, not queued")
    func bounded() throws {
        let held = Mutex<HTTPResponder?>(nil)
        let server = HTTPServer(
            host: "127.0.0.1",
            port: 0,
            limits: HTTPParser.Limits(maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024),
            respondLater: { _, responder in held.withLock { $0 = responder } }
        )
        let port = try server.start()
        defer { server.stop() }
        let proxy = AgentLogProxy(maxInFlight: 1, timeoutMilliseconds: 5000)
        let first = ReplyBox()
        proxy.fetch(plan("127.0.0.1:\(port)"), reply: first.reply)
        #expect(poll(timeoutMilliseconds: 5000) { held.withLock { $0 } != nil ? true : nil } == true)
        let second = ReplyBox()
        proxy.fetch(plan("127.0.0.1:\(port)"), reply: second.reply)
        #expect(try #require(second.wait()).status == 503)
        held.withLock { $0?.respond(JSON.response(["text": "ok"])) }
        #expect(try #require(first.wait()).status == 200)
    }
}

@Suite("Agent credentials, task secrets and task logs on a 3-node cluster (real processes)", .serialized)
struct AgentCredentialClusterTests {
    static let joinToken = "test-join-token-000000001"

    @Test("a join token registers; the agent's credential works for its own instance only, until it is deregistered")
    func credentialsSecretsAndLogs() throws {
        let cluster = try ProcessCluster(size: 3)
        defer { cluster.shutdown() }
        try writeFile(
            "\(cluster.directory)/tokens.json",
            """
            {"tokens":[{"name":"admin","role":"admin","token":"\(ProcessCluster.adminToken)"},
            {"name":"join","role":"agent","token":"\(Self.joinToken)"}]}
            """
        )
        try cluster.startAll()
        let leader = try #require(cluster.waitForLeader())
        let follower = try #require([1, 2, 3].map(UInt64.init).first { $0 != leader })
        func call(
            _ method: String,
            _ target: String,
            body: String = "",
            token: String? = ProcessCluster.adminToken
        )
            -> HTTPClientResponse?
        {
            cluster.request(follower, method, target, body: body, token: token)
        }
        #expect(call("POST", "/v1/clusters", body: #"{"clusterName":"prod"}"#)?.status == 200)
        let definition = #"""
            {"family":"app","containerDefinitions":[{"name":"web","image":"busybox","memory":128,
             "secrets":[{"name":"DB_PASSWORD","valueFrom":"app/db"}]}]}
            """#
        #expect(call("POST", "/v1/task-definitions", body: definition)?.status == 200)
        #expect(call("PUT", "/v1/parameters/app/db", body: #"{"value":"hunter2","secret":true}"#)?.status == 200)

        // A stand-in agent serves the logs of the task the instance will run; its address is registered.
        let agent = try FakeAgent(task: "", container: "web", text: "hello\nworld\n")
        defer { agent.stop() }
        let registration =
            #"{"hostname":"h1","cpu":1024,"memory":1024,"agentVersion":"0.1.0","agentAddress":"\#(agent.address)"}"#
        #expect(call("POST", "/v1/clusters", body: #"{"clusterName":"x"}"#, token: Self.joinToken)?.status == 403)
        let registered = try #require(
            call("POST", "/v1/clusters/prod/container-instances", body: registration, token: Self.joinToken)
        )
        #expect(registered.status == 200, "\(registered.bodyText)")
        let instance = try #require(jsonString(registered.bodyText, "id"))
        let credential = try #require(jsonString(registered.bodyText, "agentCredential"))
        #expect(credential.hasPrefix("gagent.\(instance)."))
        let base = "/v1/clusters/prod/container-instances/\(instance)"

        // The credential: heartbeats (forwarded to the leader), reads its instance, never sees itself rendered.
        #expect(call("POST", "\(base)/heartbeat", token: credential)?.status == 200)
        let described = try #require(call("GET", base, token: credential))
        #expect(described.status == 200)
        #expect(!described.bodyText.contains(credential.suffix(64)) && described.bodyText.contains(agent.address))
        #expect(call("GET", "/v1/clusters/prod/container-instances", token: credential)?.status == 403)

        // A task lands on the instance; its agent reads it and its secrets.
        let ran = try #require(call("POST", "/v1/clusters/prod/tasks", body: #"{"taskDefinition":"app"}"#))
        let task = try #require(jsonString(ran.bodyText, "id"), "\(ran.bodyText)")
        let placed = poll(timeoutMilliseconds: 10_000) { () -> Bool? in
            let tasks = call("GET", "\(base)/tasks?consistency=stale", token: credential)?.bodyText ?? ""
            return tasks.contains(task) ? true : nil
        }
        #expect(placed == true, "task \(task) not placed: \(cluster.logTail(leader))")
        let secrets = try #require(call("GET", "\(base)/tasks/\(task)/secrets", token: credential))
        #expect(secrets.status == 200)
        #expect(secrets.bodyText == #"{"secrets":{"web":[{"name":"DB_PASSWORD","value":"hunter2"}]}}"#)

        // Logs: the follower asks the agent with the instance's credential and relays the answer.
        agent.record.task.withLock { $0 = task }
        let logs = try #require(call("GET", "/v1/clusters/prod/tasks/\(task)/logs"))
        #expect(logs.status == 200, "\(logs.bodyText)")
        #expect(logs.bodyText.contains(#""text":"hello\n""#) && logs.bodyText.contains(#""running":true"#))
        let seen = agent.record.seen.withLock { $0 }
        #expect(seen.first?.target == "/v1/tasks/\(task)/logs?container=web&offset=0")
        #expect(seen.first?.authorization == "Bearer \(credential)")
        #expect(call("GET", "/v1/clusters/prod/tasks/\(task)/logs", token: credential)?.status == 403)

        // The CLI follows until the container has stopped and everything is printed.
        let (status, output) = try run(
            [
                cluster.binary, "task", "logs", "--cluster", "prod", task, "--follow",
                "--addr", "127.0.0.1:\(cluster.members[follower]!.apiPort)", "--token", ProcessCluster.adminToken,
            ],
            timeoutMilliseconds: 20_000
        )
        #expect(status == 0 && output == "hello\nworld\n", "exit \(status): \(output)")

        // An agent that is gone is 502, naming its address.
        agent.stop()
        let down = try #require(call("GET", "/v1/clusters/prod/tasks/\(task)/logs"))
        #expect(down.status == 502 && down.bodyText.contains("agent_unreachable"), "\(down.bodyText)")

        // Deregistered: the credential stops working.
        #expect(call("DELETE", "\(base)?force=true")?.status == 200)
        #expect(
            poll(timeoutMilliseconds: 5000) {
                call("POST", "\(base)/heartbeat", token: credential)?.status == 401 ? true : nil
            } == true
        )
    }
}
