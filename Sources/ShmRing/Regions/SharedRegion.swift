import CShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A mapping of shared memory, whatever backs it. Structures (rings, queues,
/// lock arenas) lay themselves out inside one; the first 128 bytes are always
/// the `RegionHeader`.
///
/// The creating process owns the region: `close()` (or deinit) in the creator
/// removes the underlying object (unlink, IPC_RMID). A forked child inherits
/// the object but never removes it, because removal checks the pid.
public final class SharedRegion: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let size: Int
    public let name: String
    public let backing: RegionBacking
    /// True in the process that created the region.
    public var isOwner: Bool { ownerPid == getpid() }

    private let ownerPid: pid_t?
    private let unmap: Unmap
    private let removal: Removal?
    private var closed = false

    enum Unmap { case munmap, shmdt }
    enum Removal {
        case unlink(path: String)
        case sysv(shmid: Int32, keyFile: String?)
    }

    init(base: UnsafeMutableRawPointer, size: Int, name: String, backing: RegionBacking,
         owner: Bool, unmap: Unmap, removal: Removal?) {
        self.base = base
        self.size = size
        self.name = name
        self.backing = backing
        self.ownerPid = owner ? getpid() : nil
        self.unmap = unmap
        self.removal = removal
    }

    deinit { close() }

    /// Unmaps; in the creating process also removes the object. Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        switch unmap {
        case .munmap: _ = munmap(base, size)
        case .shmdt: _ = cshim_shmdt(base)
        }
        guard let ownerPid, ownerPid == getpid(), let removal else { return }
        Self.remove(removal)
    }

    static func remove(_ removal: Removal) {
        switch removal {
        case let .unlink(path):
            _ = unlink(path)
        case let .sysv(shmid, keyFile):
            _ = cshim_shm_rmid(shmid)
            if let keyFile { _ = unlink(keyFile) }
        }
    }

    /// In the creating process: removes the region's name now (unlinks the
    /// file; for sysv, IPC_RMID on the segment and unlinks the key file) and
    /// keeps the mapping. Call it once every process that needs the region
    /// has opened it: from then on nothing of the region can outlive its
    /// processes, even if all of them are killed, because the kernel frees
    /// the memory with the last mapping. No-op elsewhere; `close()` later
    /// finds nothing left to remove.
    public func releaseName() {
        guard let ownerPid, ownerPid == getpid(), let removal else { return }
        Self.remove(removal)
    }

    // MARK: Creating

    /// Creates a zero-filled region of `size` bytes exclusively: it fails if
    /// the name is taken. `name` nil is allowed for sysv (IPC_PRIVATE) and anon.
    public static func create(backing: RegionBacking, name: String?, size: Int,
                              options: RegionOptions = RegionOptions()) throws(ShmError) -> SharedRegion {
        guard size >= RegionLayout.headerSize, UInt64(size) <= RegionLayout.maximumRegionSize else {
            throw .invalidArgument("region size \(size) is outside \(RegionLayout.headerSize)...\(RegionLayout.maximumRegionSize) bytes")
        }
        let region: SharedRegion
        switch backing {
        case .anon:
            region = try createAnonymous(size: size, name: name ?? "anonymous")
        case .mmap:
            guard let name else { throw .invalidArgument("an mmap region needs a name or path") }
            region = try createFile(location: RegionLocation(name: name, backing: .mmap, options: options),
                                    size: size, options: options)
        case .sysv:
            if let name {
                region = try createSysVNamed(location: RegionLocation(name: name, backing: .sysv, options: options),
                                             size: size, options: options)
            } else {
                region = try createSysVPrivate(size: size, options: options)
            }
        }
        if options.prefault { region.touchPages(writing: true) }
        return region
    }

    /// Faults every page in now. Writing zero is harmless: a new region is
    /// zero-filled and not yet published. Reading maps the existing pages.
    func touchPages(writing: Bool) {
        let page = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        var offset = 0
        var sink: UInt8 = 0
        while offset < size {
            if writing {
                base.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
            } else {
                sink |= base.load(fromByteOffset: offset, as: UInt8.self)
            }
            offset += page
        }
        withExtendedLifetime(sink) {}
    }

    private static func createAnonymous(size: Int, name: String) throws(ShmError) -> SharedRegion {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { throw .lastErrno("mmap(anonymous, \(size) bytes)") }
        return SharedRegion(base: p, size: size, name: name, backing: .anon, owner: true, unmap: .munmap, removal: nil)
    }

    /// Creates the file exclusively (which also claims the name), private by
    /// default, never through a symbolic link. Returns the open descriptor.
    private static func createExclusiveFile(_ location: RegionLocation, options: RegionOptions) throws(ShmError) -> Int32 {
        let fd = Glibc.open(location.path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.permissions.rawValue)
        guard fd >= 0 else {
            let e = Errno(rawValue: errnoValue())
            if e == .fileExists { throw .invalidArgument("ring '\(location.name)' already exists (\(location.path))") }
            throw .systemCall(call: "open(\(location.path), O_CREAT|O_EXCL)", errno: e)
        }
        return fd
    }

    private static func createFile(location: RegionLocation, size: Int, options: RegionOptions) throws(ShmError) -> SharedRegion {
        let fd = try createExclusiveFile(location, options: options)
        defer { _ = Glibc.close(fd) }
        // From here on a failure must remove the file we created.
        do throws(ShmError) {
            guard ftruncate(fd, off_t(size)) == 0 else { throw .lastErrno("ftruncate(\(location.path), \(size))") }
            let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
            guard let p, p != MAP_FAILED else { throw .lastErrno("mmap(\(location.path), \(size) bytes)") }
            return SharedRegion(base: p, size: size, name: location.name, backing: .mmap, owner: true,
                                unmap: .munmap, removal: .unlink(path: location.path))
        } catch {
            _ = unlink(location.path)
            throw error
        }
    }

    private static func createSysVNamed(location: RegionLocation, size: Int, options: RegionOptions) throws(ShmError) -> SharedRegion {
        // The key file exists only so ftok has an inode to hash.
        _ = Glibc.close(try createExclusiveFile(location, options: options))
        do throws(ShmError) {
            let key = cshim_ftok(location.path, projectID)
            guard key != -1 else { throw .lastErrno("ftok(\(location.path))") }
            let flags = cshim_IPC_CREAT | cshim_IPC_EXCL | Int32(options.permissions.rawValue)
            let shmid = cshim_shmget(key, size, flags)
            guard shmid >= 0 else {
                let e = Errno(rawValue: errnoValue())
                if e == .fileExists {
                    throw .invalidArgument("SysV key 0x\(String(UInt32(bitPattern: key), radix: 16)) for ring '\(location.name)' is already in use (ftok collision or a stale segment: see ipcs -m)")
                }
                throw .systemCall(call: "shmget(key 0x\(String(UInt32(bitPattern: key), radix: 16)), \(size) bytes, IPC_CREAT|IPC_EXCL)", errno: e)
            }
            guard let p = cshim_shmat(shmid, 0) else {
                let error = ShmError.lastErrno("shmat(shmid \(shmid))")
                _ = cshim_shm_rmid(shmid)
                throw error
            }
            return SharedRegion(base: p, size: size, name: location.name, backing: .sysv, owner: true,
                                unmap: .shmdt, removal: .sysv(shmid: shmid, keyFile: location.path))
        } catch {
            _ = unlink(location.path)
            throw error
        }
    }

    private static func createSysVPrivate(size: Int, options: RegionOptions) throws(ShmError) -> SharedRegion {
        let shmid = cshim_shmget(cshim_IPC_PRIVATE, size, cshim_IPC_CREAT | Int32(options.permissions.rawValue))
        guard shmid >= 0 else { throw .lastErrno("shmget(IPC_PRIVATE, \(size) bytes)") }
        guard let p = cshim_shmat(shmid, 0) else {
            let error = ShmError.lastErrno("shmat(shmid \(shmid))")
            _ = cshim_shm_rmid(shmid)
            throw error
        }
        // Mark for removal at once: the segment lives until the last process
        // detaches, forked children keep their attachment, and nothing can
        // leak even if every process is killed.
        _ = cshim_shm_rmid(shmid)
        return SharedRegion(base: p, size: size, name: "sysv-private-\(shmid)", backing: .sysv, owner: true,
                            unmap: .shmdt, removal: nil)
    }

    /// ftok's project id; any fixed non-zero byte.
    static let projectID: Int32 = 0x52 // 'R'

    // MARK: Opening

    /// Maps an existing named region. This only maps: `RegionHeader.open`
    /// waits for the creator and validates the header against `size`.
    public static func open(backing: RegionBacking, name: String,
                            options: RegionOptions = RegionOptions()) throws(ShmError) -> SharedRegion {
        let region: SharedRegion
        switch backing {
        case .anon:
            throw .invalidArgument("an anonymous region cannot be opened by name; share it by fork")
        case .mmap:
            region = try openFile(location: RegionLocation(name: name, backing: .mmap, options: options), options: options)
        case .sysv:
            region = try openSysV(location: RegionLocation(name: name, backing: .sysv, options: options), options: options)
        }
        if options.prefault { region.touchPages(writing: false) }
        return region
    }

    private static func openFile(location: RegionLocation, options: RegionOptions) throws(ShmError) -> SharedRegion {
        let fd = Glibc.open(location.path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw openError(location: location, call: "open(\(location.path))") }
        defer { _ = Glibc.close(fd) }
        // The creator may be between open(O_EXCL) and ftruncate: wait, boundedly,
        // for the file to reach header size. Garbage is rejected at once.
        let deadline = Deadline(seconds: options.openTimeoutSeconds)
        var st = stat()
        while true {
            guard fstat(fd, &st) == 0 else { throw .lastErrno("fstat(\(location.path))") }
            if (st.st_mode & S_IFMT) != S_IFREG {
                throw .notARing(name: location.name, magic: 0)
            }
            if Int(st.st_size) >= RegionLayout.headerSize { break }
            if st.st_size >= 8 {
                var magic: UInt64 = 0
                if pread(fd, &magic, 8, 0) == 8, magic != RegionLayout.magic {
                    throw .notARing(name: location.name, magic: magic)
                }
            }
            if deadline.expired {
                throw .sizeMismatch(name: location.name, headerSays: UInt64(RegionLayout.headerSize), actual: UInt64(st.st_size))
            }
            Deadline.pause()
        }
        let size = Int(st.st_size)
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw .lastErrno("mmap(\(location.path), \(size) bytes)") }
        return SharedRegion(base: p, size: size, name: location.name, backing: .mmap, owner: false,
                            unmap: .munmap, removal: nil)
    }

    private static func openSysV(location: RegionLocation, options: RegionOptions) throws(ShmError) -> SharedRegion {
        var st = stat()
        guard lstat(location.path, &st) == 0 else { throw openError(location: location, call: "stat(\(location.path))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw .invalidArgument("SysV key file \(location.path) is not a regular file")
        }
        let key = cshim_ftok(location.path, projectID)
        guard key != -1 else { throw openError(location: location, call: "ftok(\(location.path))") }
        // The creator makes the key file before the segment: wait for it, boundedly.
        let deadline = Deadline(seconds: options.openTimeoutSeconds)
        var shmid: Int32
        while true {
            shmid = cshim_shmget(key, 0, 0)
            if shmid >= 0 { break }
            let e = Errno(rawValue: errnoValue())
            if e != .noSuchFileOrDirectory || deadline.expired {
                throw openError(location: location, call: "shmget(key 0x\(String(UInt32(bitPattern: key), radix: 16)))", errno: e)
            }
            Deadline.pause()
        }
        var segmentSize: UInt64 = 0
        var uid: UInt32 = 0
        var mode: UInt32 = 0
        guard cshim_shm_stat(shmid, &segmentSize, &uid, &mode) == 0 else {
            throw openError(location: location, call: "shmctl(\(shmid), IPC_STAT)")
        }
        guard let p = cshim_shmat(shmid, 0) else { throw openError(location: location, call: "shmat(\(shmid))") }
        return SharedRegion(base: p, size: Int(segmentSize), name: location.name, backing: .sysv, owner: false,
                            unmap: .shmdt, removal: nil)
    }

    private static func openError(location: RegionLocation, call: String,
                                  errno e: Errno = Errno(rawValue: errnoValue())) -> ShmError {
        switch e {
        case .noSuchFileOrDirectory: return .noSuchRegion(name: location.name)
        case .permissionDenied, .notPermitted: return .permissionDenied(name: location.name)
        case .tooManySymbolicLinkLevels: return .invalidArgument("refusing to open '\(location.path)': it is a symbolic link")
        default: return .systemCall(call: call, errno: e)
        }
    }
}

/// A bounded wait used by openers. Sleeps between polls: this is set-up, not a hot path.
struct Deadline {
    let end: UInt64
    init(seconds: Double) { end = cshim_monotonic_ns() &+ UInt64(max(0, seconds) * 1e9) }
    var expired: Bool { cshim_monotonic_ns() >= end }
    static func pause() { usleep(1000) }
}
