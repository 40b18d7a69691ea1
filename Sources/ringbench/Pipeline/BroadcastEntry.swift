import ShmRing

/// What `ringbench ls` and `inspect` show of a broadcast ring: its creator
/// and producer (the rings' judge), one owner per claimed consumer slot
/// (judged by the slot's witness byte), and the bytes the slowest consumer
/// has not read yet.
extension RingDirectory {
    static func describeBroadcast(_ region: SharedRegion, into entry: inout RingEntry) throws(ShmError) {
        let ring = try BroadcastRing.attach(region, timeoutSeconds: 0)
        for holder in try RingNames.holders(of: region) {
            entry.owners.append(.init(role: holder.role, pid: holder.pid, alive: holder.alive))
            if let note = holder.note { entry.problem = "\(holder.role) \(holder.pid): \(note)" }
        }
        let consumers = try ring.consumers()
        for consumer in consumers {
            entry.owners.append(.init(role: "consumer[\(consumer.slot)]", pid: consumer.pid, alive: consumer.alive))
        }
        let published = ring.publishedPosition
        let slowest = consumers.filter(\.alive).map(\.cursor).min() ?? published
        entry.pending = slowest <= published ? Int(min(published - slowest, UInt64(ring.capacity))) : 0
    }
}

extension InspectCommand {
    /// Policy, positions, and each consumer's cursor, lag and losses.
    static func broadcastLines(_ region: SharedRegion) -> [String] {
        guard let ring = try? BroadcastRing.attach(region, timeoutSeconds: 0) else { return ["(not a valid broadcast ring)"] }
        let published = ring.publishedPosition
        var lines = ["policy \(ring.policy), \(ring.maximumConsumers) consumer slots, published \(published), oldest intact \(ring.oldestPosition)"]
        switch Result(catching: { () throws(ShmError) in try ring.consumers() }) {
        case .success(let consumers):
            if consumers.isEmpty { lines.append("no consumer joined") }
            for c in consumers {
                let behind = c.cursor <= published ? "\(published - c.cursor) byte(s) behind" : "past the published end (corrupt)"
                lines.append("consumer[\(c.slot)] pid \(c.pid)\(c.alive ? "" : " (dead)"): cursor \(c.cursor), \(behind), \(c.lost) record(s) lost")
            }
        case .failure(let error):
            lines.append("consumer slots: \(error.description)")
        }
        return lines
    }
}
