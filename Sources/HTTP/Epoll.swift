import Glibc

/// epoll, eventfd and accept4, which the Glibc module map does not export: the C functions are looked up once with
/// `dlsym` and called through `@convention(c)` pointers, and `epoll_event` is handled as raw bytes because it is
/// packed on x86_64 (12 bytes) and naturally aligned elsewhere (16 bytes).
enum Epoll {
    static let readable: UInt32 = 0x001
    static let writable: UInt32 = 0x004
    static let error: UInt32 = 0x008
    static let hangUp: UInt32 = 0x010
    static let add: Int32 = 1
    static let remove: Int32 = 2
    static let modify: Int32 = 3
    /// EPOLL_CLOEXEC, EFD_CLOEXEC and O_CLOEXEC share a value.
    static let closeOnExec = Int32(O_CLOEXEC)

    #if arch(x86_64)
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif

    typealias CreateFunction = @convention(c) (Int32) -> Int32
    typealias ControlFunction = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias WaitFunction = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias EventFDFunction = @convention(c) (UInt32, Int32) -> Int32
    typealias AcceptFunction =
        @convention(c) (Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32) -> Int32

    static let createFunction = symbol("epoll_create1", as: CreateFunction.self)
    static let controlFunction = symbol("epoll_ctl", as: ControlFunction.self)
    static let waitFunction = symbol("epoll_wait", as: WaitFunction.self)
    static let eventFDFunction = symbol("eventfd", as: EventFDFunction.self)
    /// accept4 is hidden behind _GNU_SOURCE, which the Glibc module does not define.
    static let acceptFunction = symbol("accept4", as: AcceptFunction.self)

    /// The C function `name` from the already-loaded C library.
    static func symbol<Function>(_ name: String, as type: Function.Type) -> Function {
        guard let address = dlsym(nil, name) else {
            preconditionFailure("Epoll: \(name) not found in the C library")
        }
        return unsafeBitCast(address, to: type)
    }

    /// A new close-on-exec epoll instance.
    static func create() throws(PosixError) -> Int32 {
        try syscallValue("epoll_create1") { createFunction(closeOnExec) }
    }

    /// A non-blocking, close-on-exec eventfd with counter zero.
    static func eventFD() throws(PosixError) -> Int32 {
        try syscallValue("eventfd") { eventFDFunction(0, closeOnExec | Int32(O_NONBLOCK)) }
    }

    /// Adds, modifies or removes `descriptor` in `epoll`, watching `events`; the event's data is the descriptor.
    static func control(_ epoll: Int32, _ operation: Int32, _ descriptor: Int32, events: UInt32) throws(PosixError) {
        var bytes = [UInt8](repeating: 0, count: eventSize)
        bytes.withUnsafeMutableBytes {
            $0.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            $0.storeBytes(of: UInt64(UInt32(bitPattern: descriptor)), toByteOffset: dataOffset, as: UInt64.self)
        }
        try syscallValue("epoll_ctl") {
            bytes.withUnsafeMutableBytes { controlFunction(epoll, operation, descriptor, $0.baseAddress) }
        }
    }

    /// A reusable buffer of epoll events.
    struct Events {
        var bytes: [UInt8]
        let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            self.bytes = [UInt8](repeating: 0, count: capacity * Epoll.eventSize)
        }

        /// The event mask and descriptor of ready event `index`.
        func event(_ index: Int) -> (events: UInt32, descriptor: Int32) {
            bytes.withUnsafeBytes {
                let base = index * Epoll.eventSize
                let events = $0.loadUnaligned(fromByteOffset: base, as: UInt32.self)
                let data = $0.loadUnaligned(fromByteOffset: base + Epoll.dataOffset, as: UInt64.self)
                return (events, Int32(bitPattern: UInt32(truncatingIfNeeded: data)))
            }
        }
    }

    /// Waits up to `timeout` milliseconds (-1: forever) and returns how many events are ready (0 if interrupted
    /// work would block, which epoll_wait never reports).
    static func wait(_ epoll: Int32, into events: inout Events, timeout: Int32) throws(PosixError) -> Int {
        let capacity = Int32(events.capacity)
        let result = try syscall("epoll_wait") {
            events.bytes.withUnsafeMutableBytes { waitFunction(epoll, $0.baseAddress, capacity, timeout) }
        }
        switch result {
        case .completed(let count): return Int(count)
        case .wouldBlock: return 0
        }
    }
}
