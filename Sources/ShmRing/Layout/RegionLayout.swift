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
/// |     64 |   64 | parameters       | eight u64 words owned by the structure kind         |
///
/// The structure's own area starts at `headerSize` (128). The lock arena's
/// area is laid out in `LockArenaLayout` (LockArenaLayout.swift, next to this file).
public enum RegionLayout {
    public static let magic: UInt64 = 0x3147_4E49_524D_4853 // "SHMRING1"
    /// 2: the semaphore queue's repair line and its five-semaphore set.
    public static let layoutVersion: UInt32 = 2
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
    public static let parameterCount = 8

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

    public var description: String {
        switch self {
        case .spscRing: "SPSC ring"
        case .mpmcSemaphoreQueue: "semaphore-guarded MPMC queue"
        case .mpmcLockFreeQueue: "lock-free MPMC queue"
        case .lockArena: "lock arena"
        case .benchControl: "benchmark control block"
        }
    }
}

/// The SPSC ring's area, after the header (see `SPSCRing` for why):
///
/// | offset                  | size            | field                                   |
/// |------------------------:|----------------:|-----------------------------------------|
/// | 128                     | 128             | producer line: reserved, never shared   |
/// | 256                     | 8 (+120 pad)    | consumer line: `readPosition` (u64)      |
/// | 384                     | capacity×stride | slots                                   |
///
/// Each slot is `stride` bytes: an 8-byte sequence word, then the message.
/// `stride` = 8 + slotSize rounded up to 8, and to a multiple of 64 once it
/// exceeds 64, so that large slots start on a cache line.
/// A slot at position p is full when its sequence word equals p + 1.
public enum SPSCLayout {
    public static let producerLineOffset = RegionLayout.headerSize
    public static let readPositionOffset = producerLineOffset + RegionLayout.hotLineSeparation
    public static let slotsOffset = readPositionOffset + RegionLayout.hotLineSeparation
    public static let sequenceWordSize = 8

    public static func stride(slotSize: Int) -> Int {
        let raw = (sequenceWordSize + slotSize + 7) & ~7
        return raw <= 64 ? raw : (raw + 63) & ~63
    }

    /// Total region size, or nil when the parameters would overflow the cap.
    public static func regionSize(capacity: Int, slotSize: Int) -> Int? {
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: stride(slotSize: slotSize))
        guard !overflow, bytes <= Int(RegionLayout.maximumRegionSize) else { return nil }
        return slotsOffset + bytes
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
        RegionLayout.slotArraySize(offset: slotsOffset, capacity: capacity, stride: stride(slotSize: slotSize))
    }
}

/// The lock-free MPMC queue's area, after the header (see `MPMCLockFreeQueue`):
///
/// | offset | size            | field                                                  |
/// |-------:|----------------:|--------------------------------------------------------|
/// |    128 | 8 (+120 pad)    | enqueue line: `enqueuePosition` (u64), producers' CAS   |
/// |    256 | 8 (+120 pad)    | dequeue line: `dequeuePosition` (u64), consumers' CAS   |
/// |    384 | capacity×stride | slots: 8-byte sequence word, then the message           |
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
        RegionLayout.slotArraySize(offset: slotsOffset, capacity: capacity, stride: stride(slotSize: slotSize))
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
