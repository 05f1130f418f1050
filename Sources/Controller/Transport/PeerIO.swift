import Wire

/// Blocking-style reads and writes of frames over a non-blocking socket: each wait is a `poll` bounded by the I/O
/// timeout and interruptible through wake-up descriptors, so no thread of the transport can hang on a peer.
enum PeerIO {
    /// Bytes read from a socket per `recv`.
    static let readChunkBytes = 256 * 1024

    /// Writes `bytes[written...]`, advancing `written` as the kernel takes bytes (so a caller knows, after a
    /// failure, which frames went out whole). Fails after `timeout` milliseconds without progress. When a wake-up
    /// descriptor fires, `interrupted` decides whether to give up (throwing `.interrupted`) or carry on.
    static func writeAll(
        _ socket: Int32,
        _ bytes: [UInt8],
        written: inout Int,
        timeout: Int,
        wakeups: [Int32],
        interrupted: () -> Bool
    ) throws(PeerTransportError) {
        while written < bytes.count {
            switch try PeerSocket.send(socket, bytes, from: written) {
            case .completed(let count):
                written += count
            case .wouldBlock:
                switch try PeerSocket.wait(socket, for: PeerSocket.writable, wakeups: wakeups, timeout: timeout) {
                case .ready: break
                case .woken: if interrupted() { throw .interrupted }
                case .timedOut: throw .timedOut("writing to the peer: no progress for \(timeout) ms")
                }
            }
        }
    }

    /// Writes one frame of `type` carrying `payload`.
    static func writeFrame(
        _ socket: Int32,
        _ type: FrameType,
        _ payload: [UInt8],
        timeout: Int,
        wakeups: [Int32],
        interrupted: () -> Bool
    ) throws(PeerTransportError) {
        var writer = ByteWriter(capacity: payload.count + FrameCodec.overhead)
        FrameCodec.append(type, payload: payload, to: &writer)
        var written = 0
        try writeAll(
            socket,
            writer.bytes,
            written: &written,
            timeout: timeout,
            wakeups: wakeups,
            interrupted: interrupted
        )
    }

    /// Reads until `decoder` yields a frame, receiving into `scratch` (allocated on first use, then reused). Fails after `timeout` milliseconds without a byte, when the peer
    /// closes, or when the bytes are not valid frames; wake-ups are handled as in `writeAll`.
    static func readFrame(
        _ socket: Int32,
        _ decoder: inout FrameDecoder,
        scratch: inout [UInt8],
        timeout: Int,
        wakeups: [Int32],
        interrupted: () -> Bool,
        awaiting what: String
    ) throws(PeerTransportError) -> RawFrame {
        while true {
            do {
                if let frame = try decoder.next() { return frame }
            } catch {
                throw .protocolViolation(error.description)
            }
            if scratch.isEmpty { scratch = [UInt8](repeating: 0, count: readChunkBytes) }
            switch try PeerSocket.receive(socket, into: &scratch) {
            case .completed(0):
                throw .closedByPeer
            case .completed(let count):
                scratch.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            case .wouldBlock:
                switch try PeerSocket.wait(socket, for: PeerSocket.readable, wakeups: wakeups, timeout: timeout) {
                case .ready: break
                case .woken: if interrupted() { throw .interrupted }
                case .timedOut: throw .timedOut("waiting for \(what): nothing received for \(timeout) ms")
                }
            }
        }
    }
}
