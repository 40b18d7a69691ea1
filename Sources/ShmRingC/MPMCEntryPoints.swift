import ShmRing
import CShmRingABI

// The two MPMC queues' C entry points (include/shmring.h), over one handle
// type: the queues share the `MPMCQueue` protocol, so every call is one
// generic body for both.

/// Which queue a handle holds.
enum AnyMPMCQueue {
    case semaphore(MPMCSemaphoreQueue)
    case lockFree(MPMCLockFreeQueue)

    func with<R>(_ body: (any MPMCQueue) throws(ShmError) -> R) throws(ShmError) -> R {
        switch self {
        case let .semaphore(q): try body(q)
        case let .lockFree(q): try body(q)
        }
    }

    var queue: any MPMCQueue {
        switch self {
        case let .semaphore(q): q
        case let .lockFree(q): q
        }
    }
}

func mpmcKind(_ raw: shmring_mpmc_kind) throws(ShmError) -> any MPMCQueue.Type {
    switch raw.rawValue {
    case 0: MPMCSemaphoreQueue.self
    case 1: MPMCLockFreeQueue.self
    default: throw .invalidArgument("unknown MPMC queue kind \(raw.rawValue)")
    }
}

func wrap(_ queue: any MPMCQueue) -> AnyMPMCQueue {
    if let q = queue as? MPMCSemaphoreQueue { return .semaphore(q) }
    return .lockFree(queue as! MPMCLockFreeQueue)
}

@_cdecl("shmring_mpmc_create")
public func shmring_mpmc_create(_ kind: shmring_mpmc_kind, _ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ capacity: Int,
                                _ messageSize: Int, _ options: UnsafePointer<shmring_options>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.mpmc) { () throws(ShmError) in
        let queue = try mpmcKind(kind).create(backing: ABIArgument.backing(backing), name: ABIArgument.name(name, optional: true),
                                              capacity: ABIArgument.count(capacity, "capacity"),
                                              messageSize: ABIArgument.count(messageSize, "message_size"),
                                              options: ABIArgument.options(options).0)
        return wrap(queue)
    }
}

@_cdecl("shmring_mpmc_open")
public func shmring_mpmc_open(_ kind: shmring_mpmc_kind, _ backing: shmring_backing, _ name: UnsafePointer<CChar>?,
                              _ options: UnsafePointer<shmring_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.mpmc) { () throws(ShmError) in
        let queue = try mpmcKind(kind).open(backing: ABIArgument.backing(backing), name: ABIArgument.name(name)!,
                                            options: ABIArgument.options(options).0)
        return wrap(queue)
    }
}

@_cdecl("shmring_mpmc_capacity")
public func shmring_mpmc_capacity(_ handle: OpaquePointer?, _ capacity: UnsafeMutablePointer<Int>?, _ messageSize: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    capacity?.pointee = q.pointee.queue.capacity
    messageSize?.pointee = q.pointee.queue.messageSize
    return ABIStatus.ok
}

@_cdecl("shmring_mpmc_try_push")
public func shmring_mpmc_try_push(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let source = try bytes(data, length)
        return try q.pointee.with { (queue) throws(ShmError) in try queue.tryPush(bytes: source) } ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_mpmc_push")
public func shmring_mpmc_push(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int, _ timeout: Double) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let source = try bytes(data, length), seconds = try ABIArgument.timeout(timeout)
        try q.pointee.with { (queue) throws(ShmError) in try queue.push(bytes: source, timeoutSeconds: seconds) }
        return ABIStatus.ok
    }
}

@_cdecl("shmring_mpmc_try_pop")
public func shmring_mpmc_try_pop(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size)
        return try q.pointee.with { (queue) throws(ShmError) in try queue.tryPop(into: target) } ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_mpmc_pop")
public func shmring_mpmc_pop(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ size: Int, _ timeout: Double) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(data, size), seconds = try ABIArgument.timeout(timeout)
        try q.pointee.with { (queue) throws(ShmError) in try queue.pop(into: target, timeoutSeconds: seconds) }
        return ABIStatus.ok
    }
}

@_cdecl("shmring_mpmc_try_push_batch")
public func shmring_mpmc_try_push_batch(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ count: Int, _ pushed: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let size = q.pointee.queue.messageSize
        let source = try bytes(data, messages(count, of: size))
        let n = try q.pointee.with { (queue) throws(ShmError) in
            try queue.tryPushBatch(maxCount: count) { i, slot in slot.baseAddress!.copyMemory(from: source.baseAddress! + i &* size, byteCount: size) }
        }
        pushed?.pointee = n
        return n > 0 || count == 0 ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_mpmc_push_batch")
public func shmring_mpmc_push_batch(_ handle: OpaquePointer?, _ data: UnsafeRawPointer?, _ count: Int, _ timeout: Double) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let size = q.pointee.queue.messageSize
        let source = try bytes(data, messages(count, of: size)), seconds = try ABIArgument.timeout(timeout)
        guard count <= q.pointee.queue.capacity else { throw .invalidArgument("a blocking batch of \(count) exceeds the queue's capacity \(q.pointee.queue.capacity)") }
        try q.pointee.with { (queue) throws(ShmError) in
            try queue.pushBatch(count: count, timeoutSeconds: seconds) { i, slot in
                slot.baseAddress!.copyMemory(from: source.baseAddress! + i &* size, byteCount: size)
            }
        }
        return ABIStatus.ok
    }
}

@_cdecl("shmring_mpmc_try_pop_batch")
public func shmring_mpmc_try_pop_batch(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ maxCount: Int, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let size = q.pointee.queue.messageSize
        let target = try buffer(data, messages(maxCount, of: size))
        let n = try q.pointee.with { (queue) throws(ShmError) in
            try queue.tryPopBatch(maxCount: maxCount) { i, m in (target.baseAddress! + i &* size).copyMemory(from: m.baseAddress!, byteCount: size) }
        }
        count?.pointee = n
        return n > 0 || maxCount == 0 ? ABIStatus.ok : ABIStatus.again
    }
}

@_cdecl("shmring_mpmc_pop_batch")
public func shmring_mpmc_pop_batch(_ handle: OpaquePointer?, _ data: UnsafeMutableRawPointer?, _ maxCount: Int, _ timeout: Double,
                                   _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let size = q.pointee.queue.messageSize
        let target = try buffer(data, messages(maxCount, of: size)), seconds = try ABIArgument.timeout(timeout)
        let n = try q.pointee.with { (queue) throws(ShmError) in
            try queue.popBatch(maxCount: maxCount, timeoutSeconds: seconds) { i, m in
                (target.baseAddress! + i &* size).copyMemory(from: m.baseAddress!, byteCount: size)
            }
        }
        count?.pointee = n
        return ABIStatus.ok
    }
}

@_cdecl("shmring_mpmc_remove_name")
public func shmring_mpmc_remove_name(_ handle: OpaquePointer?) -> Int32 {
    guard let q = HandleCell.value(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self, #function) else { return HandleCell.status }
    q.pointee.queue.removeName()
    return ABIStatus.ok
}

@_cdecl("shmring_mpmc_free")
public func shmring_mpmc_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.mpmc, as: AnyMPMCQueue.self) }
