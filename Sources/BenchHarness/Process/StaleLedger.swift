import CShim
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// What a SIGKILL of the parent can leave behind, written down before it
/// exists, so that a later run can remove it ("stale reclaim").
///
/// The harness keeps nothing named longer than it must: names only its own
/// children need are removed as soon as every child has opened the object
/// (`CleanupRegistry.registerName`, `releaseNames`), and after that a dead
/// parent leaks nothing that can be unnamed. Two windows remain, and this
/// ledger covers both:
/// - between creating an object and the last child opening it (a few
///   milliseconds per repetition), its name exists;
/// - a SysV semaphore set or message queue cannot be marked for removal
///   while in use (IPC_RMID destroys it at once), so it lives as long as the
///   run does, IPC_PRIVATE or not.
///
/// Each repetition's parent writes one ledger file,
/// `/dev/shm/ringbench-PID-STARTTIME-SEQ.ledger` (mode 0600), one line per
/// object, recording a name before creating it (an id right after), and
/// deletes the file once its cleanup has run. A ledger whose process (pid
/// and start time, so a reused pid does not count) is gone is stale:
/// `reclaim()` removes every object it lists that still exists and belongs
/// to this user, then the ledger. `ringbench run`, `suite` and `locks` call
/// it before they start; `ringbench reclaim` runs it on demand.
public final class StaleLedger: @unchecked Sendable {
    /// One object the run created.
    public enum Entry: Sendable, Equatable {
        /// A file, FIFO or socket path.
        case file(String)
        /// A private directory (removed after the files in it).
        case directory(String)
        /// A region's mmap file or SysV key file: the segment and semaphore
        /// set whose keys ftok derives from it go too.
        case regionFile(String)
        case semaphoreSet(Int32)
        /// Recorded before creating a set whose id is not known yet (an
        /// IPC_PRIVATE set): the sets this process created after `since`
        /// (epoch seconds) that no other process has operated on since.
        case semaphoreSetsBy(pid: Int32, since: Int)
        case messageQueue(Int32)
        /// A POSIX message queue name ("/ringbench-...").
        case posixQueue(String)

        /// SysV sets and queues: IPC_RMID would destroy them in use. (A
        /// `semaphoreSetsBy` covers only the moment before the id is known.)
        var outlivesItsName: Bool {
            switch self {
            case .semaphoreSet, .messageQueue: true
            default: false
            }
        }

        /// `semaphoreSetsBy` for this process, from now.
        public static var semaphoreSetsAboutToBeCreated: Entry {
            .semaphoreSetsBy(pid: getpid(), since: time(nil))
        }

        var line: String {
            switch self {
            case let .file(path): "file \(path)"
            case let .directory(path): "dir \(path)"
            case let .regionFile(path): "region \(path)"
            case let .semaphoreSet(id): "sem \(id)"
            case let .semaphoreSetsBy(pid, since): "semby \(pid) \(since)"
            case let .messageQueue(id): "msg \(id)"
            case let .posixQueue(name): "mq \(name)"
            }
        }

        init?(line: Substring) {
            guard let space = line.firstIndex(of: " ") else { return nil }
            let value = String(line[line.index(after: space)...])
            switch line[..<space] {
            case "file": self = .file(value)
            case "dir": self = .directory(value)
            case "region": self = .regionFile(value)
            case "sem": guard let id = Int32(value) else { return nil }; self = .semaphoreSet(id)
            case "semby":
                let f = value.split(separator: " ")
                guard f.count == 2, let pid = Int32(f[0]), let since = Int(f[1]) else { return nil }
                self = .semaphoreSetsBy(pid: pid, since: since)
            case "msg": guard let id = Int32(value) else { return nil }; self = .messageQueue(id)
            case "mq": self = .posixQueue(value)
            default: return nil
            }
        }
    }

    /// Where ledgers live: tmpfs, emptied at boot like the SysV objects they name.
    public static let directory = "/dev/shm"
    static let prefix = "ringbench-"
    static let suffix = ".ledger"
    nonisolated(unsafe) static var sequence = 0

    private let ownerPid = getpid()
    private var path: String?
    private var entries: [Entry] = []

    public init() {}

    /// Appends `entry`; creates the ledger file on first use. Best effort: a
    /// ledger that cannot be written costs only the reclaim, never the run.
    public func record(_ entry: Entry) {
        guard getpid() == ownerPid else { return }
        entries.append(entry)
        if path == nil { path = Self.newPath(ownerPid) }
        if let path { Self.append([entry], to: path) }
    }

    /// After the run's names were removed (`CleanupRegistry.releaseNames`):
    /// only what cannot be unnamed stays listed; with nothing left, the
    /// ledger goes, and a SIGKILL from here on leaves nothing at all. The
    /// shorter ledger is written in full under a new name before the old one
    /// is removed, so a kill in between leaves two ledgers, never none.
    public func dropNames() {
        guard getpid() == ownerPid, let old = path else { return }
        entries.removeAll { !$0.outlivesItsName }
        if entries.isEmpty {
            path = nil
        } else {
            path = Self.newPath(ownerPid)
            if let path { Self.append(entries, to: path) }
        }
        _ = unlink(old)
    }

    static func newPath(_ pid: pid_t) -> String {
        sequence += 1
        let start = ProcessIdentity.current()?.startTime ?? 0
        return "\(directory)/\(prefix)\(pid)-\(start)-\(sequence)\(suffix)"
    }

    static func append(_ entries: [Entry], to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let text = Array(entries.map { $0.line + "\n" }.joined().utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        _ = close(fd)
    }

    /// Deletes the ledger: call once everything it lists has been removed.
    public func discard() {
        guard getpid() == ownerPid, let path else { return }
        _ = unlink(path)
        self.path = nil
        entries = []
    }

    // MARK: Reclaiming

    /// Removes what dead runs left: for every stale ledger of this user, each
    /// object it lists that still exists and belongs to this user, then the
    /// ledger. Returns what was removed, one description per object.
    @discardableResult
    public static func reclaim() -> [String] {
        guard let dir = opendir(directory) else { return [] }
        var ledgers: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(prefix), name.hasSuffix(suffix) { ledgers.append(name) }
        }
        closedir(dir)
        var removed: [String] = []
        for name in ledgers {
            guard let owner = owner(ofLedger: name), !owner.isAlive else { continue }
            let path = "\(directory)/\(name)"
            guard let text = readOwnFile(path) else { continue }
            let entries = text.split(separator: "\n").compactMap(Entry.init(line:))
            // Newest first: files before the directory that holds them.
            for entry in entries.reversed() where remove(entry) { removed.append(entry.line) }
            _ = unlink(path)
            removed.append("ledger \(path)")
        }
        return removed
    }

    /// The process a ledger's name says wrote it.
    static func owner(ofLedger name: String) -> ProcessIdentity? {
        let fields = name.dropFirst(prefix.count).dropLast(suffix.count).split(separator: "-")
        guard fields.count == 3, let pid = Int32(fields[0]), pid > 0, let start = UInt32(fields[1]) else { return nil }
        return ProcessIdentity(pid: pid, startTime: start)
    }

    /// A ledger's text, if it is a regular file of ours that nobody else may write.
    static func readOwnFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(),
              st.st_mode & 0o022 == 0, st.st_size <= 1 << 20 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        return String(decoding: bytes[0..<n], as: UTF8.self)
    }

    /// Removes one listed object if it exists and is ours; true if it did.
    /// Paths must be absolute and belong to the harness (a "ringbench-" name
    /// or parent directory), so a damaged ledger cannot aim this elsewhere.
    static func remove(_ entry: Entry) -> Bool {
        switch entry {
        case let .file(path):
            guard isHarnessPath(path), let st = ownedStat(path), st.st_mode & S_IFMT != S_IFDIR else { return false }
            return unlink(path) == 0
        case let .directory(path):
            guard isHarnessPath(path), let st = ownedStat(path), st.st_mode & S_IFMT == S_IFDIR else { return false }
            return rmdir(path) == 0
        case let .regionFile(path):
            guard isHarnessPath(path), let st = ownedStat(path), st.st_mode & S_IFMT == S_IFREG else { return false }
            // The keys ShmRing derives from the file: 'R' for the segment
            // (SharedRegion), 'S' for an MPMC queue's set (SemaphoreSet.projectID).
            for (table, project) in [(SysVTable.shm, Int32(0x52)), (.sem, SemaphoreSet.projectID)] {
                let key = cshim_ftok(path, project)
                if key != -1, let id = table.ownedID(key: key) { _ = table.remove(id) }
            }
            return unlink(path) == 0
        case let .semaphoreSet(id):
            return SysVTable.sem.owns(id: id) && SysVTable.sem.remove(id)
        case let .semaphoreSetsBy(pid, since):
            // sem_ctime is the creation time (or a later semctl); GETPID the
            // last semop per semaphore: only the creator's initialising one.
            var any = false
            for row in SysVTable.sem.rows where row.cuid == geteuid() && row.ctime >= since && row.count > 0 {
                let last = (0..<row.count).map { cshim_semctl_getpid(row.id, Int32($0)) }
                if last.contains(pid), last.allSatisfy({ $0 == pid || $0 == 0 }), SysVTable.sem.remove(row.id) { any = true }
            }
            return any
        case let .messageQueue(id):
            return SysVTable.msg.owns(id: id) && SysVTable.msg.remove(id)
        case let .posixQueue(name):
            guard name.hasPrefix("/" + prefix), !name.dropFirst().contains("/") else { return false }
            return cshim_mq_unlink(name) == 0
        }
    }

    static func isHarnessPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        guard path.hasPrefix("/"), !parts.contains(".."), let last = parts.last else { return false }
        return last.hasPrefix(prefix) || (parts.dropLast().last?.hasPrefix(prefix) ?? false)
    }

    static func ownedStat(_ path: String) -> stat? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_uid == geteuid() else { return nil }
        return st
    }
}

/// The kernel's SysV tables, as /proc/sysvipc lists them: which ids exist,
/// with which key, created by which uid.
enum SysVTable: String {
    case shm, sem, msg

    /// Columns of sem_nsems and sem_ctime in /proc/sysvipc/sem (for other
    /// tables: none; the columns there mean other things).
    var countColumn: Int? { self == .sem ? 3 : nil }
    var ctimeColumn: Int? { self == .sem ? 9 : nil }

    /// Column of the creator's uid (cuid) in /proc/sysvipc/<table>.
    var cuidColumn: Int {
        switch self {
        case .shm: 9
        case .sem: 6
        case .msg: 9
        }
    }

    /// (key, id, cuid, semaphores, ctime) of every object (the last two only for sem).
    var rows: [(key: Int32, id: Int32, cuid: UInt32, count: Int, ctime: Int)] {
        let fd = open("/proc/sysvipc/\(rawValue)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count > max(cuidColumn, ctimeColumn ?? 0), let key = Int64(f[0]), let id = Int32(f[1]),
                  let cuid = UInt32(f[cuidColumn]) else { return nil }
            let count = countColumn.flatMap { Int(f[$0]) } ?? 0, ctime = ctimeColumn.flatMap { Int(f[$0]) } ?? 0
            return (Int32(truncatingIfNeeded: key), id, cuid, count, ctime)
        }
    }

    func owns(id: Int32) -> Bool { rows.contains { $0.id == id && $0.cuid == geteuid() } }

    func ownedID(key: Int32) -> Int32? { rows.first { $0.key == key && $0.cuid == geteuid() }?.id }

    func remove(_ id: Int32) -> Bool {
        switch self {
        case .shm: cshim_shm_rmid(id) == 0
        case .sem: cshim_semctl_rmid(id) == 0
        case .msg: msgctl(id, IPC_RMID, nil) == 0
        }
    }
}
