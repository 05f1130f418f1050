import Glibc
import Synchronization

/// The answer to one request, handed to `HTTPServer`'s `respondLater` closure; call `respond(_:)` exactly once,
/// from any thread.
///
/// Responses on one connection still go out in request order: a completion fills its request's slot and the
/// event loop writes every leading filled slot. A second call is ignored, and a call after the connection (or the
/// whole server) has gone away is a harmless no-op.
package final class HTTPResponder: Sendable {
    /// Where completions go.
    let mailbox: Mailbox
    /// The slot this responder fills.
    let ticket: Mailbox.Ticket
    /// Set by the first `respond(_:)`; later calls see it and return.
    let answered = Atomic<Bool>(false)

    /// A responder for the request identified by `ticket`.
    init(mailbox: Mailbox, ticket: Mailbox.Ticket) {
        self.mailbox = mailbox
        self.ticket = ticket
    }

    /// Sends `response` for this request; only the first call on a responder has any effect.
    ///
    /// Costs one atomic exchange, one uncontended lock and, from a thread other than the server's, one eventfd
    /// write when the loop is not already being woken.
    package func respond(_ response: HTTPResponse) {
        guard !answered.exchange(true, ordering: .acquiringAndReleasing) else {
            return
        }
        mailbox.post(Mailbox.Completion(ticket: ticket, response: response))
    }
}

/// The queue through which other threads reach the event loop: responses completed elsewhere, and the stop
/// request. Both wake the loop through one eventfd, which the mailbox owns and closes once the loop has exited.
final class Mailbox: Sendable {
    /// Identifies one request's slot: the connection by descriptor and by serial (descriptors are reused after a
    /// close, serials never), and the request's position on that connection.
    struct Ticket: Sendable, Equatable {
        /// The connection's socket.
        var descriptor: Int32
        /// Which connection ever to hold `descriptor` this is.
        var serial: UInt64
        /// The request's sequence number on the connection, from zero.
        var sequence: UInt64
    }

    /// A response for the slot named by its ticket.
    struct Completion: Sendable {
        /// The slot to fill.
        var ticket: Ticket
        /// What to send.
        var response: HTTPResponse
    }

    /// Everything guarded by the lock.
    struct State: Sendable {
        /// The eventfd that wakes the loop, or -1 once closed. Invariant: written only under the lock, so it is
        /// never written after `close()` (when the number may already name another file).
        var wakeup: Int32
        /// Whether the eventfd has been written since the loop last took the queue; later posts need not write it.
        var signalled = false
        /// Whether `stop()` was called; from then on posts are dropped.
        var stopping = false
        /// The event loop's thread, whose own posts need no wake-up: it drains the queue every iteration.
        var loopThread: pthread_t?
        /// Completions not yet taken by the loop, in posting order.
        var completions: [Completion] = []
    }

    /// The wake-up eventfd, for registering with epoll.
    let wakeup: Int32
    /// The queue, the flags and the eventfd number, together.
    let state: Mutex<State>

    /// A mailbox that wakes its loop through `wakeup`, which it now owns.
    init(wakeup: Int32) {
        self.wakeup = wakeup
        self.state = Mutex(State(wakeup: wakeup))
    }

    /// Records the calling thread as the loop's; called first thing on the loop thread.
    func adoptLoopThread() {
        let current = pthread_self()
        state.withLock { $0.loopThread = current }
    }

    /// Queues `completion` and wakes the loop unless it is already awake or the caller is the loop itself.
    func post(_ completion: Completion) {
        let current = pthread_self()
        state.withLock { state in
            guard !state.stopping else {
                return
            }
            state.completions.append(completion)
            if let loop = state.loopThread, pthread_equal(loop, current) != 0 {
                return
            }
            if !state.signalled {
                state.signalled = true
                Self.signal(state.wakeup)
            }
        }
    }

    /// Asks the loop to exit; posts from now on are dropped.
    func stop() {
        state.withLock { state in
            state.stopping = true
            state.completions.removeAll()
            Self.signal(state.wakeup)
        }
    }

    /// Closes the eventfd; call once the loop thread has exited.
    func close() {
        state.withLock { state in
            if state.wakeup >= 0 {
                closeDescriptor(state.wakeup)
                state.wakeup = -1
            }
        }
    }

    /// Resets the eventfd's counter; called by the loop when the eventfd is readable.
    func acknowledge() {
        var count: UInt64 = 0
        _ = try? syscall("read(eventfd)") { read(wakeup, &count, MemoryLayout<UInt64>.size) }
    }

    /// Takes every queued completion, and whether the loop should stop.
    func take() -> (completions: [Completion], stopping: Bool) {
        state.withLock { state in
            state.signalled = false
            var taken: [Completion] = []
            swap(&taken, &state.completions)
            return (taken, state.stopping)
        }
    }

    /// Adds one to the eventfd's counter; a full counter (never, in practice) already means "wake up".
    static func signal(_ wakeup: Int32) {
        guard wakeup >= 0 else {
            return
        }
        var one: UInt64 = 1
        _ = try? syscall("write(eventfd)") { write(wakeup, &one, MemoryLayout<UInt64>.size) }
    }
}
