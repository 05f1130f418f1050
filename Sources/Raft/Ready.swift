extension Raft {
    /// Everything a node asks its shell to do, collected by `Node.ready()`.
    ///
    /// The shell handles a `Ready` in this order, then calls `Node.advance()`:
    /// 1. Persist `snapshot` (if any), then `entries` — which overwrite any stored entries from
    ///    `entries.first.index` on —, then `hardState` (if any). All three must be durable (fsynced) before
    ///    step 3 sends any message whose `mayBeSentBeforePersisting` is false: a vote or an append acknowledgement
    ///    speaks for durable state (Figure 2: "respond to RPCs only after updating stable storage").
    /// 2. Messages whose `mayBeSentBeforePersisting` is true (a leader's appends, heartbeats, snapshots, TimeoutNow
    ///    and read grants) may be sent before or while step 1 runs: the leader counts its own entries toward commit
    ///    only once `advance()` reports them durable (thesis §10.2.1).
    /// 3. Send the remaining messages, in order.
    /// 4. If `snapshot` is set, restore the state machine from it; then apply `committedEntries` in order. Entries
    ///    in `committedEntries` are committed on a majority; they may be applied as soon as they are in hand.
    /// 5. Serve each `readStates` element once the applied index reaches its `index`; fail the reads listed in
    ///    `droppedReads` (the node lost leadership before it could confirm them; the client may retry).
    /// 6. Call `advance()`.
    package struct Ready: Sendable {
        /// Term, vote and commit to persist, when changed since the last `Ready`.
        package var hardState: HardState?
        /// Entries to persist (overwriting from the first one's index).
        package var entries: [Entry] = []
        /// A snapshot received from the leader, to persist and restore.
        package var snapshot: Snapshot?
        /// Messages to send, subject to the persistence rule above.
        package var messages: [Message] = []
        /// Committed entries to apply, in order.
        package var committedEntries: [Entry] = []
        /// Granted read indexes.
        package var readStates: [ReadState] = []
        /// Contexts of reads that will never be granted by this node.
        package var droppedReads: [UInt64] = []
        /// Role and leader, when changed since the last `Ready`.
        package var softState: SoftState?

        /// Creates an empty ready.
        package init() {}

        /// Whether there is nothing to do.
        package var isEmpty: Bool {
            hardState == nil && entries.isEmpty && snapshot == nil && messages.isEmpty && committedEntries.isEmpty
                && readStates.isEmpty && droppedReads.isEmpty && softState == nil
        }
    }
}
