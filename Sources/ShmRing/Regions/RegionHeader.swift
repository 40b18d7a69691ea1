import CShim
#if canImport(Glibc)
import Glibc
#endif

/// The validated contents of a region header (see `RegionLayout`).
public struct RegionHeader: Sendable, Equatable {
    public var kind: StructureKind
    public var totalSize: UInt64
    public var capacity: UInt64
    public var slotSize: UInt64
    public var creatorPid: Int32
    public var parameters: [UInt64]

    public init(kind: StructureKind, totalSize: Int, capacity: Int, slotSize: Int, parameters: [UInt64] = []) {
        self.kind = kind
        self.totalSize = UInt64(totalSize)
        self.capacity = UInt64(capacity)
        self.slotSize = UInt64(slotSize)
        self.creatorPid = getpid()
        self.parameters = parameters
    }
}

extension RegionHeader {
    /// Writes every header field except `initState` (left at 0) and the key
    /// file identity (`SharedRegion.create` stored it; the checksum covers
    /// it). Call on a freshly created, zero-filled region, then initialise
    /// the structure, then `publishReady`.
    public func write(to region: SharedRegion) {
        precondition(region.size >= RegionLayout.headerSize && parameters.count <= RegionLayout.parameterCount)
        let b = region.base
        b.storeBytes(of: RegionLayout.magic, toByteOffset: RegionLayout.magicOffset, as: UInt64.self)
        b.storeBytes(of: RegionLayout.layoutVersion, toByteOffset: RegionLayout.versionOffset, as: UInt32.self)
        b.storeBytes(of: kind.rawValue, toByteOffset: RegionLayout.kindOffset, as: UInt32.self)
        b.storeBytes(of: totalSize, toByteOffset: RegionLayout.totalSizeOffset, as: UInt64.self)
        b.storeBytes(of: capacity, toByteOffset: RegionLayout.capacityOffset, as: UInt64.self)
        b.storeBytes(of: slotSize, toByteOffset: RegionLayout.slotSizeOffset, as: UInt64.self)
        b.storeBytes(of: UInt64(UInt32(bitPattern: creatorPid)), toByteOffset: RegionLayout.creatorPidOffset, as: UInt64.self)
        for (i, p) in parameters.enumerated() {
            b.storeBytes(of: p, toByteOffset: RegionLayout.parametersOffset + 8 * i, as: UInt64.self)
        }
        b.storeBytes(of: Self.checksum(b), toByteOffset: RegionLayout.checksumOffset, as: UInt64.self)
    }

    /// Marks the region ready. Release: every header and structure write the
    /// creator made before this store is visible to an opener whose acquire
    /// load reads `ready`.
    public static func publishReady(_ region: SharedRegion) {
        cshim_store_release(stateWord(region), RegionLayout.stateReady)
    }

    static func stateWord(_ region: SharedRegion) -> UnsafeMutablePointer<UInt64> {
        (region.base + RegionLayout.initStateOffset).assumingMemoryBound(to: UInt64.self)
    }

    /// FNV-1a over the header's bytes except the state and checksum words.
    static func checksum(_ base: UnsafeRawPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<RegionLayout.headerSize where i < RegionLayout.initStateOffset || i >= RegionLayout.parametersOffset {
            h = (h ^ UInt64(base.load(fromByteOffset: i, as: UInt8.self))) &* 0x100_0000_01b3
        }
        return h
    }

    /// Waits (boundedly) for the creator to publish the region, then checks
    /// every field against the real mapping, and only then prefaults an
    /// opener's mapping (`RegionOptions.prefault`). Throws a typed error for
    /// each way a region can be wrong; never reads outside the mapping.
    public static func validate(_ region: SharedRegion, expecting kind: StructureKind,
                                timeoutSeconds: Double) throws(ShmError) -> RegionHeader {
        let name = region.name
        guard region.size >= RegionLayout.headerSize else {
            throw .sizeMismatch(name: name, headerSays: UInt64(RegionLayout.headerSize), actual: UInt64(region.size))
        }
        let b = UnsafeRawPointer(region.base)
        let magic = b.load(fromByteOffset: RegionLayout.magicOffset, as: UInt64.self)
        // A creator that has not written the magic yet looks like garbage only
        // while the state is still 0: wait for ready before judging the magic,
        // unless the bytes are clearly foreign (non-zero, wrong).
        if magic != 0 && magic != RegionLayout.magic { throw .notARing(name: name, magic: magic) }
        let deadline = try Deadline(seconds: timeoutSeconds, what: "openTimeoutSeconds")
        while true {
            // Acquire pairs with the creator's release in `publishReady`.
            let state = cshim_load_acquire(stateWord(region))
            if state == RegionLayout.stateReady { break }
            if state != RegionLayout.stateInitialising {
                throw .corruptedHeader(name: name, reason: "init state word is \(state), expected 0 or 1")
            }
            if deadline.expired {
                let m = b.load(fromByteOffset: RegionLayout.magicOffset, as: UInt64.self)
                if m != RegionLayout.magic { throw .notARing(name: name, magic: m) }
                throw .notReady(name: name, waitedSeconds: timeoutSeconds)
            }
            Deadline.pause()
        }
        let readyMagic = b.load(fromByteOffset: RegionLayout.magicOffset, as: UInt64.self)
        guard readyMagic == RegionLayout.magic else { throw .notARing(name: name, magic: readyMagic) }
        let version = b.load(fromByteOffset: RegionLayout.versionOffset, as: UInt32.self)
        guard version == RegionLayout.layoutVersion else {
            throw .incompatibleVersion(name: name, found: version, supported: RegionLayout.layoutVersion)
        }
        let stored = b.load(fromByteOffset: RegionLayout.checksumOffset, as: UInt64.self)
        guard stored == checksum(b) else {
            throw .corruptedHeader(name: name, reason: "header checksum mismatch")
        }
        // A SysV segment reached through a key file must name that key file.
        try region.checkKeyFileIdentity()
        let totalSize = b.load(fromByteOffset: RegionLayout.totalSizeOffset, as: UInt64.self)
        guard totalSize == UInt64(region.size) else {
            throw .sizeMismatch(name: name, headerSays: totalSize, actual: UInt64(region.size))
        }
        let rawKind = b.load(fromByteOffset: RegionLayout.kindOffset, as: UInt32.self)
        guard let found = StructureKind(rawValue: rawKind) else {
            throw .corruptedHeader(name: name, reason: "unknown structure kind \(rawKind)")
        }
        guard found == kind else {
            throw .wrongStructure(name: name, expected: kind.description, found: found.description)
        }
        let capacity = b.load(fromByteOffset: RegionLayout.capacityOffset, as: UInt64.self)
        let slotSize = b.load(fromByteOffset: RegionLayout.slotSizeOffset, as: UInt64.self)
        let pid = b.load(fromByteOffset: RegionLayout.creatorPidOffset, as: UInt64.self)
        guard pid <= UInt64(Int32.max) else {
            throw .corruptedHeader(name: name, reason: "creator pid \(pid) out of range")
        }
        var header = RegionHeader(kind: found, totalSize: Int(totalSize), capacity: 0, slotSize: 0)
        header.capacity = capacity
        header.slotSize = slotSize
        header.creatorPid = Int32(pid)
        header.parameters = (0..<RegionLayout.parameterCount).map {
            b.load(fromByteOffset: RegionLayout.parametersOffset + 8 * $0, as: UInt64.self)
        }
        // Only now is the mapping's size known to be the one the header
        // (checked above) describes: fault the pages in.
        if region.prefaultAfterValidation { try region.prefault(writing: false) }
        return header
    }
}
