import ShmRing
import SystemPackage
import CShmRingABI

/// Status codes of include/shmring.h, and the translation of every
/// `ShmError` into one (plus the thread's last-error record).
enum ABIStatus {
    static let ok: Int32 = 0
    static let again: Int32 = 1
    static let end: Int32 = 2
    /// Journal tailers: retention deleted records before they were read.
    static let overrun: Int32 = 3

    static func code(_ error: ShmError) -> Int32 {
        switch error {
        case .systemCall: -1
        case .noSuchRegion: -2
        case .permissionDenied: -3
        case .notARing: -4
        case .incompatibleVersion: -5
        case .sizeMismatch: -6
        case .corruptedHeader: -7
        case .wrongStructure: -8
        case .notReady: -9
        case .semaphoresNotReady: -10
        case .corruptRing: -11
        case .invalidArgument: -12
        case .timedOut: -13
        case .alreadyExists: -14
        case .untrustedOwner: -15
        case .unsafePermissions: -16
        case .outOfSpace: -17
        case .semaphoresRemoved: -18
        case .endpointTaken: -19
        case .peerDied: -20
        case .forkedHandle: -21
        case .producerFailed: -22
        case .streamConsumed: -23
        case .evicted: -25
        }
    }

    static let closedHandleCode: Int32 = -24

    /// Records `error` as the thread's last error; returns its code.
    @inline(never)
    static func fail(_ error: ShmError) -> Int32 {
        var errnoValue: Int32 = 0, call = "", pid: Int32 = 0
        switch error {
        case let .systemCall(c, e): (call, errnoValue) = (c, e.rawValue)
        case let .peerDied(p): pid = p
        case let .endpointTaken(_, _, p): pid = p
        case let .streamConsumed(_, p): pid = p
        default: break
        }
        let code = code(error)
        shmring_internal_set_error(code, error.description, errnoValue, call, pid)
        return code
    }

    @inline(never)
    static func closedHandle(_ function: StaticString) -> Int32 {
        shmring_internal_set_error(closedHandleCode, "\(function): the handle's end was closed", 0, "", 0)
        return closedHandleCode
    }

    /// Runs `body`, turning a thrown error into its status.
    @inline(__always)
    static func run(_ body: () throws(ShmError) -> Int32) -> Int32 {
        do { return try body() } catch { return fail(error) }
    }
}

/// Conversions of the C arguments, each refusing what the Swift API would not take.
enum ABIArgument {
    static func backing(_ raw: shmring_backing) throws(ShmError) -> RegionBacking {
        switch raw.rawValue {
        case 0: .sysv
        case 1: .mmap
        case 2: .anon
        default: throw .invalidArgument("unknown backing \(raw.rawValue)")
        }
    }

    static func wait(_ raw: shmring_wait) throws(ShmError) -> WaitStrategy {
        switch raw.rawValue {
        case 0: .spin
        case 1: .yield
        case 2: .park
        case 3: .backoff
        default: throw .invalidArgument("unknown wait strategy \(raw.rawValue)")
        }
    }

    /// The `max_count` of a many-records read: at least 1.
    static func maxCount(_ count: Int) throws(ShmError) -> Int {
        guard count > 0 else { throw .invalidArgument("max_count must be at least 1") }
        return count
    }

    /// nil: wait forever (negative or infinite); NaN is refused.
    static func timeout(_ seconds: Double) throws(ShmError) -> Double? {
        if seconds.isNaN { throw .invalidArgument("timeout is NaN") }
        return seconds < 0 || seconds.isInfinite ? nil : seconds
    }

    static func name(_ pointer: UnsafePointer<CChar>?, optional: Bool = false) throws(ShmError) -> String? {
        guard let pointer else {
            if optional { return nil }
            throw .invalidArgument("name is NULL")
        }
        return String(cString: pointer)
    }

    static func count(_ value: Int, _ what: String) throws(ShmError) -> Int {
        guard value >= 0 else { throw .invalidArgument("\(what) \(UInt(bitPattern: value)) is too large") }
        return value
    }

    /// The options (NULL: defaults) and whether a create reclaims a stale name.
    static func options(_ pointer: UnsafePointer<shmring_options>?) throws(ShmError) -> (RegionOptions, reclaimStale: Bool) {
        guard let pointer else { return (RegionOptions(), false) }
        let o = pointer.pointee
        guard Int(o.struct_size) >= MemoryLayout<shmring_options>.size else {
            throw .invalidArgument("shmring_options.struct_size \(o.struct_size) is smaller than this library's \(MemoryLayout<shmring_options>.size): call shmring_options_init")
        }
        guard o.permissions <= 0o777 else { throw .invalidArgument("permissions 0\(String(o.permissions, radix: 8)) out of range") }
        guard !o.open_timeout_seconds.isNaN, o.open_timeout_seconds >= 0,
              !o.wait_for_creation_seconds.isNaN, o.wait_for_creation_seconds >= 0 else {
            throw .invalidArgument("shmring_options timeouts must be non-negative numbers")
        }
        var options = RegionOptions(permissions: FilePermissions(rawValue: CModeT(o.permissions)),
                                    directory: o.directory.map { String(cString: $0) } ?? "/dev/shm",
                                    openTimeoutSeconds: o.open_timeout_seconds, prefault: o.prefault != 0)
        options.waitForCreationSeconds = o.wait_for_creation_seconds
        return (options, o.reclaim_stale != 0)
    }

    /// Refuses a read while the handle lends a record peeked in place (its
    /// release comes first: it validates the read, or keeps its mapping).
    static func notLending(_ lending: Bool, _ function: StaticString) throws(ShmError) {
        if lending { throw .invalidArgument("\(function): the record peeked before is not released yet") }
    }

    /// Stores through an out pointer, refusing NULL.
    static func out<T>(_ pointer: UnsafeMutablePointer<T>?, _ what: String) throws(ShmError) -> UnsafeMutablePointer<T> {
        guard let pointer else { throw .invalidArgument("\(what) is NULL") }
        return pointer
    }
}
