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
/// # Hot path
/// `tryPush`/`tryPop` and their batch and in-place forms take no lock, make
/// no system call and allocate nothing; they are `@inlinable` so clients
/// specialise the closures they pass.
public struct SPSCRing: Sendable {
    public let region: SharedRegion
    public let capacity: Int
    public let messageSize: Int
    @usableFromInline let stride: Int

    /// Creates a ring exclusively. `name` nil gives an IPC_PRIVATE (sysv) or
    /// anonymous region, for processes related by fork.
    public static func create(backing: RegionBacking, name: String?, capacity: Int, messageSize: Int,
                              options: RegionOptions = RegionOptions()) throws(ShmError) -> SPSCRing {
        let region = try SlotShape.createRegion(backing: backing, name: name, capacity: capacity, messageSize: messageSize,
                                                maximumCapacity: RegionLayout.maximumCapacity, options: options,
                                                regionSize: SPSCLayout.regionSize)
        // The mapping is zero-filled: every sequence word is 0 (empty) and
        // readPosition is 0, which is the initial state.
        RegionHeader(kind: .spscRing, totalSize: region.size, capacity: capacity, slotSize: messageSize).write(to: region)
        RegionHeader.publishReady(region)
        return SPSCRing(region: region, capacity: capacity, messageSize: messageSize)
    }

    /// Opens a ring another process created, validating its header.
    public static func open(backing: RegionBacking, name: String,
                            options: RegionOptions = RegionOptions()) throws(ShmError) -> SPSCRing {
        let region = try SharedRegion.open(backing: backing, name: name, options: options)
        return try attach(region, timeoutSeconds: options.openTimeoutSeconds)
    }

    /// Validates a mapped region as an SPSC ring.
    public static func attach(_ region: SharedRegion, timeoutSeconds: Double = 5) throws(ShmError) -> SPSCRing {
        let shape = try SlotShape.attach(region, kind: .spscRing, maximumCapacity: RegionLayout.maximumCapacity,
                                         timeoutSeconds: timeoutSeconds, regionSize: SPSCLayout.regionSize)
        return SPSCRing(region: region, capacity: shape.capacity, messageSize: shape.messageSize)
    }

    init(region: SharedRegion, capacity: Int, messageSize: Int) {
        self.region = region
        self.capacity = capacity
        self.messageSize = messageSize
        self.stride = SPSCLayout.stride(slotSize: messageSize)
    }

    /// A point-in-time view for monitoring; reads only, bounded by capacity.
    public struct Snapshot: Sendable {
        public var creatorPid: Int32
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
        return Snapshot(creatorPid: Int32(truncatingIfNeeded: pid), readPosition: read, pending: pending)
    }

    /// Where the slots and the consumer's position are, shared by both ends.
    @usableFromInline
    struct Geometry {
        @usableFromInline let slots: UnsafeMutableRawPointer
        @usableFromInline let readPositionWord: UnsafeMutablePointer<UInt64>
        @usableFromInline let mask: UInt64
        @usableFromInline let stride: Int
        @usableFromInline let messageSize: Int

        init(_ ring: SPSCRing) {
            slots = ring.region.base + SPSCLayout.slotsOffset
            readPositionWord = (ring.region.base + SPSCLayout.readPositionOffset).assumingMemoryBound(to: UInt64.self)
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

    /// The producing end. Exactly one process may hold one at a time.
    public func producer() -> Producer { Producer(ring: self) }
    /// The consuming end. Exactly one process may hold one at a time.
    public func consumer() -> Consumer { Consumer(ring: self) }

    // MARK: - Producer

    public struct Producer: ~Copyable {
        public let ring: SPSCRing
        @usableFromInline let geometry: Geometry
        @usableFromInline var writePosition: UInt64 = 0
        @usableFromInline var cachedReadPosition: UInt64 = 0

        init(ring: SPSCRing) {
            self.ring = ring
            geometry = Geometry(ring)
            // Resume where the region stands: the consumer's position (acquire:
            // see its release in `Consumer.release`) is where writing may go on
            // only if the ring is empty; a fresh ring has both at 0.
            let start = cshim_load_acquire(geometry.readPositionWord)
            writePosition = start
            cachedReadPosition = start
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
                throw .corruptRing(reason: "consumer position \(read) is inconsistent with producer position \(writePosition) (capacity \(capacity))")
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
            guard try freeSlots(wanted: 1) >= 1 else { return false }
            try fill(geometry.message(writePosition))
            publish(writePosition)
            writePosition &+= 1
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

        /// Pushes a trivial value (its size at most `messageSize`).
        @inlinable
        public mutating func tryPush<T: BitwiseCopyable>(_ value: T) throws(ShmError) -> Bool {
            guard MemoryLayout<T>.size <= geometry.messageSize else {
                throw .invalidArgument("\(T.self) is \(MemoryLayout<T>.size) bytes; the ring's slots hold \(geometry.messageSize)")
            }
            return try tryPush { slot in slot.baseAddress!.storeBytes(of: value, as: T.self) }
        }

        /// Writes up to `maxCount` messages in place, `fill(i, slot)` for each,
        /// after one free-space check. Returns how many were written (0 when full).
        @inlinable
        public mutating func tryPushBatch(maxCount: Int,
                                          _ fill: (Int, UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Int {
            guard maxCount > 0 else { return 0 }
            let n = Int(truncatingIfNeeded: min(try freeSlots(wanted: UInt64(maxCount)), UInt64(maxCount)))
            var i = 0
            while i < n {
                try fill(i, geometry.message(writePosition))
                // Advance with each publication: if a later `fill` throws,
                // the slots already published stay counted and are never rewritten.
                publish(writePosition)
                writePosition &+= 1
                i &+= 1
            }
            return n
        }

        /// Blocking push: spins, then yields, until a slot is free or the
        /// deadline passes (`timeoutSeconds` nil waits forever).
        @inlinable
        public mutating func push(timeoutSeconds: Double? = nil,
                                  _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            try SpinWait.until(timeoutSeconds: timeoutSeconds, operation: "SPSC push") { () throws(ShmError) in try tryPush(fill) }
        }

        /// Blocking copy-in push.
        @inlinable
        public mutating func push(bytes: UnsafeRawBufferPointer, timeoutSeconds: Double? = nil) throws(ShmError) {
            try SpinWait.until(timeoutSeconds: timeoutSeconds, operation: "SPSC push") { () throws(ShmError) in try tryPush(bytes: bytes) }
        }
    }

    // MARK: - Consumer

    public struct Consumer: ~Copyable {
        public let ring: SPSCRing
        @usableFromInline let geometry: Geometry
        @usableFromInline var readPosition: UInt64 = 0

        init(ring: SPSCRing) {
            self.ring = ring
            geometry = Geometry(ring)
            // Relaxed: only this consumer writes readPosition.
            readPosition = cshim_load_relaxed(geometry.readPositionWord)
        }

        /// Whether the slot at `position` holds its message. Acquire pairs with
        /// the producer's release in `publish`: the message bytes are visible.
        @inlinable
        func isFull(_ position: UInt64) throws(ShmError) -> Bool {
            let sequence = cshim_load_acquire(geometry.sequenceWord(position))
            if sequence == position &+ 1 { return true }
            if sequence > position &+ 1 {
                throw .corruptRing(reason: "slot sequence \(sequence) is ahead of consumer position \(position)")
            }
            return false
        }

        /// Hands the slots below `position` back to the producer. Release: our
        /// reads of those slots happen before the producer may overwrite them.
        @inlinable
        func release(upTo position: UInt64) {
            cshim_store_release(geometry.readPositionWord, position)
        }

        /// Reads one message in place; `body` sees `messageSize` bytes that
        /// stay valid only during the call. Returns false when empty.
        @inlinable
        public mutating func tryPop(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool {
            guard try isFull(readPosition) else { return false }
            try body(UnsafeRawBufferPointer(geometry.message(readPosition)))
            readPosition &+= 1
            release(upTo: readPosition)
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
            var n = 0
            while n < maxCount, try isFull(readPosition &+ UInt64(n)) {
                try body(n, UnsafeRawBufferPointer(geometry.message(readPosition &+ UInt64(n))))
                n &+= 1
            }
            if n > 0 {
                readPosition &+= UInt64(n)
                release(upTo: readPosition)
            }
            return n
        }

        /// Blocking pop in place: spins, then yields.
        @inlinable
        public mutating func pop(timeoutSeconds: Double? = nil,
                                 _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            try SpinWait.until(timeoutSeconds: timeoutSeconds, operation: "SPSC pop") { () throws(ShmError) in try tryPop(body) }
        }

        /// Blocking copy-out pop.
        @inlinable
        public mutating func pop(into buffer: UnsafeMutableRawBufferPointer, timeoutSeconds: Double? = nil) throws(ShmError) {
            try SpinWait.until(timeoutSeconds: timeoutSeconds, operation: "SPSC pop") { () throws(ShmError) in try tryPop(into: buffer) }
        }
    }
}
