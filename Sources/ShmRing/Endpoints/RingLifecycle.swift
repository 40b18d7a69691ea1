import CShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The life of a named ring, shared by `SPSCRing` and `RecordRing`: waiting
/// for a ring to be created, create-or-open, removing a name, and reclaiming
/// a name whose creator and endpoints are all gone.
///
/// # Who removes a named ring
/// * The creator's last reference to the region removes the name (as every
///   region does), **unless** the producer closed the stream in the creator's
///   process (`Producer.close()`): then the name stays for the consumer, so a
///   producer may write, close and exit before the consumer even starts.
/// * The consumer that reaches the end of the stream removes the name.
/// * Anyone may remove it explicitly (`RingNames.remove`), and
///   `RingNames.removeStale` (or `create(..., reclaimStale: true)`) removes
///   it only when its creator and both endpoints are gone (what a
///   SIGKILLed pipeline leaves behind), except a closed stream that still
///   holds undelivered messages (it waits for its consumer) and a ring not
///   yet published (it may be being created).
/// Removing a name never unmaps: processes that have the ring keep using it.
enum RingLifecycle {
    /// How often `open` polls for a ring that does not exist yet.
    static let creationPollNs: UInt64 = 5_000_000

    /// Maps the named region and validates it with `attach`, waiting up to
    /// `waitSeconds` for it to be created (SharedRegion's bounded wait);
    /// a ring still missing then is `timedOut` when a wait was asked for.
    static func open<R>(backing: RegionBacking, name: String, options: RegionOptions, waitSeconds: Double,
                        attach: (SharedRegion) throws(ShmError) -> R) throws(ShmError) -> R {
        var waiting = options
        waiting.waitForCreationSeconds = max(options.waitForCreationSeconds, waitSeconds)
        do throws(ShmError) {
            return try attach(try SharedRegion.open(backing: backing, name: name, options: waiting))
        } catch .noSuchRegion(let missing) where waiting.waitForCreationSeconds > 0 {
            throw .timedOut(operation: "waiting for ring '\(missing)' to be created", seconds: waiting.waitForCreationSeconds)
        }
    }

    /// Opens the ring if it exists, creates it otherwise; a creator racing
    /// us wins and we open its ring. Bounded to a few rounds.
    static func openOrCreate<R>(name: String, open: () throws(ShmError) -> R,
                                create: () throws(ShmError) -> R,
                                shapeMismatch: (R) -> String?) throws(ShmError) -> R {
        var lastError = ShmError.noSuchRegion(name: name)
        for _ in 0..<4 {
            do throws(ShmError) { return try checked(try open(), shapeMismatch) } catch .noSuchRegion { } // absent: create it
            do throws(ShmError) { return try create() } catch { lastError = error } // taken meanwhile: open again
        }
        throw lastError
    }

    /// An opened ring whose shape differs from the one asked for is an error
    /// (`shapeMismatch` says how), not a ring the caller would misuse.
    private static func checked<R>(_ ring: R, _ shapeMismatch: (R) -> String?) throws(ShmError) -> R {
        if let mismatch = shapeMismatch(ring) { throw .invalidArgument(mismatch) }
        return ring
    }

    /// Creates with `create`; if that fails and `reclaimStale` is set and the
    /// name is held by a stale ring, removes it and creates again (once).
    static func creating<R>(backing: RegionBacking, name: String?, options: RegionOptions, reclaimStale: Bool,
                            _ create: () throws(ShmError) -> R) throws(ShmError) -> R {
        do throws(ShmError) {
            return try create()
        } catch {
            guard reclaimStale, let name, try removeStale(backing: backing, name: name, options: options) else { throw error }
            return try create()
        }
    }

    // MARK: Removing names

    /// The consumer reached the end of the stream: the name has served.
    /// Removes this ring's own name only (`SharedRegion.removeName`: the
    /// file or segment this region maps, identity checked, under the name's
    /// lock), never a newer ring that took the name meanwhile.
    /// `naming` nil: an unnamed ring.
    static func removeNameAtEnd(_ region: SharedRegion, naming: RegionOptions?) {
        guard naming != nil else { return }
        region.removeName()
    }

    /// Removes the name: the mmap file, or the SysV segment and its key file
    /// (`SharedRegion.removeName`, which refuses untrusted owners and a
    /// segment that belongs to another key file). Returns false if there was
    /// nothing to remove.
    @discardableResult
    static func remove(backing: RegionBacking, name: String, options: RegionOptions) throws(ShmError) -> Bool {
        try SharedRegion.removeName(backing: backing, name: name, options: options)
    }

    /// Test hook: runs after a ring was judged stale and before its name is
    /// removed, under the name's lock (RingNameRaceTests widens the window
    /// that two concurrent reclaims once raced through). Nil in production.
    nonisolated(unsafe) static var afterJudgingStale: (() -> Void)?

    /// Removes the named ring if it is stale: whoever created it and whoever
    /// held either end are all gone. Returns false (and touches nothing) if
    /// the name does not exist or anything there is alive. A region that is
    /// not a ring of this library is never removed (typed error).
    ///
    /// The judgement and the removal happen under the name's lock
    /// (`NameLock`), and the removal goes through the very region judged
    /// (its file's device and inode, its segment id): a ring created under
    /// the name after another reclaimer removed the judged one is never
    /// touched, and two reclaimers cannot both succeed.
    static func removeStale(backing: RegionBacking, name: String, options: RegionOptions) throws(ShmError) -> Bool {
        let location = try RegionLocation(name: name, backing: backing, options: options)
        return try NameLock.holding(location) { () throws(ShmError) -> Bool in
            // Never wait for a creator here: it needs this lock to create.
            var now = options
            now.waitForCreationSeconds = 0
            let region: SharedRegion
            do throws(ShmError) {
                region = try SharedRegion.open(backing: backing, name: name, options: now)
            } catch .noSuchRegion {
                return false
            }
            guard try isStale(region) else { return false }
            afterJudgingStale?()
            region.removeNameHoldingLock()
            return true
        }
    }

    /// Whether the creator and both endpoint owners of a ring region are
    /// gone, by the region's witness (`RegionWitness.judge`): a holder whose
    /// liveness cannot be judged counts as alive, so the ring is not stale.
    static func isStale(_ region: SharedRegion) throws(ShmError) -> Bool {
        guard region.size >= EndpointLayout.dataOffset else {
            throw .sizeMismatch(name: region.name, headerSays: UInt64(EndpointLayout.dataOffset), actual: UInt64(region.size))
        }
        let base = region.base
        // Acquire: pairs with the creator's release in `publishReady`.
        let state = cshim_load_acquire((base + RegionLayout.initStateOffset).assumingMemoryBound(to: UInt64.self))
        // A ring not yet published may be in the middle of its creation (a
        // large one prefaults for seconds): never judged stale. One whose
        // creator died before publishing it is removed with `RingNames.remove`.
        guard state == RegionLayout.stateReady else { return false }
        // Through an orphaned key file whose key a live ring now uses: not
        // this name's ring, never judged (nor removed) under this name.
        try region.checkKeyFileIdentity()
        let magic = base.load(fromByteOffset: RegionLayout.magicOffset, as: UInt64.self)
        guard magic == RegionLayout.magic else { throw .notARing(name: region.name, magic: magic) }
        let kind = base.load(fromByteOffset: RegionLayout.kindOffset, as: UInt32.self)
        guard kind == StructureKind.spscRing.rawValue || kind == StructureKind.recordRing.rawValue
                || kind == StructureKind.exchange.rawValue else {
            throw .wrongStructure(name: region.name, expected: "ring", found: StructureKind(rawValue: kind)?.description ?? "kind \(kind)")
        }
        func word(_ offset: Int) -> UInt64 {
            // Acquire: pairs with the claims' CAS; monitoring needs no more.
            cshim_load_acquire((base + offset).assumingMemoryBound(to: UInt64.self))
        }
        func gone(_ offset: Int, _ role: WitnessRole) -> Bool {
            region.witness.judge((base + offset).assumingMemoryBound(to: UInt64.self), as: role).isGone
        }
        // Recorded before the ring was published, so it is there.
        guard gone(EndpointLayout.creatorIdentityOffset, .creator) else { return false }
        // A closed stream its consumer has not drained yet waits for it: its
        // producer may well have written, closed and exited on purpose.
        // (An exchange has no undelivered messages to wait for: a request
        // needs its client there for the response.)
        let end = word(EndpointLayout.endOfStreamOffset)
        if end != 0, kind != StructureKind.exchange.rawValue, word(EndpointLayout.readPositionOffset) != end &- 1 { return false }
        return gone(EndpointLayout.producerOwnerOffset, .producer) && gone(EndpointLayout.consumerOwnerOffset, .consumer)
    }
}

/// Removing ring names by hand (what `ringbench rm` does), for both kinds
/// of ring. See `RingLifecycle` for who removes a name otherwise.
public enum RingNames {
    /// Removes the name of a ring (the mmap file, or the SysV segment and its
    /// key file) now; processes that have the ring keep using it. Returns
    /// false if there was nothing to remove.
    @discardableResult
    public static func remove(backing: RegionBacking, name: String, options: RegionOptions = RegionOptions()) throws(ShmError) -> Bool {
        try RingLifecycle.remove(backing: backing, name: name, options: options)
    }

    /// Removes the named ring only if it is stale: its creator and whoever
    /// held either end are all gone (dead, or released). Returns whether it
    /// did; a live ring is left alone, a region that is not a ring is a
    /// typed error.
    @discardableResult
    public static func removeStale(backing: RegionBacking, name: String, options: RegionOptions = RegionOptions()) throws(ShmError) -> Bool {
        try RingLifecycle.removeStale(backing: backing, name: name, options: options)
    }

    /// Whether the named ring is stale (see `removeStale`); false if absent.
    public static func isStale(backing: RegionBacking, name: String, options: RegionOptions = RegionOptions()) throws(ShmError) -> Bool {
        do throws(ShmError) {
            return try RingLifecycle.isStale(SharedRegion.open(backing: backing, name: name, options: options))
        } catch .noSuchRegion {
            return false
        }
    }
}

extension Endpoint {
    /// Stores the creator's identity (the label) and takes the creator's
    /// witness lock, which the creator's region object holds for its
    /// lifetime; call before `RegionHeader.publishReady` (whose release
    /// store publishes the label).
    static func recordCreator(_ region: SharedRegion) throws(ShmError) {
        try region.witness.holdCreator(for: region.name)
        let me = ProcessIdentity.current() ?? ProcessIdentity(pid: getpid(), startTime: 0)
        region.base.storeBytes(of: me.packed, toByteOffset: EndpointLayout.creatorIdentityOffset, as: UInt64.self)
    }
}

extension SharedRegion {
    /// The creator's deinit will leave the name in place: the stream was
    /// closed and its consumer removes the name at its end.
    func keepNameForConsumer() { removesNameOnDeinit = false }
}
