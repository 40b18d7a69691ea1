import ShmRing
import CShmRingABI
import CShim

// The SPSC ring's C entry points (include/shmring.h): each converts its
// arguments, calls the Swift API, and turns a thrown ShmError into a status.

typealias SPSCProducer = SPSCRing.Producer
typealias SPSCConsumer = SPSCRing.Consumer

@_cdecl("shmring_abi_version")
public func shmring_abi_version() -> UInt32 { (1 << 16) | 4 }

@_cdecl("shmring_layout_version")
public func shmring_layout_version() -> UInt32 { RegionLayout.layoutVersion }

@_cdecl("shmring_remove")
public func shmring_remove(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ options: UnsafePointer<shmring_options>?) -> Int32 {
    ABIStatus.run { () throws(ShmError) in
        try RingNames.remove(backing: ABIArgument.backing(backing), name: ABIArgument.name(name)!,
                             options: ABIArgument.options(options).0) ? ABIStatus.ok : ABIStatus.fail(.noSuchRegion(name: String(cString: name!)))
    }
}

@_cdecl("shmring_spsc_create")
public func shmring_spsc_create(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ capacity: Int, _ messageSize: Int,
                                _ options: UnsafePointer<shmring_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.spsc) { () throws(ShmError) in
        let (opts, reclaim) = try ABIArgument.options(options)
        let ring = try SPSCRing.create(backing: ABIArgument.backing(backing), name: ABIArgument.name(name, optional: true),
                                       capacity: ABIArgument.count(capacity, "capacity"),
                                       messageSize: ABIArgument.count(messageSize, "message_size"), options: opts, reclaimStale: reclaim)
        return ring
    }
}

@_cdecl("shmring_spsc_open")
public func shmring_spsc_open(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ options: UnsafePointer<shmring_options>?,
                              _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.spsc) { () throws(ShmError) in
        let (opts, _) = try ABIArgument.options(options)
        let ring = try SPSCRing.open(backing: ABIArgument.backing(backing), name: ABIArgument.name(name)!, options: opts,
                                     waitForCreationSeconds: opts.waitForCreationSeconds)
        return ring
    }
}

@_cdecl("shmring_spsc_open_or_create")
public func shmring_spsc_open_or_create(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ capacity: Int, _ messageSize: Int,
                                        _ options: UnsafePointer<shmring_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.spsc) { () throws(ShmError) in
        let ring = try SPSCRing.openOrCreate(backing: ABIArgument.backing(backing), name: ABIArgument.name(name)!,
                                             capacity: ABIArgument.count(capacity, "capacity"),
                                             messageSize: ABIArgument.count(messageSize, "message_size"),
                                             options: ABIArgument.options(options).0)
        return ring
    }
}

@_cdecl("shmring_spsc_capacity")
public func shmring_spsc_capacity(_ handle: OpaquePointer?, _ capacity: UnsafeMutablePointer<Int>?, _ messageSize: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let ring = HandleCell.value(handle, tag: HandleTag.spsc, as: SPSCRing.self, #function) else { return HandleCell.status }
    capacity?.pointee = ring.pointee.capacity
    messageSize?.pointee = ring.pointee.messageSize
    return ABIStatus.ok
}

@_cdecl("shmring_spsc_free")
public func shmring_spsc_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.spsc, as: SPSCRing.self) }

@_cdecl("shmring_spsc_claim_producer")
public func shmring_spsc_claim_producer(_ handle: OpaquePointer?, _ wait: shmring_wait, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    EndClaim.run(handle, tag: HandleTag.spsc, as: SPSCRing.self, #function, wait: wait, out: out, endTag: HandleTag.spscProducer) { s, w throws(ShmError) in try s.producer(wait: w) }
}

@_cdecl("shmring_spsc_claim_consumer")
public func shmring_spsc_claim_consumer(_ handle: OpaquePointer?, _ wait: shmring_wait, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    EndClaim.run(handle, tag: HandleTag.spsc, as: SPSCRing.self, #function, wait: wait, out: out, endTag: HandleTag.spscConsumer) { s, w throws(ShmError) in try s.consumer(wait: w) }
}

/// `data` of `length` bytes, NULL allowed only when empty.
@inline(__always)
func bytes(_ data: UnsafeRawPointer?, _ length: Int) throws(ShmError) -> UnsafeRawBufferPointer {
    guard length >= 0 else { throw .invalidArgument("length \(UInt(bitPattern: length)) is too large") }
    guard data != nil || length == 0 else { throw .invalidArgument("data is NULL") }
    return UnsafeRawBufferPointer(start: data, count: length)
}

@inline(__always)
func buffer(_ data: UnsafeMutableRawPointer?, _ length: Int) throws(ShmError) -> UnsafeMutableRawBufferPointer {
    guard length >= 0 else { throw .invalidArgument("buffer size \(UInt(bitPattern: length)) is too large") }
    guard data != nil || length == 0 else { throw .invalidArgument("buffer is NULL") }
    return UnsafeMutableRawBufferPointer(start: data, count: length)
}

/// Copies one message: an 8-byte message as one load and store (the common
/// case of a sequence number; memmove's call cost more than the copy).
@inline(__always)
func copyMessage(_ to: UnsafeMutableRawPointer, _ from: UnsafeRawPointer, _ size: Int) {
    if size == 8 {
        to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
    } else {
        to.copyMemory(from: from, byteCount: size)
    }
}

/// `count` messages of `size` bytes, back to back; refuses an overflowing product.
/// Inlined, with the error built out of line: as a call it was 17 % of a
/// one-message push and pop through the ABI (perf, bench/c/spsc_floor.c).
@inline(__always)
func messages(_ count: Int, of size: Int) throws(ShmError) -> Int {
    let (total, overflow) = count.multipliedReportingOverflow(by: size)
    guard count >= 0, !overflow else { throw tooManyMessages(count, of: size) }
    return total
}

@inline(never)
func tooManyMessages(_ count: Int, of size: Int) -> ShmError {
    .invalidArgument("\(UInt(bitPattern: count)) messages of \(size) bytes do not fit in memory")
}

@_cdecl("shmring_spsc_try_push")
public func shmring_spsc_try_push(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let source = try bytes(data, length)
        guard length == p.pointee.ring.messageSize else {
            return try p.pointee.tryPush(bytes: source) ? ABIStatus.ok : ABIStatus.again // zero-pads, checks the size
        }
        return try p.pointee.tryPush { slot in copyMessage(slot.baseAddress!, source.baseAddress!, length) } ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_spsc_push")
public func shmring_spsc_push(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int, _ timeout: Double) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        try p.pointee.push(bytes: bytes(data, length), timeoutSeconds: ABIArgument.timeout(timeout))
        return ABIStatus.ok
    }
}

@_cdecl("shmring_spsc_try_push_with")
public func shmring_spsc_try_push_with(_ handle: OpaquePointer?, _ fill: shmring_write_fn?, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self, #function) else { return HandleCell.status }
    guard let fill else { return ABIStatus.fail(.invalidArgument("fill is NULL")) }
    return ABIStatus.run { () throws(ShmError) in
        try p.pointee.tryPush { slot in fill(context, slot.baseAddress, slot.count) } ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_spsc_try_push_batch")
public func shmring_spsc_try_push_batch(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ count: Int,
                                        _ pushed: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let size = p.pointee.ring.messageSize
        let source = try bytes(data, messages(count, of: size))
        let n = try p.pointee.tryPushBatch(maxCount: count) { i, slot in
            copyMessage(slot.baseAddress!, source.baseAddress! + i &* size, size)
        }
        pushed?.pointee = n
        return n > 0 || count == 0 ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_spsc_push_batch")
public func shmring_spsc_push_batch(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ count: Int, _ timeout: Double,
                                    _ pushed: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self, #function) else { return HandleCell.status }
    var done = 0
    defer { pushed?.pointee = done }
    return ABIStatus.run { () throws(ShmError) in
        let size = p.pointee.ring.messageSize
        let source = try bytes(data, messages(count, of: size))
        let deadline = try WaitDeadline(timeoutSeconds: ABIArgument.timeout(timeout))
        while done < count {
            let first = done
            done += try p.pointee.tryPushBatch(maxCount: count - done) { i, slot in
                copyMessage(slot.baseAddress!, source.baseAddress! + (first + i) &* size, size)
            }
            guard done < count else { break }
            // Full: wait (the endpoint's strategy) for room for one, then batch again.
            let remaining = deadline.endNs == .max ? nil : Double(deadline.remainingNs(now: cshim_monotonic_ns())) / 1e9
            try p.pointee.push(bytes: UnsafeRawBufferPointer(start: source.baseAddress! + done * size, count: size), timeoutSeconds: remaining)
            done += 1
        }
        return ABIStatus.ok
    }
}

@_cdecl("shmring_spsc_producer_close")
public func shmring_spsc_producer_close(_ handle: OpaquePointer?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self, #function) else { return HandleCell.status }
    HandleCell.markClosed(handle)
    p.move().close()
    return ABIStatus.ok
}

@_cdecl("shmring_spsc_producer_free")
public func shmring_spsc_producer_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self) }

@_cdecl("shmring_spsc_consumer_free")
public func shmring_spsc_consumer_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self) }

func received(_ r: Received) -> Int32 { r == .message ? ABIStatus.ok : ABIStatus.end }

@_cdecl("shmring_spsc_try_pop")
public func shmring_spsc_try_pop(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size)
        let messageSize = c.pointee.ring.messageSize
        guard size >= messageSize else { return try c.pointee.tryPop(into: target) ? ABIStatus.ok : ABIStatus.again } // the error
        return try c.pointee.tryPop { m in copyMessage(target.baseAddress!, m.baseAddress!, messageSize) } ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_spsc_pop")
public func shmring_spsc_pop(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int, _ timeout: Double) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        received(try c.pointee.pop(into: buffer(data, size), timeoutSeconds: ABIArgument.timeout(timeout)))
    }
}

@_cdecl("shmring_spsc_try_pop_with")
public func shmring_spsc_try_pop_with(_ handle: OpaquePointer?, _ body: shmring_read_fn?, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function) else { return HandleCell.status }
    guard let body else { return ABIStatus.fail(.invalidArgument("body is NULL")) }
    return ABIStatus.run { () throws(ShmError) in
        try c.pointee.tryPop { m in body(context, m.baseAddress, m.count) } ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_spsc_pop_with")
public func shmring_spsc_pop_with(_ handle: OpaquePointer?, _ body: shmring_read_fn?, _ context: UnsafeMutableRawPointer?, _ timeout: Double) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function) else { return HandleCell.status }
    guard let body else { return ABIStatus.fail(.invalidArgument("body is NULL")) }
    return ABIStatus.run { () throws(ShmError) in
        received(try c.pointee.pop(timeoutSeconds: ABIArgument.timeout(timeout)) { m in body(context, m.baseAddress, m.count) })
    }
}

@_cdecl("shmring_spsc_try_pop_batch")
public func shmring_spsc_try_pop_batch(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ maxCount: Int,
                                       _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let size = c.pointee.ring.messageSize
        let target = try buffer(data, messages(maxCount, of: size))
        let n = try c.pointee.tryPopBatch(maxCount: maxCount) { i, m in
            copyMessage(target.baseAddress! + i &* size, m.baseAddress!, size)
        }
        count?.pointee = n
        return n > 0 || maxCount == 0 ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_spsc_pop_batch")
public func shmring_spsc_pop_batch(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ maxCount: Int, _ timeout: Double,
                                   _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function) else { return HandleCell.status }
    count?.pointee = 0
    return ABIStatus.run { () throws(ShmError) in
        let size = c.pointee.ring.messageSize
        let target = try buffer(data, messages(maxCount, of: size))
        guard maxCount > 0 else { return ABIStatus.ok }
        // The first message with the blocking pop (waits, sees the end), the rest as ready.
        guard try c.pointee.pop(into: UnsafeMutableRawBufferPointer(start: target.baseAddress!, count: size),
                                timeoutSeconds: ABIArgument.timeout(timeout)) == .message else { return ABIStatus.end }
        let more = try c.pointee.tryPopBatch(maxCount: maxCount - 1) { i, m in
            (target.baseAddress! + (i + 1) &* size).copyMemory(from: m.baseAddress!, byteCount: size)
        }
        count?.pointee = 1 + more
        return ABIStatus.ok
    }
}

@_cdecl("shmring_spsc_try_pop_batch_with")
public func shmring_spsc_try_pop_batch_with(_ handle: OpaquePointer?, _ maxCount: Int, _ body: shmring_read_batch_fn?,
                                            _ context: UnsafeMutableRawPointer?, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function) else { return HandleCell.status }
    guard let body else { return ABIStatus.fail(.invalidArgument("body is NULL")) }
    return ABIStatus.run { () throws(ShmError) in
        let n = try c.pointee.tryPopBatch(maxCount: max(0, maxCount)) { i, m in body(context, i, m.baseAddress, m.count) }
        count?.pointee = n
        return n > 0 || maxCount == 0 ? ABIStatus.ok : ABIStatus.again
    }
}

// Zero-copy batches for C: the slots themselves, one stride apart, instead of
// a copy through the caller's array (results/vm-2026-12-07-c-floor: that copy
// was the gap to the Swift floor at batch 32).

/// try_reserve and try_peek: the slots an end lends out, in three
/// out-parameters (first, stride, count; count 0 is SHMRING_AGAIN).
@inline(__always)
func lend<End: ~Copyable, Pointer>(_ handle: OpaquePointer?, tag: UInt64, as: End.Type, _ function: StaticString, _ maxCount: Int,
                                   _ first: UnsafeMutablePointer<Pointer?>?, _ stride: UnsafeMutablePointer<Int>?,
                                   _ count: UnsafeMutablePointer<Int>?,
                                   _ take: (inout End, Int) throws(ShmError) -> (first: Pointer, stride: Int, count: Int)) -> Int32 {
    guard let end = HandleCell.value(handle, tag: tag, as: End.self, function) else { return HandleCell.status }
    guard let first, let stride, let count else { return ABIStatus.fail(.invalidArgument("first, stride and count must not be NULL")) }
    count.pointee = 0
    return ABIStatus.run { () throws(ShmError) in
        let slots = try take(&end.pointee, max(0, maxCount))
        (first.pointee, stride.pointee, count.pointee) = (slots.first, slots.stride, slots.count)
        return slots.count > 0 || maxCount <= 0 ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_spsc_try_reserve")
public func shmring_spsc_try_reserve(_ handle: OpaquePointer?, _ maxCount: Int, _ first: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                     _ stride: UnsafeMutablePointer<Int>?, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    lend(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self, #function, maxCount, first, stride, count) { p, n throws(ShmError) in
        try p.reserve(maxCount: n)
    }
}

/// commit and release: hand back what `lend` gave out.
@inline(__always)
func settle<End: ~Copyable>(_ handle: OpaquePointer?, tag: UInt64, as: End.Type, _ function: StaticString,
                            _ body: (inout End) throws(ShmError) -> Void) -> Int32 {
    guard let end = HandleCell.value(handle, tag: tag, as: End.self, function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        try body(&end.pointee)
        return ABIStatus.ok
    }
}

@_cdecl("shmring_spsc_commit")
public func shmring_spsc_commit(_ handle: OpaquePointer?, _ count: Int) -> Int32 {
    settle(handle, tag: HandleTag.spscProducer, as: SPSCProducer.self, #function) { p throws(ShmError) in try p.commit(count: count) }
}

@_cdecl("shmring_spsc_try_peek")
public func shmring_spsc_try_peek(_ handle: OpaquePointer?, _ maxCount: Int, _ first: UnsafeMutablePointer<UnsafeRawPointer?>?,
                                  _ stride: UnsafeMutablePointer<Int>?, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    lend(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function, maxCount, first, stride, count) { c, n throws(ShmError) in
        try c.peek(maxCount: n)
    }
}

@_cdecl("shmring_spsc_release")
public func shmring_spsc_release(_ handle: OpaquePointer?, _ count: Int) -> Int32 {
    settle(handle, tag: HandleTag.spscConsumer, as: SPSCConsumer.self, #function) { c throws(ShmError) in try c.release(count: count) }
}
