import API
import AWSAuth
import HTTP
import Testing

/// 2026-11-25T19:15:00Z.
private let signingTime: Int64 = 1_795_634_100

/// A tokens file with a bearer token and two access keys, one with a session token.
private let tokensFile = """
    {"tokens": [{"name": "adm", "role": "admin", "token": "admin-token-000001"}],
     "accessKeys": [
       {"name": "aws-cli", "role": "operator", "accessKeyId": "AKIAGANTRYAPI00001",
        "secretAccessKey": "api-test-secret-00000001"},
       {"name": "boto3", "role": "readonly", "accessKeyId": "ASIAGANTRYAPI00002",
        "secretAccessKey": "api-test-secret-00000002", "sessionToken": "api-test-session-token"}
     ]}
    """

/// An ECS ListClusters call, unsigned.
private let listClusters = HTTPRequest(
    method: "POST",
    target: "/",
    headers: [
        HTTPHeader(name: "Host", value: "127.0.0.1:8001"),
        HTTPHeader(name: "Content-Type", value: "application/x-amz-json-1.1"),
        HTTPHeader(name: "X-Amz-Target", value: "AmazonEC2ContainerServiceV20141113.ListClusters"),
    ],
    body: Array("{}".utf8)
)

@Suite("Auth: AWS access keys")
struct AccessKeyTests {
    @Test("the tokens file loads bearer tokens and access keys together")
    func loadsBoth() throws {
        let table = try TokenTable(json: Array(tokensFile.utf8))
        #expect(table.authenticate(authorization: "Bearer admin-token-000001")?.role == .admin)
        #expect(table.accessKeys.map(\.name) == ["aws-cli", "boto3"])
        #expect(table.accessKeys.map(\.role) == [.operator, .readonly])
        #expect(table.accessKey(id: "ASIAGANTRYAPI00002")?.key.expectsSessionToken == true)
        #expect(table.accessKey(id: "AKIAGANTRYAPI00001")?.key.expectsSessionToken == false)
        // A secret access key is not a bearer token.
        #expect(table.authenticate(authorization: "Bearer api-test-secret-00000001") == nil)
        // A file without accessKeys still loads, with none.
        let tokensOnly = #"{"tokens":[{"name":"a","role":"admin","token":"0123456789abcdef"}]}"#
        #expect(try TokenTable(json: Array(tokensOnly.utf8)).accessKeys.isEmpty)
    }

    @Test("a SigV4-signed request authenticates to its access key's name and role")
    func authenticates() throws {
        let table = try TokenTable(json: Array(tokensFile.utf8))
        for entry in table.accessKeys {
            let signed = SigV4.sign(listClusters, key: entry.key, now: signingTime, region: "us-east-1")
            let authenticated = try table.authenticate(sigV4: signed, now: signingTime + 60, region: "us-east-1").get()
            #expect(authenticated.name == entry.name)
            #expect(authenticated.role == entry.role)
        }
    }

    @Test("an unknown, tampered or stale SigV4 request is refused with its AWS error")
    func refuses() throws {
        let table = try TokenTable(json: Array(tokensFile.utf8))
        let stranger = AccessKey(accessKeyID: "AKIAGANTRYAPI99999", secretAccessKey: "api-test-secret-00000001")
        let unknown = SigV4.sign(listClusters, key: stranger, now: signingTime, region: "us-east-1")
        let refusal = try #require(failureOf(table.authenticate(sigV4: unknown, now: signingTime, region: nil)))
        #expect(refusal == .unknownAccessKey(accessKeyID: "AKIAGANTRYAPI99999"))
        #expect(refusal.awsErrorType == "UnrecognizedClientException")

        let key = try #require(table.accessKey(id: "AKIAGANTRYAPI00001")).key
        var tampered = SigV4.sign(listClusters, key: key, now: signingTime, region: "us-east-1")
        tampered.body = Array(#"{"maxResults":1}"#.utf8)
        let mismatch = failureOf(table.authenticate(sigV4: tampered, now: signingTime, region: "us-east-1"))
        #expect(mismatch?.awsErrorType == "InvalidSignatureException")

        let signed = SigV4.sign(listClusters, key: key, now: signingTime, region: "us-east-1")
        let stale = failureOf(table.authenticate(sigV4: signed, now: signingTime + 16 * 60, region: "us-east-1"))
        #expect(stale == .signatureExpired(signedAt: signingTime, now: signingTime + 16 * 60))

        let bearer = HTTPRequest(
            method: "POST",
            target: "/",
            headers: [HTTPHeader(name: "Authorization", value: "Bearer admin-token-000001")]
        )
        let notSigV4 = failureOf(table.authenticate(sigV4: bearer, now: signingTime, region: nil))
        #expect(notSigV4?.awsErrorType == "IncompleteSignatureException")
        #expect(notSigV4.map { !$0.message.contains("admin-token-000001") } == true)
        #expect(
            failureOf(table.authenticate(sigV4: listClusters, now: signingTime, region: nil)) == .missingAuthorization
        )
    }

    @Test("each broken access key rule is named")
    func brokenRules() {
        let token = #"{"name":"a","role":"admin","token":"0123456789abcdef"}"#
        func file(_ keys: String) -> String { #"{"tokens":[\#(token)],"accessKeys":[\#(keys)]}"# }
        let good = #""accessKeyId":"AKIAGANTRYAPI00001","secretAccessKey":"0123456789abcdef""#
        let broken: [(String, String)] = [
            (file(#"{"role":"admin",\#(good)}"#), "accessKeys[0].name is missing"),
            (
                file(#"{"name":"k","role":"agent",\#(good)}"#),
                "accessKeys[0].role must be one of admin, operator, readonly"
            ),
            (file(#"{"name":"k","role":"root",\#(good)}"#), "accessKeys[0].role"),
            (
                file(
                    #"{"name":"k","role":"admin","accessKeyId":"akiagantryapi00001","secretAccessKey":"0123456789abcdef"}"#
                ),
                "accessKeys[0].accessKeyId must be 16 to 128 characters, each A-Z or 0-9"
            ),
            (
                file(#"{"name":"k","role":"admin","accessKeyId":"AKIASHORT","secretAccessKey":"0123456789abcdef"}"#),
                "accessKeys[0].accessKeyId"
            ),
            (file(#"{"name":"k","role":"admin","secretAccessKey":"0123456789abcdef"}"#), "accessKeys[0].accessKeyId"),
            (
                file(#"{"name":"k","role":"admin","accessKeyId":"AKIAGANTRYAPI00001","secretAccessKey":"short"}"#),
                "accessKeys[0].secretAccessKey must be at least 16 characters"
            ),
            (file(#"{"name":"k","role":"admin",\#(good),"sessionToken":""}"#), "accessKeys[0].sessionToken"),
            (
                file(#"{"name":"k","role":"admin",\#(good)},{"name":"l","role":"readonly",\#(good)}"#),
                "accessKeys[1].accessKeyId repeats"
            ),
            (file(#"{"name":"k","role":"admin",\#(good),"sessionToken":5}"#), "accessKeys[0].sessionToken"),
            (#"{"tokens":[\#(token)],"accessKeys":{}}"#, "(at accessKeys)"),
        ]
        for (text, expected) in broken {
            do {
                _ = try TokenTable(json: Array(text.utf8))
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.message.contains(expected), "\(error.message) lacks \(expected)")
                #expect(!error.message.contains("0123456789abcdef"), "\(error.message) shows a secret")
            }
        }
    }
}

/// The error `result` failed with, or nil.
private func failureOf(_ result: Result<TokenTable.Entry, SigV4Error>) -> SigV4Error? {
    if case .failure(let error) = result { return error }
    return nil
}
