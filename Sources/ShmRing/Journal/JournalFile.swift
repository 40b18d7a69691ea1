import CShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// One mapped journal file (the control file or a segment): its descriptor
/// and its shared mapping, both released with the object. A tailer that
/// holds one keeps reading it after retention unlinked its name (the
/// mapping keeps the inode; nothing ever truncates a segment).
final class JournalFile: @unchecked Sendable {
    // @unchecked: immutable after init; the mapped bytes are shared memory
    // whose every access goes through the atomics or the bound checks of
    // the journal types.
    let fd: Int32
    let base: UnsafeMutableRawPointer
    let size: Int
    let path: String
    let writable: Bool

    private init(fd: Int32, base: UnsafeMutableRawPointer, size: Int, path: String, writable: Bool) {
        self.fd = fd
        self.base = base
        self.size = size
        self.path = path
        self.writable = writable
    }

    deinit {
        munmap(base, size)
        _ = Glibc.close(fd)
    }

    /// Opens an existing regular file (O_NOFOLLOW: a symlink is refused) of
    /// `expectedSize` bytes, or of any size in `sizes` when nil, and maps it.
    /// ENOENT is `noSuchRegion`.
    static func open(_ path: String, writable: Bool, expectedSize: Int?, sizes: ClosedRange<Int>) throws(ShmError) -> JournalFile {
        let fd = Glibc.open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errnoValue()
            if e == ENOENT { throw .noSuchRegion(name: path) }
            if e == EACCES { throw .permissionDenied(name: path) }
            throw .systemCall(call: "open(\(path))", errno: Errno(rawValue: e))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let error = ShmError.lastErrno("fstat(\(path))")
            _ = Glibc.close(fd)
            throw error
        }
        let size = Int(st.st_size)
        guard st.st_mode & S_IFMT == S_IFREG, sizes.contains(size), expectedSize == nil || expectedSize == size else {
            _ = Glibc.close(fd)
            throw .sizeMismatch(name: path, headerSays: UInt64(expectedSize ?? sizes.lowerBound), actual: UInt64(max(0, size)))
        }
        guard st.st_mode & 0o022 == 0 else {
            _ = Glibc.close(fd)
            throw .unsafePermissions(name: path, mode: UInt32(st.st_mode) & 0o7777)
        }
        return try map(fd: fd, size: size, path: path, writable: writable)
    }

    /// Creates `path` exclusively, mode 0600, reserves `size` bytes on disk
    /// with posix_fallocate (so a full file system fails here, as
    /// `outOfSpace`, rather than as SIGBUS on a later store) and maps it.
    /// On failure the file is removed.
    static func create(_ path: String, size: Int) throws(ShmError) -> JournalFile {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .lastErrno("open(\(path), O_CREAT|O_EXCL)") }
        let failed = { () -> Void in
            _ = Glibc.close(fd)
            _ = unlink(path)
        }
        let rc = cshim_posix_fallocate(fd, UInt64(size))
        if rc != 0 {
            failed()
            // EFBIG: a file size limit (RLIMIT_FSIZE) says no: the same for the journal.
            if rc == ENOSPC || rc == EFBIG || rc == EDQUOT { throw .outOfSpace(name: path, bytes: UInt64(size)) }
            throw .systemCall(call: "posix_fallocate(\(path), \(size) bytes)", errno: Errno(rawValue: rc))
        }
        do throws(ShmError) {
            return try map(fd: fd, size: size, path: path, writable: true)
        } catch {
            _ = unlink(path)
            throw error
        }
    }

    private static func map(fd: Int32, size: Int, path: String, writable: Bool) throws(ShmError) -> JournalFile {
        let p = mmap(nil, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else {
            let error = ShmError.lastErrno("mmap(\(path), \(size) bytes)")
            _ = Glibc.close(fd)
            throw error
        }
        return JournalFile(fd: fd, base: p, size: size, path: path, writable: writable)
    }

    @inline(__always)
    func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (base + offset).assumingMemoryBound(to: UInt64.self)
    }

    @inline(__always)
    func word32(_ offset: Int) -> UnsafeMutablePointer<UInt32> {
        (base + offset).assumingMemoryBound(to: UInt32.self)
    }

    /// fdatasync: the file's data (the mapping's dirty pages) on disk.
    func syncData() throws(ShmError) {
        guard fdatasync(fd) == 0 else { throw .lastErrno("fdatasync(\(path))") }
    }
}

/// The segment files of a journal directory, by first sequence.
enum JournalDirectory {
    /// Sorted first sequences of the directory's `*.seg` files.
    static func segments(in directory: String) throws(ShmError) -> [UInt64] {
        try names(in: directory).compactMap { JournalLayout.firstSequence(ofSegmentNamed: $0) }.sorted()
    }

    static func names(in directory: String) throws(ShmError) -> [String] {
        guard let dir = opendir(directory) else {
            let e = errnoValue()
            if e == ENOENT { throw .noSuchRegion(name: directory) }
            throw .systemCall(call: "opendir(\(directory))", errno: Errno(rawValue: e))
        }
        defer { closedir(dir) }
        var result: [String] = []
        while let entry = readdir(dir) {
            let name = directoryEntryName(entry)
            if name != "." && name != ".." { result.append(name) }
        }
        return result
    }

    static func path(_ directory: String, _ name: String) -> String { directory + "/" + name }

    static func segmentPath(_ directory: String, firstSequence: UInt64) -> String {
        path(directory, JournalLayout.segmentName(firstSequence: firstSequence))
    }

    /// fsync of the directory: a created, renamed or unlinked name is on disk.
    static func syncDirectory(_ directory: String) throws(ShmError) {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .lastErrno("open(\(directory))") }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw .lastErrno("fsync(\(directory))") }
    }
}
