// ring-peer: one end of a ring in its own process, for the cross-process
// tests (RingLifecycleTests launch it; XCTest never forks).
//
//   ring-peer produce KIND NAME DIR COUNT WAIT [create|open] [close|hang] [DELAY]
//   ring-peer consume KIND NAME DIR COUNT WAIT
//
// KIND spsc|records, BACKING from NAME's prefix ("sysv-" or else mmap),
// WAIT spin|yield|park. Message i is the u64 i (spsc) or a record of
// (i * 7919) % 200 bytes, each byte (i + j) & 0xff (records). `hang` sleeps
// after producing, without closing, until killed. DELAY seconds before
// creating/opening. Exit 0 on success; 3 if the peer died; 1 otherwise.
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
guard args.count >= 7, let count = UInt64(args[5]), let wait = WaitStrategy(rawValue: args[6]) else {
    fail("usage: ring-peer produce|consume KIND NAME DIR COUNT WAIT [create|open] [close|hang] [DELAY]")
}
let (role, kind, name, directory) = (args[1], args[2], args[3], args[4])
let backing: RegionBacking = name.hasPrefix("sysv-") ? .sysv : .mmap
let options = RegionOptions(directory: directory, openTimeoutSeconds: 5)
let create = args.count > 7 ? args[7] == "create" : false
let hang = args.count > 8 ? args[8] == "hang" : false
if args.count > 9, let delay = Double(args[9]) { usleep(UInt32(delay * 1e6)) }

func recordLength(_ i: UInt64) -> Int { Int((i &* 7919) % 200) }

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
    case ("consume", "spsc"):
        let ring = try SPSCRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
        var consumer = try ring.consumer(wait: wait)
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
    case ("consume", "records"):
        let ring = try RecordRing.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
        var consumer = try ring.consumer(wait: wait)
        var expected: UInt64 = 0
        while let record = try consumer.peek(timeoutSeconds: 10) {
            guard record.count == recordLength(expected),
                  record.indices.allSatisfy({ record[$0] == UInt8(truncatingIfNeeded: expected &+ UInt64($0)) }) else {
                fail("record \(expected) is corrupt")
            }
            consumer.release()
            expected += 1
        }
        guard expected == count else { fail("end of stream after \(expected) of \(count) records") }
    default:
        fail("unknown role or kind: \(role) \(kind)")
    }
}

do {
    try run()
    print("ok \(count)")
} catch ShmError.peerDied(let pid) {
    fail("peer \(pid) died", status: 3)
} catch {
    fail("\(error)")
}
