/// The broadcast ring's area (see `BroadcastRing`, docs/design.md
/// "Broadcast ring"). It keeps the endpoint area's shape (`EndpointLayout`),
/// so the producer is an ordinary `Endpoint` (claim, park, corruption flag),
/// and adds the producer's broadcast words, one line per consumer slot, and
/// the byte ring:
///
/// | offset      | size | field             | written by | meaning                                                       |
/// |------------:|-----:|-------------------|------------|---------------------------------------------------------------|
/// |         128 |    8 | publishedPosition | producer   | end of the published records (release, `commit`)              |
/// |         136 |    8 | producerOwner     | producer   | as `EndpointLayout`                                           |
/// |         144 |    8 | endOfStream       | producer   | 0 open; p + 1 closed after position p (release)               |
/// |         152 |    8 | producerWaitingAt | producer   | as `EndpointLayout`                                           |
/// |         160 |    8 | oldestPosition    | producer   | first intact record; stored before bytes below it are reused |
/// |         168 |    8 | reuseLimit        | producer   | `.block`: no byte at or past it is reused before a re-scan    |
/// |         176 |    8 | lastRecord        | producer   | start of the last published record (or padding)               |
/// |         184 |    8 | slotHighWater     | consumers  | 1 + the highest consumer slot ever claimed                    |
/// |         264 |    8 | consumerOwner     | nobody     | always 0 (the endpoint area's single consumer is unused)      |
/// |         384 |    4 | consumersWake     | producer   | futex word every parked consumer sleeps on                    |
/// |         388 |    4 | consumersSleeping | both       | 1: some consumer may be asleep (cleared by the waker)         |
/// |         392 |    4 | producerWake      | consumers  | as `EndpointLayout`                                           |
/// |         396 |    4 | producerSleeping  | both       | as `EndpointLayout`                                           |
/// |         400 |    4 | parkingConsumers  | consumers  | `.park`/`.backoff` consumers: fenced + 0x10000 x membarrier   |
/// |         404 |    4 | producerParks     | producer   | as `EndpointLayout`                                           |
/// |         408 |    8 | creatorIdentity   | creator    | as `EndpointLayout`                                           |
/// |         416 |    8 | corruption        | all        | as `EndpointLayout`                                           |
/// | 512 + 128 i |    8 | slot i: cursor    | consumer i | next position it reads; `.block` gates the producer on it     |
/// | 520 + 128 i |    8 | slot i: owner     | consumer i | `ProcessIdentity.packed`, 0 = free                            |
/// | 528 + 128 i |    8 | slot i: parks     | consumer i | the unit it added to `parkingConsumers` (0: none)             |
/// | 536 + 128 i |    8 | slot i: lost      | consumer i | records it lost to overruns (for `ringbench inspect`)         |
/// | 512 + 128 N | capacity | records        | producer   | the byte ring                                                 |
/// | region end − 128 (N + 1) | 128 (N + 1) | counters | each its own | `CountersLayout` block: slot 0 the producer's, slot 1 + i consumer i's |
///
/// Header fields: `capacity` = bytes in the byte ring (a power of two),
/// `slotSize` = the largest payload (at most capacity / 2 - 32), parameter 0
/// = consumer slots N, parameter 1 = the policy (1 block, 2 overwrite, 3
/// evict), parameter 2 = the eviction timeout in nanoseconds (evict only:
/// 1 ns ... a day; else 0).
///
/// Records are the record ring's (`RecordFrame`) with a 16-byte header:
/// length (u32), type (u32), sequence (u64; a padding record carries the
/// sequence of the record after it), payload padded to 16 bytes.
public enum BroadcastLayout {
    public static let publishedPositionOffset = EndpointLayout.producerPositionOffset
    public static let oldestPositionOffset = EndpointLayout.producerLineOffset + 32
    public static let reuseLimitOffset = EndpointLayout.producerLineOffset + 40
    public static let lastRecordOffset = EndpointLayout.producerLineOffset + 48
    public static let slotHighWaterOffset = EndpointLayout.producerLineOffset + 56
    public static let consumersWakeOffset = EndpointLayout.consumerWakeOffset
    public static let consumersSleepingOffset = EndpointLayout.consumerSleepingOffset
    public static let parkingConsumersOffset = EndpointLayout.consumerParksOffset
    public static let slotsOffset = EndpointLayout.dataOffset
    public static let slotSize = RegionLayout.hotLineSeparation
    public static let slotCursor = 0
    public static let slotOwner = 8
    public static let slotParks = 16
    public static let slotLost = 24
    public static let recordHeaderSize = 16
    public static let sequenceOffsetInHeader = 8
    public static let maximumConsumers = 4096
    /// What a parking consumer adds to `parkingConsumers` (and keeps in its
    /// slot's `parks` word): the low half counts consumers that sleep after
    /// a plain fence (the producer must fence), the high half those that
    /// sleep after a membarrier (`AsymmetricFence`). 4096 consumers fit in
    /// either half.
    public static let parkingFencedUnit: UInt32 = 1
    public static let parkingAfterMembarrierUnit: UInt32 = 0x1_0000
    /// The unit a slot's `parks` word says it added (anything but the
    /// membarrier unit counts as fenced, the side that is always safe).
    static func parkingUnit(slotWord: UInt64) -> UInt32 {
        slotWord == UInt64(parkingAfterMembarrierUnit) ? parkingAfterMembarrierUnit : parkingFencedUnit
    }
    public static let minimumCapacity = 256
    public static let consumersParameter = 0
    public static let policyParameter = 1
    public static let evictAfterParameter = 2

    public static func dataOffset(consumers: Int) -> Int { slotsOffset + slotSize * consumers }

    /// The largest payload a ring of `capacity` bytes accepts: half the ring
    /// less a header, so the newest published record is never the one being
    /// overwritten (a joining consumer always finds a sequence number).
    public static func largestRecord(capacity: Int) -> Int {
        min(capacity / 2 - 2 * recordHeaderSize, RecordLayout.maximumRecordLength)
    }

    /// Total region size, or nil past `RegionLayout.maximumRegionSize`: the
    /// byte ring, then the counters block (`CountersLayout`), 1 + N slots:
    /// the producer's `Endpoint` counts in slot 0, consumer slot i in slot
    /// 1 + i (without the block, the producer's counters would land in the
    /// byte ring's last bytes).
    public static func regionSize(capacity: Int, consumers: Int) -> Int? {
        let data = dataOffset(consumers: consumers)
        guard capacity <= Int(RegionLayout.maximumRegionSize) - data else { return nil }
        return CountersLayout.appended(to: data + capacity, slots: CountersLayout.broadcastSlots(consumers: consumers))
    }
}
