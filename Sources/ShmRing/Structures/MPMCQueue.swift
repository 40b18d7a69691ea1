/// What the two bounded multi-producer/multi-consumer queues share: one API,
/// so that a harness (or a pipeline) can swap the semaphore-guarded queue for
/// the lock-free one and see exactly what the semaphores cost.
///
/// Every process may push and pop; a queue value holds no per-process state,
/// so it is freely copyable. Messages are fixed-size slots of `messageSize`
/// bytes written and read in place: `fill(i, slot)` writes the i-th message
/// of a push, `body(i, slot)` reads the i-th of a pop (the bytes stay valid
/// only during the call). The closures do not throw: a claimed slot of the
/// lock-free queue cannot be given back, so a fill must always complete.
///
/// Both queues are FIFO: messages leave in the order their pushes claimed
/// positions, so one producer's messages reach all consumers together in the
/// order it pushed them.
public protocol MPMCQueue: Sendable {
    static var structureKind: StructureKind { get }
    /// Largest capacity the queue supports.
    static var maximumCapacity: Int { get }

    /// Creates a queue exclusively. `name` nil gives an IPC_PRIVATE (sysv) or
    /// anonymous region, for processes related by fork.
    static func create(backing: RegionBacking, name: String?, capacity: Int, messageSize: Int,
                       options: RegionOptions) throws(ShmError) -> Self
    /// Opens a queue another process created, validating its header.
    static func open(backing: RegionBacking, name: String, options: RegionOptions) throws(ShmError) -> Self

    var region: SharedRegion { get }
    var capacity: Int { get }
    var messageSize: Int { get }

    /// Writes up to `maxCount` messages if there is room for any; returns
    /// how many (0 when full). Never waits for room. The semaphore queue may
    /// wait for its mutex, at most `MPMCSemaphoreQueue.tryMutexTimeoutSeconds`,
    /// then throws `ShmError.timedOut` (its holder is stopped).
    func tryPushBatch(maxCount: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) -> Int
    /// Writes exactly `count` (at most `capacity`) messages, waiting for room;
    /// `timeoutSeconds` nil waits forever.
    func pushBatch(count: Int, timeoutSeconds: Double?, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(ShmError)
    /// Reads up to `maxCount` messages if any are ready; returns how many.
    func tryPopBatch(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int
    /// Waits until at least one message is ready, then reads up to `maxCount`.
    func popBatch(maxCount: Int, timeoutSeconds: Double?, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Int

    /// Removes the queue's name, so that nothing new can open it. Queue
    /// values that exist keep working (the mapping goes when the last of them
    /// goes; see each queue for its semaphores). Idempotent. By default the
    /// creating process also does this when its last queue value goes.
    func removeName()
}

// The single-message and copying forms, once for both queues.
extension MPMCQueue {
    /// Writes one message in place. Returns false when full.
    @inlinable
    public func tryPush(_ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) -> Bool {
        try tryPushBatch(maxCount: 1) { _, slot in fill(slot) } == 1
    }

    /// Copies `bytes` (at most `messageSize`) into the next slot; the rest of
    /// the slot is zeroed.
    @inlinable
    public func tryPush(bytes: UnsafeRawBufferPointer) throws(ShmError) -> Bool {
        try checkFits(bytes.count)
        return try tryPush { slot in copy(bytes, into: slot) }
    }

    /// Pushes a trivial value (its size at most `messageSize`).
    @inlinable
    public func tryPush<T: BitwiseCopyable>(_ value: T) throws(ShmError) -> Bool {
        try checkFits(MemoryLayout<T>.size)
        return try tryPush { slot in slot.baseAddress!.storeBytes(of: value, as: T.self) }
    }

    /// Blocking push of one message in place.
    @inlinable
    public func push(timeoutSeconds: Double? = nil, _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(ShmError) {
        try pushBatch(count: 1, timeoutSeconds: timeoutSeconds) { _, slot in fill(slot) }
    }

    /// Blocking copy-in push.
    @inlinable
    public func push(bytes: UnsafeRawBufferPointer, timeoutSeconds: Double? = nil) throws(ShmError) {
        try checkFits(bytes.count)
        try push(timeoutSeconds: timeoutSeconds) { slot in copy(bytes, into: slot) }
    }

    /// Reads one message in place. Returns false when empty.
    @inlinable
    public func tryPop(_ body: (UnsafeRawBufferPointer) -> Void) throws(ShmError) -> Bool {
        try tryPopBatch(maxCount: 1) { _, slot in body(slot) } == 1
    }

    /// Copies the next message into `buffer` (at least `messageSize` bytes).
    @inlinable
    public func tryPop(into buffer: UnsafeMutableRawBufferPointer) throws(ShmError) -> Bool {
        try checkHolds(buffer.count)
        return try tryPop { slot in buffer.baseAddress!.copyMemory(from: slot.baseAddress!, byteCount: slot.count) }
    }

    /// Pops a trivial value.
    @inlinable
    public func tryPop<T: BitwiseCopyable>(as type: T.Type) throws(ShmError) -> T? {
        try checkFits(MemoryLayout<T>.size)
        var value: T?
        _ = try tryPop { slot in value = slot.baseAddress!.loadUnaligned(as: T.self) }
        return value
    }

    /// Blocking pop of one message in place.
    @inlinable
    public func pop(timeoutSeconds: Double? = nil, _ body: (UnsafeRawBufferPointer) -> Void) throws(ShmError) {
        _ = try popBatch(maxCount: 1, timeoutSeconds: timeoutSeconds) { _, slot in body(slot) }
    }

    /// Blocking copy-out pop.
    @inlinable
    public func pop(into buffer: UnsafeMutableRawBufferPointer, timeoutSeconds: Double? = nil) throws(ShmError) {
        try checkHolds(buffer.count)
        try pop(timeoutSeconds: timeoutSeconds) { slot in
            buffer.baseAddress!.copyMemory(from: slot.baseAddress!, byteCount: slot.count)
        }
    }

    @inlinable
    func checkFits(_ count: Int) throws(ShmError) {
        guard count <= messageSize else {
            throw .invalidArgument("a message of \(count) bytes exceeds the queue's \(messageSize)-byte slots")
        }
    }

    @inlinable
    func checkHolds(_ count: Int) throws(ShmError) {
        guard count >= messageSize else {
            throw .invalidArgument("buffer of \(count) bytes is smaller than the queue's \(messageSize)-byte messages")
        }
    }

    /// Copies `bytes` to the start of `slot` and zeroes the rest, so that a
    /// short message never shows the previous lap's bytes to a consumer
    /// (messages are fixed-size; the queue stores no length).
    @inlinable
    func copy(_ bytes: UnsafeRawBufferPointer, into slot: UnsafeMutableRawBufferPointer) {
        if let src = bytes.baseAddress { slot.baseAddress!.copyMemory(from: src, byteCount: bytes.count) }
        if bytes.count < slot.count {
            (slot.baseAddress! + bytes.count).initializeMemory(as: UInt8.self, repeating: 0, count: slot.count - bytes.count)
        }
    }
}
