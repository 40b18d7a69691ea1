import CShim

/// A bounded, lock-free, single-producer/single-consumer ring of fixed-size
/// slots in a `SharedRegion`, for a producer and a consumer in different
/// processes that share nothing but the region.
///
/// # Design (after rigtorp's SPSCQueue, with FastForward's per-slot signal)
///
/// * Each slot begins with an 8-byte sequence word. The producer writes the
///   message, then stores `position + 1` into the slot's sequence word with
///   release order. The consumer learns that the slot at `position` is full by
///   an acquire load of that word. So the consumer's hot loop touches only the
///   slot's own cache line: a hand-off costs one cache-line transfer, where a
///   shared tail index costs two (index line, then data line). docs/design.md
///   records the measurement that chose this over a published tail index.
/// * The consumer publishes `readPosition` (its own line, 128 bytes from
///   anything the producer writes) with release order after it has finished
///   reading a slot. The producer keeps a private copy and reloads it, with
///   acquire order, only when its copy says the ring is full; in steady state
///   it never touches the consumer's line.
/// * Positions are 64-bit and never wrap in practice (2^64 messages); a slot
///   index is `position & (capacity - 1)`, so capacity is a power of two and
///   every index is in bounds by construction, whatever a peer wrote.
/// * A sequence word is never cleared: a stale word from an earlier lap holds
///   `position + 1 - k*capacity`, which cannot equal the value awaited.
///
/// # Untrusted peer
/// The only values read from the other side are `readPosition` (producer) and
/// sequence words (consumer). A `readPosition` ahead of the producer or more
/// than `capacity` behind it, or a sequence word ahead of the consumer, is
/// reported as `ShmError.corruptRing`; neither can cause an access outside
/// the slot array.
///
/// # Endpoints, waiting, end of stream (shared with `RecordRing`: `Endpoint`)
/// `producer(wait:)` and `consumer(wait:)` claim one end each for this
/// process; `Producer.close()` ends the stream; blocking calls wait with the
/// endpoint's `WaitStrategy`, take a timeout, and report a dead peer
/// (`peerDied`) once its last message has been read. Liveness is judged by a
/// kernel lock each end holds (`RegionWitness`), so peers in different PID
/// namespaces work. A handle inherited by a forked child is poisoned there:
/// its operations throw `forkedHandle`, its `close()` does nothing; the
/// child opens the ring and claims an end of its own.
///
/// # Hot path
/// `tryPush`/`tryPop` and their batch and in-place forms take no lock, make
/// no system call and allocate nothing; they are `@inlinable` so clients
/// specialise the closures they pass. The only addition for parking is one
/// load of the peer's read-mostly `parks` word per publication (and, when the
/// peer parks, a compiler barrier (or, without membarrier, a fence) and one
/// more load: `AsymmetricFence`); the futex is called only when
/// the peer actually sleeps.
public struct SPSCRing: Sendable {
    public let region: SharedRegion
    public let capacity: Int
    public let messageSize: Int
    @usableFromInline let stride: Int
    /// How the ring was named (nil: anonymous or IPC_PRIVATE), so that the
    /// consumer can remove the name at the end of the stream.
    let naming: RegionOptions?

    /// Creates a ring exclusively. `name` nil gives an IPC_PRIVATE (sysv) or
    /// anonymous region, for processes related by fork. With `reclaimStale`,
    /// a name left by a ring whose creator and endpoints are all gone is
    /// removed and the ring created in its place.
    public static func create(backing: RegionBacking, name: String?, capacity: Int, messageSize: Int,
                              options: RegionOptions = RegionOptions(), reclaimStale: Bool = false) throws(ShmError) -> SPSCRing {
        try RingLifecycle.creating(backing: backing, name: name, options: options, reclaimStale: reclaimStale) { () throws(ShmError) in
            let region = try SlotShape.createRegion(backing: backing, name: name, capacity: capacity, messageSize: messageSize,
                                                    maximumCapacity: RegionLayout.maximumCapacity, options: options,
                                                    regionSize: SPSCLayout.regionSize)
            // The mapping is zero-filled: every sequence word is 0 (empty), both
            // ends are unclaimed and readPosition is 0, which is the initial state.
            RegionHeader(kind: .spscRing, totalSize: region.size, capacity: capacity, slotSize: messageSize).write(to: region)
            try Endpoint.recordCreator(region)
            RegionHeader.publishReady(region)
            return SPSCRing(region: region, capacity: capacity, messageSize: messageSize, naming: name == nil ? nil : options)
        }
    }

    /// Opens a ring another process created, validating its header. With
    /// `waitForCreationSeconds` > 0, a ring that does not exist yet is waited
    /// for that long (then `timedOut`); 0 fails at once with `noSuchRegion`.
    public static func open(backing: RegionBacking, name: String, options: RegionOptions = RegionOptions(),
                            waitForCreationSeconds: Double = 0) throws(ShmError) -> SPSCRing {
        try RingLifecycle.open(backing: backing, name: name, options: options, waitSeconds: waitForCreationSeconds) { region throws(ShmError) in
            try attach(region, timeoutSeconds: options.openTimeoutSeconds, naming: options)
        }
    }

    /// Opens the named ring, or creates it if it does not exist; either way
    /// its shape must be `capacity` slots of `messageSize` bytes.
    public static func openOrCreate(backing: RegionBacking, name: String, capacity: Int, messageSize: Int,
                                    options: RegionOptions = RegionOptions()) throws(ShmError) -> SPSCRing {
        try RingLifecycle.openOrCreate(name: name, open: { () throws(ShmError) in
            try open(backing: backing, name: name, options: options)
        }, create: { () throws(ShmError) in
            try create(backing: backing, name: name, capacity: capacity, messageSize: messageSize, options: options)
        }, shapeMismatch: { ring in
            ring.capacity == capacity && ring.messageSize == messageSize ? nil
                : "ring '\(name)' exists with \(ring.capacity) slots of \(ring.messageSize) bytes, not \(capacity) of \(messageSize)"
        })
    }

    /// Validates a mapped region as an SPSC ring.
    public static func attach(_ region: SharedRegion, timeoutSeconds: Double = 5) throws(ShmError) -> SPSCRing {
        try attach(region, timeoutSeconds: timeoutSeconds, naming: nil)
    }

    static func attach(_ region: SharedRegion, timeoutSeconds: Double, naming: RegionOptions?) throws(ShmError) -> SPSCRing {
        let shape = try SlotShape.attach(region, kind: .spscRing, maximumCapacity: RegionLayout.maximumCapacity,
                                         timeoutSeconds: timeoutSeconds, regionSize: SPSCLayout.regionSize)
        return SPSCRing(region: region, capacity: shape.capacity, messageSize: shape.messageSize, naming: naming)
    }

    init(region: SharedRegion, capacity: Int, messageSize: Int, naming: RegionOptions?) {
        self.region = region
        self.capacity = capacity
        self.messageSize = messageSize
        self.stride = SPSCLayout.stride(slotSize: messageSize)
        self.naming = naming
    }

    /// A point-in-time view for monitoring; reads only, bounded by capacity.
    public struct Snapshot: Sendable {
        public var creatorPid: Int32
        /// Pids holding each end (nil: unclaimed); they may have died since.
        public var producerPid: Int32?
        public var consumerPid: Int32?
        /// The producer closed the ring.
        public var endOfStream: Bool
        /// Messages the consumer has taken so far.
        public var readPosition: UInt64
        /// Full slots from the consumer's position on (at most capacity).
        public var pending: Int
    }

    public func snapshot() -> Snapshot {
        let base = region.base
        // Acquire: pairs with the consumer's release; a monitor needs no more.
        let read = cshim_load_acquire((base + SPSCLayout.readPositionOffset).assumingMemoryBound(to: UInt64.self))
        var pending = 0
        while pending < capacity {
            let position = read &+ UInt64(pending)
            let word = base + SPSCLayout.slotsOffset + Int(position & UInt64(capacity - 1)) * stride
            // Acquire, as the consumer's own check.
            guard cshim_load_acquire(word.assumingMemoryBound(to: UInt64.self)) == position &+ 1 else { break }
            pending += 1
        }
        let pid = base.load(fromByteOffset: RegionLayout.creatorPidOffset, as: UInt64.self)
        func owner(_ offset: Int) -> Int32? {
            // Relaxed: monitoring only.
            ProcessIdentity(packed: cshim_load_relaxed((base + offset).assumingMemoryBound(to: UInt64.self)))?.pid
        }
        return Snapshot(creatorPid: Int32(truncatingIfNeeded: pid),
                        producerPid: owner(EndpointLayout.producerOwnerOffset),
                        consumerPid: owner(EndpointLayout.consumerOwnerOffset),
                        endOfStream: cshim_load_relaxed((base + EndpointLayout.endOfStreamOffset).assumingMemoryBound(to: UInt64.self)) != 0,
                        readPosition: read, pending: pending)
    }

    /// Where the slots and the consumer's position are, shared by both ends.
    @usableFromInline
    struct Geometry {
        @usableFromInline let regionBase: UnsafeMutableRawPointer
        @usableFromInline let slots: UnsafeMutableRawPointer
        @usableFromInline let readPositionWord: UnsafeMutablePointer<UInt64>
        @usableFromInline let endOfStreamWord: UnsafeMutablePointer<UInt64>
        @usableFromInline let mask: UInt64
        @usableFromInline let stride: Int
        @usableFromInline let messageSize: Int

        init(_ ring: SPSCRing) {
            regionBase = ring.region.base
            slots = ring.region.base + SPSCLayout.slotsOffset
            readPositionWord = (ring.region.base + SPSCLayout.readPositionOffset).assumingMemoryBound(to: UInt64.self)
            endOfStreamWord = (ring.region.base + EndpointLayout.endOfStreamOffset).assumingMemoryBound(to: UInt64.self)
            mask = UInt64(ring.capacity - 1)
            stride = ring.stride
            messageSize = ring.messageSize
        }

        /// The slot of `position`; in bounds whatever the position, by the mask.
        @inlinable
        func slot(_ position: UInt64) -> UnsafeMutableRawPointer {
            slots + Int(truncatingIfNeeded: position & mask) &* stride
        }

        /// The message bytes of the slot of `position`.
        @inlinable
        func message(_ position: UInt64) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(start: slot(position) + SPSCLayout.sequenceWordSize, count: messageSize)
        }

        @inlinable
        func sequenceWord(_ position: UInt64) -> UnsafeMutablePointer<UInt64> {
            slot(position).assumingMemoryBound(to: UInt64.self)
        }
    }

    /// Claims the producing end for this process (see `Producer`). Throws
    /// `endpointTaken` while another live process, or another handle in
    /// this one, holds it; a ring whose producer closed it refuses a new one.
    public func producer(wait strategy: WaitStrategy = .park) throws(ShmError) -> Producer {
        try Producer(ring: self, strategy: strategy)
    }

    /// Claims the consuming end for this process (see `Consumer`).
    public func consumer(wait strategy: WaitStrategy = .park) throws(ShmError) -> Consumer {
        try Consumer(ring: self, strategy: strategy)
    }

    // MARK: - Producer

    /// The producing end: at most one per ring at a time, across processes
    /// (the claim stores this process's identity in the region). Dropping it
    /// releases the claim and leaves the stream open, so a new producer can
    /// continue it; `close()` ends the stream. A producer that finds the
    /// previous owner dead resumes after the last message it published.
    /// It may move to another thread; it cannot be copied.
    public struct Producer: ~Copyable, @unchecked Sendable {
        // @unchecked: the pointers are into the region `ring` keeps mapped,
        // and only this unique handle writes through them.
        public let ring: SPSCRing
        @usableFromInline let geometry: Geometry
        @usableFromInline let endpoint: Endpoint
        /// The endpoint's counters slot, held apart so that counting never
        /// copies the endpoint (whose copy retains its references).
        @usableFromInline let counters: EndpointCounters
        @usableFromInline var writePosition: UInt64
        @usableFromInline var cachedReadPosition: UInt64
        /// The end of the slots `reserve` last found free: `commit` publishes
        /// none at or beyond it. (Slots below it stay free until published:
        /// only this producer fills them.)
        @usableFromInline var reservedEnd: UInt64 = 0

        init(ring: SPSCRing, strategy: WaitStrategy) throws(ShmError) {
            let geometry = Geometry(ring)
            // Acquire: pairs with the release store in `close`.
            if cshim_load_acquire(geometry.endOfStreamWord) != 0 {
                throw .invalidArgument("ring '\(ring.region.name)' was closed by its producer (end of stream); a new stream needs a new ring")
            }
            let endpoint = try Endpoint.claim(ring.region, side: .producer, strategy: strategy)
            // Again after the claim: a producer that closed the stream just
            // before it would otherwise see us publish into a closed ring.
            // Acquire: as above.
            if cshim_load_acquire(geometry.endOfStreamWord) != 0 {
                endpoint.release()
                throw .invalidArgument("ring '\(ring.region.name)' was closed by its producer (end of stream); a new stream needs a new ring")
            }
            // Resume where the region stands: after the consumer's position
            // (acquire: see its release in `Consumer.release`), over every
            // slot a previous producer published, at most a ring's worth.
            let read = cshim_load_acquire(geometry.readPositionWord)
            var position = read
            while position &- read < geometry.mask &+ 1,
                  cshim_load_acquire(geometry.sequenceWord(position)) == position &+ 1 { // acquire: as the consumer's check
                position &+= 1
            }
            self.ring = ring
            self.geometry = geometry
            self.endpoint = endpoint
            counters = endpoint.counters
            writePosition = position
            cachedReadPosition = read
        }

        deinit { endpoint.release() }

        /// Ends the stream: the consumer reads what was pushed, then gets
        /// `.endOfStream`. Releases the claim. A named ring closed this way
        /// keeps its name after its creator exits, until the consumer reaches
        /// the end (see README, "Lifecycle").
        /// In a forked child (see `ShmError.forkedHandle`) it does nothing.
        public consuming func close() {
            guard !endpoint.isForkedCopy else { return }
            // Release: every message published before is visible to a
            // consumer that acquires this word.
            cshim_store_release(geometry.endOfStreamWord, writePosition &+ 1)
            endpoint.wakePeerIfSleeping()
            if ring.region.isOwner { ring.region.keepNameForConsumer() }
        }

        /// Free slots, at least `wanted` if possible, reloading the consumer's
        /// position only when the cached one says there are too few.
        @inlinable
        mutating func freeSlots(wanted: UInt64) throws(ShmError) -> UInt64 {
            let capacity = geometry.mask &+ 1
            var used = writePosition &- cachedReadPosition
            if capacity &- used >= wanted { return capacity &- used }
            // Acquire pairs with the consumer's release store of readPosition:
            // once we see position r, its reads of slots below r are complete,
            // so overwriting them is safe.
            let read = cshim_load_acquire(geometry.readPositionWord)
            used = writePosition &- read
            guard read <= writePosition, used <= capacity else {
                throw endpoint.corrupt("consumer position \(read) is inconsistent with producer position \(writePosition) (capacity \(capacity))")
            }
            cachedReadPosition = read
            return capacity &- used
        }

        /// Publishes the slot at `position`. Release: the message bytes written
        /// before are visible to a consumer whose acquire load sees position + 1.
        @inlinable
        func publish(_ position: UInt64) {
            cshim_store_release(geometry.sequenceWord(position), position &+ 1)
        }

        /// Writes one message in place: `fill` gets the slot's `messageSize`
        /// bytes. Returns false when the ring is full.
        @inlinable
        public mutating func tryPush(_ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool {
            try endpoint.checkNotForked()
            guard try freeSlots(wanted: 1) >= 1 else { return false }
            try fill(geometry.message(writePosition))
            publish(writePosition)
            writePosition &+= 1
            endpoint.wakePeerIfParked()
            // Counted after the wake-up check: a store through a raw pointer
            // before it made the optimiser copy the endpoint (retaining it).
            counters.add(CountersLayout.recordsPublishedField, 1)
            return true
        }

        /// Copies `bytes` (at most `messageSize`) into the next slot. A
        /// shorter message is padded with zero bytes to `messageSize`: the
        /// consumer always reads `messageSize` bytes, never the rest of an
        /// earlier lap's message. (The ring stores no length; a protocol that
        /// needs one carries it in the message, or uses `RecordRing`.)
        @inlinable
        public mutating func tryPush(bytes: UnsafeRawBufferPointer) throws(ShmError) -> Bool {
            guard bytes.count <= geometry.messageSize else {
                throw .invalidArgument("message of \(bytes.count) bytes exceeds the ring's \(geometry.messageSize)-byte slots")
            }
            return try tryPush { slot in
                if let src = bytes.baseAddress { slot.baseAddress!.copyMemory(from: src, byteCount: bytes.count) }
                if bytes.count < slot.count {
                    (slot.baseAddress! + bytes.count).initializeMemory(as: UInt8.self, repeating: 0, count: slot.count &- bytes.count)
                }
            }
        }

        /// Pushes a trivial value (its size at most `messageSize`); the rest
        /// of the slot is zeroed, as `tryPush(bytes:)` does.
        @inlinable
        public mutating func tryPush<T: BitwiseCopyable>(_ value: T) throws(ShmError) -> Bool {
            let size = MemoryLayout<T>.size
            guard size <= geometry.messageSize else {
                throw .invalidArgument("\(T.self) is \(size) bytes; the ring's slots hold \(geometry.messageSize)")
            }
            return try tryPush { slot in
                slot.baseAddress!.storeBytes(of: value, as: T.self)
                if size < slot.count {
                    (slot.baseAddress! + size).initializeMemory(as: UInt8.self, repeating: 0, count: slot.count &- size)
                }
            }
        }

        /// Writes up to `maxCount` messages in place, `fill(i, slot)` for each,
        /// after one free-space check. Returns how many were written (0 when
        /// full). If `fill` throws, the messages before it stay published.
        @inlinable
        public mutating func tryPushBatch(maxCount: Int,
                                          _ fill: (Int, UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Int {
            try endpoint.checkNotForked()
            guard maxCount > 0 else { return 0 }
            let n = Int(truncatingIfNeeded: min(try freeSlots(wanted: UInt64(maxCount)), UInt64(maxCount)))
            // The loop works on locals: its stores into slots may alias this
            // value's own storage (a C handle keeps it on the heap), which made
            // the compiler reload the geometry and store the position and the
            // index to memory at every message (perf annotate of the C ABI's
            // batch push). The position is written back on both exits.
            let geometry = geometry, first = writePosition
            var i = 0
            do {
                while i < n {
                    let position = first &+ UInt64(truncatingIfNeeded: i)
                    try fill(i, geometry.message(position))
                    // Release: the message bytes are visible to a consumer whose
                    // acquire load sees position + 1.
                    cshim_store_release(geometry.sequenceWord(position), position &+ 1)
                    i &+= 1
                }
            } catch {
                // The slots published before the throw stay counted and are never rewritten.
                finishPushBatch(i)
                throw error
            }
            finishPushBatch(i)
            return n
        }

        /// Advances past `count` slots just published: one count and one
        /// wake-up check per batch.
        @inlinable
        mutating func finishPushBatch(_ count: Int) {
            guard count > 0 else { return }
            writePosition &+= UInt64(truncatingIfNeeded: count)
            endpoint.wakePeerIfParked()
            counters.add(CountersLayout.recordsPublishedField, UInt64(truncatingIfNeeded: count))
        }

        /// Slots to fill in place, for a caller that cannot pass a closure
        /// (the C ABI): up to `maxCount` free slots from the next position,
        /// not past the ring's end (so they lie at one stride apart). Fill
        /// each slot's `messageSize` bytes, then `commit` how many. Nothing
        /// is visible to the consumer before the commit.
        package mutating func reserve(maxCount: Int) throws(ShmError) -> (first: UnsafeMutableRawPointer, stride: Int, count: Int) {
            try endpoint.checkNotForked()
            let capacity = geometry.mask &+ 1
            let untilWrap = capacity &- (writePosition & geometry.mask)
            let wanted = min(UInt64(max(0, maxCount)), untilWrap)
            let n = wanted == 0 ? 0 : min(try freeSlots(wanted: wanted), wanted)
            reservedEnd = writePosition &+ n
            return (geometry.message(writePosition).baseAddress!, geometry.stride, Int(truncatingIfNeeded: n))
        }

        /// Publishes the first `count` slots of the last `reserve`, in order.
        package mutating func commit(count: Int) throws(ShmError) {
            try endpoint.checkNotForked()
            guard count != 0 else { return }
            guard count > 0, writePosition <= reservedEnd, UInt64(count) <= reservedEnd &- writePosition else {
                throw .invalidArgument("commit of \(count) slots exceeds what the last reserve returned")
            }
            let geometry = geometry, first = writePosition
            for i in 0..<count {
                // Release: as in `tryPushBatch`.
                cshim_store_release(geometry.sequenceWord(first &+ UInt64(truncatingIfNeeded: i)), first &+ UInt64(truncatingIfNeeded: i) &+ 1)
            }
            finishPushBatch(count)
        }

        /// Blocking push: waits with the endpoint's strategy until a slot is
        /// free. Throws `timedOut` after `timeoutSeconds` (nil or infinity:
        /// never), `peerDied` if the consumer died, `corruptRing`.
        @inlinable
        public mutating func push(timeoutSeconds: Double?,
                                  _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            let endpoint = endpoint
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "SPSC push", position: writePosition,
                                  { () throws(ShmError) in try tryPush(fill) }, settled: { false },
                                  ready: { () throws(ShmError) in try freeSlots(wanted: 1) >= 1 })
        }

        /// Blocking copy-in push (see `tryPush(bytes:)` and `push(timeoutSeconds:_:)`).
        @inlinable
        public mutating func push(bytes: UnsafeRawBufferPointer, timeoutSeconds: Double?) throws(ShmError) {
            let endpoint = endpoint
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "SPSC push", position: writePosition,
                                  { () throws(ShmError) in try tryPush(bytes: bytes) }, settled: { false },
                                  ready: { () throws(ShmError) in try freeSlots(wanted: 1) >= 1 })
        }

        /// Blocking push of a trivial value.
        @inlinable
        public mutating func push<T: BitwiseCopyable>(_ value: T, timeoutSeconds: Double?) throws(ShmError) {
            let endpoint = endpoint
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "SPSC push", position: writePosition,
                                  { () throws(ShmError) in try tryPush(value) }, settled: { false },
                                  ready: { () throws(ShmError) in try freeSlots(wanted: 1) >= 1 })
        }
    }

    // MARK: - Consumer

    /// The consuming end: at most one per ring at a time, across processes.
    /// A consumer that finds the previous owner dead resumes at the last
    /// position that one handed back (a message it was reading when it died
    /// is delivered again). It may move to another thread; it cannot be copied.
    public struct Consumer: ~Copyable, @unchecked Sendable {
        // @unchecked: as `Producer`.
        public let ring: SPSCRing
        @usableFromInline let geometry: Geometry
        @usableFromInline let endpoint: Endpoint
        /// As `Producer.counters`.
        @usableFromInline let counters: EndpointCounters
        @usableFromInline var readPosition: UInt64
        @usableFromInline var reachedEndOfStream = false
        /// The end of the messages `peek` last found published: `release`
        /// hands back none at or beyond it.
        @usableFromInline var peekedEnd: UInt64 = 0

        init(ring: SPSCRing, strategy: WaitStrategy) throws(ShmError) {
            let endpoint = try Endpoint.claim(ring.region, side: .consumer, strategy: strategy)
            self.ring = ring
            self.endpoint = endpoint
            counters = endpoint.counters
            geometry = Geometry(ring)
            // Acquire: pairs with a previous consumer's release of its position.
            readPosition = cshim_load_acquire(geometry.readPositionWord)
        }

        deinit { endpoint.release() }

        /// Whether the slot at `position` holds its message. Acquire pairs with
        /// the producer's release in `publish`: the message bytes are visible.
        @inlinable
        func isFull(_ position: UInt64) throws(ShmError) -> Bool {
            try Self.isFull(position, in: geometry.slot(position), of: geometry)
        }

        /// `isFull` for a loop that computed the slot itself. Acquire pairs
        /// with the producer's release in `publish`: the message bytes are
        /// visible. Static, on the geometry alone: with the error built from
        /// `endpoint` (or by a method on `self`), the optimiser copied the
        /// endpoint (or the whole consumer) for every message of a batch,
        /// for the error path's sake.
        @inlinable @inline(__always)
        static func isFull(_ position: UInt64, in slot: UnsafeMutableRawPointer, of geometry: Geometry) throws(ShmError) -> Bool {
            let sequence = cshim_load_acquire(slot.assumingMemoryBound(to: UInt64.self))
            if sequence == position &+ 1 { return true }
            if sequence > position &+ 1 { throw slotAhead(sequence, of: position, regionBase: geometry.regionBase) }
            return false
        }

        /// The error of a sequence word ahead of the consumer (flagging the
        /// ring corrupt, as `Endpoint.corrupt`), built out of line so that
        /// the loops carry no string formatting.
        @usableFromInline @inline(never)
        static func slotAhead(_ sequence: UInt64, of position: UInt64, regionBase: UnsafeMutableRawPointer) -> ShmError {
            Endpoint.corrupt(regionBase: regionBase, "slot sequence \(sequence) is ahead of consumer position \(position)")
        }

        /// Hands the slots below `position` back to the producer (`count`
        /// more than last time). Release: our reads of those slots happen
        /// before the producer may overwrite them.
        @inlinable
        func release(upTo position: UInt64, count: UInt64) {
            cshim_store_release(geometry.readPositionWord, position)
            endpoint.wakePeerIfParked()
            counters.add(CountersLayout.recordsConsumedField, count)
        }

        /// Reads one message in place; `body` sees `messageSize` bytes that
        /// stay valid only during the call. Returns false when empty (see
        /// `pop(timeoutSeconds:_:)` to tell an empty ring from its end).
        @inlinable
        public mutating func tryPop(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool {
            try endpoint.checkNotForked()
            guard try isFull(readPosition) else { return false }
            try body(UnsafeRawBufferPointer(geometry.message(readPosition)))
            readPosition &+= 1
            release(upTo: readPosition, count: 1)
            return true
        }

        /// Copies the next message into `buffer` (at least `messageSize` bytes).
        @inlinable
        public mutating func tryPop(into buffer: UnsafeMutableRawBufferPointer) throws(ShmError) -> Bool {
            guard buffer.count >= geometry.messageSize else {
                throw .invalidArgument("buffer of \(buffer.count) bytes is smaller than the ring's \(geometry.messageSize)-byte messages")
            }
            return try tryPop { slot in buffer.baseAddress!.copyMemory(from: slot.baseAddress!, byteCount: slot.count) }
        }

        /// Pops a trivial value.
        @inlinable
        public mutating func tryPop<T: BitwiseCopyable>(as type: T.Type) throws(ShmError) -> T? {
            guard MemoryLayout<T>.size <= geometry.messageSize else {
                throw .invalidArgument("\(T.self) is \(MemoryLayout<T>.size) bytes; the ring's slots hold \(geometry.messageSize)")
            }
            var value: T?
            _ = try tryPop { slot in value = slot.baseAddress!.loadUnaligned(as: T.self) }
            return value
        }

        /// Reads up to `maxCount` ready messages in place, `body(i, slot)` for
        /// each, then hands them all back with one release store.
        @inlinable
        public mutating func tryPopBatch(maxCount: Int,
                                         _ body: (Int, UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Int {
            try endpoint.checkNotForked()
            // From a local copy of the geometry, with an error path that needs
            // only the region's base: the floor's consumer loop went from 27
            // instructions per message (a 64-byte copy of the endpoint among
            // them) to 15 (docs/design.md). No `defer` capturing `n`: that kept
            // it in memory across the body's call.
            let geometry = geometry, first = readPosition
            var n = 0
            do {
                while n < maxCount {
                    let position = first &+ UInt64(truncatingIfNeeded: n)
                    let slot = geometry.slot(position)
                    guard try Self.isFull(position, in: slot, of: geometry) else { break }
                    try body(n, UnsafeRawBufferPointer(start: slot + SPSCLayout.sequenceWordSize, count: geometry.messageSize))
                    n &+= 1
                }
            } catch {
                // Hand back what was read before the throw.
                finishPopBatch(n)
                throw error
            }
            finishPopBatch(n)
            return n
        }

        /// Hands back `count` slots just read.
        @inlinable
        mutating func finishPopBatch(_ count: Int) {
            guard count > 0 else { return }
            readPosition &+= UInt64(count)
            release(upTo: readPosition, count: UInt64(count))
        }

        /// Messages to read in place, for a caller that cannot pass a closure
        /// (the C ABI): up to `maxCount` published messages from the next
        /// position, not past the ring's end (one stride apart), each of
        /// `messageSize` bytes. They stay put until `release` hands them back.
        package mutating func peek(maxCount: Int) throws(ShmError) -> (first: UnsafeRawPointer, stride: Int, count: Int) {
            try endpoint.checkNotForked()
            let geometry = geometry, first = readPosition
            let untilWrap = (geometry.mask &+ 1) &- (first & geometry.mask)
            let wanted = Int(truncatingIfNeeded: min(UInt64(max(0, maxCount)), untilWrap))
            var n = 0
            while n < wanted {
                let position = first &+ UInt64(truncatingIfNeeded: n)
                guard try Self.isFull(position, in: geometry.slot(position), of: geometry) else { break }
                n &+= 1
            }
            peekedEnd = first &+ UInt64(truncatingIfNeeded: n)
            return (UnsafeRawPointer(geometry.message(first).baseAddress!), geometry.stride, n)
        }

        /// Hands back the first `count` messages of the last `peek`.
        package mutating func release(count: Int) throws(ShmError) {
            try endpoint.checkNotForked()
            guard count != 0 else { return }
            guard count > 0, readPosition <= peekedEnd, UInt64(count) <= peekedEnd &- readPosition else {
                throw .invalidArgument("release of \(count) messages exceeds what the last peek returned")
            }
            finishPopBatch(count)
        }

        /// Whether the wait for a message is over without one: the producer
        /// closed the stream at this position. Also the consistency checks a
        /// waiting consumer makes (issue 7.20): nonsense from the peer, or from
        /// anyone scribbling on the region, is `corruptRing`, not a silent wait.
        @usableFromInline
        func reachedEnd() throws(ShmError) -> Bool {
            let position = readPosition
            // Acquire: pairs with the producer's release in `waitSlowly`: every
            // slot below where it waits is published (so a zeroed sequence
            // word is found, not waited on).
            let waiting = cshim_load_acquire(endpoint.word(EndpointLayout.producerWaitingAtOffset))
            if waiting != 0, waiting &- 1 > position, try !isFull(position) {
                throw endpoint.corrupt("the producer waits at position \(waiting &- 1) but slot \(position) holds no message")
            }
            return try endpoint.consumerReachedEnd(position: position) { () throws(ShmError) in try isFull(position) }
        }

        /// Called once the stream has ended: the first time, removes the name.
        @usableFromInline
        mutating func endOfStream() -> Received {
            if !reachedEndOfStream {
                reachedEndOfStream = true
                RingLifecycle.removeNameAtEnd(ring.region, naming: ring.naming)
            }
            return .endOfStream
        }

        /// Blocking pop in place. Returns `.message` after `body` ran, or
        /// `.endOfStream` once the producer closed the ring and every message
        /// was read. Throws `timedOut` after `timeoutSeconds` (nil or
        /// infinity: never), `peerDied` if the producer died without closing
        /// (after its last message was read), `corruptRing`.
        @inlinable
        public mutating func pop(timeoutSeconds: Double?,
                                 _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Received {
            let endpoint = endpoint
            let got = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "SPSC pop", position: readPosition,
                                        { () throws(ShmError) in try tryPop(body) },
                                        settled: { () throws(ShmError) in try reachedEnd() },
                                        ready: { () throws(ShmError) in if try isFull(readPosition) { return true }; return try reachedEnd() })
            return got ? .message : endOfStream()
        }

        /// Blocking copy-out pop (see `pop(timeoutSeconds:_:)`).
        @inlinable
        public mutating func pop(into buffer: UnsafeMutableRawBufferPointer, timeoutSeconds: Double?) throws(ShmError) -> Received {
            let endpoint = endpoint
            let got = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "SPSC pop", position: readPosition,
                                        { () throws(ShmError) in try tryPop(into: buffer) },
                                        settled: { () throws(ShmError) in try reachedEnd() },
                                        ready: { () throws(ShmError) in if try isFull(readPosition) { return true }; return try reachedEnd() })
            return got ? .message : endOfStream()
        }

        /// Blocking pop of a trivial value; nil at end of stream.
        @inlinable
        public mutating func pop<T: BitwiseCopyable>(as type: T.Type, timeoutSeconds: Double?) throws(ShmError) -> T? {
            var value: T?
            let endpoint = endpoint
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "SPSC pop", position: readPosition,
                                  { () throws(ShmError) in value = try tryPop(as: T.self); return value != nil },
                                  settled: { () throws(ShmError) in try reachedEnd() },
                                  ready: { () throws(ShmError) in if try isFull(readPosition) { return true }; return try reachedEnd() })
            if value == nil { _ = endOfStream() }
            return value
        }
    }
}
