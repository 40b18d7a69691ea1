import CShim
import Foundation
import ShmRing

/// One endpoint's counters and liveness, as `stat` and `top` show them.
struct EndpointStat: Encodable {
    /// "producer", "consumer", "consumer[i]" (a broadcast ring's consumer
    /// slot i), or "slotN" (a queue's process slot).
    var endpoint: String
    var pid: Int32?
    /// nil: not held now (never claimed, or released). Ring sides are judged by the ring's kernel-held
    /// witness (`RingNames.holders`), queue slots by their process identity.
    var alive: Bool?
    /// The side is held now (a ring side released cleanly is not).
    var holding: Bool
    var recordsPublished: UInt64
    var bytesPublished: UInt64
    var recordsConsumed: UInt64
    var bytesConsumed: UInt64
    var fullWaits: UInt64
    var emptyWaits: UInt64
    var parks: UInt64
    var wakeupsIssued: UInt64
    var wakeupsReceived: UInt64
    var takeovers: UInt64
    var claims: UInt64
    /// A broadcast consumer slot's records lost to overruns (nil elsewhere).
    var recordsLost: UInt64? = nil
    /// A broadcast consumer's bytes published but not yet read by it, while
    /// joined (nil elsewhere).
    var pendingBytes: Int? = nil
    /// Seconds since the last claim, wait, park or unpark (nil: never).
    var idleSeconds: Double?
}

/// One ring or queue: what `ls` says, plus its endpoints' counters.
struct RingStat: Encodable {
    var name: String
    var backing: String
    var kind: String
    var state: String
    var problem: String?
    var capacity: Int?
    var messageBytes: Int?
    var pending: Int?
    var fillPercent: Double?
    var endpoints: [EndpointStat]
    /// Monotonic time of the sample (for rates between two samples).
    var sampledAtNs: UInt64

    var recordsPublished: UInt64 { endpoints.reduce(0) { $0 &+ $1.recordsPublished } }
    var recordsConsumed: UInt64 { endpoints.reduce(0) { $0 &+ $1.recordsConsumed } }
    var bytesPublished: UInt64 { endpoints.reduce(0) { $0 &+ $1.bytesPublished } }
    var bytesConsumed: UInt64 { endpoints.reduce(0) { $0 &+ $1.bytesConsumed } }
}

/// Samples rings and queues: `RingDirectory` (what `ls` reads) for the
/// shape, fill and holders, the region's counters block for the rest.
enum RingStats {
    /// Every ring and queue in `directory`, or only `names` (each must exist).
    static func sample(directory: String, names: [String] = []) throws -> [RingStat] {
        let entries = try RingDirectory.scan(directory)
        var chosen = entries
        if !names.isEmpty {
            chosen = try names.map { name in
                guard let entry = entries.first(where: { $0.name == name }) else {
                    throw CommandFailure(message: "no ring or queue '\(name)' of this user in \(directory)")
                }
                return entry
            }
        }
        return chosen.map { stat(of: $0, directory: directory) }
    }

    static func stat(of entry: RingEntry, directory: String) -> RingStat {
        let now = cshim_monotonic_ns()
        var stat = RingStat(name: entry.name, backing: entry.backing, kind: entry.kind, state: entry.state, problem: entry.problem,
                            capacity: entry.capacity, messageBytes: entry.messageBytes, pending: entry.pending,
                            fillPercent: entry.fillPercent, endpoints: [], sampledAtNs: now)
        guard entry.state != "corrupt", entry.state != "creating", let backing = RegionBacking(rawValue: entry.backing) else { return stat }
        do throws(ShmError) {
            let region = try SharedRegion.open(backing: backing, name: entry.name,
                                               options: RegionOptions(directory: directory, openTimeoutSeconds: 0, prefault: false))
            let rawKind = region.base.load(fromByteOffset: RegionLayout.kindOffset, as: UInt32.self)
            guard let kind = StructureKind(rawValue: rawKind) else { return stat }
            let header = try RegionHeader.validate(region, expecting: kind, timeoutSeconds: 0)
            let isRing = kind == .spscRing || kind == .recordRing
            let isBroadcast = kind == .broadcastRing
            let holders = isRing || isBroadcast ? try RingNames.holders(of: region) : []
            // A broadcast ring's consumer slots, judged by their witness bytes.
            let broadcast = isBroadcast ? try BroadcastRing.attach(region, timeoutSeconds: 0) : nil
            let joined = try broadcast?.consumers() ?? []
            let published = broadcast?.publishedPosition ?? 0
            stat.endpoints = try RegionCounters.read(region, header: header).map { v in
                if isBroadcast, v.slot > 0 {
                    let mine = joined.first { $0.slot == v.slot - 1 }
                    var e = endpointStat(v, name: "consumer[\(v.slot - 1)]", pid: mine?.pid ?? v.pid, alive: mine?.alive,
                                         holding: mine != nil, now: now)
                    e.recordsLost = v.recordsLost
                    e.pendingBytes = mine.map { $0.cursor <= published ? Int(min(published - $0.cursor, UInt64(broadcast!.capacity))) : 0 }
                    return e
                }
                let held = holders.first { $0.role == v.role }
                let alive: Bool?
                if isRing || isBroadcast {
                    alive = held?.alive
                } else {
                    alive = ProcessIdentity(packed: v.ownerIdentity).map(\.isAlive)
                }
                return endpointStat(v, name: isRing || isBroadcast ? v.role : "slot\(v.slot)", pid: held?.pid ?? v.pid, alive: alive,
                                    holding: isRing || isBroadcast ? held != nil : alive == true, now: now)
            }
        } catch {
            stat.problem = error.description
        }
        return stat
    }

    static func endpointStat(_ v: EndpointCounterValues, name: String, pid: Int32?, alive: Bool?, holding: Bool, now: UInt64) -> EndpointStat {
        EndpointStat(endpoint: name, pid: pid, alive: alive, holding: holding,
                     recordsPublished: v.recordsPublished, bytesPublished: v.bytesPublished,
                     recordsConsumed: v.recordsConsumed, bytesConsumed: v.bytesConsumed,
                     fullWaits: v.fullWaits, emptyWaits: v.emptyWaits, parks: v.parks,
                     wakeupsIssued: v.wakeupsIssued, wakeupsReceived: v.wakeupsReceived,
                     takeovers: v.takeovers, claims: v.claims,
                     idleSeconds: v.lastActivityNs == 0 || v.lastActivityNs > now ? nil : Double(now - v.lastActivityNs) / 1e9)
    }
}
