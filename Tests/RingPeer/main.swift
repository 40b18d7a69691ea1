// ring-peer: one end of a ring in its own process, for the cross-process
// tests (RingLifecycleTests launch it; XCTest never forks).
//
//   ring-peer produce KIND NAME DIR COUNT WAIT [create|open] [close|hang] [DELAY]
//   ring-peer consume KIND NAME DIR COUNT WAIT
//   ring-peer consume-emfile KIND NAME DIR COUNT WAIT
//       consume, after using up every descriptor (RLIMIT_NOFILE lowered)
//   ring-peer claim KIND NAME DIR - WAIT
//       try to claim the producer end: exit 0 if claimed, 4 if taken
//   ring-peer produce-zombie spsc NAME DIR COUNT WAIT
//       create; a second thread claims the producer and pushes COUNT, then
//       keeps the end; the main thread calls pthread_exit once it is claimed
//       (a zombie thread-group leader whose process still writes)
//   ring-peer join broadcast NAME DIR - WAIT
//       join the broadcast ring NAME as a consumer at .latest, print
//       "joined", then read nothing until killed (a consumer that gates)
//   ring-peer fork-child spsc - - - WAIT
//       an anonymous ring whose producer is inherited by a forked child: the
//       child's copy must be poisoned (exit 0 if every check held)
//   ring-peer fork-orphan spsc NAME DIR - WAIT
//       create, claim the producer, push 0, fork a child that lives on
//       (pause), print "child PID" and hang until killed: once the parent
//       is killed, its end must be dead although the child lives
//   ring-peer judge spsc NAME DIR - WAIT
//       open the ring without claiming; print "holder ROLE alive|dead NOTE"
//       for each holder, then "claim: claimed" or "claim: ERROR" for a
//       producer claim
//   ring-peer hold-queue lockfree NAME DIR - WAIT
//       create a named lock-free MPMC queue, print "ready PID" (our pid, in
//       our PID namespace) and hang until killed
//
//   ring-peer serve|call exchange NAME DIR COUNT WAIT [create|open] [close|hang]
//       the exchange's server or client (ExchangePeer.swift)
//
// Environment: RING_PEER_SHARED=1 creates rings mode 0666 (umask 0) and opens rings
// of uid 0 that others may write (the hidepid test runs the checker as
// another uid); RING_PEER_HIDDEN_PID=N fails with status 5 unless
// /proc/N is invisible here (the scenario under test really happened).

// KIND spsc|records|exchange, BACKING from NAME's prefix ("sysv-" or else mmap),
// WAIT spin|yield|park. Message i is the u64 i (spsc) or a record of
// (i * 7919) % 200 bytes, each byte (i + j) & 0xff (records). `hang` sleeps
// after producing, without closing, until killed. DELAY seconds before
// creating/opening. Exit 0 on success; 3 if the peer died (after printing
// "peer died at NS", CLOCK_MONOTONIC); 1 otherwise.
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

func say(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    let line = "ring-peer: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(status)
}

let args = CommandLine.arguments
guard args.count >= 7, let count = UInt64(args[5]) ?? (args[5] == "-" ? 0 : nil), let wait = WaitStrategy(rawValue: args[6]) else {
    fail("usage: ring-peer produce|consume KIND NAME DIR COUNT WAIT [create|open] [close|hang] [DELAY]")
}
let (role, kind, name, directory) = (args[1], args[2], args[3], args[4])
let backing: RegionBacking = name.hasPrefix("sysv-") ? .sysv : .mmap
let options: RegionOptions = {
    var options = RegionOptions(directory: directory, openTimeoutSeconds: 5)
    if getenv("RING_PEER_SHARED") != nil {
        options.permissions = [.ownerReadWrite, .groupReadWrite, .otherReadWrite]
        options.allowedOwners = [0]
        options.allowSharedWrite = true
        // The mode is applied through open(2), so less the umask: 0666 needs umask 0.
        umask(0)
    }
    return options
}()
if let hidden = getenv("RING_PEER_HIDDEN_PID").map({ String(cString: $0) }) {
    guard access("/proc/\(hidden)/stat", F_OK) != 0 else { fail("/proc/\(hidden) is visible to uid \(geteuid())", status: 5) }
}
let create = args.count > 7 ? args[7] == "create" : false
let hang = args.count > 8 ? args[8] == "hang" : false
if args.count > 9, let delay = Double(args[9]) { usleep(UInt32(delay * 1e6)) }

func recordLength(_ i: UInt64) -> Int { Int((i &* 7919) % 200) }

/// Lowers the descriptor limit to what is open now plus a few, then opens
/// /dev/null until EMFILE: from here on no call that needs a descriptor
/// (opening /proc/PID/stat among them) can succeed.
func exhaustDescriptors() {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = 64
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    var opened = 0
    while open("/dev/null", O_RDONLY) >= 0 { opened += 1 }
    guard errno == EMFILE, open("/proc/self/stat", O_RDONLY) < 0 else { fail("could not exhaust descriptors") }
}

/// Claims the producer end and drops it: nil if claimed, the error's text
/// if the end is taken; other errors end the helper.
func claimProducer() -> String? {
    let claimed: Result<Void, ShmError> = Result { () throws(ShmError) in
        if kind == "spsc" {
            _ = try SPSCRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10).producer(wait: wait)
        } else {
            _ = try RecordRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10).producer(wait: wait)
        }
    }
    switch claimed {
    case .success: return nil
    case .failure(let error):
        guard case .endpointTaken = error else { fail("\(error)") }
        return error.description
    }
}

func run() throws { // untyped, as ordinary client code is
    switch (role, kind) {
    case ("produce", "spsc"):
        let ring = create
            ? try SPSCRing.create(backing: backing, name: name, capacity: 1, messageSize: 8, options: options)
            : try SPSCRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
        var producer = try ring.producer(wait: wait)
        for i in 0..<count { try producer.push(i, timeoutSeconds: 10) }
        // The use after pause() keeps the handle (and its claim) alive: a
        // noncopyable value may otherwise end before a call that never returns.
        if hang { while true { pause(); _ = producer.ring } }
        producer.close()
    case ("produce", "records"):
        let ring = create
            ? try RecordRing.create(backing: backing, name: name, capacity: 1024, maximumRecordLength: 200, options: options)
            : try RecordRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
        var producer = try ring.producer(wait: wait)
        for i in 0..<count {
            try producer.reserve(recordLength(i), timeoutSeconds: 10) { bytes in
                for j in 0..<bytes.count { bytes[j] = UInt8(truncatingIfNeeded: i &+ UInt64(j)) }
            }
            if i % 3 == 0 { producer.commit() }
        }
        producer.commit()
        if hang { while true { pause(); _ = producer.ring } }
        producer.close()
    case ("consume", "spsc"), ("consume-emfile", "spsc"):
        let ring = try SPSCRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
        var consumer = try ring.consumer(wait: wait)
        if role == "consume-emfile" { exhaustDescriptors() }
        var expected: UInt64 = 0
        // The client-code shape of issue 7 (a copy-out pop inside
        // withUnsafeMutableBytes), compiled in release builds of this helper.
        var buffer = [UInt8](repeating: 0, count: 8)
        while true {
            let got = try buffer.withUnsafeMutableBytes { try consumer.pop(into: $0, timeoutSeconds: 10) }
            guard got == .message else { break }
            let value = buffer.withUnsafeBytes { $0.load(as: UInt64.self) }
            guard value == expected else { fail("message \(expected) arrived as \(value)") }
            expected += 1
        }
        guard expected == count else { fail("end of stream after \(expected) of \(count) messages") }
    case ("consume", "records"), ("consume-emfile", "records"):
        let ring = try RecordRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
        var consumer = try ring.consumer(wait: wait)
        if role == "consume-emfile" { exhaustDescriptors() }
        var expected: UInt64 = 0
        while let intact = try consumer.peek(timeoutSeconds: 10, { record in
            record.count == recordLength(expected)
                && record.indices.allSatisfy({ record[$0] == UInt8(truncatingIfNeeded: expected &+ UInt64($0)) })
        }) {
            guard intact else { fail("record \(expected) is corrupt") }
            consumer.release()
            expected += 1
        }
        guard expected == count else { fail("end of stream after \(expected) of \(count) records") }
    case ("claim", "spsc"), ("claim", "records"):
        if let taken = claimProducer() { fail("producer end taken: \(taken)", status: 4) }
    case ("judge", "spsc"):
        // Looks without claiming: each holder's judgement, then what a
        // producer claim gets. Exit 0 whatever the verdicts.
        let ring = try SPSCRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
        for holder in try RingNames.holders(of: ring.region) {
            print("holder \(holder.role) \(holder.alive ? "alive" : "dead") \(holder.note ?? "-")")
        }
        do {
            _ = try ring.producer(wait: wait)
            print("claim: claimed")
        } catch {
            print("claim: \(error)")
        }
    case ("produce-zombie", "spsc"):
        ZombieLeader.run(ring: try SPSCRing.create(backing: backing, name: name, capacity: 1, messageSize: 8, options: options),
                         count: count, wait: wait)
    case ("join", "broadcast"):
        let ring = try BroadcastRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
        let consumer = try ring.consumer(from: .latest, wait: wait)
        print("joined")
        fflush(nil)
        while true { pause(); _ = consumer.slot }
    case ("serve", "exchange"):
        try ExchangePeer.serve(count: count, wait: wait, create: create, hang: hang)
    case ("call", "exchange"):
        try ExchangePeer.call(count: count, wait: wait, create: create, hang: hang)
    case ("fork-child", "spsc"):
        try ForkedHandle.run(wait: wait)
    case ("fork-orphan", "spsc"):
        try ForkedHandle.orphan(wait: wait) {
            try SPSCRing.create(backing: backing, name: name, capacity: 1, messageSize: 8, options: options)
        }
    case ("hold-queue", "lockfree"):
        let queue = try MPMCLockFreeQueue.create(backing: backing, name: name, capacity: 4, messageSize: 8, options: options)
        print("ready \(getpid())")
        fflush(nil)
        while true { pause(); _ = queue.capacity }
    default:
        fail("unknown role or kind: \(role) \(kind)")
    }
}

do {
    try run()
    print("ok \(count)")
} catch ShmError.peerDied(let pid) {
    print("peer died at \(monotonicNs())")
    fflush(nil)
    fail("peer \(pid) died", status: 3)
} catch {
    fail("\(error)")
}
