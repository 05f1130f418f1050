import API
import Controller
import Foundation
import HTTP
import Testing

/// `GET /v1/openapi.json` on a real controller, and the document's promises about the routes that need no path
/// parameters held against that controller's answers (the quick, in-suite cousin of `.ci/schemathesis`).
@Suite("OpenAPI document served by a real controller", .serialized)
struct OpenAPIServingTests {
    @Test("the document is served without a token, byte for byte, and every parameterless GET answers as documented")
    func servedAndHonoured() throws {
        let cluster = try ProcessCluster(size: 1)
        defer { cluster.shutdown() }
        try cluster.startAll()
        _ = try #require(cluster.waitForLeader(), "no leader: \(cluster.logTail(1))")

        let served = try #require(cluster.request(1, "GET", OpenAPI.documentPath, token: nil))
        #expect(served.status == 200)
        #expect(served.header("Content-Type") == "application/json")
        #expect(served.body == OpenAPI.document(version: gantryVersion))

        let document = try #require(try JSONSerialization.jsonObject(with: Data(served.body)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var checked = 0
        for route in OpenAPI.routes where route.method == "GET" && route.pathParameterNames.isEmpty {
            let operation = try #require(paths[route.path]?["get"] as? [String: Any])
            let responses = try #require(operation["responses"] as? [String: [String: Any]])
            let answer = try #require(cluster.request(1, "GET", route.path), "\(route.label) unanswered")
            let documented = try #require(responses[String(answer.status)], "\(route.label): \(answer.status)")
            let media = try #require((documented["content"] as? [String: Any])?.keys.first)
            let contentType = answer.header("Content-Type")?.split(separator: ";").first.map(String.init)
            #expect(contentType == media, "\(route.label)")
            checked += 1
        }
        #expect(checked == 12)

        // Open means open to anyone: no token, and a wrong one, both get the document; a token route still needs one.
        let wrongToken = try #require(cluster.request(1, "GET", OpenAPI.documentPath, token: "not-a-valid-token-000"))
        #expect(wrongToken.status == 200)
        #expect(cluster.request(1, "GET", "/v1/status", token: nil)?.status == 401)
    }
}
