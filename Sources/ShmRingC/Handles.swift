import ShmRing
import CShmRingABI

/// A C handle: a small allocation of its own holding a tag word (which
/// handle type it is), a state word (live or closed) and the Swift value
/// (a ring, or a ~Copyable end of one). Not a class: a class's stored
/// ~Copyable field would cost a dynamic exclusivity check on every push.
/// The tag catches a handle of the wrong type (or a stray pointer, most of
/// the time); the state turns calls on a closed end into an error code.
enum HandleCell {
    static let payloadOffset = 64
    static let live: UInt64 = 1
    static let closed: UInt64 = 2
    /// Word 16: 1 while the handle lends a record peeked in place that its
    /// Swift value does not track itself (a journal tailer's, from
    /// `shmring_journal_peek` to `_release`), else 0.
    static let lendingOffset = 16

    static func make<Value: ~Copyable>(_ value: consuming Value, tag: UInt64) -> OpaquePointer {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: payloadOffset + MemoryLayout<Value>.stride,
                                                   alignment: max(64, MemoryLayout<Value>.alignment))
        raw.storeBytes(of: tag, as: UInt64.self)
        raw.storeBytes(of: live, toByteOffset: 8, as: UInt64.self)
        raw.storeBytes(of: 0 as UInt64, toByteOffset: lendingOffset, as: UInt64.self)
        (raw + payloadOffset).bindMemory(to: Value.self, capacity: 1).initialize(to: value)
        return OpaquePointer(raw)
    }

    /// The value of a live handle of type `tag`; nil after recording the
    /// error (NULL, wrong type, closed), whose code `status` returns.
    @inline(__always)
    static func value<Value: ~Copyable>(_ handle: OpaquePointer?, tag: UInt64, as: Value.Type,
                                        _ function: StaticString) -> UnsafeMutablePointer<Value>? {
        guard let handle else { _ = ABIStatus.fail(.invalidArgument("\(function): NULL handle")); return nil }
        let raw = UnsafeMutableRawPointer(handle)
        guard raw.load(as: UInt64.self) == tag else {
            _ = ABIStatus.fail(.invalidArgument("\(function): not a handle of this type (freed, or another type)"))
            return nil
        }
        guard raw.load(fromByteOffset: 8, as: UInt64.self) == live else {
            _ = ABIStatus.closedHandle(function)
            return nil
        }
        return (raw + payloadOffset).assumingMemoryBound(to: Value.self)
    }

    /// The code of the error `value` just recorded.
    static var status: Int32 { shmring_last_error_code() }

    /// Marks a handle closed after its value was moved out (`pointer.move()`).
    static func markClosed(_ handle: OpaquePointer?) {
        UnsafeMutableRawPointer(handle!).storeBytes(of: closed, toByteOffset: 8, as: UInt64.self)
    }

    /// Whether a handle `value` accepted lends a record (`lendingOffset`).
    static func isLending(_ handle: OpaquePointer?) -> Bool {
        UnsafeMutableRawPointer(handle!).load(fromByteOffset: lendingOffset, as: UInt64.self) != 0
    }

    static func setLending(_ handle: OpaquePointer?, _ lending: Bool) {
        UnsafeMutableRawPointer(handle!).storeBytes(of: lending ? 1 : 0, toByteOffset: lendingOffset, as: UInt64.self)
    }

    /// Drops the value (if still live) and the allocation. NULL or a
    /// handle of another type is ignored.
    static func free<Value: ~Copyable>(_ handle: OpaquePointer?, tag: UInt64, as: Value.Type) {
        guard let handle else { return }
        let raw = UnsafeMutableRawPointer(handle)
        guard raw.load(as: UInt64.self) == tag else { return }
        if raw.load(fromByteOffset: 8, as: UInt64.self) == live {
            (raw + payloadOffset).assumingMemoryBound(to: Value.self).deinitialize(count: 1)
        }
        raw.storeBytes(of: 0xDEAD_DEAD_DEAD_DEAD as UInt64, as: UInt64.self)
        raw.deallocate()
    }
}

/// Tags of the handle types ("SRC" + a letter each).
enum HandleTag {
    static let spsc: UInt64 = 0x5352_435F_5350_5343
    static let spscProducer: UInt64 = 0x5352_435F_5350_5050
    static let spscConsumer: UInt64 = 0x5352_435F_5350_4343
    static let record: UInt64 = 0x5352_435F_5245_4352
    static let recordProducer: UInt64 = 0x5352_435F_5245_5050
    static let recordConsumer: UInt64 = 0x5352_435F_5245_4343
    static let mpmc: UInt64 = 0x5352_435F_4D50_4D43
    static let exchange: UInt64 = 0x5352_435F_4558_4348
    static let exchangeClient: UInt64 = 0x5352_435F_4558_434C
    static let exchangeServer: UInt64 = 0x5352_435F_4558_5356
    static let journalProducer: UInt64 = 0x5352_435F_4A4E_5050
    static let journalTailer: UInt64 = 0x5352_435F_4A4E_5441
    static let broadcast: UInt64 = 0x5352_435F_4243_5354
    static let broadcastProducer: UInt64 = 0x5352_435F_4243_5050
    static let broadcastConsumer: UInt64 = 0x5352_435F_4243_4343
}

extension HandleCell {
    /// The one body of every create/open entry point: checks `out`, runs
    /// `make`, and stores the new value as a handle tagged `tag` in `*out`.
    @inline(__always)
    static func produce<Value: ~Copyable>(_ out: UnsafeMutablePointer<OpaquePointer?>?, tag: UInt64,
                               _ make: () throws(ShmError) -> Value) -> Int32 {
        ABIStatus.run { () throws(ShmError) in
            let out = try ABIArgument.out(out, "out")
            out.pointee = HandleCell.make(try make(), tag: tag)
            return ABIStatus.ok
        }
    }
}

/// The one body of every `shmring_*_claim_*` entry point: the structure
/// behind `handle` (tag `tag`) claims an end with the C wait strategy,
/// and the end becomes a new handle tagged `endTag` in `*out`.
enum EndClaim {
    @inline(__always)
    static func run<Structure, End: ~Copyable>(_ handle: OpaquePointer?, tag: UInt64, as: Structure.Type, _ function: StaticString,
                                               wait: shmring_wait, out: UnsafeMutablePointer<OpaquePointer?>?, endTag: UInt64,
                                               _ claim: (Structure, WaitStrategy) throws(ShmError) -> End) -> Int32 {
        guard let structure = HandleCell.value(handle, tag: tag, as: Structure.self, function) else { return HandleCell.status }
        return ABIStatus.run { () throws(ShmError) in
            let out = try ABIArgument.out(out, "out")
            out.pointee = HandleCell.make(try claim(structure.pointee, ABIArgument.wait(wait)), tag: endTag)
            return ABIStatus.ok
        }
    }
}

/// The one body of every `*_reserve` entry point that lends one record's
/// payload in place (record ring, broadcast ring, journal): `reserve` makes
/// room for `length` bytes on the producer behind `handle` and hands the
/// payload to `lend` (which stores its address in `*payload`), or returns
/// false when there is no room now (SHMRING_AGAIN).
enum InPlaceReserve {
    @inline(__always)
    static func run<Producer: ~Copyable>(_ handle: OpaquePointer?, tag: UInt64, as: Producer.Type, _ function: StaticString,
                                         length: Int, payload: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                         _ reserve: (inout Producer, Int, (UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) -> Bool) -> Int32 {
        guard let p = HandleCell.value(handle, tag: tag, as: Producer.self, function) else { return HandleCell.status }
        return ABIStatus.run { () throws(ShmError) in
            let payload = try ABIArgument.out(payload, "payload")
            return try reserve(&p.pointee, ABIArgument.count(length, "length")) { bytes in payload.pointee = bytes.baseAddress }
                ? ABIStatus.ok : ABIStatus.again
        }
    }

    /// `shmring_{record,broadcast}_try_reserve`. The record's header is
    /// written when the closure returns; its bytes are the caller's to write
    /// until the next call, published by the release store of the next commit.
    @inline(__always)
    static func tryReserve<Producer: RingProducer & ~Copyable>(_ handle: OpaquePointer?, tag: UInt64, as: Producer.Type, _ function: StaticString,
                                                               length: Int, payload: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
        run(handle, tag: tag, as: Producer.self, function, length: length, payload: payload) { p, n, lend throws(ShmError) in try p.tryReserve(n, lend) }
    }

    /// `shmring_{record,broadcast}_reserve`: `tryReserve` waiting for room.
    @inline(__always)
    static func reserve<Producer: RingProducer & ~Copyable>(_ handle: OpaquePointer?, tag: UInt64, as: Producer.Type, _ function: StaticString,
                                                            length: Int, timeout: Double, payload: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
        run(handle, tag: tag, as: Producer.self, function, length: length, payload: payload) { p, n, lend throws(ShmError) in
            try p.reserve(n, timeoutSeconds: ABIArgument.timeout(timeout), lend)
            return true
        }
    }

    /// `shmring_{record,broadcast}_commit`.
    @inline(__always)
    static func commit<Producer: RingProducer & ~Copyable>(_ handle: OpaquePointer?, tag: UInt64, as: Producer.Type, _ function: StaticString) -> Int32 {
        guard let p = HandleCell.value(handle, tag: tag, as: Producer.self, function) else { return HandleCell.status }
        p.pointee.commit()
        return ABIStatus.ok
    }
}

/// The producers that write one record in place and publish at `commit()`
/// (their Swift methods, unchanged): the record and broadcast rings'.
protocol RingProducer: ~Copyable {
    mutating func tryReserve(_ length: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool
    mutating func reserve(_ length: Int, timeoutSeconds: Double?, _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError)
    mutating func commit()
}

extension RecordRing.Producer: RingProducer {}
extension BroadcastRing.Producer: RingProducer {}
