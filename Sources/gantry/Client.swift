import API
import Glibc
import HTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The admin API client the CLI commands share: any controller's address works (followers forward), several
/// comma-separated addresses are tried in turn, and 503s are retried for a bounded time. Writes carry one client
/// token across retries, so a retry after a leader change never applies twice.
struct Client {
    var addresses: [String]
    var token: String?
    var json: Bool
    /// How long to keep retrying 503s and unreachable controllers.
    var retryMilliseconds = 15_000

    /// Reads `--addr`/`GANTRY_ADDR`, `--token`/`GANTRY_TOKEN`, `--output` and `GANTRY_RETRY_MS`.
    init(_ arguments: Arguments) throws(CommandError) {
        let address = arguments["addr"] ?? environment("GANTRY_ADDR") ?? "127.0.0.1:8001"
        addresses = address.split(separator: ",").map { String($0).trimmingPrefix("http://") }.map(String.init)
        guard !addresses.isEmpty else { throw CommandError("--addr: give host:port (or GANTRY_ADDR)") }
        token = arguments["token"] ?? environment("GANTRY_TOKEN")
        if let raw = environment("GANTRY_RETRY_MS") {
            guard let milliseconds = Int(raw), milliseconds >= 0 else {
                throw CommandError("GANTRY_RETRY_MS must be a whole number of milliseconds, got '\(raw)'")
            }
            retryMilliseconds = milliseconds
        }
        switch arguments["output"] ?? "text" {
        case "json": json = true
        case "text", "table": json = false
        case let other: throw CommandError("--output must be table (or text) or json, got '\(other)'")
        }
    }

    /// Sends one request, retrying as described above; returns the final response (any status).
    func call(
        _ method: String,
        _ target: String,
        body: [UInt8] = [],
        write: Bool = false
    ) throws(CommandError)
        -> HTTPClientResponse
    {
        var headers: [HTTPHeader] = []
        if let token { headers.append(HTTPHeader(name: "Authorization", value: "Bearer \(token)")) }
        if !body.isEmpty { headers.append(HTTPHeader(name: "Content-Type", value: "application/json")) }
        if write { headers.append(HTTPHeader(name: Router.clientTokenHeader, value: randomToken())) }
        let deadline = monotonicMilliseconds() + Int64(retryMilliseconds)
        var lastProblem = ""
        var attempt = 0
        while true {
            for address in addresses {
                do {
                    let client = try HTTPClient(address: address, timeoutMilliseconds: 30_000)
                    defer { client.close() }
                    let response = try client.send(method: method, target: target, headers: headers, body: body)
                    if response.status != 503 { return response }
                    lastProblem = "\(address): \(errorMessage(response))"
                    if monotonicMilliseconds() >= deadline { return response }
                } catch {
                    lastProblem = "\(error)"
                }
            }
            attempt += 1
            guard monotonicMilliseconds() < deadline else {
                throw CommandError("no controller answered: \(lastProblem)", exitCode: 1)
            }
            usleep(UInt32(min(1000, 100 * attempt)) * 1000)
        }
    }

    /// Sends and requires a 2xx; otherwise throws the API's error message.
    func expectSuccess(
        _ method: String,
        _ target: String,
        body: [UInt8] = [],
        write: Bool = false
    ) throws(CommandError)
        -> HTTPClientResponse
    {
        let response = try call(method, target, body: body, write: write)
        guard (200..<300).contains(response.status) else {
            throw CommandError("error \(response.status): \(errorMessage(response))", exitCode: 1)
        }
        return response
    }
}

/// The `message` of an API error body, or the body itself.
func errorMessage(_ response: HTTPClientResponse) -> String {
    struct Body: Decodable {
        struct Inner: Decodable { var message: String? }
        var error: Inner?
    }
    if let body = try? JSONDecoder().decode(Body.self, from: Data(response.body)), let message = body.error?.message {
        return message
    }
    return response.bodyText
}

/// Decodes a response body, or a one-line error.
func decodeBody<T: Decodable>(_ type: T.Type, _ response: HTTPClientResponse) throws(CommandError) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: Data(response.body))
    } catch {
        throw CommandError(
            "the controller's answer was not the expected JSON: \(response.bodyText.prefix(200))",
            exitCode: 1
        )
    }
}

/// An environment variable, or nil when unset or empty.
func environment(_ name: String) -> String? {
    guard let raw = getenv(name) else { return nil }
    let value = String(cString: raw)
    return value.isEmpty ? nil : value
}

/// 128 random bits as hex, for client tokens.
func randomToken() -> String {
    var generator = SystemRandomNumberGenerator()
    let high = generator.next() as UInt64
    let low = generator.next() as UInt64
    return hex(high) + hex(low)
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// Percent-encodes a parameter name's path (letters, digits, `-_./` pass as they are).
func pathEscaped(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "/"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let digits = String(byte, radix: 16, uppercase: true)
            out += "%" + (digits.count == 1 ? "0" : "") + digits
        }
    }
    return out
}
