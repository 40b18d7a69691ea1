import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Where a region's memory comes from.
public enum RegionBacking: String, Sendable, CaseIterable, CustomStringConvertible {
    /// System V shared memory (shmget/shmat). A name maps to a key through
    /// ftok on a key file the creator makes; no name means IPC_PRIVATE, which
    /// only processes related by fork can share.
    case sysv
    /// A memory-mapped file (MAP_SHARED), by default under /dev/shm.
    case mmap
    /// An anonymous shared mapping: only processes related by fork share it.
    case anon

    public var description: String { rawValue }
}

/// How a region is created or opened. The defaults are private and safe.
public struct RegionOptions: Sendable {
    /// Mode of new files and SysV objects. Default 0600: only the owner.
    public var permissions: FilePermissions
    /// Directory for mmap files and SysV key files when the name is not a path.
    public var directory: String
    /// How long an opener waits for the creator to publish the region.
    public var openTimeoutSeconds: Double
    /// Touch every page when creating (write) or opening (read), so that no
    /// page fault lands on the hot path later. On a VM whose host reclaims
    /// free memory, a first touch can cost tens of microseconds per page.
    /// Openers prefault only after the header has been validated.
    public var prefault: Bool
    /// How long an opener waits for a region (or semaphore set) that does not
    /// exist yet, so that an opener started before its creator need not
    /// retry. 0 (the default) reports `ShmError.noSuchRegion` at once.
    public var waitForCreationSeconds: Double = 0
    /// Owners (uids) an opener trusts besides its own effective uid. An
    /// object owned by anyone else is refused with `ShmError.untrustedOwner`:
    /// its owner could rewrite or truncate it at any moment.
    public var allowedOwners: [UInt32] = []
    /// Accept objects that group or others may write (mode bits 0o022).
    /// Off by default: such an object is refused with `ShmError.unsafePermissions`.
    public var allowSharedWrite: Bool = false

    public init(permissions: FilePermissions = [.ownerReadWrite],
                directory: String = "/dev/shm",
                openTimeoutSeconds: Double = 5,
                prefault: Bool = true) {
        self.permissions = permissions
        self.directory = directory
        self.openTimeoutSeconds = openTimeoutSeconds
        self.prefault = prefault
    }

    /// Refuses an object another user owns or that group/others may write,
    /// unless this caller opted in (`allowedOwners`, `allowSharedWrite`).
    func checkOwner(uid: UInt32, mode: UInt32, name: String) throws(ShmError) {
        guard uid == geteuid() || allowedOwners.contains(uid) else { throw .untrustedOwner(name: name, uid: uid) }
        guard allowSharedWrite || mode & 0o022 == 0 else { throw .unsafePermissions(name: name, mode: mode & 0o7777) }
    }
}

/// A validated region name and the paths derived from it.
struct RegionLocation: Sendable {
    let name: String
    /// The mmap file, or for sysv the key file handed to ftok.
    let path: String
    /// The name's lock file (`NameLock`): a hidden file beside `path`.
    var lockPath: String { NameLock.lockPath(for: path) }

    static let sysvKeySuffix = ".sysv-key"

    /// A name is a file name under `options.directory`: 1 to 255 bytes of
    /// letters, digits, '.', '_' and '-', not starting with '.' (hidden names
    /// are the library's and the harness's: lock files, ledgers) and not
    /// ending in ".sysv-key" (a SysV ring's key file would be listed as that
    /// ring). A '/' is refused rather than taken as a path: a path would
    /// silently ignore the directory the caller chose.
    init(name: String, backing: RegionBacking, options: RegionOptions) throws(ShmError) {
        guard !name.isEmpty, name.utf8.count <= 255 else {
            throw .invalidArgument("ring name must be 1 to 255 bytes long")
        }
        guard !name.contains("/") else {
            throw .invalidArgument("ring name '\(name)' must not contain '/': give the directory separately (--directory, RegionOptions.directory)")
        }
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x2E || c == 0x5F || c == 0x2D
        }
        guard allowed, !name.hasPrefix(".") else {
            throw .invalidArgument("ring name '\(name)' may contain only letters, digits, '.', '_' and '-' and must not start with '.'")
        }
        guard !name.hasSuffix(Self.sysvKeySuffix) else {
            throw .invalidArgument("ring name '\(name)' must not end in '\(Self.sysvKeySuffix)': that suffix marks SysV key files")
        }
        let base = options.directory.hasSuffix("/") ? options.directory + name : options.directory + "/" + name
        self.name = name
        self.path = backing == .sysv ? base + Self.sysvKeySuffix : base
    }
}
