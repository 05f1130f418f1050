package import Raft

/// What one controller sends another over the peer link.
package enum PeerFrame: Sendable, Equatable {
    /// Raft traffic. A `.snapshot` message is streamed in chunks and reassembled before delivery.
    case raft(Raft.Message)
    /// Opaque controller traffic (write forwarding and the like); `kind` tells the receiver how to read `payload`.
    case application(kind: UInt8, payload: [UInt8])
}

/// One peer's outbound link, as `PeerTransport.statistics()` reports it.
package struct PeerStatistics: Sendable, Equatable {
    /// Frames waiting to be written, including a batch being written now.
    package var queuedFrames: Int
    /// Frames discarded because the queue was full (or trimmed back to its bound after a failed write).
    package var droppedFrames: Int
    /// Whether a connection to the peer is established and authenticated.
    package var connected: Bool
    /// Frames written completely to a connection. Written is not delivered: a connection that fails later may
    /// lose what the kernel still held.
    package var sentFrames: Int
    /// Why the last connection attempt or connection failed (a refusal carries the peer's reason), or nil.
    package var lastError: String?

    /// Creates statistics.
    package init(queuedFrames: Int, droppedFrames: Int, connected: Bool, sentFrames: Int, lastError: String?) {
        self.queuedFrames = queuedFrames
        self.droppedFrames = droppedFrames
        self.connected = connected
        self.sentFrames = sentFrames
        self.lastError = lastError
    }
}
