import SystemPackage

/// Every failure the ShmRing library reports. Each case prints as one line a
/// person understands, naming the object and, for system calls, the call and
/// its errno.
public enum ShmError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A system call failed. `call` names it with its key arguments.
    case systemCall(call: String, errno: Errno)
    /// No region with this name exists.
    case noSuchRegion(name: String)
    /// The region exists but this process may not open it.
    case permissionDenied(name: String)
    /// The object exists but does not start with the ShmRing magic number.
    case notARing(name: String, magic: UInt64)
    /// The region was written by an incompatible layout version.
    case incompatibleVersion(name: String, found: UInt32, supported: UInt32)
    /// The mapping is smaller or larger than the header says it should be.
    case sizeMismatch(name: String, headerSays: UInt64, actual: UInt64)
    /// A header field is out of range or its checksum does not match.
    case corruptedHeader(name: String, reason: String)
    /// The region holds another kind of structure than the caller asked for.
    case wrongStructure(name: String, expected: String, found: String)
    /// The creator did not publish the region as ready in time.
    case notReady(name: String, waitedSeconds: Double)
    /// A SysV semaphore set exists but its creator never initialised it
    /// (sem_otime stayed 0): it died between semget and its first semop.
    case semaphoresNotReady(name: String, key: Int32, waitedSeconds: Double)
    /// An index or length read from shared memory is out of bounds: the peer
    /// crashed mid-write or is hostile.
    case corruptRing(reason: String)
    /// A caller-supplied argument is invalid.
    case invalidArgument(String)
    /// A blocking operation gave up.
    case timedOut(operation: String, seconds: Double)
    /// `create` found the name taken (by a live or a stale object).
    case alreadyExists(name: String)
    /// The object to open belongs to a uid this process does not trust
    /// (`RegionOptions.allowedOwners`).
    case untrustedOwner(name: String, uid: UInt32)
    /// The object to open is writable by group or others
    /// (`RegionOptions.allowSharedWrite` accepts it).
    case unsafePermissions(name: String, mode: UInt32)
    /// The file system behind a region has no room for its pages (ENOSPC
    /// from posix_fallocate); nothing was left behind.
    case outOfSpace(name: String, bytes: UInt64)
    /// The semaphore set of a queue was removed (EIDRM) while in use.
    case semaphoresRemoved(name: String)
    /// Another live process (possibly this one) holds this end of the ring.
    case endpointTaken(name: String, side: EndpointSide, pid: Int32)
    /// The process at the other end of the ring died without closing it;
    /// everything it had published was delivered first.
    case peerDied(pid: Int32)
    /// A ring handle used in a forked child: the end belongs to the parent
    /// (the child's copy of the handle is poisoned at fork).
    case forkedHandle(name: String, side: EndpointSide)
    /// The record ring's producer ended the stream with a failure
    /// (`RecordRing.Producer.abort`); everything it published was delivered first.
    case producerFailed(name: String, reason: StreamFailure)
    /// The record ring's stream was already read to its end by consumer `pid`.
    case streamConsumed(name: String, pid: Int32)
    /// A broadcast ring under `.evict` dropped this consumer: it kept the
    /// producer waiting longer than the policy's timeout. Join again.
    case evicted(name: String, slot: Int, afterSeconds: Double)

    public var description: String {
        switch self {
        case let .systemCall(call, errno):
            return "\(call) failed: \(errno) (errno \(errno.rawValue))"
        case let .noSuchRegion(name):
            return "no such ring '\(name)': nothing has created it (or its creator already removed it)"
        case let .permissionDenied(name):
            return "permission denied opening ring '\(name)': it belongs to another user or its mode forbids access"
        case let .notARing(name, magic):
            return "'\(name)' is not a ShmRing region (magic 0x\(String(magic, radix: 16)), expected 0x\(String(RegionLayout.magic, radix: 16)))"
        case let .incompatibleVersion(name, found, supported):
            return "ring '\(name)' has layout version \(found); this library reads version \(supported)"
        case let .sizeMismatch(name, headerSays, actual):
            return "ring '\(name)' is truncated or resized: header says \(headerSays) bytes, mapping has \(actual)"
        case let .corruptedHeader(name, reason):
            return "ring '\(name)' has a corrupted header: \(reason)"
        case let .wrongStructure(name, expected, found):
            return "ring '\(name)' holds a \(found), not a \(expected)"
        case let .notReady(name, waited):
            return "ring '\(name)' was not initialised by its creator within \(waited) s"
        case let .semaphoresNotReady(name, key, waited):
            return "semaphore set of '\(name)' (key 0x\(String(UInt32(bitPattern: key), radix: 16))) was not initialised by its creator within \(waited) s (sem_otime is still 0: the creator died during set-up, or a stale set holds the key; see ipcs -s)"
        case let .corruptRing(reason):
            return "shared ring is corrupt: \(reason)"
        case let .invalidArgument(text):
            return text
        case let .timedOut(operation, seconds):
            return "\(operation) timed out after \(seconds) s"
        case let .alreadyExists(name):
            return "ring '\(name)' already exists: remove it (ringbench rm) or choose another name"
        case let .untrustedOwner(name, uid):
            return "refusing to open '\(name)': it is owned by uid \(uid), not by this user (RegionOptions.allowedOwners trusts other owners)"
        case let .unsafePermissions(name, mode):
            return "refusing to open '\(name)': mode 0\(String(mode, radix: 8)) lets group or others write it (RegionOptions.allowSharedWrite accepts that)"
        case let .outOfSpace(name, bytes):
            return "no space for ring '\(name)' (\(bytes) bytes): its file system is full; nothing was left behind"
        case let .semaphoresRemoved(name):
            return "the semaphore set of '\(name)' was removed while in use"
        case let .endpointTaken(name, side, pid):
            return "the \(side) end of ring '\(name)' is already held by live process \(pid)"
        case let .peerDied(pid):
            return "the process at the other end of the ring (pid \(pid)) died without closing it"
        case let .forkedHandle(name, side):
            return "the \(side) handle of ring '\(name)' was inherited across fork: that end belongs to the parent; open the ring and claim an end in the child instead"
        case let .producerFailed(name, reason):
            return "ring '\(name)': producer failed: \(reason)"
        case let .streamConsumed(name, pid):
            return "ring '\(name)': stream already consumed by pid \(pid)"
        case let .evicted(name, slot, seconds):
            return "evicted from broadcast ring '\(name)' (consumer slot \(slot)): the producer waited for it longer than \(seconds) s; join again"
        }
    }
}

extension ShmError {
    /// The current errno, captured right after a failed call.
    @inlinable
    static func lastErrno(_ call: @autoclosure () -> String) -> ShmError {
        .systemCall(call: call(), errno: Errno(rawValue: errnoValue()))
    }
}

@usableFromInline
func errnoValue() -> CInt {
    #if canImport(Glibc)
    return Glibc.errno
    #elseif canImport(Musl)
    return Musl.errno
    #else
    return 0
    #endif
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
