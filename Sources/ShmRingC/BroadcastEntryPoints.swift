import ShmRing
import CShmRingABI

// The broadcast ring's C entry points (include/shmring.h): one producer,
// any number of consumers (up to the slots chosen at creation), each of
// which receives the whole stream.

typealias BroadcastProducer = BroadcastRing.Producer
typealias BroadcastConsumer = BroadcastRing.Consumer

@_cdecl("shmring_broadcast_create")
public func shmring_broadcast_create(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ capacity: Int, _ maxRecord: Int,
                                     _ maxConsumers: Int, _ policy: shmring_broadcast_policy, _ evictAfter: Double,
                                     _ options: UnsafePointer<shmring_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.broadcast) { () throws(ShmError) in
        let (opts, reclaim) = try ABIArgument.options(options)
        let chosen: BroadcastPolicy
        switch policy.rawValue {
        case 0: chosen = .block
        case 1: chosen = .overwrite
        case 2: chosen = .evict(after: evictAfter)
        default: throw .invalidArgument("unknown broadcast policy \(policy.rawValue)")
        }
        let ring = try BroadcastRing.create(backing: ABIArgument.backing(backing), name: ABIArgument.name(name, optional: true),
                                            capacity: ABIArgument.count(capacity, "capacity"),
                                            maximumRecordLength: ABIArgument.count(maxRecord, "max_record"),
                                            maximumConsumers: ABIArgument.count(maxConsumers, "max_consumers"), policy: chosen,
                                            options: opts, reclaimStale: reclaim)
        return ring
    }
}

@_cdecl("shmring_broadcast_open")
public func shmring_broadcast_open(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ options: UnsafePointer<shmring_options>?,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.broadcast) { () throws(ShmError) in
        let (opts, _) = try ABIArgument.options(options)
        let ring = try BroadcastRing.open(backing: ABIArgument.backing(backing), name: ABIArgument.name(name)!, options: opts,
                                          waitForCreationSeconds: opts.waitForCreationSeconds)
        return ring
    }
}

@_cdecl("shmring_broadcast_capacity")
public func shmring_broadcast_capacity(_ handle: OpaquePointer?, _ capacity: UnsafeMutablePointer<Int>?, _ maxRecord: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let ring = HandleCell.value(handle, tag: HandleTag.broadcast, as: BroadcastRing.self, #function) else { return HandleCell.status }
    capacity?.pointee = ring.pointee.capacity
    maxRecord?.pointee = ring.pointee.maximumRecordLength
    return ABIStatus.ok
}

@_cdecl("shmring_broadcast_free")
public func shmring_broadcast_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.broadcast, as: BroadcastRing.self) }

@_cdecl("shmring_broadcast_claim_producer")
public func shmring_broadcast_claim_producer(_ handle: OpaquePointer?, _ wait: shmring_wait, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    EndClaim.run(handle, tag: HandleTag.broadcast, as: BroadcastRing.self, #function, wait: wait, out: out,
                 endTag: HandleTag.broadcastProducer) { ring, w throws(ShmError) in try ring.producer(wait: w) }
}

@_cdecl("shmring_broadcast_join")
public func shmring_broadcast_join(_ handle: OpaquePointer?, _ fromOldest: Int32, _ wait: shmring_wait,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    EndClaim.run(handle, tag: HandleTag.broadcast, as: BroadcastRing.self, #function, wait: wait, out: out,
                 endTag: HandleTag.broadcastConsumer) { ring, w throws(ShmError) in try ring.consumer(from: fromOldest != 0 ? .oldest : .latest, wait: w) }
}

@_cdecl("shmring_broadcast_write")
public func shmring_broadcast_write(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int, _ timeout: Double) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.broadcastProducer, as: BroadcastProducer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        try p.pointee.write(bytes(data, length), timeoutSeconds: ABIArgument.timeout(timeout))
        return ABIStatus.ok
    }
}

@_cdecl("shmring_broadcast_try_reserve")
public func shmring_broadcast_try_reserve(_ handle: OpaquePointer?, _ length: Int, _ payload: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    InPlaceReserve.tryReserve(handle, tag: HandleTag.broadcastProducer, as: BroadcastProducer.self, #function, length: length, payload: payload)
}

@_cdecl("shmring_broadcast_reserve")
public func shmring_broadcast_reserve(_ handle: OpaquePointer?, _ length: Int, _ timeout: Double,
                                      _ payload: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    InPlaceReserve.reserve(handle, tag: HandleTag.broadcastProducer, as: BroadcastProducer.self, #function, length: length, timeout: timeout, payload: payload)
}

@_cdecl("shmring_broadcast_commit")
public func shmring_broadcast_commit(_ handle: OpaquePointer?) -> Int32 {
    InPlaceReserve.commit(handle, tag: HandleTag.broadcastProducer, as: BroadcastProducer.self, #function)
}

@_cdecl("shmring_broadcast_producer_close")
public func shmring_broadcast_producer_close(_ handle: OpaquePointer?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.broadcastProducer, as: BroadcastProducer.self, #function) else { return HandleCell.status }
    HandleCell.markClosed(handle)
    p.move().close()
    return ABIStatus.ok
}

@_cdecl("shmring_broadcast_producer_free")
public func shmring_broadcast_producer_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.broadcastProducer, as: BroadcastProducer.self) }

/// The status of a broadcast read: SHMRING_OK after `take` got the
/// record's result, SHMRING_OVERRUN (the count in `*lost`), or `none` when
/// there was no record (SHMRING_AGAIN for a try, SHMRING_END at the end).
func delivered<Result>(_ delivery: BroadcastDelivery<Result>?, none: Int32, lost: UnsafeMutablePointer<UInt64>?,
                       _ take: (Result) -> Void) -> Int32 {
    switch delivery {
    case .record(let result)?:
        take(result)
        return ABIStatus.ok
    case .overrun(let n)?:
        lost?.pointee = n
        return ABIStatus.overrun
    case nil:
        return none
    }
}

@_cdecl("shmring_broadcast_read")
public func shmring_broadcast_read(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int, _ timeout: Double,
                                   _ length: UnsafeMutablePointer<Int>?, _ lost: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.broadcastConsumer, as: BroadcastConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size), seconds = try ABIArgument.timeout(timeout)
        try ABIArgument.notLending(c.pointee.holdsRecord, #function)
        // A record that does not fit makes the closure throw before the release: it stays unread.
        let delivery = try c.pointee.read(timeoutSeconds: seconds, { r throws(ShmError) in try copyRecord(r, into: target) })
        return delivered(delivery, none: ABIStatus.end, lost: lost) { n in length?.pointee = n }
    }
}

@_cdecl("shmring_broadcast_read_with")
public func shmring_broadcast_read_with(_ handle: OpaquePointer?, _ body: shmring_read_fn?, _ context: UnsafeMutableRawPointer?, _ timeout: Double,
                                        _ lost: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.broadcastConsumer, as: BroadcastConsumer.self, #function) else { return HandleCell.status }
    guard let body else { return ABIStatus.fail(.invalidArgument("body is NULL")) }
    return ABIStatus.run { () throws(ShmError) in
        let seconds = try ABIArgument.timeout(timeout)
        try ABIArgument.notLending(c.pointee.holdsRecord, #function)
        // Validated after `body` returned (`tryPeek`): SHMRING_OVERRUN when what it saw was overwritten meanwhile.
        let delivery = try c.pointee.read(timeoutSeconds: seconds) { r in body(context, r.baseAddress, r.count) }
        return delivered(delivery, none: ABIStatus.end, lost: lost) { _ in }
    }
}

/// The one body of shmring_broadcast_try_peek and _peek: `peek` lends the
/// next record in place (`tryPeekHeld`, `peekHeld`), to be validated by
/// shmring_broadcast_release; no record is `none`.
func lendBroadcastRecord(_ handle: OpaquePointer?, _ function: StaticString, none: Int32, data: UnsafeMutablePointer<UnsafeRawPointer?>?,
                         length: UnsafeMutablePointer<Int>?, lost: UnsafeMutablePointer<UInt64>?,
                         _ peek: (inout BroadcastConsumer) throws(ShmError) -> BroadcastDelivery<UnsafeRawBufferPointer>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.broadcastConsumer, as: BroadcastConsumer.self, function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let data = try ABIArgument.out(data, "data"), length = try ABIArgument.out(length, "length")
        return delivered(try peek(&c.pointee), none: none, lost: lost) { r in (data.pointee, length.pointee) = (r.baseAddress, r.count) }
    }
}

@_cdecl("shmring_broadcast_try_peek")
public func shmring_broadcast_try_peek(_ handle: OpaquePointer?, _ data: UnsafeMutablePointer<UnsafeRawPointer?>?,
                                       _ length: UnsafeMutablePointer<Int>?, _ lost: UnsafeMutablePointer<UInt64>?) -> Int32 {
    lendBroadcastRecord(handle, #function, none: ABIStatus.again, data: data, length: length, lost: lost) { c throws(ShmError) in try c.tryPeekHeld() }
}

@_cdecl("shmring_broadcast_peek")
public func shmring_broadcast_peek(_ handle: OpaquePointer?, _ timeout: Double, _ data: UnsafeMutablePointer<UnsafeRawPointer?>?,
                                   _ length: UnsafeMutablePointer<Int>?, _ lost: UnsafeMutablePointer<UInt64>?) -> Int32 {
    lendBroadcastRecord(handle, #function, none: ABIStatus.end, data: data, length: length, lost: lost) { c throws(ShmError) in
        try c.peekHeld(timeoutSeconds: ABIArgument.timeout(timeout))
    }
}

@_cdecl("shmring_broadcast_release")
public func shmring_broadcast_release(_ handle: OpaquePointer?, _ lost: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.broadcastConsumer, as: BroadcastConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in delivered(try c.pointee.releaseHeld(), none: ABIStatus.ok, lost: lost) { _ in } }
}

@_cdecl("shmring_broadcast_read_many")
public func shmring_broadcast_read_many(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int,
                                        _ lengths: UnsafeMutablePointer<Int>?, _ maxCount: Int, _ timeout: Double,
                                        _ count: UnsafeMutablePointer<Int>?, _ lost: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.broadcastConsumer, as: BroadcastConsumer.self, #function) else { return HandleCell.status }
    count?.pointee = 0
    lost?.pointee = 0
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size), seconds = try ABIArgument.timeout(timeout)
        let lengths = try ABIArgument.out(lengths, "lengths")
        let maxCount = try ABIArgument.maxCount(maxCount)
        try ABIArgument.notLending(c.pointee.holdsRecord, #function)
        var used = 0
        // A record that does not fit makes the closure throw: it stays unread.
        func take(_ r: UnsafeRawBufferPointer) throws(ShmError) -> Int {
            try copyRecord(r, into: UnsafeMutableRawBufferPointer(rebasing: target[used...]))
        }
        defer { c.pointee.release() }
        switch try c.pointee.peek(timeoutSeconds: seconds, take) {
        case nil: return ABIStatus.end
        case .overrun(let n)?:
            lost?.pointee = n
            return ABIStatus.overrun
        case .record(let first)?:
            lengths[0] = first
            used = first
        }
        var n = 1
        // The rest while they are ready and fit; a gap ends the batch (its
        // count in *lost: the records after it come with the next call).
        reading: while n < maxCount {
            let next: BroadcastDelivery<Int>?
            do throws(ShmError) { next = try c.pointee.tryPeek(take) } catch .invalidArgument { break }
            switch next {
            case nil: break reading
            case .overrun(let gap)?:
                lost?.pointee = gap
                break reading
            case .record(let length)?:
                lengths[n] = length
                used += length
                n += 1
            }
        }
        count?.pointee = n
        return ABIStatus.ok
    }
}

@_cdecl("shmring_broadcast_consumer_free")
public func shmring_broadcast_consumer_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.broadcastConsumer, as: BroadcastConsumer.self) }
