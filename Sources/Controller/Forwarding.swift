import ClusterState
import HTTP
import Wire

/// Application frame kinds on the peer link (see `PeerFrame.application`).
enum ApplicationKind: UInt8 {
    /// A follower hands a request it cannot serve (a write, a membership change) to the leader.
    case forwardedRequest = 1
    /// The leader's answer to a forwarded request.
    case forwardedResponse = 2
}

/// An HTTP request a follower forwarded to the leader over the peer link. The leader authorizes it again with the
/// same tokens (every controller has the same tokens file) and answers as if the client had called it directly.
struct ForwardedRequest: Equatable {
    /// The follower's id for matching the answer.
    var id: UInt64
    var method: String
    var target: String
    var headers: [HTTPHeader]
    var body: [UInt8]
}

/// The leader's answer to a `ForwardedRequest`.
struct ForwardedResponse: Equatable {
    var id: UInt64
    var response: HTTPResponse
}

extension ByteWriter {
    mutating func writeHeaders(_ headers: [HTTPHeader]) {
        writeVarUInt(UInt64(headers.count))
        for header in headers {
            writeString(header.name)
            writeString(header.value)
        }
    }
}

extension ByteReader {
    mutating func readHeaders() throws(WireError) -> [HTTPHeader] {
        let count = try readCount(limit: 1000, field: "headers.count")
        var headers: [HTTPHeader] = []
        for _ in 0..<count {
            let name = try readString(limit: 16 * 1024, field: "header.name")
            headers.append(HTTPHeader(name: name, value: try readString(limit: 16 * 1024, field: "header.value")))
        }
        return headers
    }
}

extension ForwardedRequest: WireCodable {
    func encode(into writer: inout ByteWriter) {
        writer.writeVarUInt(id)
        writer.writeString(method)
        writer.writeString(target)
        writer.writeHeaders(headers)
        writer.writeBytes(body)
    }

    init(from reader: inout ByteReader) throws(WireError) {
        id = try reader.readVarUInt(field: "forward.id")
        method = try reader.readString(limit: 64, field: "forward.method")
        target = try reader.readString(limit: 64 * 1024, field: "forward.target")
        headers = try reader.readHeaders()
        body = try reader.readBytes(limit: 64 << 20, field: "forward.body")
    }
}

extension ForwardedResponse: WireCodable {
    func encode(into writer: inout ByteWriter) {
        writer.writeVarUInt(id)
        writer.writeVarUInt(UInt64(response.status))
        writer.writeHeaders(response.headers)
        writer.writeBytes(response.body)
    }

    init(from reader: inout ByteReader) throws(WireError) {
        id = try reader.readVarUInt(field: "response.id")
        let status = try reader.readVarUInt(field: "response.status")
        guard (100...599).contains(status) else { throw .invalid("response.status \(status) is not an HTTP status") }
        let headers = try reader.readHeaders()
        response = HTTPResponse(
            status: Int(status),
            headers: headers,
            body: try reader.readBytes(limit: 256 << 20, field: "response.body")
        )
    }
}
