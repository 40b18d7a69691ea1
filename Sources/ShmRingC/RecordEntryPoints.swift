import ShmRing
import CShmRingABI
import CShim

// The record ring's C entry points (include/shmring.h).

typealias RecordProducer = RecordRing.Producer
typealias RecordConsumer = RecordRing.Consumer

@_cdecl("shmring_record_create")
public func shmring_record_create(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ capacity: Int, _ maxRecord: Int,
                                  _ options: UnsafePointer<shmring_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.record) { () throws(ShmError) in
        let (opts, reclaim) = try ABIArgument.options(options)
        let ring = try RecordRing.create(backing: ABIArgument.backing(backing), name: ABIArgument.name(name, optional: true),
                                         capacity: ABIArgument.count(capacity, "capacity"),
                                         maximumRecordLength: ABIArgument.count(maxRecord, "max_record"), options: opts, reclaimStale: reclaim)
        return ring
    }
}

@_cdecl("shmring_record_open")
public func shmring_record_open(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ options: UnsafePointer<shmring_options>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.record) { () throws(ShmError) in
        let (opts, _) = try ABIArgument.options(options)
        let ring = try RecordRing.open(backing: ABIArgument.backing(backing), name: ABIArgument.name(name)!, options: opts,
                                       waitForCreationSeconds: opts.waitForCreationSeconds)
        return ring
    }
}

@_cdecl("shmring_record_open_or_create")
public func shmring_record_open_or_create(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ capacity: Int, _ maxRecord: Int,
                                          _ options: UnsafePointer<shmring_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.record) { () throws(ShmError) in
        let ring = try RecordRing.openOrCreate(backing: ABIArgument.backing(backing), name: ABIArgument.name(name)!,
                                               capacity: ABIArgument.count(capacity, "capacity"),
                                               maximumRecordLength: ABIArgument.count(maxRecord, "max_record"),
                                               options: ABIArgument.options(options).0)
        return ring
    }
}

@_cdecl("shmring_record_capacity")
public func shmring_record_capacity(_ handle: OpaquePointer?, _ capacity: UnsafeMutablePointer<Int>?, _ maxRecord: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let ring = HandleCell.value(handle, tag: HandleTag.record, as: RecordRing.self, #function) else { return HandleCell.status }
    capacity?.pointee = ring.pointee.capacity
    maxRecord?.pointee = ring.pointee.maximumRecordLength
    return ABIStatus.ok
}

@_cdecl("shmring_record_free")
public func shmring_record_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.record, as: RecordRing.self) }

@_cdecl("shmring_record_claim_producer")
public func shmring_record_claim_producer(_ handle: OpaquePointer?, _ wait: shmring_wait, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    EndClaim.run(handle, tag: HandleTag.record, as: RecordRing.self, #function, wait: wait, out: out, endTag: HandleTag.recordProducer) { s, w throws(ShmError) in try s.producer(wait: w) }
}

@_cdecl("shmring_record_claim_consumer")
public func shmring_record_claim_consumer(_ handle: OpaquePointer?, _ wait: shmring_wait, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    EndClaim.run(handle, tag: HandleTag.record, as: RecordRing.self, #function, wait: wait, out: out, endTag: HandleTag.recordConsumer) { s, w throws(ShmError) in try s.consumer(wait: w) }
}

@_cdecl("shmring_record_try_reserve")
public func shmring_record_try_reserve(_ handle: OpaquePointer?, _ length: Int, _ payload: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    InPlaceReserve.tryReserve(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function, length: length, payload: payload)
}

@_cdecl("shmring_record_reserve")
public func shmring_record_reserve(_ handle: OpaquePointer?, _ length: Int, _ timeout: Double,
                                   _ payload: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    InPlaceReserve.reserve(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function, length: length, timeout: timeout, payload: payload)
}

@_cdecl("shmring_record_commit")
public func shmring_record_commit(_ handle: OpaquePointer?) -> Int32 {
    InPlaceReserve.commit(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function)
}

@_cdecl("shmring_record_try_write")
public func shmring_record_try_write(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let source = try bytes(data, length)
        guard try p.pointee.tryReserve(length, { target in
            if length > 0 { target.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: length) }
        }) else { return ABIStatus.again }
        p.pointee.commit()
        return ABIStatus.ok
    }
}

@_cdecl("shmring_record_write")
public func shmring_record_write(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int, _ timeout: Double) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        try p.pointee.write(bytes(data, length), timeoutSeconds: ABIArgument.timeout(timeout))
        return ABIStatus.ok
    }
}

/// Record i of a batch: its bytes in `data`, where the lengths before it end.
struct RecordBatch {
    let data: UnsafeRawPointer?
    let lengths: UnsafePointer<Int>
    let count: Int

    init(_ data: UnsafeRawPointer?, _ lengths: UnsafePointer<Int>?, _ count: Int) throws(ShmError) {
        guard count >= 0 else { throw .invalidArgument("count \(UInt(bitPattern: count)) is too large") }
        guard let lengths else { throw .invalidArgument("lengths is NULL") }
        guard data != nil || count == 0 else { throw .invalidArgument("data is NULL") }
        self.data = data
        self.lengths = lengths
        self.count = count
    }

    func length(_ i: Int) throws(ShmError) -> Int {
        let length = lengths[i]
        guard length >= 0 else { throw .invalidArgument("lengths[\(i)] \(UInt(bitPattern: length)) is too large") }
        return length
    }
}

/// Writes the records of `batch` with `reserve` (try, or blocking with a
/// timeout), committing once; `done` counts the records written, also
/// when a later one fails (they are committed).
func writeMany(_ p: UnsafeMutablePointer<RecordProducer>, _ batch: RecordBatch, blocking: Double??, done: inout Int) throws(ShmError) {
    var offset = 0
    defer { p.pointee.commit() }
    while done < batch.count {
        let length = try batch.length(done)
        let source = batch.data! + offset
        let copy = { (target: UnsafeMutableRawBufferPointer) throws(ShmError) in
            if length > 0 { target.baseAddress!.copyMemory(from: source, byteCount: length) }
        }
        if let timeout = blocking {
            try p.pointee.reserve(length, timeoutSeconds: timeout, copy)
        } else if try !p.pointee.tryReserve(length, copy) {
            break
        }
        done += 1
        offset += length
    }
}

@_cdecl("shmring_record_try_write_many")
public func shmring_record_try_write_many(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ lengths: UnsafePointer<Int>?, _ count: Int,
                                          _ written: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function) else { return HandleCell.status }
    written?.pointee = 0
    return ABIStatus.run { () throws(ShmError) in
        var n = 0
        defer { written?.pointee = n }
        try writeMany(p, RecordBatch(data, lengths, count), blocking: nil, done: &n)
        return n > 0 || count == 0 ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_record_write_many")
public func shmring_record_write_many(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ lengths: UnsafePointer<Int>?, _ count: Int,
                                      _ timeout: Double, _ written: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function) else { return HandleCell.status }
    written?.pointee = 0
    return ABIStatus.run { () throws(ShmError) in
        let seconds = try ABIArgument.timeout(timeout)
        var n = 0
        defer { written?.pointee = n }
        try writeMany(p, RecordBatch(data, lengths, count), blocking: .some(seconds), done: &n)
        return ABIStatus.ok
    }
}

@_cdecl("shmring_record_producer_close")
public func shmring_record_producer_close(_ handle: OpaquePointer?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function) else { return HandleCell.status }
    HandleCell.markClosed(handle)
    p.move().close()
    return ABIStatus.ok
}

@_cdecl("shmring_record_producer_abort")
public func shmring_record_producer_abort(_ handle: OpaquePointer?, _ signal: Int32) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.recordProducer, as: RecordProducer.self, #function) else { return HandleCell.status }
    HandleCell.markClosed(handle)
    p.move().abort(reason: signal > 0 ? .interrupted(signal: signal) : .other)
    return ABIStatus.ok
}

@_cdecl("shmring_record_producer_free")
public func shmring_record_producer_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.recordProducer, as: RecordProducer.self) }

@_cdecl("shmring_record_try_peek")
public func shmring_record_try_peek(_ handle: OpaquePointer?, _ data: UnsafeMutablePointer<UnsafeRawPointer?>?,
                                    _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let data = try ABIArgument.out(data, "data"), length = try ABIArgument.out(length, "length")
        // The record stays unreleased (its bytes stay put) until shmring_record_release.
        guard let shown = try c.pointee.tryPeek({ r in (r.baseAddress, r.count) }) else { return ABIStatus.again }
        (data.pointee, length.pointee) = shown
        return ABIStatus.ok
    }
}

@_cdecl("shmring_record_peek")
public func shmring_record_peek(_ handle: OpaquePointer?, _ timeout: Double, _ data: UnsafeMutablePointer<UnsafeRawPointer?>?,
                                _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let data = try ABIArgument.out(data, "data"), length = try ABIArgument.out(length, "length")
        guard let shown = try c.pointee.peek(timeoutSeconds: ABIArgument.timeout(timeout), { r in (r.baseAddress, r.count) }) else {
            return ABIStatus.end
        }
        (data.pointee, length.pointee) = shown
        return ABIStatus.ok
    }
}

@_cdecl("shmring_record_release")
public func shmring_record_release(_ handle: OpaquePointer?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self, #function) else { return HandleCell.status }
    c.pointee.release()
    return ABIStatus.ok
}

/// Copies a record into `target` or refuses it (left unread) when it does not fit.
func copyRecord(_ record: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer) throws(ShmError) -> Int {
    guard record.count <= target.count else {
        throw .invalidArgument("record of \(record.count) bytes does not fit the \(target.count)-byte buffer (it stays unread)")
    }
    if record.count > 0 { target.baseAddress!.copyMemory(from: record.baseAddress!, byteCount: record.count) }
    return record.count
}

@_cdecl("shmring_record_try_read")
public func shmring_record_try_read(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int,
                                    _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size)
        guard let n = try c.pointee.tryPeek({ r throws(ShmError) in try copyRecord(r, into: target) }) else { return ABIStatus.again }
        c.pointee.release()
        length?.pointee = n
        return ABIStatus.ok
    }
}

@_cdecl("shmring_record_read")
public func shmring_record_read(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int, _ timeout: Double,
                                _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size)
        guard let n = try c.pointee.peek(timeoutSeconds: ABIArgument.timeout(timeout), { r throws(ShmError) in try copyRecord(r, into: target) }) else {
            return ABIStatus.end
        }
        c.pointee.release()
        length?.pointee = n
        return ABIStatus.ok
    }
}

@_cdecl("shmring_record_read_with")
public func shmring_record_read_with(_ handle: OpaquePointer?, _ body: shmring_read_fn?, _ context: UnsafeMutableRawPointer?, _ timeout: Double) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self, #function) else { return HandleCell.status }
    guard let body else { return ABIStatus.fail(.invalidArgument("body is NULL")) }
    return ABIStatus.run { () throws(ShmError) in
        received(try c.pointee.read(timeoutSeconds: ABIArgument.timeout(timeout)) { r in body(context, r.baseAddress, r.count) })
    }
}

@_cdecl("shmring_record_read_many")
public func shmring_record_read_many(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int,
                                     _ lengths: UnsafeMutablePointer<Int>?, _ maxCount: Int, _ timeout: Double,
                                     _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self, #function) else { return HandleCell.status }
    count?.pointee = 0
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size)
        let lengths = try ABIArgument.out(lengths, "lengths")
        let maxCount = try ABIArgument.maxCount(maxCount)
        var used = 0
        func take(_ r: UnsafeRawBufferPointer) throws(ShmError) -> Int {
            try copyRecord(r, into: UnsafeMutableRawBufferPointer(rebasing: target[used...]))
        }
        guard let first = try c.pointee.peek(timeoutSeconds: ABIArgument.timeout(timeout), take) else { return ABIStatus.end }
        lengths[0] = first
        used = first
        var n = 1
        // The rest while they are ready and fit (one that does not stays unread).
        while n < maxCount {
            let next: Int?
            do throws(ShmError) { next = try c.pointee.tryPeek(take) } catch .invalidArgument { break }
            guard let next else { break }
            lengths[n] = next
            used += next
            n += 1
        }
        c.pointee.release()
        count?.pointee = n
        return ABIStatus.ok
    }
}

@_cdecl("shmring_record_consumer_abort")
public func shmring_record_consumer_abort(_ handle: OpaquePointer?) -> Int32 {
    guard let c = HandleCell.value(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self, #function) else { return HandleCell.status }
    HandleCell.markClosed(handle)
    c.move().abort(reason: .other)
    return ABIStatus.ok
}

@_cdecl("shmring_record_consumer_free")
public func shmring_record_consumer_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.recordConsumer, as: RecordConsumer.self) }
