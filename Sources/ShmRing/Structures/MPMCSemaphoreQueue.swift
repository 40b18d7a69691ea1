import CShim

/// A bounded multi-producer/multi-consumer queue of fixed-size slots in a
/// `SharedRegion`, guarded by one System V semaphore set of three: free
/// slots, filled slots, and a mutex over the positions. The textbook bounded
/// buffer (Dijkstra; Stevens, UNP vol. 2 §10), kept to show what the kernel
/// costs next to `MPMCLockFreeQueue`, which has the same API.
///
/// # Design
/// * A push takes k free-slot permits and the mutex in ONE non-blocking
///   semop (atomic: both or neither), writes k slots at `tail`, advances
///   `tail`, then releases the mutex and posts k filled-slot permits in a
///   second semop. A pop mirrors it. So an uncontended batch of k costs two
///   system calls however large k is, and `sem_op = -k` claims the whole batch.
/// * When that fails, a blocking call watches the positions briefly (no
///   system call). If the positions show enough ready, it takes the mutex
///   alone (a few non-blocking tries, then a sleeping semop) and, holding
///   it, takes what the positions show. If they show nothing, it sleeps until
///   a permit exists without taking it (`-k, +k` in one semop, in slices of
///   100 ms) and tries again. Permits are therefore only ever held together
///   with the mutex: that is what makes a death repairable (below). See
///   `enter` for why it never sleeps for both.
/// * The copy happens inside the mutex. With several producers the filled
///   count cannot name which slots are complete, so a slot may only become
///   claimable once its bytes are written; the mutex gives that for free.
/// * Invariant while the mutex is free: filled + (filled permits held by
///   poppers) = tail - head, and likewise for free slots: permits are posted
///   only after the positions moved. A pop that holds n filled permits and
///   the mutex therefore finds at least n messages between head and tail.
/// * A pop of "up to k" takes what is ready, up to k: the fast path asks for
///   min(k, ready by the positions), the slow path for min(k, ready) once it
///   holds the mutex; it never waits for a full batch.
///
/// # Memory order
/// `head`, `tail` and the intent line are read and written with relaxed
/// atomics only inside the mutex. semop is a system call that takes the
/// set's kernel lock: the release of the mutex happens-before the next
/// holder's acquisition (the kernel's lock and its wake-up are full
/// barriers), so slot bytes and positions written by one holder are visible
/// to the next, including one that takes over after the holder's death.
///
/// # A holder killed in the critical section (repair)
/// The mutex is taken and released with SEM_UNDO, so the kernel gives it
/// back when a holder dies (kill -9 included). The free/filled permits carry
/// no undo (a permit is taken by one process and posted by another, so an
/// undo would accumulate); instead:
/// 1. permits are only ever taken together with the mutex, and the same semop
///    raises the busy semaphore (no undo); the release semop posts the
///    permits, frees the mutex and lowers busy, all at once. So busy is 1
///    while the mutex is free only if its holder died inside;
/// 2. the holder records its intent (operation, count, start position) on
///    the intent line before moving a position and clears it just before its
///    release semop;
/// 3. the fast path's semop requires busy = 0, so after a death it fails;
///    whoever then sees work to do by the positions takes the mutex alone,
///    finds busy = 1 and
///    repairs: with nobody else holding permits, free = capacity - (tail - head)
///    and filled = tail - head exactly, so it sets both (SETVAL) and then
///    busy = 0. A recorded intent must agree with the positions (the dead
///    holder moved its position by 0 or by its whole count), else
///    `ShmError.corruptRing`. A message whose `tail` store happened is
///    delivered; one whose store did not is dropped with its producer; a pop
///    whose `head` store happened took its messages with it.
/// A repair that dies half-way leaves busy = 1, so the next holder repeats it.
///
/// # Timeouts
/// Blocking calls take an absolute deadline (`timeoutSeconds` nil or
/// .infinity: none; NaN or negative: `ShmError.invalidArgument`). The try
/// forms never wait for room or messages, but may wait for the mutex; if its
/// holder does not release it within `tryMutexTimeoutSeconds` (it is stopped,
/// e.g. SIGSTOP, or extremely slow), they throw `ShmError.timedOut`.
///
/// # Untrusted peer
/// `head`, `tail` and the intent come from shared memory: a distance above
/// `capacity` or below the permits held is `ShmError.corruptRing` (after the
/// mutex, the permits and busy are given back). Slot indices are masked, so
/// always in bounds.
///
/// # Naming and removal
/// The set's key is `ftok` of the region's file (the mmap file or the sysv
/// key file) with project id 'S' (`SemaphoreSet.projectID`), different from
/// the segment's; unnamed and anonymous regions use an IPC_PRIVATE set.
/// Every process that creates or opens the queue counts itself in the users
/// semaphore (+1 with SEM_UNDO, so a death uncounts it). The set is removed
/// by the last user to detach (when its queue values are all gone) once the
/// region's name has been removed (`removeName()`, or the creator's deinit);
/// `removeName()` itself removes the set at once when the caller is the only
/// user left. Processes forked from an attached process share its count and
/// never detach. A crashed last user leaves the set (users 0) next to the
/// region's stale name.
public struct MPMCSemaphoreQueue: MPMCQueue {
    public let region: SharedRegion
    public let semaphores: SemaphoreSet
    public let capacity: Int
    public let messageSize: Int
    @usableFromInline let stride: Int
    /// Detaches (and removes the set if last) when the last copy goes.
    let attachment: Attachment
    /// Test hook, read once at attach from `SHMRING_DEBUG_DIE_AT`: the
    /// process kills itself with SIGKILL when it reaches that point of the
    /// critical section (see `DeathPoint`). 0 (always, unless set) costs one
    /// predictable branch per batch.
    @usableFromInline let dieAt: UInt8
    /// This process's slot of the counters block (`CountersLayout`), shared
    /// by its threads: relaxed atomic adds, once per batch (inside the
    /// mutex, so never on the uncontended path's critical line).
    @usableFromInline let counters: EndpointCounters

    public static var structureKind: StructureKind { .mpmcSemaphoreQueue }
    public static var maximumCapacity: Int { MPMCSemaphoreLayout.maximumCapacity }
    /// How long a try form waits for the mutex before `ShmError.timedOut`.
    public static let tryMutexTimeoutSeconds: Double = 2

    public static func create(backing: RegionBacking, name: String?, capacity: Int, messageSize: Int,
                              options: RegionOptions = RegionOptions()) throws(ShmError) -> MPMCSemaphoreQueue {
        let region = try SlotShape.createRegion(backing: backing, name: name, capacity: capacity, messageSize: messageSize,
                                                 maximumCapacity: maximumCapacity, options: options,
                                                 regionSize: MPMCSemaphoreLayout.regionSize)
        try region.joinQueue(asCreator: true)
        // On a throw below, dropping `region` removes its name (we created it).
        let isPrivate = name == nil || backing == .anon
        let key = isPrivate
            ? SemaphoreSet.privateKey
            : try SemaphoreSet.key(forFile: RegionLocation(name: region.name, backing: backing, options: options).path)
        let semaphores = try SemaphoreSet.create(key: key, initialValues: [capacity, 0, 1, 0, 0], name: region.name,
                                                 permissions: options.permissions)
        // From here the queue's attachment decides when the set goes.
        semaphores.removesOnDeinit = false
        let attachment: Attachment
        do throws(ShmError) {
            attachment = try Attachment(region: region, semaphores: semaphores, creator: true, unnamed: isPrivate)
        } catch {
            semaphores.removeNow()
            throw error
        }
        // Zero-filled mapping: head = tail = 0, the empty queue, no intent.
        RegionHeader(kind: structureKind, totalSize: region.size, capacity: capacity, slotSize: messageSize,
                     parameters: [UInt64(UInt32(bitPattern: key))]).write(to: region)
        RegionHeader.publishReady(region)
        return MPMCSemaphoreQueue(attachment: attachment, capacity: capacity, messageSize: messageSize)
    }

    public static func open(backing: RegionBacking, name: String,
                            options: RegionOptions = RegionOptions()) throws(ShmError) -> MPMCSemaphoreQueue {
        try attach(SharedRegion.open(backing: backing, name: name, options: options), options: options)
    }

    /// Validates a mapped named region as a semaphore queue and opens its set.
    public static func attach(_ region: SharedRegion, options: RegionOptions = RegionOptions()) throws(ShmError) -> MPMCSemaphoreQueue {
        let shape = try SlotShape.attach(region, kind: structureKind, maximumCapacity: maximumCapacity,
                                          timeoutSeconds: options.openTimeoutSeconds,
                                          regionSize: MPMCSemaphoreLayout.regionSize)
        try region.joinQueue(asCreator: false)
        let stored = Int32(truncatingIfNeeded: shape.header.parameters[MPMCSemaphoreLayout.semaphoreKeyParameter])
        guard stored != SemaphoreSet.privateKey, region.backing != .anon else {
            throw .invalidArgument("queue '\(region.name)' uses an IPC_PRIVATE semaphore set: only processes forked from its creator can use it")
        }
        let key = try SemaphoreSet.key(forFile: RegionLocation(name: region.name, backing: region.backing, options: options).path)
        guard key == stored else {
            throw .corruptedHeader(name: region.name, reason: "semaphore key 0x\(String(UInt32(bitPattern: stored), radix: 16)) differs from the key derived from its file, 0x\(String(UInt32(bitPattern: key), radix: 16))")
        }
        let semaphores = try SemaphoreSet.open(key: key, count: MPMCSemaphoreLayout.semaphoreCount, name: region.name,
                                               timeoutSeconds: options.openTimeoutSeconds, options: options)
        let attachment = try Attachment(region: region, semaphores: semaphores, creator: false, unnamed: false)
        return MPMCSemaphoreQueue(attachment: attachment, capacity: shape.capacity, messageSize: shape.messageSize)
    }

    init(attachment: Attachment, capacity: Int, messageSize: Int) {
        self.attachment = attachment
        self.region = attachment.region
        self.semaphores = attachment.semaphores
        self.capacity = capacity
        self.messageSize = messageSize
        self.stride = MPMCSemaphoreLayout.stride(slotSize: messageSize)
        self.dieAt = DeathPoint.fromEnvironment()
        self.counters = EndpointCounters.queueSlot(attachment.region, kind: Self.structureKind)
    }

    /// Removes the region's name (see `SharedRegion.removeName`) and retires
    /// the semaphore set: the last user to detach removes it, and if the
    /// caller is the only user left it goes now (the caller's own later
    /// operations then fail with `ShmError.semaphoresRemoved`). Idempotent.
    public func removeName() { attachment.retire() }

    /// How often a holder repaired the counts after another holder's death.
    public var repairCount: UInt64 {
        // Relaxed: a diagnostic counter, written under the mutex.
        cshim_load_relaxed(word(MPMCSemaphoreLayout.repairCountOffset))
    }

    // MARK: - Push

    @inlinable
    public func tryPushBatch(maxCount: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) -> Int {
        guard maxCount > 0 else { return 0 }
        let n = try enter(MPMCSemaphoreLayout.freeSlotsSemaphore, wanted: min(maxCount, capacity), exact: false, deadlineNs: nil)
        if n > 0 { try writeClaimed(n, fill) }
        return n
    }

    @inlinable
    public func pushBatch(count: Int, timeoutSeconds: Double? = nil,
                          _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) {
        guard count > 0 else { return }
        guard count <= capacity else {
            throw .invalidArgument("cannot push \(count) messages at once into a queue of \(capacity) slots")
        }
        let n = try enter(MPMCSemaphoreLayout.freeSlotsSemaphore, wanted: count, exact: true,
                          deadlineNs: Self.deadlineNs(timeoutSeconds))
        guard n == count else { throw .timedOut(operation: "MPMC semaphore queue push", seconds: timeoutSeconds ?? 0) }
        try writeClaimed(n, fill)
    }

    /// With `n` free permits, the mutex and busy: writes n slots at `tail`,
    /// advances it, and leaves posting n filled permits.
    @inlinable
    func writeClaimed(_ n: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) {
        if dieAt != 0 { DeathPoint.dieIf(dieAt, at: .pushEntered) }
        // Relaxed loads and stores: the mutex semop orders them (see the type's comment).
        let tail = cshim_load_relaxed(word(MPMCSemaphoreLayout.tailOffset))
        let head = cshim_load_relaxed(word(MPMCSemaphoreLayout.headOffset))
        let used = tail &- head
        guard used <= UInt64(capacity), UInt64(capacity) &- used >= UInt64(n) else {
            try leave(posting: MPMCSemaphoreLayout.freeSlotsSemaphore, n)
            throw .corruptRing(reason: "queue positions head \(head), tail \(tail) leave no room for \(n) claimed slots (capacity \(capacity))")
        }
        recordIntent(MPMCSemaphoreLayout.intentPush, count: n, position: tail)
        if dieAt != 0 { DeathPoint.dieIf(dieAt, at: .pushIntent) }
        var i = 0
        while i < n {
            fill(i, UnsafeMutableRawBufferPointer(start: slot(tail &+ UInt64(i)), count: messageSize))
            i &+= 1
        }
        // Relaxed: still inside the mutex; its release semop publishes the store.
        cshim_store_relaxed(word(MPMCSemaphoreLayout.tailOffset), tail &+ UInt64(n))
        counters.addShared(CountersLayout.recordsPublishedField, UInt64(n))
        if dieAt != 0 { DeathPoint.dieIf(dieAt, at: .pushPublished) }
        recordIntent(MPMCSemaphoreLayout.intentNone, count: 0, position: 0)
        if dieAt != 0 { DeathPoint.dieIf(dieAt, at: .pushCleared) }
        try leave(posting: MPMCSemaphoreLayout.filledSlotsSemaphore, n)
    }

    // MARK: - Pop

    @inlinable
    public func tryPopBatch(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int {
        guard maxCount > 0 else { return 0 }
        let n = try enter(MPMCSemaphoreLayout.filledSlotsSemaphore, wanted: min(maxCount, capacity), exact: false, deadlineNs: nil)
        if n > 0 { try readClaimed(n, body) }
        return n
    }

    @inlinable
    public func popBatch(maxCount: Int, timeoutSeconds: Double? = nil,
                         _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int {
        guard maxCount > 0 else { return 0 }
        let n = try enter(MPMCSemaphoreLayout.filledSlotsSemaphore, wanted: min(maxCount, capacity), exact: false,
                          deadlineNs: Self.deadlineNs(timeoutSeconds))
        guard n > 0 else { throw .timedOut(operation: "MPMC semaphore queue pop", seconds: timeoutSeconds ?? 0) }
        try readClaimed(n, body)
        return n
    }

    /// With `n` filled permits, the mutex and busy: reads n slots at `head`,
    /// advances it, and leaves posting n free permits.
    @inlinable
    func readClaimed(_ n: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) {
        if dieAt != 0 { DeathPoint.dieIf(dieAt, at: .popEntered) }
        // Relaxed loads and stores: the mutex semop orders them (see the type's comment).
        let head = cshim_load_relaxed(word(MPMCSemaphoreLayout.headOffset))
        let tail = cshim_load_relaxed(word(MPMCSemaphoreLayout.tailOffset))
        let used = tail &- head
        guard used <= UInt64(capacity), used >= UInt64(n) else {
            try leave(posting: MPMCSemaphoreLayout.filledSlotsSemaphore, n)
            throw .corruptRing(reason: "queue positions head \(head), tail \(tail) hold fewer than the \(n) claimed messages (capacity \(capacity))")
        }
        recordIntent(MPMCSemaphoreLayout.intentPop, count: n, position: head)
        if dieAt != 0 { DeathPoint.dieIf(dieAt, at: .popIntent) }
        var i = 0
        while i < n {
            body(i, UnsafeRawBufferPointer(start: slot(head &+ UInt64(i)), count: messageSize))
            i &+= 1
        }
        // Relaxed: still inside the mutex; its release semop publishes the store.
        cshim_store_relaxed(word(MPMCSemaphoreLayout.headOffset), head &+ UInt64(n))
        counters.addShared(CountersLayout.recordsConsumedField, UInt64(n))
        if dieAt != 0 { DeathPoint.dieIf(dieAt, at: .popPublished) }
        recordIntent(MPMCSemaphoreLayout.intentNone, count: 0, position: 0)
        if dieAt != 0 { DeathPoint.dieIf(dieAt, at: .popCleared) }
        try leave(posting: MPMCSemaphoreLayout.freeSlotsSemaphore, n)
    }

    /// Writes the intent line. Relaxed: inside the mutex, whose semops order
    /// it for the next holder (who reads it only after a death).
    @inlinable
    func recordIntent(_ operation: UInt64, count: Int, position: UInt64) {
        cshim_store_relaxed(word(MPMCSemaphoreLayout.intentOperationOffset), operation)
        cshim_store_relaxed(word(MPMCSemaphoreLayout.intentCountOffset), UInt64(count))
        cshim_store_relaxed(word(MPMCSemaphoreLayout.intentPositionOffset), position)
    }

    // MARK: - Semaphores

    /// Takes permits of `semaphore`, the mutex and busy; returns how many
    /// permits (all three are held iff the result is non-zero). `exact` takes
    /// all `wanted` or none; otherwise what is ready, at least one and at most
    /// `wanted`. `deadlineNs` nil is a try form: it never sleeps for permits
    /// (but waits up to `tryMutexTimeoutSeconds` for the mutex); otherwise an
    /// absolute `cshim_monotonic_ns` time, `UInt64.max` for none.
    @inlinable
    func enter(_ semaphore: UInt16, wanted: Int, exact: Bool, deadlineNs: UInt64?) throws(ShmError) -> Int {
        // Uncontended case: the permits, the mutex and busy 0 -> 1 in one
        // semop, without sleeping. SEM_UNDO on the mutex: the kernel releases
        // it if this process dies holding it. Busy must be 0: 1 means a holder
        // died inside, and the slow path below repairs first.
        if let n = try enterAtOnce(semaphore, wanted: wanted, exact: exact, ready: ready(semaphore)) { return n }
        // Before anything heavier, watch the positions for a moment (plain
        // loads, no system call): a peer a few microseconds from posting a
        // batch is far cheaper to wait for than a kernel sleep and the
        // wake-up its post would then cost it. A pop of "up to k" stops as
        // soon as one message is ready. Only a hint: the semaphores decide.
        let enough = UInt64(exact ? wanted : 1)
        if deadlineNs != nil {
            var spin = 0
            while spin < Self.permitSpinLimit {
                let r = ready(semaphore)
                if r >= enough, let n = try enterAtOnce(semaphore, wanted: wanted, exact: exact, ready: r) { return n }
                cshim_cpu_pause()
                spin &+= 1
            }
        }
        // Why did the one-semop take fail? The positions (no system call)
        // tell: if they show enough ready, the permits should be there, so the
        // mutex is held, or its holder died (busy 1), or the counts are off:
        // take the mutex alone and look (`takeHoldingMutex` repairs and takes
        // what the positions show). Otherwise nothing is ready: a try form
        // returns 0, a blocking one sleeps until a permit exists.
        if deadlineNs != nil {
            counters.addShared(semaphore == MPMCSemaphoreLayout.freeSlotsSemaphore ? CountersLayout.fullWaitsField : CountersLayout.emptyWaitsField, 1)
            counters.touch()
        }
        let mutexDeadline: UInt64
        if let deadlineNs { mutexDeadline = deadlineNs } else { mutexDeadline = try Self.deadlineNs(Self.tryMutexTimeoutSeconds) }
        // Each round either returns or sleeps (for the mutex, or for permits
        // up to one slice), so the loop is bounded by the deadline.
        while true {
            if ready(semaphore) >= enough {
                guard try lockMutex(until: mutexDeadline) else {
                    if deadlineNs == nil {
                        throw .timedOut(operation: "MPMC semaphore queue '\(region.name)' mutex (its holder is stopped or very slow)",
                                        seconds: Self.tryMutexTimeoutSeconds)
                    }
                    return 0
                }
                let n = try takeHoldingMutex(semaphore, wanted: wanted, exact: exact)
                if n > 0 { return n }
                try unlockMutex()
            }
            guard let deadlineNs else { return 0 }
            let now = cshim_monotonic_ns()
            guard now < deadlineNs else { return 0 }
            // Sleep until `enough` permits exist, without taking them (-k then
            // +k in one semop). Never sleep for permits and mutex in one
            // semop: on wake-up the kernel hands the sleeper the mutex at
            // once, and the waker, wanting it back for its next operation,
            // sleeps until the woken process is scheduled, a convoy of two
            // wake-ups per message. In slices: permits a holder's death
            // stranded while we slept are noticed from the positions above.
            let sliceEnd = deadlineNs - now > Self.sleepSliceNs ? now + Self.sleepSliceNs : deadlineNs
            let wait = SemaphoreOperation(index: semaphore, delta: -Int16(enough))
            let back = SemaphoreOperation(index: semaphore, delta: Int16(enough))
            counters.addShared(CountersLayout.parksField, 1)
            if try semaphores.apply(wait, back, deadlineNs: sliceEnd) == .done,
               let n = try enterAtOnce(semaphore, wanted: wanted, exact: exact, ready: ready(semaphore)) { return n }
        }
    }

    /// Longest single sleep for permits (100 ms): after it the positions are
    /// looked at again. Costs a few system calls per slice on an idle queue.
    @usableFromInline static let sleepSliceNs: UInt64 = 100_000_000

    /// The fast path's single semop: min(wanted, ready) permits (`exact`:
    /// wanted), the mutex, busy 0 -> 1. Nil when it could not all be had now.
    @inlinable
    func enterAtOnce(_ semaphore: UInt16, wanted: Int, exact: Bool, ready: UInt64) throws(ShmError) -> Int? {
        let want = exact ? wanted : Int(min(UInt64(wanted), max(1, ready)))
        let permits = SemaphoreOperation(index: semaphore, delta: -Int16(want), noWait: true)
        let mutex = SemaphoreOperation(index: MPMCSemaphoreLayout.mutexSemaphore, delta: -1, noWait: true, undo: true)
        let idle = SemaphoreOperation.waitForZero(MPMCSemaphoreLayout.busySemaphore)
        let busy = SemaphoreOperation(index: MPMCSemaphoreLayout.busySemaphore, delta: 1)
        return try semaphores.apply(permits, mutex, idle, busy) == .done ? want : nil
    }

    /// Holding the mutex alone: repairs after a dead holder if busy says so,
    /// then takes what the positions say is ready (and busy) without waiting.
    /// Returns how many permits it took; 0 leaves just the mutex held.
    @inlinable
    func takeHoldingMutex(_ semaphore: UInt16, wanted: Int, exact: Bool) throws(ShmError) -> Int {
        if try semaphores.apply(.waitForZero(MPMCSemaphoreLayout.busySemaphore)) == .unavailable {
            do throws(ShmError) { try repairAfterDeadHolder() } catch {
                try? unlockMutex()
                throw error
            }
        }
        // Relaxed: inside the mutex (see the type's comment).
        let used = cshim_load_relaxed(word(MPMCSemaphoreLayout.tailOffset)) &- cshim_load_relaxed(word(MPMCSemaphoreLayout.headOffset))
        guard used <= UInt64(capacity) else {
            try? unlockMutex()
            throw .corruptRing(reason: "queue positions are \(used) apart, more than the capacity \(capacity)")
        }
        let available = semaphore == MPMCSemaphoreLayout.filledSlotsSemaphore ? used : UInt64(capacity) &- used
        let take = exact ? (available >= UInt64(wanted) ? wanted : 0) : Int(min(UInt64(wanted), available))
        let permits = SemaphoreOperation(index: semaphore, delta: -Int16(take), noWait: true)
        let busy = SemaphoreOperation(index: MPMCSemaphoreLayout.busySemaphore, delta: 1)
        if take > 0, try semaphores.apply(permits, busy) == .done { return take }
        // With the mutex held and busy 0 the count equals what the positions
        // show. A count above it means a peer wrote the positions: without
        // this check the caller would wake at once, forever.
        let count = try semaphores.value(semaphore)
        guard UInt64(count) <= available else {
            try? unlockMutex()
            throw .corruptRing(reason: "semaphore \(semaphore) counts \(count) but the positions show \(available) (capacity \(capacity))")
        }
        return 0
    }

    /// Busy is 1 while we hold the mutex: the previous holder died inside the
    /// critical section. Nobody holds permits outside the mutex, so the
    /// positions alone give the right counts. Set them, then busy = 0.
    @usableFromInline
    func repairAfterDeadHolder() throws(ShmError) {
        counters.addShared(CountersLayout.takeoversField, 1)
        // Relaxed: inside the mutex (see the type's comment).
        let head = cshim_load_relaxed(word(MPMCSemaphoreLayout.headOffset))
        let tail = cshim_load_relaxed(word(MPMCSemaphoreLayout.tailOffset))
        let used = tail &- head
        guard used <= UInt64(capacity) else {
            throw .corruptRing(reason: "after a holder's death the queue positions head \(head), tail \(tail) are more than the capacity \(capacity) apart")
        }
        // The dead holder's intent, if it got that far, must agree: it moved
        // its position by nothing or by its whole count.
        let operation = cshim_load_relaxed(word(MPMCSemaphoreLayout.intentOperationOffset))
        let count = cshim_load_relaxed(word(MPMCSemaphoreLayout.intentCountOffset))
        let start = cshim_load_relaxed(word(MPMCSemaphoreLayout.intentPositionOffset))
        if operation != MPMCSemaphoreLayout.intentNone {
            let now = operation == MPMCSemaphoreLayout.intentPush ? tail : head
            guard operation <= MPMCSemaphoreLayout.intentPop, count <= UInt64(capacity),
                  now == start || now == start &+ count else {
                throw .corruptRing(reason: "dead holder's intent (operation \(operation), \(count) slots from \(start)) does not match the positions head \(head), tail \(tail)")
            }
        }
        try semaphores.setValue(MPMCSemaphoreLayout.freeSlotsSemaphore, capacity - Int(used))
        try semaphores.setValue(MPMCSemaphoreLayout.filledSlotsSemaphore, Int(used))
        recordIntent(MPMCSemaphoreLayout.intentNone, count: 0, position: 0)
        let repairs = word(MPMCSemaphoreLayout.repairCountOffset)
        cshim_store_relaxed(repairs, cshim_load_relaxed(repairs) &+ 1)
        // Last: a repair that dies before this leaves busy = 1 and is redone.
        try semaphores.setValue(MPMCSemaphoreLayout.busySemaphore, 0)
    }

    /// Pause iterations (roughly 10-40 ns each) a blocking call watches the
    /// positions before it takes the slow path; docs/design.md has the measurement.
    @usableFromInline static let permitSpinLimit = 1024

    /// Slots ready for `semaphore`'s takers according to the positions, read
    /// without the mutex. Relaxed: a racy hint that only decides what to ask
    /// the semop for; values from a torn or hostile peer cost a retry at most.
    @inlinable
    func ready(_ semaphore: UInt16) -> UInt64 {
        let used = cshim_load_relaxed(word(MPMCSemaphoreLayout.tailOffset)) &- cshim_load_relaxed(word(MPMCSemaphoreLayout.headOffset))
        guard used <= UInt64(capacity) else { return 0 }
        return semaphore == MPMCSemaphoreLayout.filledSlotsSemaphore ? used : UInt64(capacity) &- used
    }

    /// Critical sections are a few copies long: retry without sleeping a few
    /// times, then let the kernel sleep (an adaptive mutex, as glibc's).
    @usableFromInline static let mutexSpinAttempts = 8

    /// Takes the mutex (SEM_UNDO), sleeping until `deadlineNs` at most.
    /// Returns false when the deadline passed first.
    @inlinable
    func lockMutex(until deadlineNs: UInt64) throws(ShmError) -> Bool {
        let index = MPMCSemaphoreLayout.mutexSemaphore
        var attempt = 0
        while attempt < Self.mutexSpinAttempts {
            if try semaphores.apply(SemaphoreOperation(index: index, delta: -1, noWait: true, undo: true)) == .done { return true }
            for _ in 0..<64 { cshim_cpu_pause() }
            attempt &+= 1
        }
        return try semaphores.apply(SemaphoreOperation(index: index, delta: -1, undo: true), deadlineNs: deadlineNs) == .done
    }

    @inlinable
    func unlockMutex() throws(ShmError) {
        _ = try semaphores.apply(SemaphoreOperation(index: MPMCSemaphoreLayout.mutexSemaphore, delta: 1, undo: true))
    }

    /// Releases the mutex and busy and posts `count` permits of `semaphore`,
    /// in one semop: the commit point of a push or pop.
    @inlinable
    func leave(posting semaphore: UInt16, _ count: Int) throws(ShmError) {
        _ = try semaphores.apply(SemaphoreOperation(index: MPMCSemaphoreLayout.mutexSemaphore, delta: 1, undo: true),
                                 SemaphoreOperation(index: semaphore, delta: Int16(count)),
                                 SemaphoreOperation(index: MPMCSemaphoreLayout.busySemaphore, delta: -1, noWait: true))
    }

    /// The absolute deadline for `seconds` (see `queueDeadlineNs`).
    @inlinable
    static func deadlineNs(_ seconds: Double?) throws(ShmError) -> UInt64 { try queueDeadlineNs(seconds) }

    @inlinable
    func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (region.base + offset).assumingMemoryBound(to: UInt64.self)
    }

    @inlinable
    func slot(_ position: UInt64) -> UnsafeMutableRawPointer {
        region.base + MPMCSemaphoreLayout.slotsOffset + Int(truncatingIfNeeded: position & UInt64(capacity &- 1)) &* stride
    }
}
