import Raft
import Synchronization
import Testing
import Wire

@testable import Controller

/// The peer transport over real sockets on 127.0.0.1. Every wait has a deadline; every transport is stopped.
@Suite("Peer transport")
struct TransportTests {
    @Test("two transports exchange raft and application frames in order, both ways")
    func twoPeers() async throws {
        let a = try TestPeer(id: 1)
        let b = try TestPeer(id: 2)
        defer {
            a.transport.stop()
            b.transport.stop()
        }
        a.transport.setPeer(2, address: b.address)
        b.transport.setPeer(1, address: a.address)
        var fromA: [PeerFrame] = []
        var fromB: [PeerFrame] = []
        for number in 0..<300 as Range<UInt64> {
            let frame = number.isMultiple(of: 2) ? heartbeat(number) : application(number)
            fromA.append(frame)
            a.transport.send(frame, to: 2)
            if number < 100 {
                fromB.append(heartbeat(number, from: 2, to: 1))
                b.transport.send(fromB.last!, to: 1)
            }
        }
        #expect(await eventually { b.frames(from: 1).count == 300 && a.frames(from: 2).count == 100 })
        #expect(b.frames(from: 1) == fromA)
        #expect(a.frames(from: 2) == fromB)
        #expect(await eventually { a.statistics(2)?.sentFrames == 300 })
        let statistics = try #require(a.statistics(2))
        #expect(statistics.connected && statistics.droppedFrames == 0 && statistics.queuedFrames == 0)
        #expect(statistics.lastError == nil)
    }

    @Test("three transports each send to the other two, and every stream arrives in order")
    func threePeers() async throws {
        let peers = try (1...3).map { try TestPeer(id: UInt64($0)) }
        defer { for peer in peers { peer.transport.stop() } }
        for (index, peer) in peers.enumerated() {
            for (other, target) in peers.enumerated() where other != index {
                peer.transport.setPeer(UInt64(other + 1), address: target.address)
            }
        }
        for number in 0..<200 as Range<UInt64> {
            for (index, peer) in peers.enumerated() {
                for other in 1...3 where other != index + 1 {
                    peer.transport.send(application(number * 10 + UInt64(other)), to: UInt64(other))
                }
            }
        }
        #expect(await eventually { peers.allSatisfy { $0.deliveredCount == 400 } })
        for (index, peer) in peers.enumerated() {
            for sender in 1...3 where sender != index + 1 {
                let expected = (0..<200 as Range<UInt64>).map { application($0 * 10 + UInt64(index + 1)) }
                #expect(peer.frames(from: UInt64(sender)) == expected)
            }
        }
    }

    @Test("a 5 MiB snapshot arrives intact, reassembled from chunks, between the frames sent around it")
    func largeSnapshot() async throws {
        let a = try TestPeer(id: 1)
        let b = try TestPeer(id: 2)
        defer {
            a.transport.stop()
            b.transport.stop()
        }
        a.transport.setPeer(2, address: b.address)
        var data = [UInt8](repeating: 0, count: 5 << 20)
        var random = SplitMix(seed: 5)
        for index in data.indices { data[index] = UInt8(truncatingIfNeeded: random.next()) }
        let metadata = Raft.SnapshotMetadata(
            last: Raft.LogPosition(index: 1000, term: 9),
            configuration: Raft.Configuration(voters: [1, 2, 3])
        )
        let snapshot = PeerFrame.raft(
            Raft.Message(from: 1, to: 2, term: 9, kind: .snapshot(Raft.Snapshot(metadata: metadata, data: data)))
        )
        a.transport.send(application(1), to: 2)
        a.transport.send(snapshot, to: 2)
        a.transport.send(application(2), to: 2)
        #expect(await eventually(within: 10) { b.frames(from: 1).count == 3 })
        #expect(b.frames(from: 1) == [application(1), snapshot, application(2)])
    }

    /// Starts a server as node 2 of "test-cluster" and a client configured by `client`, which sends to node
    /// `target` at the server; returns both once the refusal has been recorded on both sides.
    func expectRefusal(
        client: () throws -> TestPeer,
        target: UInt64 = 2,
        reason: String
    ) async throws {
        let server = try TestPeer(id: 2)
        let refused = try client()
        defer {
            refused.transport.stop()
            server.transport.stop()
        }
        refused.transport.setPeer(target, address: server.address)
        refused.transport.send(application(1), to: target)
        #expect(await eventually { refused.statistics(target)?.lastError?.contains(reason) == true })
        #expect(await eventually { server.logContains(reason) })
        #expect(refused.statistics(target)?.connected == false)
        #expect(server.deliveredCount == 0)
    }

    @Test("a peer from another cluster is refused with both cluster ids")
    func wrongCluster() async throws {
        try await expectRefusal(
            client: { try TestPeer(id: 1, cluster: "other-cluster") },
            reason: "cluster id mismatch: expected test-cluster, got other-cluster"
        )
    }

    @Test("a peer with the wrong secret is refused")
    func wrongSecret() async throws {
        try await expectRefusal(
            client: { try TestPeer(id: 1, secret: "wrong") },
            reason: "authentication failed: wrong cluster secret"
        )
    }

    @Test("a peer that dials the wrong node id is told who it reached")
    func wrongTarget() async throws {
        try await expectRefusal(client: { try TestPeer(id: 1) }, target: 3, reason: "this is node 2, not 3")
    }

    @Test("a peer claiming the server's own node id is refused")
    func ownNodeID() async throws {
        // Node 2 dialling "node 3" at the server would be told the wrong target first; dial node 2 as node 2.
        let server = try TestPeer(id: 2)
        defer { server.transport.stop() }
        let (socket, refusal) = try handshakeByHand(port: server.port, from: 2, to: 2)
        PeerSocket.close(socket)
        #expect(refusal == "duplicate node id 2")
        #expect(await eventually { server.logContains("duplicate node id 2") })
    }

    @Test("a second process with a live node's id is refused while the first stays connected")
    func duplicateLiveNode() async throws {
        let server = try TestPeer(id: 2)
        let first = try TestPeer(id: 1)
        let impostor = try TestPeer(id: 1)
        defer {
            impostor.transport.stop()
            first.transport.stop()
            server.transport.stop()
        }
        first.transport.setPeer(2, address: server.address)
        first.transport.send(application(1), to: 2)
        #expect(await eventually { server.frames(from: 1) == [application(1)] })
        impostor.transport.setPeer(2, address: server.address)
        impostor.transport.send(application(666), to: 2)
        let reason = "duplicate node id 1: already connected from 127.0.0.1:"
        #expect(await eventually { impostor.statistics(2)?.lastError?.contains(reason) == true })
        #expect(server.logContains(reason))
        first.transport.send(application(2), to: 2)
        #expect(await eventually { server.frames(from: 1).count == 2 })
        #expect(server.frames(from: 1) == [application(1), application(2)])
        #expect(first.statistics(2)?.connected == true)
    }

    @Test("a dead and a blackholed peer neither delay a live one nor queue beyond their bound")
    func deadPeers() async throws {
        let blackhole = try Blackhole()
        let live = try TestPeer(id: 2)
        let sender = try TestPeer(id: 1, maxQueuedFrames: 16, ioTimeoutMilliseconds: 300)
        defer {
            sender.transport.stop()
            live.transport.stop()
        }
        sender.transport.setPeer(2, address: live.address)
        sender.transport.setPeer(3, address: "127.0.0.1:\(try closedPort())")
        sender.transport.setPeer(4, address: "127.0.0.1:\(blackhole.port)")
        let start = nowMilliseconds()
        for number in 0..<100 as Range<UInt64> {
            sender.transport.send(application(number), to: 3)
            sender.transport.send(application(number), to: 4)
            // The bound is per peer: the live peer gets a dozen frames at a time, within its own bound.
            if number.isMultiple(of: 12) {
                sender.transport.send(application(number), to: 2)
            }
        }
        let enqueued = nowMilliseconds() - start
        #expect(enqueued < 2000, "send() must not block; 209 sends took \(enqueued) ms")
        #expect(await eventually { live.frames(from: 1).count == 9 })
        #expect(live.frames(from: 1) == stride(from: 0, to: 100, by: 12).map { application(UInt64($0)) })
        for dead in [3, 4] as [UInt64] {
            let statistics = try #require(sender.statistics(dead))
            #expect(statistics.droppedFrames == 84 && statistics.queuedFrames == 16 && !statistics.connected)
        }
        #expect(await eventually { sender.statistics(3)?.lastError?.contains("Connection refused") == true })
        #expect(await eventually { sender.statistics(4)?.lastError?.contains("timed out") == true })
        sender.transport.send(application(0), to: 99)
        #expect(sender.transport.droppedForUnknownPeers == 1)
    }

    @Test("a sender whose peer stops reading times out its write and reconnects, and stop() is still prompt")
    func stalledWrites() async throws {
        let stalling = try StallingServer(id: 2)
        defer { stalling.stop() }
        let sender = try TestPeer(id: 1, ioTimeoutMilliseconds: 300)
        sender.transport.setPeer(2, address: "127.0.0.1:\(stalling.port)")
        // 16 MiB cannot fit in the socket buffers of a reader that never reads.
        for _ in 0..<16 {
            sender.transport.send(.application(kind: 1, payload: [UInt8](repeating: 1, count: 1 << 20)), to: 2)
        }
        // The log, not `lastError`: by the time a starved test thread looks, a later attempt may have failed
        // differently.
        #expect(await eventually { sender.logContains("timed out writing") })
        #expect(await eventually { stalling.accepted.withLock { $0.count } >= 2 })
        let start = nowMilliseconds()
        sender.transport.stop()
        #expect(nowMilliseconds() - start < 5000)
    }

    @Test("the sender reconnects when the receiver is replaced on the same port, and frames queued meanwhile arrive")
    func reconnect() async throws {
        let sender = try TestPeer(id: 1)
        let first = try TestPeer(id: 2)
        defer { sender.transport.stop() }
        sender.transport.setPeer(2, address: first.address)
        sender.transport.send(application(1), to: 2)
        #expect(await eventually { first.frames(from: 1) == [application(1)] })
        first.transport.stop()
        // The sender notices the closed connection while idle, without having to write to it.
        #expect(await eventually { sender.statistics(2)?.connected == false })
        sender.transport.send(application(2), to: 2)
        let second = try TestPeer(id: 2, port: first.port)
        defer { second.transport.stop() }
        // Back-off here is 20 ms doubling to 200 ms; `eventually` allows far more, as tests share the CPU.
        #expect(await eventually { second.frames(from: 1) == [application(2)] })
        #expect(sender.statistics(2)?.connected == true)
    }

    @Test("stop() returns within a second while a sender waits on a blackholed peer")
    func promptStop() async throws {
        let blackhole = try Blackhole()
        let sender = try TestPeer(id: 1, ioTimeoutMilliseconds: 5000)
        sender.transport.setPeer(2, address: "127.0.0.1:\(blackhole.port)")
        sender.transport.send(application(1), to: 2)
        try await Task.sleep(for: .milliseconds(200))
        let start = nowMilliseconds()
        sender.transport.stop()
        let elapsed = nowMilliseconds() - start
        #expect(elapsed < 5000, "stop() took \(elapsed) ms")
    }

    @Test("a frame with a corrupted checksum closes the connection after the frames before it were delivered")
    func corruptedFrameOnTheWire() async throws {
        let server = try TestPeer(id: 2)
        defer { server.transport.stop() }
        let (socket, refusal) = try handshakeByHand(port: server.port, from: 1, to: 2)
        defer { PeerSocket.close(socket) }
        #expect(refusal == nil)
        var writer = ByteWriter()
        #expect(FrameCodec.append(application(1), chunkBytes: 1024, maxFrameBytes: 1 << 20, to: &writer))
        let good = writer.count
        #expect(FrameCodec.append(application(2), chunkBytes: 1024, maxFrameBytes: 1 << 20, to: &writer))
        #expect(FrameCodec.append(application(3), chunkBytes: 1024, maxFrameBytes: 1 << 20, to: &writer))
        var bytes = writer.bytes
        bytes[good + 6] ^= 0xFF  // inside the second frame's payload
        var written = 0
        try PeerIO.writeAll(socket, bytes, written: &written, timeout: 2000, wakeups: [], interrupted: { true })
        #expect(closedByPeer(socket, within: 3000))
        #expect(await eventually { server.logContains("fails its checksum") })
        #expect(server.frames(from: 1) == [application(1)])
    }
}
