import ShmRing
import CShmRingABI

// The persistent journal's C entry points (include/shmring.h): one producer
// appends and commits records to a directory of segment files; any number
// of tailers replay from a start and follow the live tail.

typealias JournalProducer = Journal.Producer
typealias JournalTailer = Journal.Tailer

/// The Swift producer options a C `shmring_journal_options` (or NULL: the defaults) asks for.
func journalOptions(_ options: UnsafePointer<shmring_journal_options>?) throws(ShmError) -> Journal.ProducerOptions {
    guard let options else { return Journal.ProducerOptions() }
    let o = options.pointee
    guard o.struct_size >= UInt32(MemoryLayout<shmring_journal_options>.size) else {
        throw .invalidArgument("shmring_journal_options.struct_size \(o.struct_size) is smaller than this library's \(MemoryLayout<shmring_journal_options>.size): call shmring_journal_options_init")
    }
    let durability: Journal.Durability
    switch o.durability.rawValue {
    case 0: durability = .processCrash
    case 1: durability = .interval(milliseconds: Int(o.interval_milliseconds))
    case 2: durability = .everyCommit
    default: throw .invalidArgument("unknown journal durability \(o.durability.rawValue)")
    }
    guard o.segment_size <= UInt64(Int.max), o.retention_max_bytes <= UInt64(Int.max), !o.retention_max_age_seconds.isNaN else {
        throw .invalidArgument("journal options out of range")
    }
    return Journal.ProducerOptions(segmentSize: Int(o.segment_size), durability: durability,
                                   retention: Journal.Retention(maximumBytes: o.retention_max_bytes == 0 ? nil : Int(o.retention_max_bytes),
                                                                maximumAgeSeconds: o.retention_max_age_seconds > 0 ? o.retention_max_age_seconds : nil))
}

@_cdecl("shmring_journal_open_producer")
public func shmring_journal_open_producer(_ directory: UnsafePointer<CChar>?, _ options: UnsafePointer<shmring_journal_options>?,
                                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.journalProducer) { () throws(ShmError) in
        let producer = try Journal.producer(directory: ABIArgument.name(directory)!, options: journalOptions(options))
        return producer
    }
}

@_cdecl("shmring_journal_write")
public func shmring_journal_write(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.journalProducer, as: JournalProducer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let source = try bytes(data, length)
        try p.pointee.reserve(length) { payload in
            if length > 0 { payload.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: length) }
        }
        return ABIStatus.ok
    }
}

@_cdecl("shmring_journal_reserve")
public func shmring_journal_reserve(_ handle: OpaquePointer?, _ length: Int, _ payload: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    // The payload is the caller's to write until the next call on the
    // producer; its checksum is computed then (the next reserve or commit).
    InPlaceReserve.run(handle, tag: HandleTag.journalProducer, as: JournalProducer.self, #function, length: length, payload: payload) {
        p, n, lend throws(ShmError) in
        lend(try p.reserve(n))
        return true
    }
}

@_cdecl("shmring_journal_commit")
public func shmring_journal_commit(_ handle: OpaquePointer?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.journalProducer, as: JournalProducer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        try p.pointee.commit()
        return ABIStatus.ok
    }
}

@_cdecl("shmring_journal_next_sequence")
public func shmring_journal_next_sequence(_ handle: OpaquePointer?, _ next: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.journalProducer, as: JournalProducer.self, #function) else { return HandleCell.status }
    next?.pointee = p.pointee.nextSequence
    return ABIStatus.ok
}

@_cdecl("shmring_journal_producer_close")
public func shmring_journal_producer_close(_ handle: OpaquePointer?) -> Int32 {
    guard let p = HandleCell.value(handle, tag: HandleTag.journalProducer, as: JournalProducer.self, #function) else { return HandleCell.status }
    HandleCell.markClosed(handle)
    return ABIStatus.run { () throws(ShmError) in
        try p.move().close()
        return ABIStatus.ok
    }
}

@_cdecl("shmring_journal_producer_free")
public func shmring_journal_producer_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.journalProducer, as: JournalProducer.self) }

@_cdecl("shmring_journal_open_tailer")
public func shmring_journal_open_tailer(_ directory: UnsafePointer<CChar>?, _ start: shmring_journal_start, _ value: UInt64,
                                        _ wait: shmring_wait, _ verifyChecksums: Int32, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.journalTailer) { () throws(ShmError) in
        let from: Journal.Start
        switch start.rawValue {
        case 0: from = .oldest
        case 1: from = .latest
        case 2: from = .sequence(value)
        case 3: from = .time(nanosecondsSinceEpoch: value)
        default: throw .invalidArgument("unknown journal start \(start.rawValue)")
        }
        let tailer = try Journal.tailer(directory: ABIArgument.name(directory)!, from: from, wait: ABIArgument.wait(wait),
                                        verifyChecksums: verifyChecksums != 0)
        return tailer
    }
}

/// A committed record's description, its payload `length` bytes.
func described(_ r: Journal.Record, length: Int) -> shmring_journal_record {
    shmring_journal_record(sequence: r.sequence, timestamp: r.timestamp, length: length, lost: 0)
}

/// The one body of the journal's one-record reads (read, peek, read_with):
/// `check` checks the call's own arguments (before any wait), `body` turns
/// the next record into its description (copying, lending or showing it);
/// the status of the step, described in `*record`.
func readJournalRecord<Arguments>(_ handle: OpaquePointer?, _ function: StaticString, timeout: Double,
                                  record: UnsafeMutablePointer<shmring_journal_record>?, check: () throws(ShmError) -> Arguments,
                                  _ body: (Arguments, Journal.Record) throws(ShmError) -> shmring_journal_record) -> Int32 {
    guard let t = HandleCell.value(handle, tag: HandleTag.journalTailer, as: JournalTailer.self, function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let arguments = try check(), seconds = try ABIArgument.timeout(timeout)
        let record = try ABIArgument.out(record, "record")
        try ABIArgument.notLending(HandleCell.isLending(handle), function)
        record.pointee = shmring_journal_record()
        switch try t.pointee.read(timeoutSeconds: seconds, { r throws(ShmError) in try body(arguments, r) }) {
        case .record(let described):
            record.pointee = described
            return ABIStatus.ok
        case .overrun(let lost):
            record.pointee.lost = lost
            return ABIStatus.overrun
        case .endOfStream:
            return ABIStatus.end
        }
    }
}

@_cdecl("shmring_journal_read")
public func shmring_journal_read(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int, _ timeout: Double,
                                 _ record: UnsafeMutablePointer<shmring_journal_record>?) -> Int32 {
    // A record that does not fit makes the closure throw: it stays unread.
    readJournalRecord(handle, #function, timeout: timeout, record: record, check: { () throws(ShmError) in try buffer(data, size) }) {
        target, r throws(ShmError) in described(r, length: try copyRecord(r.payload, into: target))
    }
}

@_cdecl("shmring_journal_peek")
public func shmring_journal_peek(_ handle: OpaquePointer?, _ timeout: Double, _ data: UnsafeMutablePointer<UnsafeRawPointer?>?,
                                 _ record: UnsafeMutablePointer<shmring_journal_record>?) -> Int32 {
    // The tailer has moved past the record, but reads nothing more (so it
    // keeps the segment mapped) until shmring_journal_release.
    readJournalRecord(handle, #function, timeout: timeout, record: record, check: { () throws(ShmError) in try ABIArgument.out(data, "data") }) {
        data, r in
        data.pointee = r.payload.baseAddress
        HandleCell.setLending(handle, true)
        return described(r, length: r.payload.count)
    }
}

@_cdecl("shmring_journal_release")
public func shmring_journal_release(_ handle: OpaquePointer?) -> Int32 {
    guard HandleCell.value(handle, tag: HandleTag.journalTailer, as: JournalTailer.self, #function) != nil else { return HandleCell.status }
    HandleCell.setLending(handle, false)
    return ABIStatus.ok
}

@_cdecl("shmring_journal_read_with")
public func shmring_journal_read_with(_ handle: OpaquePointer?, _ body: shmring_read_fn?, _ context: UnsafeMutableRawPointer?, _ timeout: Double,
                                      _ record: UnsafeMutablePointer<shmring_journal_record>?) -> Int32 {
    readJournalRecord(handle, #function, timeout: timeout, record: record, check: { () throws(ShmError) in
        guard let body else { throw .invalidArgument("body is NULL") }
        return body
    }) { body, r in
        body(context, r.payload.baseAddress, r.payload.count)
        return described(r, length: r.payload.count)
    }
}

@_cdecl("shmring_journal_read_many")
public func shmring_journal_read_many(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int,
                                      _ records: UnsafeMutablePointer<shmring_journal_record>?, _ maxCount: Int, _ timeout: Double,
                                      _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let t = HandleCell.value(handle, tag: HandleTag.journalTailer, as: JournalTailer.self, #function) else { return HandleCell.status }
    count?.pointee = 0
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size), seconds = try ABIArgument.timeout(timeout)
        let records = try ABIArgument.out(records, "records")
        let maxCount = try ABIArgument.maxCount(maxCount)
        try ABIArgument.notLending(HandleCell.isLending(handle), #function)
        records[0] = shmring_journal_record()
        var used = 0, n = 0
        // Copies record n; one that does not fit throws and stays unread.
        func take(_ r: Journal.Record) throws(ShmError) {
            let length = try copyRecord(r.payload, into: UnsafeMutableRawBufferPointer(rebasing: target[used...]))
            records[n] = described(r, length: length)
            used += length
            n += 1
        }
        switch try t.pointee.read(timeoutSeconds: seconds, take) {
        case .record: break
        case .overrun(let lost):
            records[0].lost = lost
            return ABIStatus.overrun
        case .endOfStream: return ABIStatus.end
        }
        // The rest of the segment's committed records while they fit (a
        // segment's end, an overrun or the end of the stream waits for the next call).
        do throws(ShmError) {
            if n < maxCount { _ = try t.pointee.tryReadRecords { r throws(ShmError) in
                try take(r)
                return n < maxCount
            } }
        } catch .invalidArgument {}
        count?.pointee = n
        return ABIStatus.ok
    }
}

@_cdecl("shmring_journal_tailer_free")
public func shmring_journal_tailer_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.journalTailer, as: JournalTailer.self) }
