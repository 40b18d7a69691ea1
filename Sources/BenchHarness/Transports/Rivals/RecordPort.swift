import ShmRing

/// A rival's queue, seen the way its users see it: whole fixed-size records
/// copied in and out (none of the rivals lends its slots in place).
public protocol RecordQueue {
    /// Hands one record over, waiting while the queue is full.
    func push(_ record: UnsafeRawPointer) throws(HarnessError)
    /// Takes one record, waiting while the queue is empty.
    func pop(into record: UnsafeMutableRawPointer) throws(HarnessError)
    /// Takes one record if one is there.
    func tryPop(into record: UnsafeMutableRawPointer) throws(HarnessError) -> Bool
}

/// A lock-free rival: non-blocking calls, waited on like the ring's port
/// waits (`SpinWait`: spin with pause, then yield).
public protocol LockFreeRecordQueue: RecordQueue {
    func tryPush(_ record: UnsafeRawPointer) -> Bool
    func tryPop(_ record: UnsafeMutableRawPointer) -> Bool
}

extension LockFreeRecordQueue {
    @inlinable
    public func push(_ record: UnsafeRawPointer) throws(HarnessError) {
        var spin = SpinWait()
        while !tryPush(record) { spin.wait() }
    }

    @inlinable
    public func pop(into record: UnsafeMutableRawPointer) throws(HarnessError) {
        var spin = SpinWait()
        while !tryPop(record) { spin.wait() }
    }

    @inlinable
    public func tryPop(into record: UnsafeMutableRawPointer) throws(HarnessError) -> Bool { tryPop(record) }
}

/// The one port of every rival: the harness fills a record in a private
/// buffer and the queue copies it in; the queue copies a record out into
/// the buffer and the harness checks it there. The same loop, checks and
/// clock as every transport; only the copy is the rival's own.
public struct RecordPort<Queue: RecordQueue>: MessagePort, ~Copyable {
    @usableFromInline let outbound: Queue
    @usableFromInline let inbound: Queue
    @usableFromInline let record: UnsafeMutableRawBufferPointer

    public init(outbound: Queue, inbound: Queue, messageSize: Int) {
        self.outbound = outbound
        self.inbound = inbound
        record = .allocate(byteCount: messageSize, alignment: 64)
        record.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { record.deallocate() }

    @inlinable
    public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
        var i = 0
        while i < count {
            fill(i, record)
            try outbound.push(record.baseAddress!)
            i &+= 1
        }
    }

    @inlinable
    public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
        try inbound.pop(into: record.baseAddress!)
        body(0, UnsafeRawBufferPointer(record))
        var n = 1
        while n < maxCount, try inbound.tryPop(into: record.baseAddress!) {
            body(n, UnsafeRawBufferPointer(record))
            n &+= 1
        }
        return n
    }
}

extension RecordPort {
    /// The port a rival's `role` works through over its two queues: the
    /// producer sends on `forward` and hears echoes on `backward`, the
    /// consumer the reverse (every rival transport's `withPort`).
    static func visit<V: PortVisitor>(_ role: Role, forward: Queue, backward: Queue, messageSize: Int,
                                      _ visitor: V) throws(HarnessError) -> V.Output {
        var port = role.isProducer ? RecordPort(outbound: forward, inbound: backward, messageSize: messageSize)
                                   : RecordPort(outbound: backward, inbound: forward, messageSize: messageSize)
        return try visitor.visit(&port)
    }
}

/// An anonymous shared mapping, created before the fork, holding a rival's
/// two queues (forward, and backward for echoes) at 128-byte boundaries
/// after the region's header area. Rivals keep no pointers in shared
/// memory, but this harness does not reopen them by name: they run on this
/// one backing.
@usableFromInline
struct RivalRegion {
    let region: SharedRegion

    static func align(_ n: Int) -> Int { (n + 127) & ~127 }

    init(sizes: [Int]) throws(HarnessError) {
        let total = sizes.reduce(RegionLayout.headerSize) { $0 + Self.align($1) }
        do { region = try SharedRegion.create(backing: .anon, name: nil, size: total) } catch { throw .shm(error) }
        // Anonymous: no name to remove; the mapping goes with the last holder.
    }

    /// Where part `index` (of the sizes given at creation) begins.
    func part(_ index: Int, of sizes: [Int]) -> UnsafeMutableRawPointer {
        region.base + sizes.prefix(index).reduce(RegionLayout.headerSize) { $0 + Self.align($1) }
    }
}

/// The sizes the fixed-record rivals carry.
enum RivalRecordSizes {
    static let supported = [8, 64, 1024]
    static let reason = "fixed-size records of 8, 64 or 1024 bytes (a compile-time element type)"

    static func check(_ scenario: Scenario, _ name: String) throws(HarnessError) {
        guard supported.contains(scenario.messageSize) else {
            throw .invalidScenario("\(name) carries \(reason); --message-size \(scenario.messageSize) is not one of them")
        }
    }
}
