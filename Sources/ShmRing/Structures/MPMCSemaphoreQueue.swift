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
///   system call), then sleeps in semop for the permits alone, then takes the
///   mutex (a few non-blocking tries, then a sleeping semop). See `enter` for
///   why permits and mutex are never slept for together.
/// * The copy happens inside the mutex. With several producers the filled
///   count cannot name which slots are complete, so a slot may only become
///   claimable once its bytes are written; the mutex gives that for free.
/// * Invariant while the mutex is free: filled + (filled permits held by
///   poppers) = tail - head, and likewise for free slots: permits are posted
///   only after the positions moved. A pop that holds n filled permits and
///   the mutex therefore finds at least n messages between head and tail.
/// * A pop of "up to k" that cannot have all k takes one permit (sleeping if
///   none is ready), then inside the mutex tops the claim up to what the
///   positions show with one more non-blocking semop.
///
/// # Memory order
/// `head` and `tail` are read and written with relaxed atomics only inside
/// the mutex. semop is a system call that takes the set's kernel lock: the
/// release of the mutex happens-before the next holder's acquisition (the
/// kernel's lock and its wake-up are full barriers), so slot bytes and
/// positions written by one holder are visible to the next.
///
/// # A holder killed in the critical section (SEM_UNDO)
/// The mutex is taken and released with SEM_UNDO, so the kernel gives it
/// back when a holder dies (kill -9 included) and the others carry on. The
/// free/filled permits the dead process had taken are not undone (a permit
/// is taken by one process and posted by another, so an undo would
/// accumulate): its slots are lost to the queue and its message count is
/// short, which a consumer sees as lost messages, never as a hang or an
/// out-of-bounds access.
///
/// # Untrusted peer
/// `head` and `tail` come from shared memory: a distance above `capacity`
/// or below the permits held is `ShmError.corruptRing` (after the mutex and
/// the permits are given back). Slot indices are masked, so always in bounds.
///
/// # Naming and removal
/// The set's key is `ftok` of the region's file (the mmap file or the sysv
/// key file) with project id 'S' (`SemaphoreSet.projectID`), different from
/// the segment's; unnamed and anonymous regions use an IPC_PRIVATE set. The
/// creating process removes the set together with the region in `close()`.
public struct MPMCSemaphoreQueue: MPMCQueue {
    public let region: SharedRegion
    public let semaphores: SemaphoreSet
    public let capacity: Int
    public let messageSize: Int
    @usableFromInline let stride: Int

    public static var structureKind: StructureKind { .mpmcSemaphoreQueue }
    public static var maximumCapacity: Int { MPMCSemaphoreLayout.maximumCapacity }

    public static func create(backing: RegionBacking, name: String?, capacity: Int, messageSize: Int,
                              options: RegionOptions = RegionOptions()) throws(ShmError) -> MPMCSemaphoreQueue {
        let region = try SlotShape.createRegion(backing: backing, name: name, capacity: capacity, messageSize: messageSize,
                                                 maximumCapacity: maximumCapacity, options: options,
                                                 regionSize: MPMCSemaphoreLayout.regionSize)
        do throws(ShmError) {
            let key = name == nil || backing == .anon
                ? SemaphoreSet.privateKey
                : try SemaphoreSet.key(forFile: RegionLocation(name: region.name, backing: backing, options: options).path)
            let semaphores = try SemaphoreSet.create(key: key, initialValues: [capacity, 0, 1], name: region.name,
                                                     permissions: options.permissions)
            // Zero-filled mapping: head = tail = 0, the empty queue.
            RegionHeader(kind: structureKind, totalSize: region.size, capacity: capacity, slotSize: messageSize,
                         parameters: [UInt64(UInt32(bitPattern: key))]).write(to: region)
            RegionHeader.publishReady(region)
            return MPMCSemaphoreQueue(region: region, semaphores: semaphores, capacity: capacity, messageSize: messageSize)
        } catch {
            region.close()
            throw error
        }
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
        let stored = Int32(truncatingIfNeeded: shape.header.parameters[MPMCSemaphoreLayout.semaphoreKeyParameter])
        guard stored != SemaphoreSet.privateKey, region.backing != .anon else {
            throw .invalidArgument("queue '\(region.name)' uses an IPC_PRIVATE semaphore set: only processes forked from its creator can use it")
        }
        let key = try SemaphoreSet.key(forFile: RegionLocation(name: region.name, backing: region.backing, options: options).path)
        guard key == stored else {
            throw .corruptedHeader(name: region.name, reason: "semaphore key 0x\(String(UInt32(bitPattern: stored), radix: 16)) differs from the key derived from its file, 0x\(String(UInt32(bitPattern: key), radix: 16))")
        }
        let semaphores = try SemaphoreSet.open(key: key, count: MPMCSemaphoreLayout.semaphoreCount, name: region.name,
                                               timeoutSeconds: options.openTimeoutSeconds)
        return MPMCSemaphoreQueue(region: region, semaphores: semaphores, capacity: shape.capacity, messageSize: shape.messageSize)
    }

    init(region: SharedRegion, semaphores: SemaphoreSet, capacity: Int, messageSize: Int) {
        self.region = region
        self.semaphores = semaphores
        self.capacity = capacity
        self.messageSize = messageSize
        self.stride = MPMCSemaphoreLayout.stride(slotSize: messageSize)
    }

    public func close() {
        semaphores.remove()
        region.close()
    }

    // MARK: - Push

    @inlinable
    public func tryPushBatch(maxCount: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) -> Int {
        guard maxCount > 0 else { return 0 }
        let n = try enter(MPMCSemaphoreLayout.freeSlotsSemaphore, wanted: min(maxCount, capacity), exact: false, timeoutNs: nil)
        if n > 0 { return try writeClaimed(n, upTo: min(maxCount, capacity), fill) }
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
                          timeoutNs: semtimedopTimeout(timeoutSeconds))
        guard n == count else { throw .timedOut(operation: "MPMC semaphore queue push", seconds: timeoutSeconds ?? 0) }
        _ = try writeClaimed(n, upTo: n, fill)
    }

    /// With `held` free permits and the mutex: tops the claim up towards
    /// `wanted`, writes that many slots at `tail`, advances it, and leaves
    /// posting as many filled permits. Returns how many it wrote.
    @inlinable
    func writeClaimed(_ held: Int, upTo wanted: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) -> Int {
        // Relaxed loads and store: the mutex semop orders them (see the type's comment).
        let tail = cshim_load_relaxed(word(MPMCSemaphoreLayout.tailOffset))
        let head = cshim_load_relaxed(word(MPMCSemaphoreLayout.headOffset))
        let used = tail &- head
        guard used <= UInt64(capacity), UInt64(capacity) &- used >= UInt64(held) else {
            try leave(posting: MPMCSemaphoreLayout.freeSlotsSemaphore, held)
            throw .corruptRing(reason: "queue positions head \(head), tail \(tail) leave no room for \(held) claimed slots (capacity \(capacity))")
        }
        let n = try topUp(MPMCSemaphoreLayout.freeSlotsSemaphore, held: held, wanted: wanted, ready: UInt64(capacity) &- used)
        var i = 0
        while i < n {
            fill(i, UnsafeMutableRawBufferPointer(start: slot(tail &+ UInt64(i)), count: messageSize))
            i &+= 1
        }
        // Relaxed: still inside the mutex; its release semop publishes the store.
        cshim_store_relaxed(word(MPMCSemaphoreLayout.tailOffset), tail &+ UInt64(n))
        try leave(posting: MPMCSemaphoreLayout.filledSlotsSemaphore, n)
        return n
    }

    // MARK: - Pop

    @inlinable
    public func tryPopBatch(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int {
        guard maxCount > 0 else { return 0 }
        let n = try enter(MPMCSemaphoreLayout.filledSlotsSemaphore, wanted: min(maxCount, capacity), exact: false, timeoutNs: nil)
        if n > 0 { return try readClaimed(n, upTo: min(maxCount, capacity), body) }
        return n
    }

    @inlinable
    public func popBatch(maxCount: Int, timeoutSeconds: Double? = nil,
                         _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int {
        guard maxCount > 0 else { return 0 }
        let n = try enter(MPMCSemaphoreLayout.filledSlotsSemaphore, wanted: min(maxCount, capacity), exact: false,
                          timeoutNs: semtimedopTimeout(timeoutSeconds))
        guard n > 0 else { throw .timedOut(operation: "MPMC semaphore queue pop", seconds: timeoutSeconds ?? 0) }
        return try readClaimed(n, upTo: min(maxCount, capacity), body)
    }

    /// With `held` filled permits and the mutex: tops the claim up towards
    /// `wanted`, reads that many slots at `head`, advances it, and leaves
    /// posting as many free permits. Returns how many it read.
    @inlinable
    func readClaimed(_ held: Int, upTo wanted: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int {
        // Relaxed loads and store: the mutex semop orders them (see the type's comment).
        let head = cshim_load_relaxed(word(MPMCSemaphoreLayout.headOffset))
        let tail = cshim_load_relaxed(word(MPMCSemaphoreLayout.tailOffset))
        let used = tail &- head
        guard used <= UInt64(capacity), used >= UInt64(held) else {
            try leave(posting: MPMCSemaphoreLayout.filledSlotsSemaphore, held)
            throw .corruptRing(reason: "queue positions head \(head), tail \(tail) hold fewer than the \(held) claimed messages (capacity \(capacity))")
        }
        let n = try topUp(MPMCSemaphoreLayout.filledSlotsSemaphore, held: held, wanted: wanted, ready: used)
        var i = 0
        while i < n {
            body(i, UnsafeRawBufferPointer(start: slot(head &+ UInt64(i)), count: messageSize))
            i &+= 1
        }
        // Relaxed: still inside the mutex; its release semop publishes the store.
        cshim_store_relaxed(word(MPMCSemaphoreLayout.headOffset), head &+ UInt64(n))
        try leave(posting: MPMCSemaphoreLayout.freeSlotsSemaphore, n)
        return n
    }

    // MARK: - Semaphores

    /// Takes permits of `semaphore` and the mutex; returns how many permits
    /// (the mutex is held iff the result is non-zero). `exact` takes all
    /// `wanted` or none; otherwise at least one, and `readClaimed` or
    /// `writeClaimed` tops the claim up to `wanted` once they see the queue.
    /// `timeoutNs` nil never sleeps for permits; 0 sleeps without limit.
    @inlinable
    func enter(_ semaphore: UInt16, wanted: Int, exact: Bool, timeoutNs: UInt64?) throws(ShmError) -> Int {
        // Uncontended case: every permit wanted and the mutex in one semop,
        // without sleeping. SEM_UNDO: the kernel releases the mutex if this
        // process dies holding it.
        let all = SemaphoreOperation(index: semaphore, delta: -Int16(wanted), noWait: true)
        let mutex = SemaphoreOperation(index: MPMCSemaphoreLayout.mutexSemaphore, delta: -1, noWait: true, undo: true)
        if try semaphores.apply(all, mutex) == .done { return wanted }
        // Before sleeping, watch the positions for a moment (plain loads, no
        // system call): a peer a few microseconds from posting a batch is far
        // cheaper to wait for than a kernel sleep and the wake-up its post
        // would then cost it. Only a hint: the semaphores still decide.
        if timeoutNs != nil {
            var spin = 0
            while spin < Self.permitSpinLimit {
                if ready(semaphore) >= UInt64(wanted), try semaphores.apply(all, mutex) == .done { return wanted }
                cshim_cpu_pause()
                spin &+= 1
            }
        }
        // Otherwise the permits first (sleeping for them if allowed), then the
        // mutex, in two semops. Never sleep for both in one: on wake-up the
        // kernel hands the sleeper the mutex at once, and the waker, wanting
        // it back for its next operation, sleeps until the woken process is
        // scheduled, a convoy of two wake-ups per message.
        let take = exact ? wanted : 1
        let permits = SemaphoreOperation(index: semaphore, delta: -Int16(take), noWait: timeoutNs == nil)
        guard try semaphores.apply(permits, timeoutNs: timeoutNs ?? 0) == .done else { return 0 }
        try lockMutex()
        return take
    }

    /// Pause iterations (roughly 10-40 ns each) a blocking call watches the
    /// positions before it sleeps in semop; docs/design.md has the measurement.
    @usableFromInline static let permitSpinLimit = 1024

    /// Slots ready for `semaphore`'s takers according to the positions, read
    /// without the mutex. Relaxed: a racy hint that only decides when to try
    /// the semop again; values from a torn or hostile peer cost a retry at most.
    @inlinable
    func ready(_ semaphore: UInt16) -> UInt64 {
        let used = cshim_load_relaxed(word(MPMCSemaphoreLayout.tailOffset)) &- cshim_load_relaxed(word(MPMCSemaphoreLayout.headOffset))
        guard used <= UInt64(capacity) else { return 0 }
        return semaphore == MPMCSemaphoreLayout.filledSlotsSemaphore ? used : UInt64(capacity) &- used
    }

    /// Critical sections are a few copies long: retry without sleeping a few
    /// times, then let the kernel sleep (an adaptive mutex, as glibc's).
    @usableFromInline static let mutexSpinAttempts = 8

    @inlinable
    func lockMutex() throws(ShmError) {
        let index = MPMCSemaphoreLayout.mutexSemaphore
        var attempt = 0
        while attempt < Self.mutexSpinAttempts {
            if try semaphores.apply(SemaphoreOperation(index: index, delta: -1, noWait: true, undo: true)) == .done { return }
            for _ in 0..<64 { cshim_cpu_pause() }
            attempt &+= 1
        }
        _ = try semaphores.apply(SemaphoreOperation(index: index, delta: -1, undo: true))
    }

    /// Inside the mutex, with `held` permits and `ready` slots of `semaphore`
    /// available by the positions: takes up to `wanted - held` more without
    /// waiting. Permits other processes took but have not used yet may make
    /// it fail; the claim then stays as it is.
    @inlinable
    func topUp(_ semaphore: UInt16, held: Int, wanted: Int, ready: UInt64) throws(ShmError) -> Int {
        guard held < wanted, ready > UInt64(held) else { return held }
        let extra = Int(min(UInt64(wanted - held), ready - UInt64(held)))
        let more = SemaphoreOperation(index: semaphore, delta: -Int16(extra), noWait: true)
        return try semaphores.apply(more) == .done ? held + extra : held
    }

    /// Releases the mutex and posts `count` permits of `semaphore`, in one semop.
    @inlinable
    func leave(posting semaphore: UInt16, _ count: Int) throws(ShmError) {
        _ = try semaphores.apply(SemaphoreOperation(index: MPMCSemaphoreLayout.mutexSemaphore, delta: 1, undo: true),
                                 SemaphoreOperation(index: semaphore, delta: Int16(count)))
    }

    /// semtimedop's timeout in nanoseconds: 0 (wait forever) for nil.
    @usableFromInline
    func semtimedopTimeout(_ seconds: Double?) -> UInt64 {
        guard let seconds else { return 0 }
        return max(1, UInt64(max(0, seconds) * 1e9))
    }

    @inlinable
    func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (region.base + offset).assumingMemoryBound(to: UInt64.self)
    }

    @inlinable
    func slot(_ position: UInt64) -> UnsafeMutableRawPointer {
        region.base + MPMCSemaphoreLayout.slotsOffset + Int(truncatingIfNeeded: position & UInt64(capacity &- 1)) &* stride
    }
}
