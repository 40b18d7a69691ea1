// tick-producer NAME COUNT: writes COUNT synthetic ticks ("SYMBOL PRICE QTY")
// into the record ring NAME, then closes it (end of stream). It may exit
// before the consumer starts: the name stays until the consumer has read all.
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

let symbols = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "AMD"]
let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), count >= 0 else {
    fail("usage: tick-producer NAME COUNT", code: 2)
}

/// Writes `count` ticks and closes the ring; returns their total volume.
func produce(name: String, count: Int) throws(ShmError) -> Int {
    // Create the ring (reclaiming a stale one a killed run left behind).
    let ring = try RecordRing.create(backing: .mmap, name: name, capacity: 1 << 20, maximumRecordLength: 256,
                                     reclaimStale: true)
    var producer = try ring.producer(wait: .park)
    var state: UInt64 = 42
    var volume = 0
    for _ in 0..<count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let symbol = symbols[Int(state >> 61)]
        let cents = 10_000 + Int((state >> 20) % 40_000)
        let quantity = 1 + Int((state >> 40) % 500)
        volume += quantity
        let tick = Array("\(symbol) \(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100) \(quantity)".utf8)
        // Parks while the ring is full; fails if the consumer dies.
        // The tick is written in place in the ring, then published.
        try producer.reserve(tick.count, timeoutSeconds: 60) { payload in payload.copyBytes(from: tick) }
        producer.commit()
    }
    producer.close()
    return volume
}

do {
    let volume = try produce(name: arguments[1], count: count)
    print("sent \(count) ticks, volume \(volume)")
} catch {
    fail("tick-producer: \(error)", code: 1)
}

/// One line on standard error, then exit.
func fail(_ message: String, code: Int32) -> Never {
    _ = (message + "\n").withCString { write(2, $0, strlen($0)) }
    exit(code)
}
