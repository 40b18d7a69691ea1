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
/// # Lifetime: the mapping and the name are separate
/// * The mapping lives exactly as long as this object: it is unmapped only
///   in `deinit`, when the last ring, queue, producer or consumer holding the
///   region goes. There is no public `close()`, so no copy of a structure can
///   ever point at unmapped memory.
/// * The name (the mmap file, the SysV key file and segment id) is removed
///   by `removeName()`, explicitly, by any process, at most once; existing
///   mappings stay valid (unlink and IPC_RMID only drop the name). By
///   default the creating process also removes it when its region object is
///   deinitialised; a structure that wants the name to outlive its creator
///   (a pipeline stage restarted by name) clears `removesNameOnDeinit`. A
///   forked child never removes anything on deinit (the pid is checked).
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
    /// Whether `RegionHeader.validate` faults the pages in once the header is
    /// known to be sound (openers); creators prefault in `create`.
    let prefaultAfterValidation: Bool
    private let state: ThreadLock<NameState>
    /// The kernel-held witness of who holds the ring's ends (see
    /// `RegionWitness`); it keeps one descriptor open for the region's life.
    let witness: RegionWitness

    struct NameState {
        var removed = false
        var removesOnDeinit: Bool
    }

    enum Unmap { case munmap, shmdt }
    enum Removal {
        /// `device`/`inode` identify the file we mapped, so that removing the
        /// name never unlinks a newer object that reuses the path.
        case unlink(path: String, device: UInt64, inode: UInt64)
        case sysv(shmid: Int32, keyFile: String?, device: UInt64, inode: UInt64)

        /// The file whose name lock (`NameLock`) guards the removal.
        var file: String? {
            switch self {
            case let .unlink(path, _, _): path
            case let .sysv(_, keyFile, _, _): keyFile
            }
        }
    }

    init(base: UnsafeMutableRawPointer, size: Int, name: String, backing: RegionBacking,
         owner: Bool, unmap: Unmap, removal: Removal?, witness: RegionWitness, prefaultAfterValidation: Bool = false) {
        self.base = base
        self.size = size
        self.name = name
        self.backing = backing
        self.ownerPid = owner ? getpid() : nil
        self.unmap = unmap
        self.removal = removal
        self.prefaultAfterValidation = prefaultAfterValidation
        self.state = ThreadLock(NameState(removesOnDeinit: owner))
        self.witness = witness
    }

    deinit {
        if let ownerPid, ownerPid == getpid(), removesNameOnDeinit { removeName() }
        switch unmap {
        case .munmap: _ = munmap(base, size)
        case .shmdt: _ = cshim_shmdt(base)
        }
    }

    /// Whether the creating process removes the name when this object is
    /// deinitialised (default true in the creator, false elsewhere). Internal:
    /// structures whose name must outlive the creator clear it.
    var removesNameOnDeinit: Bool {
        get { state.withLock { $0.removesOnDeinit } }
        set { state.withLock { $0.removesOnDeinit = newValue } }
    }

    /// True once this process removed the name (`removeName()` or deinit).
    public var nameRemoved: Bool { state.withLock { $0.removed } }

    /// Removes the region's name (unlink; IPC_RMID and the key file for
    /// sysv), so that nothing new can open it. Every existing mapping, in
    /// this process and others, stays valid until it is dropped. Idempotent
    /// and thread-safe. Removes only this region's own objects: a path that
    /// now names a different file is left alone, and a SysV segment is
    /// removed by the id this region mapped, and (unless this process
    /// created it) only if its header does not name another key file (see
    /// `header(_:belongsTo:_:)`, `RegionLayout.keyFileDeviceOffset`). Holds the
    /// name's lock (`NameLock`) while it checks and removes; if the lock
    /// cannot be had within `NameLock.defaultTimeoutSeconds` the name stays
    /// (a stale name is reclaimable later; a wrong removal is not undoable).
    /// Does nothing for anonymous and IPC_PRIVATE regions (they have no name).
    public func removeName() {
        guard let removal, !nameRemoved else { return }
        guard let file = removal.file else { return removeNameHoldingLock() }
        guard let lock = try? NameLock(guarding: file, name: name) else { return }
        removeNameHoldingLock()
        _ = consume lock
    }

    /// `removeName()` for a caller that already holds the name's lock.
    func removeNameHoldingLock() {
        let first = state.withLock { s in
            defer { s.removed = true }
            return !s.removed
        }
        guard first, let removal else { return }
        switch removal {
        case let .unlink(path, device, inode):
            Self.unlink(path, ifItNames: device, inode)
        case let .sysv(shmid, keyFile, device, inode):
            // A segment this process created is ours by construction
            // (IPC_CREAT|IPC_EXCL); one we opened must say it is.
            if keyFile == nil || isOwner || Self.header(base, belongsTo: device, inode) { _ = cshim_shm_rmid(shmid) }
            if let keyFile { Self.unlink(keyFile, ifItNames: device, inode) }
        }
    }

    /// Removes whatever holds `name` without mapping it: the mmap file, or
    /// the SysV key file and the segment its key names (either may be
    /// missing, e.g. after a creator died between the two). For reclaiming a
    /// stale name once the caller has decided that nobody uses it: this does
    /// not check liveness. Holds the name's lock (`NameLock`). Refuses
    /// objects owned by an untrusted uid (see `RegionOptions.allowedOwners`).
    /// A segment is removed only if its header does not name another key
    /// file (`header(_:belongsTo:_:)`): ftok keeps only part of the inode, so
    /// an orphaned key file can hash to a live ring's key, and that ring is
    /// left alone (only the key file goes). Returns false when nothing was there.
    @discardableResult
    public static func removeName(backing: RegionBacking, name: String,
                                  options: RegionOptions = RegionOptions()) throws(ShmError) -> Bool {
        guard backing != .anon else { throw .invalidArgument("an anonymous region has no name to remove") }
        let location = try RegionLocation(name: name, backing: backing, options: options)
        return try NameLock.holding(location) { () throws(ShmError) -> Bool in
            try removeNameHoldingLock(location, backing: backing, options: options)
        }
    }

    private static func removeNameHoldingLock(_ location: RegionLocation, backing: RegionBacking,
                                              options: RegionOptions) throws(ShmError) -> Bool {
        var st = stat()
        guard lstat(location.path, &st) == 0 else {
            let e = Errno(rawValue: errnoValue())
            if e == .noSuchFileOrDirectory { return false }
            throw .systemCall(call: "stat(\(location.path))", errno: e)
        }
        guard uid_t(st.st_uid) == geteuid() || options.allowedOwners.contains(UInt32(st.st_uid)) else {
            throw .untrustedOwner(name: location.name, uid: UInt32(st.st_uid))
        }
        if backing == .sysv, (st.st_mode & S_IFMT) == S_IFREG {
            let key = cshim_ftok(location.path, projectID)
            let shmid = key == -1 ? -1 : cshim_shmget(key, 0, 0)
            if shmid >= 0 {
                var size: UInt64 = 0, uid: UInt32 = 0, mode: UInt32 = 0
                if cshim_shm_stat(shmid, &size, &uid, &mode) == 0, uid == geteuid() || options.allowedOwners.contains(uid),
                   segment(shmid, size: size, belongsTo: UInt64(st.st_dev), UInt64(st.st_ino)) {
                    _ = cshim_shm_rmid(shmid)
                }
            }
        }
        guard Glibc.unlink(location.path) == 0 else { throw .lastErrno("unlink(\(location.path))") }
        return true
    }

    /// True when `path` is still the file (device, inode) we created or opened.
    static func pathNames(_ path: String, device: UInt64, inode: UInt64) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }

    /// Unlinks `path` if it still names the file (device, inode). The caller
    /// holds the name's lock, so nothing can replace the file in between.
    static func unlink(_ path: String, ifItNames device: UInt64, _ inode: UInt64) {
        if pathNames(path, device: device, inode: inode) { _ = Glibc.unlink(path) }
    }

    /// Whether a region header at `base` records the key file (device, inode).
    static func header(_ base: UnsafeRawPointer, names device: UInt64, _ inode: UInt64) -> Bool {
        base.load(fromByteOffset: RegionLayout.keyFileDeviceOffset, as: UInt64.self) == device
            && base.load(fromByteOffset: RegionLayout.keyFileInodeOffset, as: UInt64.self) == inode
    }

    /// Whether a remover that came through the key file (device, inode) may
    /// remove the segment whose header is at `base`: the header records that
    /// key file; or it records none (its creator died between shmget and
    /// labelling it, microseconds); or it is published garbage (state,
    /// magic or checksum wrong: not a ShmRing header, so not another key
    /// file's ring either). A segment being created (state 0) or published
    /// intact for another key file is left alone: an ftok collision.
    static func header(_ base: UnsafeRawPointer, belongsTo device: UInt64, _ inode: UInt64) -> Bool {
        let d = base.load(fromByteOffset: RegionLayout.keyFileDeviceOffset, as: UInt64.self)
        let i = base.load(fromByteOffset: RegionLayout.keyFileInodeOffset, as: UInt64.self)
        if (d == device && i == inode) || (d == 0 && i == 0) { return true }
        // Acquire: pairs with the creator's release in `publishReady`.
        let state = cshim_load_acquire(UnsafeMutableRawPointer(mutating: base + RegionLayout.initStateOffset)
            .assumingMemoryBound(to: UInt64.self))
        if state == RegionLayout.stateInitialising { return false }
        return state != RegionLayout.stateReady
            || base.load(fromByteOffset: RegionLayout.magicOffset, as: UInt64.self) != RegionLayout.magic
            || base.load(fromByteOffset: RegionLayout.checksumOffset, as: UInt64.self) != RegionHeader.checksum(base)
    }

    /// `header(_:belongsTo:_:)` for segment `shmid` of `size` bytes,
    /// attached read-only for the look.
    static func segment(_ shmid: Int32, size: UInt64, belongsTo device: UInt64, _ inode: UInt64) -> Bool {
        guard size >= UInt64(RegionLayout.headerSize), let p = cshim_shmat(shmid, cshim_SHM_RDONLY) else { return false }
        defer { _ = cshim_shmdt(p) }
        return header(p, belongsTo: device, inode)
    }

    /// For a SysV region mapped through a key file: throws unless the
    /// segment's header records that key file (an ftok collision, or an
    /// orphaned key file whose key a live ring now uses). Other regions pass.
    func checkKeyFileIdentity() throws(ShmError) {
        guard case let .sysv(_, keyFile?, device, inode)? = removal, size >= RegionLayout.headerSize else { return }
        guard Self.header(base, names: device, inode) else {
            let d = base.load(fromByteOffset: RegionLayout.keyFileDeviceOffset, as: UInt64.self)
            let i = base.load(fromByteOffset: RegionLayout.keyFileInodeOffset, as: UInt64.self)
            throw .corruptedHeader(name: name, reason: "the segment keyed by \(keyFile) (device \(device), inode \(inode)) belongs to another key file (device \(d), inode \(i)): an ftok key collision or an orphaned key file")
        }
    }

    // MARK: Creating

    /// Creates a zero-filled region of `size` bytes exclusively: it fails with
    /// `ShmError.alreadyExists` if the name is taken. `name` nil is allowed for
    /// sysv (IPC_PRIVATE) and anon. File-backed regions reserve their pages
    /// (posix_fallocate) so that a full tmpfs fails here, with
    /// `ShmError.outOfSpace`, rather than by SIGBUS on a later first touch.
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
            guard let name else { throw .invalidArgument("an mmap region needs a name") }
            let location = try RegionLocation(name: name, backing: .mmap, options: options)
            // Under the name's lock: no remover can be between its identity
            // check and its unlink while we claim the name (`NameLock`).
            region = try NameLock.holding(location) { () throws(ShmError) in
                try createFile(location: location, size: size, options: options)
            }
        case .sysv:
            if let name {
                let location = try RegionLocation(name: name, backing: .sysv, options: options)
                region = try NameLock.holding(location) { () throws(ShmError) in
                    try createSysVNamed(location: location, size: size, options: options)
                }
            } else {
                region = try createSysVPrivate(size: size, options: options)
            }
        }
        // A failure here drops `region`, whose deinit (we are its creator)
        // removes the name it just claimed.
        if options.prefault { try region.prefault(writing: true) }
        return region
    }

    /// Faults every page in now, so that no page fault lands on the hot path
    /// later (on a VM whose host reclaims free memory a first touch can cost
    /// tens of microseconds). MADV_POPULATE_WRITE does it in one call and
    /// reports a page that cannot be backed as EFAULT instead of SIGBUS; an
    /// older kernel gets a touch loop (see `cshim_prefault`). Openers call it
    /// only after the header has been validated against the mapping's size.
    func prefault(writing: Bool) throws(ShmError) {
        guard cshim_prefault(base, size, writing ? 1 : 0) == 0 else {
            throw .lastErrno("madvise(\(name), \(size) bytes, MADV_POPULATE_WRITE)")
        }
    }

    private static func createAnonymous(size: Int, name: String) throws(ShmError) -> SharedRegion {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { throw .lastErrno("mmap(anonymous, \(size) bytes)") }
        return SharedRegion(base: p, size: size, name: name, backing: .anon, owner: true, unmap: .munmap, removal: nil,
                            witness: .memfd(name: name))
    }

    /// Creates the file exclusively (which also claims the name), private by
    /// default, never through a symbolic link. Returns the open descriptor
    /// and the file's (device, inode).
    private static func createExclusiveFile(_ location: RegionLocation,
                                            options: RegionOptions) throws(ShmError) -> (fd: Int32, device: UInt64, inode: UInt64) {
        let fd = Glibc.open(location.path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, options.permissions.rawValue)
        guard fd >= 0 else {
            let e = Errno(rawValue: errnoValue())
            if e == .fileExists { throw .alreadyExists(name: location.name) }
            throw .systemCall(call: "open(\(location.path), O_CREAT|O_EXCL)", errno: e)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let error = ShmError.lastErrno("fstat(\(location.path))")
            _ = Glibc.close(fd)
            _ = Glibc.unlink(location.path)
            throw error
        }
        return (fd, UInt64(st.st_dev), UInt64(st.st_ino))
    }

    private static func createFile(location: RegionLocation, size: Int, options: RegionOptions) throws(ShmError) -> SharedRegion {
        let file = try createExclusiveFile(location, options: options)
        // From here on a failure must remove the file we created; on success
        // the descriptor stays open as the region's liveness witness.
        do throws(ShmError) {
            guard ftruncate(file.fd, off_t(size)) == 0 else { throw .lastErrno("ftruncate(\(location.path), \(size))") }
            // Reserve the pages: on tmpfs ftruncate reserves nothing, and a
            // full file system would otherwise SIGBUS at the first touch.
            let r = posix_fallocate(file.fd, 0, off_t(size))
            if r == ENOSPC { throw .outOfSpace(name: location.name, bytes: UInt64(size)) }
            guard r == 0 else { throw .systemCall(call: "posix_fallocate(\(location.path), \(size))", errno: Errno(rawValue: r)) }
            let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, 0)
            guard let p, p != MAP_FAILED else { throw .lastErrno("mmap(\(location.path), \(size) bytes)") }
            return SharedRegion(base: p, size: size, name: location.name, backing: .mmap, owner: true, unmap: .munmap,
                                removal: .unlink(path: location.path, device: file.device, inode: file.inode),
                                witness: RegionWitness(source: file.fd, path: location.path))
        } catch {
            _ = Glibc.close(file.fd)
            unlink(location.path, ifItNames: file.device, file.inode)
            throw error
        }
    }

    private static func createSysVNamed(location: RegionLocation, size: Int, options: RegionOptions) throws(ShmError) -> SharedRegion {
        // The key file exists so ftok has an inode to hash, and as the
        // region's liveness witness (its descriptor stays open on success).
        let file = try createExclusiveFile(location, options: options)
        do throws(ShmError) {
            let key = cshim_ftok(location.path, projectID)
            guard key != -1 else { throw .lastErrno("ftok(\(location.path))") }
            let flags = cshim_IPC_CREAT | cshim_IPC_EXCL | Int32(options.permissions.rawValue)
            let shmid = cshim_shmget(key, size, flags)
            guard shmid >= 0 else {
                let e = Errno(rawValue: errnoValue())
                // The name was free (the key file is new), but a stale segment
                // or an ftok collision (another key file, same 16 inode bits)
                // holds the key: say so, with the key to look for.
                let hint = e == .fileExists
                    ? " (the key that ftok derives from \(location.path) is held by another segment: a stale one or an ftok collision, see ipcs -m)" : ""
                throw .systemCall(call: "shmget(key 0x\(String(UInt32(bitPattern: key), radix: 16)), \(size) bytes, IPC_CREAT|IPC_EXCL)\(hint)", errno: e)
            }
            guard let p = cshim_shmat(shmid, 0) else {
                let error = ShmError.lastErrno("shmat(shmid \(shmid))")
                _ = cshim_shm_rmid(shmid)
                throw error
            }
            // The segment's real name, before anything else: openers and
            // removers compare it with the key file they came through.
            p.storeBytes(of: file.device, toByteOffset: RegionLayout.keyFileDeviceOffset, as: UInt64.self)
            p.storeBytes(of: file.inode, toByteOffset: RegionLayout.keyFileInodeOffset, as: UInt64.self)
            return SharedRegion(base: p, size: size, name: location.name, backing: .sysv, owner: true, unmap: .shmdt,
                                removal: .sysv(shmid: shmid, keyFile: location.path, device: file.device, inode: file.inode),
                                witness: RegionWitness(source: file.fd, path: location.path))
        } catch {
            _ = Glibc.close(file.fd)
            unlink(location.path, ifItNames: file.device, file.inode)
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
                            unmap: .shmdt, removal: nil, witness: .memfd(name: "sysv-private-\(shmid)"))
    }

    /// ftok's project id; any fixed non-zero byte.
    static let projectID: Int32 = 0x52 // 'R'

    // MARK: Opening

    /// Maps an existing named region. This only maps and checks who owns the
    /// object (see `RegionOptions.allowedOwners`); `RegionHeader.validate`
    /// waits for the creator, checks the header against the mapping and only
    /// then prefaults. With `options.waitForCreationSeconds` > 0 a missing
    /// object is waited for, boundedly, instead of reported at once.
    public static func open(backing: RegionBacking, name: String,
                            options: RegionOptions = RegionOptions()) throws(ShmError) -> SharedRegion {
        switch backing {
        case .anon:
            throw .invalidArgument("an anonymous region cannot be opened by name; share it by fork")
        case .mmap:
            return try openFile(location: RegionLocation(name: name, backing: .mmap, options: options), options: options)
        case .sysv:
            return try openSysV(location: RegionLocation(name: name, backing: .sysv, options: options), options: options)
        }
    }

    /// Runs `attempt` until it returns a value or throws something other than
    /// `noSuchRegion`, for up to `options.waitForCreationSeconds`.
    private static func waitingForCreation<T>(_ options: RegionOptions,
                                              _ attempt: () throws(ShmError) -> T) throws(ShmError) -> T {
        let deadline = try Deadline(seconds: options.waitForCreationSeconds, what: "waitForCreationSeconds")
        while true {
            do throws(ShmError) {
                return try attempt()
            } catch .noSuchRegion(let name) {
                if deadline.expired { throw .noSuchRegion(name: name) }
                Deadline.pause()
            }
        }
    }

    private static func openFile(location: RegionLocation, options: RegionOptions) throws(ShmError) -> SharedRegion {
        let fd = try waitingForCreation(options) { () throws(ShmError) -> Int32 in
            let fd = Glibc.open(location.path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { throw openError(location: location, call: "open(\(location.path))") }
            return fd
        }
        // Kept open as the region's liveness witness once mapped.
        var keepDescriptor = false
        defer { if !keepDescriptor { _ = Glibc.close(fd) } }
        // The creator may be between open(O_EXCL) and ftruncate: wait, boundedly,
        // for the file to reach header size. Garbage is rejected at once.
        let deadline = try Deadline(seconds: options.openTimeoutSeconds, what: "openTimeoutSeconds")
        var st = stat()
        while true {
            guard fstat(fd, &st) == 0 else { throw .lastErrno("fstat(\(location.path))") }
            if (st.st_mode & S_IFMT) != S_IFREG {
                throw .notARing(name: location.name, magic: 0)
            }
            try options.checkOwner(uid: st.st_uid, mode: UInt32(st.st_mode), name: location.name)
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
        // The size is the file creator's choice, untrusted until the header
        // agrees: map it (which costs nothing per page) but never walk it here.
        guard UInt64(st.st_size) <= RegionLayout.maximumRegionSize else {
            throw .sizeMismatch(name: location.name, headerSays: RegionLayout.maximumRegionSize, actual: UInt64(st.st_size))
        }
        let size = Int(st.st_size)
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw .lastErrno("mmap(\(location.path), \(size) bytes)") }
        keepDescriptor = true
        return SharedRegion(base: p, size: size, name: location.name, backing: .mmap, owner: false, unmap: .munmap,
                            removal: .unlink(path: location.path, device: UInt64(st.st_dev), inode: UInt64(st.st_ino)),
                            witness: RegionWitness(source: fd, path: location.path),
                            prefaultAfterValidation: options.prefault)
    }

    private static func openSysV(location: RegionLocation, options: RegionOptions) throws(ShmError) -> SharedRegion {
        var st = stat()
        var shmid: Int32 = -1
        try waitingForCreation(options) { () throws(ShmError) in
            guard lstat(location.path, &st) == 0 else { throw openError(location: location, call: "stat(\(location.path))") }
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                throw .invalidArgument("SysV key file \(location.path) is not a regular file")
            }
            // Whoever owns the key file chooses the key: it must be trusted too.
            try options.checkOwner(uid: st.st_uid, mode: UInt32(st.st_mode), name: location.name)
            let key = cshim_ftok(location.path, projectID)
            guard key != -1 else { throw openError(location: location, call: "ftok(\(location.path))") }
            // The creator makes the key file before the segment, holding the
            // name's lock (`NameLock`) from one to the other: wait, boundedly,
            // while it does; with nobody holding the lock no segment is
            // coming (an orphaned key file), which is `noSuchRegion` now
            // rather than after the whole open timeout.
            let deadline = try Deadline(seconds: options.openTimeoutSeconds, what: "openTimeoutSeconds")
            while true {
                shmid = cshim_shmget(key, 0, 0)
                if shmid >= 0 { return }
                let e = Errno(rawValue: errnoValue())
                if e == .noSuchFileOrDirectory, !NameLock.isHeld(guarding: location.path) {
                    shmid = cshim_shmget(key, 0, 0) // its creator may have just finished
                    if shmid >= 0 { return }
                    throw .noSuchRegion(name: location.name)
                }
                if e != .noSuchFileOrDirectory || deadline.expired {
                    throw openError(location: location, call: "shmget(key 0x\(String(UInt32(bitPattern: key), radix: 16)))", errno: e)
                }
                Deadline.pause()
            }
        }
        var segmentSize: UInt64 = 0
        var uid: UInt32 = 0
        var mode: UInt32 = 0
        guard cshim_shm_stat(shmid, &segmentSize, &uid, &mode) == 0 else {
            throw openError(location: location, call: "shmctl(\(shmid), IPC_STAT)")
        }
        try options.checkOwner(uid: uid, mode: mode, name: location.name)
        guard segmentSize <= RegionLayout.maximumRegionSize else {
            throw .sizeMismatch(name: location.name, headerSays: RegionLayout.maximumRegionSize, actual: segmentSize)
        }
        guard let p = cshim_shmat(shmid, 0) else { throw openError(location: location, call: "shmat(\(shmid))") }
        return SharedRegion(base: p, size: Int(segmentSize), name: location.name, backing: .sysv, owner: false, unmap: .shmdt,
                            removal: .sysv(shmid: shmid, keyFile: location.path, device: UInt64(st.st_dev), inode: UInt64(st.st_ino)),
                            witness: .keyFile(location.path, device: UInt64(st.st_dev), inode: UInt64(st.st_ino)),
                            prefaultAfterValidation: options.prefault)
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

/// The absolute `cshim_monotonic_ns` deadline of a blocking queue operation:
/// nil and .infinity wait forever (`UInt64.max`), so do values too large for
/// the clock; NaN and negative values are `ShmError.invalidArgument`. Used by
/// the MPMC queues' blocking forms (not on their fast paths).
@usableFromInline
func queueDeadlineNs(_ seconds: Double?) throws(ShmError) -> UInt64 {
    guard let seconds else { return .max }
    return try Deadline.endNs(seconds: seconds, what: "timeoutSeconds")
}

/// A bounded wait used by openers and by the semaphore queue: an absolute
/// CLOCK_MONOTONIC deadline, so that retries (EINTR, polling) never restart
/// the full timeout. Internal to the region, semaphore and MPMC files.
struct Deadline {
    /// Absolute monotonic nanoseconds; `UInt64.max` never expires.
    let end: UInt64

    /// `seconds`: .infinity waits forever; values too large for the clock
    /// are treated as forever too; NaN and negative values are rejected.
    init(seconds: Double, what: @autoclosure () -> String = "timeout") throws(ShmError) {
        end = try Self.endNs(seconds: seconds, what: what())
    }

    init(endNs: UInt64) { end = endNs }

    static var forever: Deadline { Deadline(endNs: .max) }

    /// The absolute end `seconds` from now, or `UInt64.max` (forever).
    static func endNs(seconds: Double, what: @autoclosure () -> String) throws(ShmError) -> UInt64 {
        guard !seconds.isNaN, seconds >= 0 else {
            throw .invalidArgument("\(what()) must be a non-negative number of seconds (or infinity), got \(seconds)")
        }
        let now = cshim_monotonic_ns()
        // Compare in Double before converting: UInt64(x) traps past 2^64.
        let ns = seconds * 1e9
        guard ns < 0x1p62 else { return .max }
        let (end, overflow) = now.addingReportingOverflow(UInt64(ns))
        return overflow ? .max : end
    }

    var expired: Bool { end != .max && cshim_monotonic_ns() >= end }
    /// Nanoseconds left (at least 1 while not expired); 0 once expired.
    var remainingNs: UInt64 {
        guard end != .max else { return .max }
        let now = cshim_monotonic_ns()
        return now >= end ? 0 : end - now
    }
    static func pause() { usleep(1000) }
}
