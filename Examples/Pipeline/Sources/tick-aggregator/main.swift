// tick-aggregator NAME: waits for the record ring NAME, reads ticks until
// end of stream, and prints per-symbol count, volume, VWAP, low and high.
// Exits 1 with one line if the producer dies without closing the ring.
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

struct Stats {
    var ticks = 0, volume = 0
    var notional = 0.0
    var low = Double.infinity, high = -Double.infinity
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    fail("usage: tick-aggregator NAME", code: 2)
}

/// Reads ticks until end of stream; returns per-symbol stats and how many were malformed.
func aggregate(name: String) throws(ShmError) -> (stats: [String: Stats], malformed: Int) {
    let ring = try RecordRing.open(backing: .mmap, name: name, waitForCreationSeconds: 30)
    var consumer = try ring.consumer(wait: .park)
    var stats: [String: Stats] = [:]
    var malformed = 0
    // `read` parks while the ring is empty and returns .endOfStream once the
    // producer closed it and every tick was read.
    while try consumer.read(timeoutSeconds: nil, { record in
        let fields = String(decoding: record, as: UTF8.self).split(separator: " ")
        guard fields.count == 3, let price = Double(fields[1]), let quantity = Int(fields[2]) else { malformed += 1; return }
        stats[String(fields[0]), default: Stats()].add(price: price, quantity: quantity)
    }) == .message {}
    return (stats, malformed)
}

do {
    let (stats, malformed) = try aggregate(name: arguments[1])
    let total = stats.values.reduce(0) { $0 + $1.ticks }, volume = stats.values.reduce(0) { $0 + $1.volume }
    print("received \(total) ticks, volume \(volume), malformed \(malformed)")
    for (symbol, s) in stats.sorted(by: { $0.key < $1.key }) {
        print("\(symbol) ticks \(s.ticks) volume \(s.volume) vwap \((s.notional / Double(s.volume) * 100).rounded() / 100) low \(s.low) high \(s.high)")
    }
} catch {
    fail("tick-aggregator: \(error)", code: 1)
}

extension Stats {
    mutating func add(price: Double, quantity: Int) {
        ticks += 1
        volume += quantity
        notional += price * Double(quantity)
        low = min(low, price)
        high = max(high, price)
    }
}

/// One line on standard error, then exit.
func fail(_ message: String, code: Int32) -> Never {
    _ = (message + "\n").withCString { write(2, $0, strlen($0)) }
    exit(code)
}
