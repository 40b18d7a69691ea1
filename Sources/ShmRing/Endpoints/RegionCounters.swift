import CShim

/// One endpoint's counters as a monitor reads them (see `CountersLayout`).
public struct EndpointCounterValues: Sendable, Equatable {
    /// Slot index in the region's counters block.
    public var slot: Int
    /// "producer", "consumer" (a ring's sides, a broadcast ring's consumer
    /// slots), "client", "server" (an exchange's) or "process" (a queue's slot).
    public var role: String
    /// The pid of the slot's last holder, in the holder's PID namespace; nil
    /// for a ring side never claimed.
    public var pid: Int32?
    /// The holder's packed `ProcessIdentity` (0: never claimed).
    public var ownerIdentity: UInt64
    public var recordsPublished: UInt64 = 0
    public var bytesPublished: UInt64 = 0
    public var recordsConsumed: UInt64 = 0
    public var bytesConsumed: UInt64 = 0
    public var fullWaits: UInt64 = 0
    public var emptyWaits: UInt64 = 0
    public var parks: UInt64 = 0
    public var wakeupsIssued: UInt64 = 0
    public var wakeupsReceived: UInt64 = 0
    public var takeovers: UInt64 = 0
    public var claims: UInt64 = 0
    /// Records lost to overruns (a broadcast consumer's slot; else 0).
    public var recordsLost: UInt64 = 0
    /// CLOCK_MONOTONIC ns of the last claim, wait, park or unpark (0: none).
    public var lastActivityNs: UInt64 = 0
}

/// Reads a region's counters block.
public enum RegionCounters {
    /// Every used slot of `region`'s counters block (a ring's two sides
    /// always; a broadcast ring's producer always and each consumer slot once
    /// claimed, slot 1 + i for consumer slot i; a queue's slots once a
    /// process claimed them), or [] for a kind
    /// without counters. For fixed-slot kinds the byte counts are records ×
    /// slot size (the block stores bytes for the record ring, the broadcast
    /// ring and the exchange, whose messages vary in length). The
    /// header must be validated (`RegionHeader.validate`); the block's
    /// bounds are checked here against the mapping.
    public static func read(_ region: SharedRegion, header: RegionHeader) throws(ShmError) -> [EndpointCounterValues] {
        let slots = CountersLayout.slots(for: header)
        guard slots > 0 else { return [] }
        let block = CountersLayout.blockOffset(regionSize: region.size, slots: slots)
        guard block >= RegionLayout.headerSize else {
            throw .sizeMismatch(name: region.name, headerSays: UInt64(RegionLayout.headerSize + CountersLayout.blockSize(slots: slots)),
                                actual: UInt64(region.size))
        }
        let isRing = header.kind == .spscRing || header.kind == .recordRing
        // A broadcast ring: slot 0 its producer's, 1 + i consumer slot i's.
        let isBroadcast = header.kind == .broadcastRing
        // Requests and responses: the client's slot 0, the server's slot 1.
        let isExchange = header.kind == .exchange
        let fixedSlot: UInt64? = header.kind == .recordRing || isBroadcast || isExchange ? nil : header.slotSize
        var result: [EndpointCounterValues] = []
        for i in 0..<slots {
            let base = region.base + block + i * CountersLayout.slotSize
            // Relaxed: monitoring reads of single-writer counters.
            func field(_ offset: Int) -> UInt64 { cshim_load_relaxed((base + offset).assumingMemoryBound(to: UInt64.self)) }
            let owner = field(CountersLayout.ownerField)
            let claims = field(CountersLayout.claimsField)
            if !isRing, !(isBroadcast && i == 0), owner == 0, claims == 0 { continue }
            let role = isRing || isBroadcast ? (i == 0 ? "producer" : "consumer") : isExchange ? (i == 0 ? "client" : "server") : "process"
            var v = EndpointCounterValues(slot: i, role: role,
                                          pid: ProcessIdentity(packed: owner)?.pid, ownerIdentity: owner)
            v.recordsPublished = field(CountersLayout.recordsPublishedField)
            v.recordsConsumed = field(CountersLayout.recordsConsumedField)
            if let fixedSlot {
                v.bytesPublished = v.recordsPublished &* fixedSlot
                v.bytesConsumed = v.recordsConsumed &* fixedSlot
            } else {
                v.bytesPublished = field(CountersLayout.bytesPublishedField)
                v.bytesConsumed = field(CountersLayout.bytesConsumedField)
            }
            v.fullWaits = field(CountersLayout.fullWaitsField)
            v.emptyWaits = field(CountersLayout.emptyWaitsField)
            v.parks = field(CountersLayout.parksField)
            v.wakeupsIssued = field(CountersLayout.wakeupsIssuedField)
            v.wakeupsReceived = field(CountersLayout.wakeupsReceivedField)
            v.takeovers = field(CountersLayout.takeoversField)
            v.claims = claims
            v.lastActivityNs = field(CountersLayout.lastActivityField)
            v.recordsLost = isBroadcast ? field(CountersLayout.recordsLostField) : 0
            result.append(v)
        }
        return result
    }
}
