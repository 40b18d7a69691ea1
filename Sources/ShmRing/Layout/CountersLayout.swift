/// The counters block every structure kind with endpoints ends its region
/// with (issue 18): one 128-byte slot per endpoint, each written only by
/// the endpoint that holds it, read by monitors (`ringbench stat`, `top`).
///
/// The block is the region's last `blockSize(slots:)` bytes, 128-aligned, so
/// it is found from the region's size alone; a kind adds it by appending
/// `CountersLayout.appended(to:slots:)` to its size formula and listing its
/// slot count in `slots(for:)`. Nothing a peer reads lives on a slot's two
/// lines (128 bytes: the adjacent-line prefetch pair, see
/// `RegionLayout.hotLineSeparation`), so counting adds no shared-line traffic.
///
/// One slot (offsets within it; every field a u64):
///
/// | offset | field            | meaning                                                        |
/// |-------:|------------------|----------------------------------------------------------------|
/// |      0 | owner            | `ProcessIdentity.packed` of the last holder; 0 = never used    |
/// |      8 | role             | 1 producer, 2 consumer, 3 both (a queue's slot)                |
/// |     16 | recordsPublished | records (messages) this endpoint published                      |
/// |     24 | bytesPublished   | payload bytes published (record ring, broadcast ring, exchange; fixed-slot kinds leave 0: records × slot size) |
/// |     32 | recordsConsumed  | records this endpoint consumed (handed back)                    |
/// |     40 | bytesConsumed    | payload bytes consumed (as above)                               |
/// |     48 | fullWaits        | blocking calls that found no room and had to wait               |
/// |     56 | emptyWaits       | blocking calls that found nothing to read and had to wait       |
/// |     64 | parks            | sleeps in the kernel (futex or semaphore)                       |
/// |     72 | wakeupsIssued    | futex wake-ups this endpoint issued to a sleeping peer          |
/// |     80 | wakeupsReceived  | sleeps that ended by a wake-up (not by a timeout)                |
/// |     88 | takeovers        | claims that found the previous holder dead, or repairs after one |
/// |     96 | lastActivityNs   | CLOCK_MONOTONIC ns of the last claim, wait, park or unpark       |
/// |    104 | claims           | times the slot was claimed                                      |
/// |    112 | recordsLost      | broadcast consumers: records lost to overruns (else 0)          |
/// |    120 | reserved         | 8 bytes, zero                                                   |
///
/// Counters survive a holder's death and are cumulative over every holder of
/// the slot (a ring's side, a queue's process). A ring's slot 0 is its
/// producer's, slot 1 its consumer's; a broadcast ring of N consumer slots
/// has 1 + N: slot 0 its producer's, slot 1 + i consumer slot i's (held
/// with the consumer slot); a queue's slots are claimed by
/// processes (owner word CAS), the first free one or one whose process is gone.
public enum CountersLayout {
    public static let slotSize = 128
    public static let ownerField = 0
    public static let roleField = 8
    public static let recordsPublishedField = 16
    public static let bytesPublishedField = 24
    public static let recordsConsumedField = 32
    public static let bytesConsumedField = 40
    public static let fullWaitsField = 48
    public static let emptyWaitsField = 56
    public static let parksField = 64
    public static let wakeupsIssuedField = 72
    public static let wakeupsReceivedField = 80
    public static let takeoversField = 88
    public static let lastActivityField = 96
    public static let claimsField = 104
    public static let recordsLostField = 112

    public static let roleProducer: UInt64 = 1
    public static let roleConsumer: UInt64 = 2
    public static let roleBoth: UInt64 = 3

    /// Process slots of an MPMC queue: more processes than this go uncounted.
    public static let queueSlots = 16

    /// Endpoint slots of each kind (0: the kind has no counters block).
    public static func slots(for kind: StructureKind) -> Int {
        switch kind {
        // An exchange's client holds the producer side, its server the consumer side.
        case .spscRing, .recordRing, .exchange: 2
        case .mpmcSemaphoreQueue, .mpmcLockFreeQueue: queueSlots
        case .lockArena, .benchControl: 0
        // 1 + its consumer slots (`broadcastSlots`); 2 is the fewest (one
        // consumer slot). Use `slots(for: header)` for a given region.
        case .broadcastRing: broadcastSlots(consumers: 1)
        }
    }

    /// A broadcast ring's: slot 0 its producer's, slot 1 + i consumer i's.
    public static func broadcastSlots(consumers: Int) -> Int { 1 + consumers }

    /// The slots of the region `header` describes (a broadcast ring's depend
    /// on its consumer slot count, bounded here: the header is untrusted).
    public static func slots(for header: RegionHeader) -> Int {
        guard header.kind == .broadcastRing else { return slots(for: header.kind) }
        let consumers = header.parameters[BroadcastLayout.consumersParameter]
        return broadcastSlots(consumers: Int(min(max(consumers, 1), UInt64(BroadcastLayout.maximumConsumers))))
    }

    public static func blockSize(slots: Int) -> Int { slots * slotSize }

    /// `structureEnd` rounded up to 128, plus the block; nil past the cap.
    public static func appended(to structureEnd: Int?, slots: Int) -> Int? {
        guard let structureEnd else { return nil }
        let aligned = (structureEnd + slotSize - 1) & ~(slotSize - 1)
        guard aligned <= Int(RegionLayout.maximumRegionSize) - blockSize(slots: slots) else { return nil }
        return aligned + blockSize(slots: slots)
    }

    /// Offset of the block in a region of `regionSize` bytes.
    public static func blockOffset(regionSize: Int, slots: Int) -> Int { regionSize - blockSize(slots: slots) }
}
