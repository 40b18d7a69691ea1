// libFuzzer target for every way ShmRing reads shared memory it does not
// trust: arbitrary bytes as a whole region (header and body) handed to every
// open/attach path, and arbitrary slot contents and peer positions written
// between the operations of every producer and consumer path.
//
// Built only by `make fuzz` (see the Makefile): ShmRing is compiled with
// `-sanitize=fuzzer,address` coverage into .build-fuzz, then this file with
//   swiftc -sanitize=fuzzer,address -parse-as-library RegionFuzzer.swift ...
// libFuzzer supplies `main`. Every input is bounded (at most one operation
// per input byte, each on at most `capacity` slots, blocking calls with a zero
// timeout), so a hang is a bug libFuzzer reports with -timeout.
//
// Input format (a reader that yields zeros once the bytes run out):
//   byte 0, mode:
//     0 raw file       the rest is the region file, opened as each structure
//     1 raw, fixed     the same, with the init state set ready and the header
//                      checksum recomputed, so the field checks run
//     2 raw SysV       the rest copied into a named SysV segment, then opened
//     3 structured     a real structure (kind, backing, capacity, message size
//                      from the next bytes) made by its `create`, reopened by
//                      name, then an operation program runs against both
//                      handles while "peer" operations scribble on the region.
// In mode 3 and until the first scribble, a model FIFO checks every popped
// message: any difference from the model is a bug (the fuzzer traps).
import Foundation
import ShmRing

// MARK: - Set-up

/// The private directory region files go into (created once per process).
nonisolated(unsafe) var fuzzDirectory = ""
nonisolated(unsafe) var fuzzRemoveDirectory = false

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    if let dir = ProcessInfo.processInfo.environment["RINGBENCH_FUZZ_DIR"], !dir.isEmpty {
        fuzzDirectory = dir
    } else {
        var template = Array("/dev/shm/ringbench-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed") }
        fuzzDirectory = String(cString: made)
        fuzzRemoveDirectory = true
        atexit { if fuzzRemoveDirectory { try? FileManager.default.removeItem(atPath: fuzzDirectory) } }
    }
    if let seeds = ProcessInfo.processInfo.environment["RINGBENCH_FUZZ_WRITE_SEEDS"], !seeds.isEmpty {
        writeSeeds(to: seeds)
    }
    return 0
}

var fuzzOptions: RegionOptions {
    // No waiting for a creator (the bytes are final) and prefault on, as a
    // real opener does: the walk over a fuzzed size is part of what is tested.
    RegionOptions(directory: fuzzDirectory, openTimeoutSeconds: 0, prefault: true)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data.map { UnsafeBufferPointer(start: $0, count: size) } ?? UnsafeBufferPointer(start: nil, count: 0))
    switch input.byte() % 4 {
    case 0: openRawFile(input.rest(), fixHeader: false)
    case 1: openRawFile(input.rest(), fixHeader: true)
    case 2: openRawSysV(input.rest())
    default: runStructured(&input)
    }
    return 0
}

/// Reads the input front to back; zeros once exhausted, so every input is valid.
struct FuzzInput {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var isExhausted: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func word() -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(byte()) << (8 * UInt64(i)) }
        return value
    }

    mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return offset < bytes.count ? Array(bytes[offset...]) : []
    }
}

// MARK: - Raw regions

/// The structures, each opened the way a user would, by name.
enum Kind: CaseIterable {
    case spsc, lockFree, semaphore, record, exchange

    func open(backing: RegionBacking, name: String) throws(ShmError) -> Handle {
        switch self {
        case .spsc: return .spsc(try SPSCRing.open(backing: backing, name: name, options: fuzzOptions))
        case .lockFree: return .lockFree(try MPMCLockFreeQueue.open(backing: backing, name: name, options: fuzzOptions))
        case .semaphore: return .semaphore(try MPMCSemaphoreQueue.open(backing: backing, name: name, options: fuzzOptions))
        case .record: return .record(try RecordRing.open(backing: backing, name: name, options: fuzzOptions))
        case .exchange: return .exchange(try Exchange.open(backing: backing, name: name, options: fuzzOptions))
        }
    }

    func create(backing: RegionBacking, name: String, capacity: Int, messageSize: Int) throws(ShmError) -> Handle {
        switch self {
        case .spsc: return .spsc(try SPSCRing.create(backing: backing, name: name, capacity: capacity,
                                                    messageSize: messageSize, options: fuzzOptions))
        case .lockFree: return .lockFree(try MPMCLockFreeQueue.create(backing: backing, name: name, capacity: capacity,
                                                                     messageSize: messageSize, options: fuzzOptions))
        case .semaphore: return .semaphore(try MPMCSemaphoreQueue.create(backing: backing, name: name, capacity: capacity,
                                                                        messageSize: messageSize, options: fuzzOptions))
        // `capacity` slots' worth of bytes; records of up to `messageSize` bytes.
        case .record: return .record(try RecordRing.create(backing: backing, name: name, capacity: 64 * capacity,
                                                          maximumRecordLength: min(messageSize, 64 * capacity - 8), options: fuzzOptions))
        // Messages of up to `messageSize` bytes (inline up to 56, slot above);
        // a capacity of 1 picks the one shared line.
        case .exchange: return .exchange(try Exchange.create(backing: backing, name: name, maximumMessageSize: messageSize,
                                                              lines: capacity == 1 ? .shared : .separate, options: fuzzOptions))
        }
    }
}

enum Handle {
    case spsc(SPSCRing)
    case lockFree(MPMCLockFreeQueue)
    case semaphore(MPMCSemaphoreQueue)
    case record(RecordRing)
    case exchange(Exchange)

    var region: SharedRegion {
        switch self {
        case let .spsc(r): r.region
        case let .lockFree(q): q.region
        case let .semaphore(q): q.region
        case let .record(r): r.region
        case let .exchange(x): x.region
        }
    }

    /// Removes the name at once (the creator would on its last value anyway);
    /// the mapping goes with the last value.
    func removeName() {
        switch self {
        case let .spsc(r): r.region.removeName()
        case let .lockFree(q): q.removeName()
        case let .semaphore(q): q.removeName()
        case let .record(r): r.region.removeName()
        case let .exchange(x): x.region.removeName()
        }
    }
}

/// A FNV-1a header checksum, as `RegionHeader` computes it (bytes 0..<48 and 64..<128).
func headerChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for i in 0..<RegionLayout.headerSize where i < RegionLayout.initStateOffset || i >= RegionLayout.parametersOffset {
        h = (h ^ UInt64(bytes[i])) &* 0x100_0000_01b3
    }
    return h
}

/// Makes a header the field checks will read: ready, and a checksum that
/// matches whatever the fields are. A hostile writer can always do this.
func fixUpHeader(_ bytes: inout [UInt8]) {
    guard bytes.count >= RegionLayout.headerSize else { return }
    bytes.withUnsafeMutableBytes { raw in
        raw.storeBytes(of: RegionLayout.stateReady, toByteOffset: RegionLayout.initStateOffset, as: UInt64.self)
        raw.storeBytes(of: headerChecksum(UnsafeRawBufferPointer(raw)), toByteOffset: RegionLayout.checksumOffset, as: UInt64.self)
    }
}

func openRawFile(_ contents: [UInt8], fixHeader: Bool) {
    var bytes = contents
    if fixHeader { fixUpHeader(&bytes) }
    let path = fuzzDirectory + "/raw"
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { fatalError("cannot create \(path): errno \(errno)") }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    precondition(written == bytes.count, "short write of the fuzz file")
    defer { unlink(path) }
    for kind in Kind.allCases { exercise(kind, backing: .mmap, name: "raw") }
}

func openRawSysV(_ contents: [UInt8]) {
    var bytes = contents
    fixUpHeader(&bytes)
    guard let region = try? SharedRegion.create(backing: .sysv, name: "rawsysv", size: max(bytes.count, RegionLayout.headerSize),
                                                options: fuzzOptions) else { return }
    defer { region.removeName() }
    bytes.withUnsafeBytes { region.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    for kind in Kind.allCases { exercise(kind, backing: .sysv, name: "rawsysv") }
}

/// Opens the region as `kind`; if the header passes, runs a fixed program
/// over whatever the body holds.
func exercise(_ kind: Kind, backing: RegionBacking, name: String) {
    guard let handle = try? kind.open(backing: backing, name: name) else { return }
    var program = FuzzInput(UnsafeBufferPointer(start: nil, count: 0))
    var session = Session(handle: handle, checked: false)
    // Pops first (the body is the peer's), then pushes, then pops again.
    for op: UInt8 in [1, 3, 0, 2, 1, 3, 5, 4] where !session.isOver { session.run(op, &program) }
}

// MARK: - Structured regions and operation programs

func runStructured(_ input: inout FuzzInput) {
    let setup = input.byte()
    let kind = Kind.allCases[Int(setup & 0x7F) % Kind.allCases.count]
    let backing: RegionBacking = setup & 0x80 != 0 ? .sysv : .mmap
    let capacity = 1 << Int(input.byte() % 6) // 1 ... 32
    let messageSize = 8 + Int(input.byte() % 72)
    guard let created = try? kind.create(backing: backing, name: "made", capacity: capacity, messageSize: messageSize) else {
        fatalError("create \(kind) capacity \(capacity) message \(messageSize) failed")
    }
    defer { created.removeName() }
    // A second handle by name: what the peer process would hold.
    let opened: Handle
    do {
        opened = try kind.open(backing: backing, name: "made")
    } catch {
        fatalError("a freshly created \(kind) does not open: \(error)")
    }
    var session = Session(handle: created, peer: opened, checked: true)
    var steps = 0
    while !input.isExhausted, steps < 512, !session.isOver {
        session.run(input.byte(), &input)
        steps += 1
    }
}

/// One handle (plus optionally a second one on the same region), its
/// endpoints, and the model FIFO that checks pops while no scribble happened.
struct Session: ~Copyable {
    let handle: Handle
    var peer: Handle?
    var checked: Bool
    var model: [UInt64] = []
    var modelHead = 0
    var nextValue: UInt64 = 1
    // Ring endpoints are claimed when first needed (and again after a close
    // or a restart), so claiming over a scribbled owner word is fuzzed too.
    var spscProducer: SPSCRing.Producer?
    var spscConsumer: SPSCRing.Consumer?
    var recordProducer: RecordRing.Producer?
    var recordConsumer: RecordRing.Consumer?
    var exchangeClient: Exchange.Client?
    var exchangeServer: Exchange.Server?
    /// The value of the request sent and not yet answered back (checked runs).
    var exchangeAwaiting: UInt64?
    /// Errors so far. Detecting corruption may legitimately cost a bounded
    /// spin (the lock-free claim retries up to 2^20 times); once a region
    /// has shown it is corrupt a few times, more operations only repeat that,
    /// so the session stops (`isOver`) and the input stays fast.
    var errors = 0
    static let errorLimit = 2
    var isOver: Bool { errors >= Self.errorLimit }

    init(handle: Handle, peer: Handle? = nil, checked: Bool) {
        self.handle = handle
        self.peer = peer
        self.checked = checked
    }

    /// Messages the structure holds when full (records: of the largest size, roughly).
    var capacity: Int {
        switch handle {
        case let .spsc(r): r.capacity
        case let .lockFree(q): q.capacity
        case let .semaphore(q): q.capacity
        case let .record(r): max(1, r.capacity / RecordLayout.footprint(length: r.maximumRecordLength))
        case .exchange: 1
        }
    }

    var region: SharedRegion { handle.region }

    /// The handle pops go through: the peer's when there is one (a separate mapping).
    var consumerHandle: Handle { peer ?? handle }

    // MARK: Operations

    mutating func run(_ op: UInt8, _ input: inout FuzzInput) {
        guard !isOver else { return }
        do throws(ShmError) {
            switch op % 11 {
            case 0: try push(count: 1, batch: false)
            case 1: try pop(count: 1, batch: false)
            case 2: try push(count: 1 + Int(input.byte()) % (2 * capacity), batch: true)
            case 3: try pop(count: 1 + Int(input.byte()) % (2 * capacity), batch: true)
            case 4: try push(count: 1, batch: false, blocking: true)
            case 5: try pop(count: 1, batch: false, blocking: true)
            case 6: scribbleWord(at: Int(input.byte()) | Int(input.byte()) << 8, value: input.word())
            case 7: scribblePosition(which: input.byte(), delta: input.word())
            case 8: scribbleSequence(slot: Int(input.byte()), delta: input.byte())
            case 9: closeProducer()
            default: restartEndpoints()
            }
        } catch {
            // Every ShmError is an acceptable answer to a hostile region;
            // after one the model no longer says what the queue holds.
            checked = false
            errors += 1
            _ = error.description
        }
    }

    mutating func claimProducer() throws(ShmError) {
        switch handle {
        case let .spsc(r): if spscProducer == nil { spscProducer = try r.producer() }
        case let .record(r): if recordProducer == nil { recordProducer = try r.producer() }
        case let .exchange(x): if exchangeClient == nil { exchangeClient = try x.client() }
        default: break
        }
    }

    mutating func claimConsumer() throws(ShmError) {
        switch consumerHandle {
        case let .spsc(r): if spscConsumer == nil { spscConsumer = try r.consumer() }
        case let .record(r): if recordConsumer == nil { recordConsumer = try r.consumer() }
        case let .exchange(x): if exchangeServer == nil { exchangeServer = try x.server() }
        default: break
        }
    }

    mutating func push(count: Int, batch: Bool, blocking: Bool = false) throws(ShmError) {
        try claimProducer()
        if case .exchange = handle { return try sendRequest(blocking: blocking) }
        let first = nextValue
        let fill = { (i: Int, slot: UnsafeMutableRawBufferPointer) in
            let value = first &+ UInt64(i)
            // The first 8 bytes carry the value (when they fit), the rest a pattern the consumer checks.
            withUnsafeBytes(of: value) { for j in 0..<min(8, slot.count) { slot[j] = $0[j] } }
            for j in min(8, slot.count)..<slot.count { slot[j] = UInt8(truncatingIfNeeded: Int(truncatingIfNeeded: value) &+ j) }
        }
        var pushed = 0
        switch handle {
        case .spsc:
            if blocking {
                do throws(ShmError) {
                    try spscProducer!.push(timeoutSeconds: 0) { slot throws(ShmError) in fill(0, slot) }
                    pushed = 1
                } catch .timedOut { pushed = 0 }
            } else if batch {
                pushed = try spscProducer!.tryPushBatch(maxCount: count) { i, slot throws(ShmError) in fill(i, slot) }
            } else {
                pushed = try spscProducer!.tryPush { slot throws(ShmError) in fill(0, slot) } ? 1 : 0
            }
        case let .record(r):
            // Record i is 8 + (value mod 17) bytes, at most the ring's largest.
            let length = { (i: Int) in min(r.maximumRecordLength, 8 + Int((first &+ UInt64(i)) % 17)) }
            if blocking {
                do throws(ShmError) {
                    try recordProducer!.reserve(length(0), timeoutSeconds: 0) { slot throws(ShmError) in fill(0, slot) }
                    pushed = 1
                } catch .timedOut { pushed = 0 }
            } else {
                while pushed < count {
                    let i = pushed
                    guard try recordProducer!.tryReserve(length(i), { slot throws(ShmError) in fill(i, slot) }) else { break }
                    pushed += 1
                }
            }
            recordProducer!.commit()
        case let .lockFree(q): pushed = try pushMPMC(q, count: count, blocking: blocking, fill)
        case let .semaphore(q): pushed = try pushMPMC(q, count: count, blocking: blocking, fill)
        case .exchange: break // sendRequest
        }
        precondition(pushed >= 0 && pushed <= count, "push reported \(pushed) of \(count)")
        if checked, case .record = handle {} else if checked {
            let room = capacity - (model.count - modelHead)
            precondition(pushed == min(count, room), "pushed \(pushed) of \(count) with room for \(room)")
        }
        for i in 0..<pushed { model.append(first &+ UInt64(i)) }
        nextValue &+= UInt64(pushed)
    }

    func pushMPMC<Q: MPMCQueue>(_ q: Q, count: Int, blocking: Bool,
                                _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) -> Int {
        if blocking {
            do throws(ShmError) {
                try q.pushBatch(count: min(count, q.capacity), timeoutSeconds: 0, fill)
                return min(count, q.capacity)
            } catch .timedOut { return 0 }
        }
        return try q.tryPushBatch(maxCount: count, fill)
    }

    mutating func pop(count: Int, batch: Bool, blocking: Bool = false) throws(ShmError) {
        try claimConsumer()
        if case .exchange = consumerHandle { return try answerRequest(blocking: blocking) }
        var seen: [UInt64] = []
        var damaged = false
        let body = { (_: Int, slot: UnsafeRawBufferPointer) in
            var value: UInt64 = 0
            withUnsafeMutableBytes(of: &value) { for j in 0..<min(8, slot.count) { $0[j] = slot[j] } }
            seen.append(value)
            for j in min(8, slot.count)..<slot.count where slot[j] != UInt8(truncatingIfNeeded: Int(truncatingIfNeeded: value) &+ j) {
                damaged = true
            }
        }
        switch consumerHandle {
        case .spsc:
            if blocking {
                do throws(ShmError) {
                    _ = try spscConsumer!.pop(timeoutSeconds: 0) { slot throws(ShmError) in body(0, slot) }
                } catch .timedOut {}
            } else if batch {
                _ = try spscConsumer!.tryPopBatch(maxCount: count) { i, slot throws(ShmError) in body(i, slot) }
            } else {
                _ = try spscConsumer!.tryPop { slot throws(ShmError) in body(0, slot) }
            }
        case .record:
            if blocking {
                do throws(ShmError) {
                    if try recordConsumer!.peek(timeoutSeconds: 0, { record throws(ShmError) in body(0, record) }) != nil {
                        recordConsumer!.release()
                    }
                } catch .timedOut {}
            } else {
                while seen.count < count,
                      try recordConsumer!.tryPeek({ record throws(ShmError) in body(seen.count, record) }) != nil {
                    recordConsumer!.release()
                }
            }
        case let .lockFree(q): try popMPMC(q, count: count, blocking: blocking, body)
        case let .semaphore(q): try popMPMC(q, count: count, blocking: blocking, body)
        case .exchange: break // answerRequest
        }
        precondition(seen.count <= max(count, 1), "popped \(seen.count) of \(count)")
        guard checked else { return }
        let available = model.count - modelHead
        precondition(seen.count == min(count, available), "popped \(seen.count) of \(count) with \(available) queued")
        for value in seen {
            precondition(value == model[modelHead], "popped \(value), expected \(model[modelHead])")
            modelHead += 1
        }
        precondition(!damaged, "message bytes changed between push and pop")
        if modelHead > 4096 {
            model.removeFirst(modelHead)
            modelHead = 0
        }
    }

    func popMPMC<Q: MPMCQueue>(_ q: Q, count: Int, blocking: Bool,
                               _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) {
        if blocking {
            do throws(ShmError) {
                _ = try q.popBatch(maxCount: count, timeoutSeconds: 0, body)
            } catch .timedOut {}
            return
        }
        _ = try q.tryPopBatch(maxCount: count, body)
    }

    // MARK: The hostile peer

    /// Any aligned word of the region, header included.
    mutating func scribbleWord(at offset: Int, value: UInt64) {
        let words = region.size / 8
        guard words > 0 else { return }
        let at = (offset % words) * 8
        // A plain store: this process is single-threaded, the "peer" is this fuzzer.
        region.base.storeBytes(of: value, toByteOffset: at, as: UInt64.self)
        checked = false
    }

    /// One of the two position words, moved by an arbitrary amount (small
    /// moves are the interesting ones, so the low byte picks the scale).
    mutating func scribblePosition(which: UInt8, delta: UInt64) {
        let offset = RegionLayout.headerSize + (which & 1 == 0 ? 0 : RegionLayout.hotLineSeparation)
        let word = (region.base + offset).assumingMemoryBound(to: UInt64.self)
        let amount = which & 2 == 0 ? delta & 0xF : delta
        word.pointee = which & 4 == 0 ? word.pointee &+ amount : word.pointee &- amount
        checked = false
    }

    /// A slot's first word (the sequence word of the SPSC ring and the
    /// lock-free queue; message bytes of the semaphore queue), nudged.
    mutating func scribbleSequence(slot: Int, delta: UInt8) {
        var stride: Int, slots: Int, count = capacity
        switch handle {
        case let .spsc(r): stride = SPSCLayout.stride(slotSize: r.messageSize); slots = SPSCLayout.slotsOffset
        case let .lockFree(q): stride = MPMCLockFreeLayout.stride(slotSize: q.messageSize); slots = MPMCLockFreeLayout.slotsOffset
        case let .semaphore(q): stride = MPMCSemaphoreLayout.stride(slotSize: q.messageSize); slots = MPMCSemaphoreLayout.slotsOffset
        case let .record(r): stride = 8; slots = RecordLayout.dataOffset; count = r.capacity / 8 // headers sit on 8-byte boundaries
        // The two signal words (request line, response line).
        case .exchange: stride = ExchangeLayout.responseLineOffset; slots = ExchangeLayout.channelsOffset; count = 2
        }
        let word = (region.base + slots + (slot % count) * stride).assumingMemoryBound(to: UInt64.self)
        let signed = Int64(Int8(bitPattern: delta))
        word.pointee = delta == 0 ? 0 : word.pointee &+ UInt64(bitPattern: signed)
        checked = false
    }

    /// The producer ends the stream (its handle is consumed); the next push claims anew.
    mutating func closeProducer() {
        spscProducer.take()?.close()
        recordProducer.take()?.close()
        exchangeClient.take()?.close()
        exchangeAwaiting = nil
        // After end of stream a new producer may or may not be accepted: the model stops.
        checked = false
    }

    /// A restarted producer and consumer: the handles go (releasing their
    /// claims) and the next operations claim again, resuming from the region.
    mutating func restartEndpoints() {
        spscProducer = nil
        spscConsumer = nil
        recordProducer = nil
        recordConsumer = nil
        exchangeClient = nil
        exchangeServer = nil
        exchangeAwaiting = nil
        checked = false
    }

    // MARK: The exchange

    /// The client sends the next value (its bytes as `push` fills a slot);
    /// blocking: a whole call with a zero timeout. A request still
    /// unanswered makes the send wait (zero timeout: `timedOut`).
    mutating func sendRequest(blocking: Bool) throws(ShmError) {
        guard case let .exchange(x) = handle else { return }
        let value = nextValue, size = x.maximumMessageSize
        let fill = { (bytes: UnsafeMutableRawBufferPointer) in
            withUnsafeBytes(of: value) { for j in 0..<min(8, bytes.count) { bytes[j] = $0[j] } }
            for j in min(8, bytes.count)..<bytes.count { bytes[j] = UInt8(truncatingIfNeeded: Int(truncatingIfNeeded: value) &+ j) }
        }
        do throws(ShmError) {
            try exchangeClient!.send(length: size, timeoutSeconds: 0) { bytes throws(ShmError) in fill(bytes) }
        } catch .timedOut { return }
        exchangeAwaiting = value
        nextValue &+= 1
        if blocking {
            do throws(ShmError) {
                try exchangeClient!.receive(timeoutSeconds: 0) { _ throws(ShmError) in }
                exchangeAwaiting = nil
            } catch .timedOut {}
        }
    }

    /// The server answers a waiting request with its own bytes (blocking:
    /// `serve` with a zero timeout), then the client takes the answer; in a
    /// checked session both must be the value sent, intact.
    mutating func answerRequest(blocking: Bool) throws(ShmError) {
        var seen: UInt64?
        var damaged = false
        let echo = { (request: UnsafeRawBufferPointer, response: UnsafeMutableRawBufferPointer) -> Int in
            var value: UInt64 = 0
            withUnsafeMutableBytes(of: &value) { for j in 0..<min(8, request.count) { $0[j] = request[j] } }
            seen = value
            for j in min(8, request.count)..<request.count where request[j] != UInt8(truncatingIfNeeded: Int(truncatingIfNeeded: value) &+ j) {
                damaged = true
            }
            let n = min(request.count, response.count)
            if n > 0 { response.baseAddress!.copyMemory(from: request.baseAddress!, byteCount: n) }
            return n
        }
        if blocking {
            do throws(ShmError) {
                _ = try exchangeServer!.serve(timeoutSeconds: 0) { r, w throws(ShmError) in echo(r, w) }
            } catch .timedOut {}
        } else {
            _ = try exchangeServer!.tryServe { r, w throws(ShmError) in echo(r, w) }
        }
        if checked {
            precondition(seen == nil || seen == exchangeAwaiting, "served \(String(describing: seen)), sent \(String(describing: exchangeAwaiting))")
            precondition(seen != nil || exchangeAwaiting == nil || exchangeServer == nil, "a request sent was not there to serve")
            precondition(!damaged, "request bytes changed between send and serve")
        }
        guard exchangeAwaiting != nil, exchangeClient != nil else { return }
        var answer: UInt64?
        let took = try exchangeClient!.tryReceive { bytes throws(ShmError) in
            var value: UInt64 = 0
            withUnsafeMutableBytes(of: &value) { for j in 0..<min(8, bytes.count) { $0[j] = bytes[j] } }
            answer = value
        }
        if checked { precondition(took && answer == exchangeAwaiting, "answer \(String(describing: answer)) to \(String(describing: exchangeAwaiting))") }
        if took { exchangeAwaiting = nil }
    }
}

// MARK: - Seeds

/// Writes a few seed inputs: each structured kind and backing with a short
/// program, and a valid region of each kind as raw bytes.
func writeSeeds(to directory: String) {
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var seeds: [String: [UInt8]] = [:]
    let program: [UInt8] = [0, 0, 2, 5, 1, 3, 7, 4, 1, 2, 8, 8, 9, 8, 1, 3, 8, 6, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
    for (k, kind) in Kind.allCases.enumerated() {
        for backing in [RegionBacking.mmap, .sysv] {
            let setup = UInt8(k) | (backing == .sysv ? 0x80 : 0)
            seeds["structured-\(kind)-\(backing)"] = [3, setup, 2, 8] + program
            // A valid region of this kind, as raw bytes.
            if let made = try? kind.create(backing: backing, name: "seed", capacity: 4, messageSize: 16) {
                let raw = Array(UnsafeRawBufferPointer(start: made.region.base, count: made.region.size))
                seeds["raw-\(kind)-\(backing)"] = [backing == .sysv ? 2 : 0] + raw
                made.removeName()
            }
        }
    }
    for (name, bytes) in seeds {
        _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes))
    }
}
