import API
import ClusterState
import Dispatch
import HTTP
import RaftStorage
import Synchronization

/// Answers one client request; called once, from any thread.
typealias Reply = @Sendable (HTTPResponse) -> Void

/// Something for the node loop to handle.
enum LoopEvent: Sendable {
    /// A frame from a peer.
    case peer(from: UInt64, PeerFrame)
    /// A peer closed its connection to us (its process likely exited).
    case peerClosed(UInt64)
    /// A routed API request; `forwardedFrom` is the follower that forwarded it, if any.
    case request(APIRequest, HTTPRequest, forwardedFrom: UInt64?, reply: Reply)
    /// The storage thread finished persisting the outstanding `Ready`.
    case persisted(seconds: Double, error: StorageError?)
    /// An orchestration round computed off the loop, on the state at `index`, for the leader of `term`.
    case orchestrated(commands: [DomainCommand], term: UInt64, index: UInt64)
    /// A state snapshot encoded off the loop, of the state at `index`.
    case snapshotEncoded(index: UInt64, data: [UInt8])
    /// Test mode only: answer with the applied index and a digest of the state (see `TestMode`).
    case stateDigest(reply: Reply)
    /// Leave the loop.
    case stop
}

/// The node loop's queue: any thread posts, the loop takes everything at once. A semaphore wakes the loop; the
/// `signalled` flag keeps it to one pending wake-up however many events arrive.
final class Inbox: Sendable {
    struct State {
        var events: [LoopEvent] = []
        var signalled = false
    }

    let state = Mutex(State())
    let semaphore = DispatchSemaphore(value: 0)

    /// Queues `event` and wakes the loop.
    func post(_ event: LoopEvent) {
        let wake = state.withLock { state -> Bool in
            state.events.append(event)
            if state.signalled { return false }
            state.signalled = true
            return true
        }
        if wake { semaphore.signal() }
    }

    /// Waits up to `milliseconds` for events and takes them all (possibly none).
    func take(waitingUpTo milliseconds: Int) -> [LoopEvent] {
        if milliseconds > 0 {
            _ = semaphore.wait(timeout: .now() + .milliseconds(milliseconds))
        }
        return state.withLock { state in
            let events = state.events
            state.events = []
            state.signalled = false
            return events
        }
    }
}
