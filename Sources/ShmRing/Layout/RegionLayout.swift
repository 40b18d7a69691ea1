/// The shared-memory layout of every ShmRing region, offset by offset, in one
/// place (after Aeron/Agrona's `*Descriptor` classes). docs/design.md mirrors
/// this file; change both together and bump `layoutVersion` on any change.
///
/// Every region starts with a 128-byte header (two cache lines, so the
/// structure's first hot line never shares an adjacent-line prefetch pair with
/// the header):
///
/// | offset | size | field            | meaning                                            |
/// |-------:|-----:|------------------|----------------------------------------------------|
/// |      0 |    8 | magic            | `RegionLayout.magic` ("SHMRING1" little-endian)    |
/// |      8 |    4 | layoutVersion    | `RegionLayout.layoutVersion`                        |
/// |     12 |    4 | structureKind    | `StructureKind` raw value                           |
/// |     16 |    8 | totalSize        | bytes in the whole region, header included         |
/// |     24 |    8 | capacity         | slots (power of two for rings)                      |
/// |     32 |    8 | slotSize         | message bytes per slot                              |
/// |     40 |    8 | creatorPid       | pid of the creating process                         |
/// |     48 |    8 | initState        | 0 = initialising, 1 = ready (release-stored last)  |
/// |     56 |    8 | headerChecksum   | FNV-1a over bytes 0..<48 and 64..<128               |
/// |     64 |   48 | parameters       | six u64 words owned by the structure kind           |
/// |    112 |    8 | keyFileDevice    | sysv named: st_dev of the key file ftok hashed; else 0 |
/// |    120 |    8 | keyFileInode     | sysv named: st_ino of that key file; else 0         |
///
/// The key file's identity is the segment's real name: ftok keeps only 16
/// bits of the inode and 8 of the device, so another key file can hash to the
/// same key. An opener and every remover compare these two words with the key
/// file they started from (`SharedRegion`) and refuse a segment that names
/// another one. The creator stores them right after attaching, before anything
/// else, so even a segment whose creator died before its header carries them.
///
/// The structure's own area starts at `headerSize` (128). The lock arena's
/// area is laid out in `LockArenaLayout` (LockArenaLayout.swift, next to this file).
public enum RegionLayout {
    public static let magic: UInt64 = 0x3147_4E49_524D_4853 // "SHMRING1"
    /// 2: the SPSC ring gained the endpoint area (owners, end of stream,
    /// wait words); the record ring appeared; the semaphore queue gained its
    /// repair line and its five-semaphore set. 3: the last two parameter
    /// words hold a SysV segment's key file identity (device, inode), and
    /// the record ring gained its stream-end words (aborted, consumer
    /// failure, consumed by). 4: every kind with endpoints ends with a
    /// counters block (`CountersLayout`), additive: nothing else moved.
    public static let layoutVersion: UInt32 = 4
    public static let headerSize = 128

    public static let magicOffset = 0
    public static let versionOffset = 8
    public static let kindOffset = 12
    public static let totalSizeOffset = 16
    public static let capacityOffset = 24
    public static let slotSizeOffset = 32
    public static let creatorPidOffset = 40
    public static let initStateOffset = 48
    public static let checksumOffset = 56
    public static let parametersOffset = 64
    /// Parameter words a structure kind may use (the last two of the eight
    /// are the key file identity below).
    public static let parameterCount = 6
    public static let keyFileDeviceOffset = 112
    public static let keyFileInodeOffset = 120

    public static let stateInitialising: UInt64 = 0
    public static let stateReady: UInt64 = 1

    /// Separation between the producer's and the consumer's hot words. 128
    /// rather than 64 bytes keeps them off the same adjacent-line-prefetch
    /// pair; docs/design.md records the measurement that chose it.
    public static let hotLineSeparation = 128

    /// Smallest and largest message a slot may hold.
    public static let minimumSlotSize = 8
    public static let maximumSlotSize = 16 << 20
    public static let maximumCapacity = 1 << 30
    /// Regions are capped so that size arithmetic never overflows.
    public static let maximumRegionSize: UInt64 = 1 << 46
}

/// What a region holds. Stored in the header at offset 12.
public enum StructureKind: UInt32, Sendable, CustomStringConvertible {
    case spscRing = 1
    case mpmcSemaphoreQueue = 2
    case mpmcLockFreeQueue = 3
    case lockArena = 4
    case benchControl = 5
    case recordRing = 6
    case exchange = 7
    case broadcastRing = 8

    public var description: String {
        switch self {
        case .spscRing: "SPSC ring"
        case .mpmcSemaphoreQueue: "semaphore-guarded MPMC queue"
        case .mpmcLockFreeQueue: "lock-free MPMC queue"
        case .lockArena: "lock arena"
        case .benchControl: "benchmark control block"
        case .recordRing: "record ring"
        case .exchange: "request/response exchange"
        case .broadcastRing: "broadcast ring"
        }
    }
}

/// The endpoint area both rings (`SPSCRing`, `RecordRing`) start with, right
/// after the header: who owns each end, end of stream, and the words the
/// wait strategies sleep on (see `Endpoint` and docs/design.md). Three lines,
/// each written by one side only except the wait line:
///
/// | offset | size | field              | written by | meaning                                                   |
/// |-------:|-----:|--------------------|------------|-----------------------------------------------------------|
/// |    128 |    8 | producerPosition   | producer   | record ring: published write position; SPSC: unused (0)    |
/// |    136 |    8 | producerOwner      | producer   | `ProcessIdentity.packed` of the claimant, 0 = unclaimed    |
/// |    144 |    8 | endOfStream        | producer   | 0 = open; p + 1 = closed after position p (release)        |
/// |    152 |    8 | producerWaitingAt  | producer   | 0, or w + 1 while blocked for space at write position w   |
/// |    256 |    8 | readPosition       | consumer   | next position to read; slots below it may be reused       |
/// |    264 |    8 | consumerOwner      | consumer   | as producerOwner                                          |
/// |    272 |    8 | consumerWaitingAt  | consumer   | 0, or r + 1 while blocked for data at read position r     |
/// |    384 |    4 | consumerWake       | producer   | futex word the consumer sleeps on; bumped to wake it      |
/// |    388 |    4 | consumerSleeping   | both       | 1: the consumer is (about to be) asleep (cleared by waker)|
/// |    392 |    4 | producerWake       | consumer   | futex word the producer sleeps on                         |
/// |    396 |    4 | producerSleeping   | both       | 1: the producer is (about to be) asleep                   |
/// |    400 |    4 | consumerParks      | consumer   | 1 while the consumer's strategy is `park` or `backoff`    |
/// |    404 |    4 | producerParks      | producer   | 1 while the producer's strategy is `park` or `backoff`    |
/// |    408 |    8 | creatorIdentity    | creator    | `ProcessIdentity.packed` of the creating process          |
/// |    416 |    8 | corruption         | both       | non-zero once either side found the ring corrupt          |
///
/// Record ring only (`RecordRingStreamEnds.swift`), at the far end of their lines:
///
/// | offset | size | field              | written by | meaning                                                   |
/// |-------:|-----:|--------------------|------------|-----------------------------------------------------------|
/// |    224 |    8 | abortedAt          | producer   | 0 = not aborted; p + 1 = aborted after position p (release)|
/// |    232 |    8 | abortReason        | producer   | `StreamFailure` code, stored before abortedAt              |
/// |    352 |    8 | consumerFailure    | consumer   | `StreamFailure` code of a consumer that gave up; 0 = none  |
/// |    360 |    8 | consumedBy         | consumer   | pid of the consumer that read the stream to its end; 0 = none |
///
/// The ring's own data starts at `dataOffset` (512).
public enum EndpointLayout {
    public static let producerLineOffset = RegionLayout.headerSize
    public static let producerPositionOffset = producerLineOffset
    public static let producerOwnerOffset = producerLineOffset + 8
    public static let endOfStreamOffset = producerLineOffset + 16
    public static let producerWaitingAtOffset = producerLineOffset + 24
    public static let consumerLineOffset = producerLineOffset + RegionLayout.hotLineSeparation
    public static let readPositionOffset = consumerLineOffset
    public static let consumerOwnerOffset = consumerLineOffset + 8
    public static let consumerWaitingAtOffset = consumerLineOffset + 16
    public static let waitLineOffset = consumerLineOffset + RegionLayout.hotLineSeparation
    public static let consumerWakeOffset = waitLineOffset
    public static let consumerSleepingOffset = waitLineOffset + 4
    public static let producerWakeOffset = waitLineOffset + 8
    public static let producerSleepingOffset = waitLineOffset + 12
    public static let consumerParksOffset = waitLineOffset + 16
    public static let producerParksOffset = waitLineOffset + 20
    public static let creatorIdentityOffset = waitLineOffset + 24
    public static let corruptionOffset = waitLineOffset + 32
    public static let dataOffset = waitLineOffset + RegionLayout.hotLineSeparation
    // Record ring stream ends (see the table above), last words of their lines.
    public static let abortedAtOffset = producerLineOffset + 96
    public static let abortReasonOffset = producerLineOffset + 104
    public static let consumerFailureOffset = consumerLineOffset + 96
    public static let consumedByOffset = consumerLineOffset + 104
}

/// The SPSC ring's area: the endpoint area (`EndpointLayout`, 128..<512),
/// then the slots (see `SPSCRing` for why):
///
/// | offset                  | size            | field                                   |
/// |------------------------:|----------------:|-----------------------------------------|
/// | 128                     | 384             | endpoint area (`EndpointLayout`)        |
/// | 512                     | capacity×stride | slots                                   |
/// | end, rounded up to 128  | 2 × 128         | counters block (`CountersLayout`)       |
///
/// Each slot is `stride` bytes: an 8-byte sequence word, then the message.
/// `stride` = 8 + slotSize rounded up to 8, and to a multiple of 64 once it
/// exceeds 64, so that large slots start on a cache line.
/// A slot at position p is full when its sequence word equals p + 1.
public enum SPSCLayout {
    public static let producerLineOffset = EndpointLayout.producerLineOffset
    public static let readPositionOffset = EndpointLayout.readPositionOffset
    public static let slotsOffset = EndpointLayout.dataOffset
    public static let sequenceWordSize = 8

    public static func stride(slotSize: Int) -> Int {
        let raw = (sequenceWordSize + slotSize + 7) & ~7
        return raw <= 64 ? raw : (raw + 63) & ~63
    }

    /// Total region size, or nil when the parameters would overflow the cap.
    public static func regionSize(capacity: Int, slotSize: Int) -> Int? {
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: stride(slotSize: slotSize))
        guard !overflow, bytes <= Int(RegionLayout.maximumRegionSize) else { return nil }
        return CountersLayout.appended(to: slotsOffset + bytes, slots: CountersLayout.slots(for: .spscRing))
    }
}

/// The semaphore-guarded MPMC queue's area, after the header (see
/// `MPMCSemaphoreQueue`):
///
/// | offset | size            | field                                                        |
/// |-------:|----------------:|--------------------------------------------------------------|
/// |    128 | 8 (+120 pad)    | enqueue line: `tail`, next position to write (u64)            |
/// |    256 | 8 (+120 pad)    | dequeue line: `head`, next position to read (u64)             |
/// |    384 | 8               | intent: operation of the mutex holder (0 none, 1 push, 2 pop) |
/// |    392 | 8               | intent: permits the holder took (its batch size)              |
/// |    400 | 8               | intent: `tail` (push) or `head` (pop) when it started         |
/// |    408 | 8               | repairs: how often a holder repaired after a death (counter)  |
/// |    416 | 8               | name retired: 1 once the region's name was removed            |
/// |    424 | 88              | reserved (zero)                                               |
/// |    512 | capacity×stride | slots: the message only, no per-slot word                    |
/// | end↑128 | 16 × 128       | counters block, one slot per process (`CountersLayout`)       |
///
/// `stride` = slotSize rounded up to 8, and to a multiple of 64 once it
/// exceeds 64. Every word from 128 to 424 changes only under the set's mutex
/// semaphore; the slot of position p is `p & (capacity - 1)`. Header
/// parameter 0 holds the semaphore set's IPC key (0 for IPC_PRIVATE), so an
/// opener can check that the set it derives belongs to this region. The set,
/// separate from the region, has five semaphores: 0 free slots (starts at
/// capacity), 1 filled slots (starts at 0), 2 mutex (starts at 1, taken with
/// SEM_UNDO), 3 busy (1 while a holder is inside the critical section, no
/// undo: still 1 after a holder's death, which is how the next holder knows
/// to repair), 4 users (processes attached, each +1 with SEM_UNDO).
public enum MPMCSemaphoreLayout {
    public static let tailOffset = RegionLayout.headerSize
    public static let headOffset = tailOffset + RegionLayout.hotLineSeparation
    public static let intentLineOffset = headOffset + RegionLayout.hotLineSeparation
    public static let intentOperationOffset = intentLineOffset
    public static let intentCountOffset = intentLineOffset + 8
    public static let intentPositionOffset = intentLineOffset + 16
    public static let repairCountOffset = intentLineOffset + 24
    public static let nameRetiredOffset = intentLineOffset + 32
    public static let slotsOffset = intentLineOffset + RegionLayout.hotLineSeparation
    public static let semaphoreKeyParameter = 0

    public static let intentNone: UInt64 = 0
    public static let intentPush: UInt64 = 1
    public static let intentPop: UInt64 = 2

    public static let freeSlotsSemaphore: UInt16 = 0
    public static let filledSlotsSemaphore: UInt16 = 1
    public static let mutexSemaphore: UInt16 = 2
    public static let busySemaphore: UInt16 = 3
    public static let usersSemaphore: UInt16 = 4
    public static let semaphoreCount = 5
    /// The free-slot semaphore starts at `capacity`, which must fit SEMVMX
    /// (32767): the largest power of two that does.
    public static let maximumCapacity = 1 << 14

    public static func stride(slotSize: Int) -> Int {
        let raw = (slotSize + 7) & ~7
        return raw <= 64 ? raw : (raw + 63) & ~63
    }

    /// Total region size, or nil when the parameters would overflow the cap.
    public static func regionSize(capacity: Int, slotSize: Int) -> Int? {
        CountersLayout.appended(to: RegionLayout.slotArraySize(offset: slotsOffset, capacity: capacity, stride: stride(slotSize: slotSize)),
                                slots: CountersLayout.slots(for: .mpmcSemaphoreQueue))
    }
}

/// The lock-free MPMC queue's area, after the header (see `MPMCLockFreeQueue`):
///
/// | offset | size            | field                                                  |
/// |-------:|----------------:|--------------------------------------------------------|
/// |    128 | 8 (+120 pad)    | enqueue line: `enqueuePosition` (u64), producers' CAS   |
/// |    256 | 8 (+120 pad)    | dequeue line: `dequeuePosition` (u64), consumers' CAS   |
/// |    384 | capacity×stride | slots: 8-byte sequence word, then the message           |
/// | end↑128 | 16 × 128       | counters block, one slot per process (`CountersLayout`) |
///
/// `stride` is the SPSC ring's (`SPSCLayout.stride`). The sequence word of
/// the slot for position p reads 2p when the slot is free for p's producer and
/// 2p + 1 when it holds p's message; a consumer frees it for the next lap with
/// 2(p + capacity). The creator initialises slot i's word to 2i.
public enum MPMCLockFreeLayout {
    public static let enqueuePositionOffset = RegionLayout.headerSize
    public static let dequeuePositionOffset = enqueuePositionOffset + RegionLayout.hotLineSeparation
    public static let slotsOffset = dequeuePositionOffset + RegionLayout.hotLineSeparation
    public static let sequenceWordSize = SPSCLayout.sequenceWordSize

    public static func stride(slotSize: Int) -> Int { SPSCLayout.stride(slotSize: slotSize) }

    /// Total region size, or nil when the parameters would overflow the cap.
    public static func regionSize(capacity: Int, slotSize: Int) -> Int? {
        CountersLayout.appended(to: RegionLayout.slotArraySize(offset: slotsOffset, capacity: capacity, stride: stride(slotSize: slotSize)),
                                slots: CountersLayout.slots(for: .mpmcLockFreeQueue))
    }
}

extension RegionLayout {
    /// `offset` + capacity × stride, or nil past `maximumRegionSize`.
    static func slotArraySize(offset: Int, capacity: Int, stride: Int) -> Int? {
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: stride)
        guard !overflow, bytes <= Int(maximumRegionSize) - offset else { return nil }
        return offset + bytes
    }
}

/// The record ring's area (see `RecordRing`): the endpoint area, whose
/// `producerPosition` word is the published write position (a byte
/// position, release-stored by `commit`), then a byte ring:
///
/// | offset | size     | field                                              |
/// |-------:|---------:|----------------------------------------------------|
/// |    128 |      384 | endpoint area (`EndpointLayout`)                    |
/// |    512 | capacity | records, each 8-byte aligned                        |
/// | end↑128 | 2 × 128 | counters block (`CountersLayout`)                   |
///
/// Header fields: `capacity` = bytes in the byte ring (a power of two, at
/// least `minimumCapacity`), `slotSize` = the largest record payload, at
/// most `capacity - recordHeaderSize` and `maximumRecordLength`.
///
/// Each record is an 8-byte header, then the payload, padded to 8 bytes:
///
/// | offset | size | field  | meaning                                        |
/// |-------:|-----:|--------|------------------------------------------------|
/// |      0 |    4 | length | payload bytes (u32)                             |
/// |      4 |    4 | type   | 1 = record, 2 = padding to the end of the ring  |
///
/// A record never wraps: when it does not fit before the end, a padding
/// record fills the rest and the record starts at offset 0. Positions grow
/// by 8 + length rounded up to 8; the byte of position p is `p & (capacity - 1)`.
public enum RecordLayout {
    public static let dataOffset = EndpointLayout.dataOffset
    public static let recordHeaderSize = 8
    public static let recordType: UInt32 = 1
    public static let paddingType: UInt32 = 2
    public static let minimumCapacity = 64
    public static let maximumCapacity = 1 << 40
    /// The largest payload any record ring accepts (the u32 length field
    /// could say more; 1 GiB keeps every sum far from overflow).
    public static let maximumRecordLength = 1 << 30

    /// Bytes a record of `length` payload bytes takes in the ring.
    @inlinable
    public static func footprint(length: Int) -> Int { recordHeaderSize + (length + 7) & ~7 }

    /// Total region size, or nil past `RegionLayout.maximumRegionSize`.
    public static func regionSize(capacity: Int) -> Int? {
        guard capacity <= Int(RegionLayout.maximumRegionSize) - dataOffset else { return nil }
        return CountersLayout.appended(to: dataOffset + capacity, slots: CountersLayout.slots(for: .recordRing))
    }
}
