import Glibc
import Testing

/// `gantry controller` and the client commands refuse bad input with one line and a non-zero exit.
@Suite("gantry command line")
struct CommandLineTests {
    let binary: String

    init() throws {
        binary = try ProcessCluster.locateBinary()
    }

    func expectOneLineError(_ arguments: [String], contains expected: String, status: Int32 = 2) throws {
        let (exitStatus, output) = try run([binary] + arguments, timeoutMilliseconds: 20_000)
        #expect(exitStatus == status, "\(arguments): exit \(exitStatus), output: \(output)")
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1, "\(arguments): expected one line, got: \(output)")
        #expect(output.contains(expected), "\(arguments): '\(output)' lacks '\(expected)'")
    }

    @Test("bad controller configuration: one clear line, non-zero exit, nothing started")
    func badControllerConfiguration() throws {
        let base = [
            "controller", "--node-id", "1", "--cluster-id", "c", "--data-dir", "/tmp/gantry-cli-test-unused",
            "--peer-address", "127.0.0.1:1", "--api-address", "127.0.0.1:2", "--members", "1=127.0.0.1:1",
            "--tokens-file", "/nonexistent/tokens.json", "--peer-secret-file", "/nonexistent/secret",
        ]
        try expectOneLineError(["controller", "--cluster-id", "c"], contains: "nodeId (--node-id) is required")
        try expectOneLineError(["controller", "--bogus"], contains: "unknown option --bogus")
        try expectOneLineError(["controller", "--node-id", "x"], contains: "--node-id must be a whole number")
        try expectOneLineError(base.map { $0 == "1=127.0.0.1:1" ? "1=nowhere" : $0 }, contains: "member 1 address")
        try expectOneLineError(base.map { $0 == "127.0.0.1:2" ? "127.0.0.1:1" : $0 }, contains: "must differ")
        try expectOneLineError(base + ["--election-ms", "150"], contains: "electionMs")
        try expectOneLineError(base, contains: "tokensFile /nonexistent/tokens.json: cannot open", status: 1)
        try expectOneLineError(
            ["controller", "--config", "/nonexistent.json"],
            contains: "--config /nonexistent.json",
            status: 1
        )
    }

    @Test("client commands: usage errors and an unreachable controller are one line")
    func clientErrors() throws {
        try expectOneLineError(["parameter", "put", "only-name"], contains: "usage: gantry parameter put")
        try expectOneLineError(["status", "--output", "yaml"], contains: "--output must be table (or text) or json")
        try expectOneLineError(["nonsense"], contains: "unknown command 'nonsense'")
        let (status, output) = try run(
            [binary, "status", "--addr", "127.0.0.1:1"],
            environment: ["GANTRY_TOKEN=x", "GANTRY_RETRY_MS=300"],
            timeoutMilliseconds: 40_000
        )
        #expect(status == 1)
        #expect(output.contains("no controller answered"), "\(output)")
    }
}
