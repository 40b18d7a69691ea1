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
/// `/dev/shm/.ringbench-PID-STARTTIME-SEQ.ledger` (mode 0600), one line per
/// object, recording a name before creating it (an id right after), and
/// deletes the file once its cleanup has run. A ledger whose process (pid
/// and start time, so a reused pid does not count) is gone is stale:
/// `reclaim()` removes every object it lists that still exists, belongs to
/// this user and is still the object recorded, then the ledger. `ringbench
/// run`, `suite` and `locks` call it before they start; `ringbench reclaim`
/// runs it on demand.
///
/// # Only ledgers are trusted as ledgers (issue 15, item 12)
/// `reclaim` removes what a ledger names, so a file that merely looks like
/// one (a record ring named `ringbench-1-1-1.ledger` holding "sem 42") must
/// not count:
/// - the name is hidden (it starts with '.'), which no ring name may
///   (`pub`, `SPSCRing.create`, ... refuse it);
/// - the file is created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, and
///   must be a regular file of ours that nobody else may write;
/// - its first line is `magicLine` (with the format version), and every entry
///   line carries an FNV-1a checksum of its text: a line that fails it is
///   ignored, a file without the magic line is not a ledger at all;
/// - a SysV semaphore set or message queue is listed with its identity (key,
///   number of semaphores, creation time from IPC_STAT), and removed only if
///   the id still names an object with that key and count, created by this
///   user, whose ctime is the recorded one (message queues: msg_ctime changes
///   only with IPC_SET, which the harness never does) or later (semaphore
///   sets: sem_ctime also moves with SETVAL, which creation and repair use),
///   so an id reused by another object is left alone.
/// - a region file is removed through ShmRing (`SharedRegion.removeName`),
///   which takes the name's lock and removes a SysV segment only if its
///   header records that key file.
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
    /// Ledger names: hidden, so that no ring (whose names may not start with
    /// '.') can be named like one.
    static let prefix = ".ringbench-"
    static let suffix = ".ledger"
    /// The harness's own object names (files, directories, POSIX queues).
    static let harnessPrefix = "ringbench-"
    /// The first line of every ledger: what it is and the format's version.
    static let magicLine = "ringbench stale ledger v2"
    nonisolated(unsafe) static var sequence = 0

    private let ownerPid = getpid()
    private var path: String?
    /// The open ledger (O_APPEND), or -1.
    private var fd: Int32 = -1
    private var lines: [Line] = []

    public init() {}

    deinit { if fd >= 0 { _ = close(fd) } }

    /// Appends `entry` (with its identity, for a SysV set or queue); creates
    /// the ledger file on first use. Best effort: a ledger that cannot be
    /// written costs only the reclaim, never the run.
    public func record(_ entry: Entry) {
        guard getpid() == ownerPid else { return }
        let line = Line(entry: entry, identity: SysVIdentity.current(of: entry))
        lines.append(line)
        if fd < 0 {
            guard let (path, fd) = Self.create(ownerPid, holding: lines) else { return }
            (self.path, self.fd) = (path, fd)
        } else {
            Self.write([line], to: fd)
        }
    }

    /// After the run's names were removed (`CleanupRegistry.releaseNames`):
    /// only what cannot be unnamed stays listed; with nothing left, the
    /// ledger goes, and a SIGKILL from here on leaves nothing at all. The
    /// shorter ledger is written in full under a new name before the old one
    /// is removed, so a kill in between leaves two ledgers, never none.
    public func dropNames() {
        guard getpid() == ownerPid, let old = path else { return }
        lines.removeAll { !$0.entry.outlivesItsName }
        let oldFD = fd
        (path, fd) = (nil, -1)
        if !lines.isEmpty, let (path, fd) = Self.create(ownerPid, holding: lines) { (self.path, self.fd) = (path, fd) }
        _ = unlink(old)
        _ = close(oldFD)
    }

    /// Creates a new ledger exclusively (never through a link, never over an
    /// existing file) holding the magic line and `lines`.
    static func create(_ pid: pid_t, holding lines: [Line]) -> (path: String, fd: Int32)? {
        for _ in 0..<8 {
            let path = newPath(pid)
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 {
                if errno == EEXIST { continue }
                return nil
            }
            let header = Array((magicLine + "\n").utf8)
            _ = header.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            write(lines, to: fd)
            return (path, fd)
        }
        return nil
    }

    static func newPath(_ pid: pid_t) -> String {
        sequence += 1
        let start = ProcessIdentity.current()?.startTime ?? 0
        return "\(directory)/\(prefix)\(pid)-\(start)-\(sequence)\(suffix)"
    }

    /// One write per call: O_APPEND keeps each call's lines together.
    static func write(_ lines: [Line], to fd: Int32) {
        let text = Array(lines.map { $0.text + "\n" }.joined().utf8)
        _ = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// Deletes the ledger: call once everything it lists has been removed.
    public func discard() {
        guard getpid() == ownerPid, let path else { return }
        _ = unlink(path)
        _ = close(fd)
        self.path = nil
        fd = -1
        lines = []
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
            let name = directoryEntryName(entry)
            if name.hasPrefix(prefix), name.hasSuffix(suffix) { ledgers.append(name) }
        }
        closedir(dir)
        var removed: [String] = []
        for name in ledgers {
            guard let owner = owner(ofLedger: name), !owner.isAlive else { continue }
            let path = "\(directory)/\(name)"
            // Not a ledger (no magic line): not ours to act on, nor to delete.
            guard let text = readOwnFile(path), let lines = parse(text) else { continue }
            // Newest first: files before the directory that holds them.
            for line in lines.reversed() where remove(line) { removed.append(line.entry.line) }
            _ = unlink(path)
            removed.append("ledger \(path)")
        }
        return removed
    }

    /// A ledger's lines, or nil if `text` is not a ledger; lines whose
    /// checksum fails are left out.
    static func parse(_ text: String) -> [Line]? {
        let rows = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard rows.first == Substring(magicLine) else { return nil }
        return rows.dropFirst().compactMap(Line.init(text:))
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

    /// Removes one listed object if it exists, is ours and is still the
    /// object recorded; true if it did. Paths must be absolute and belong to
    /// the harness (a "ringbench-" name or parent directory), so a damaged
    /// ledger cannot aim this elsewhere.
    static func remove(_ line: Line) -> Bool {
        switch line.entry {
        case let .file(path):
            guard isHarnessPath(path), let st = ownedStat(path), st.st_mode & S_IFMT != S_IFDIR else { return false }
            return unlink(path) == 0
        case let .directory(path):
            guard isHarnessPath(path), let st = ownedStat(path), st.st_mode & S_IFMT == S_IFDIR else { return false }
            return rmdir(path) == 0
        case let .regionFile(path):
            guard isHarnessPath(path), let st = ownedStat(path), st.st_mode & S_IFMT == S_IFREG,
                  let slash = path.lastIndex(of: "/") else { return false }
            // An MPMC queue's set is keyed by the file ('S', SemaphoreSet.projectID).
            let key = cshim_ftok(path, SemaphoreSet.projectID)
            if key != -1, let id = SysVTable.sem.ownedID(key: key) { _ = SysVTable.sem.remove(id) }
            // The file, and for a key file the segment its header says is its
            // own, through ShmRing (under the name's lock).
            let file = String(path[path.index(after: slash)...])
            let isKey = file.hasSuffix(sysvKeySuffix)
            let options = RegionOptions(directory: String(path[..<slash]))
            return (try? SharedRegion.removeName(backing: isKey ? .sysv : .mmap, name: isKey ? String(file.dropLast(sysvKeySuffix.count)) : file,
                                                 options: options)) == true
        case let .semaphoreSet(id):
            guard let recorded = line.identity, let now = SysVIdentity.current(of: line.entry),
                  now.isStill(recorded, ctimeMayGrow: true) else { return false }
            return SysVTable.sem.remove(id)
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
            guard let recorded = line.identity, let now = SysVIdentity.current(of: line.entry),
                  now.isStill(recorded, ctimeMayGrow: false) else { return false }
            return SysVTable.msg.remove(id)
        case let .posixQueue(name):
            guard name.hasPrefix("/" + harnessPrefix), !name.dropFirst().contains("/") else { return false }
            return cshim_mq_unlink(name) == 0
        }
    }

    static func isHarnessPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        guard path.hasPrefix("/"), !parts.contains(".."), let last = parts.last else { return false }
        return last.hasPrefix(harnessPrefix) || (parts.dropLast().last?.hasPrefix(harnessPrefix) ?? false)
    }

    static func ownedStat(_ path: String) -> stat? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_uid == geteuid() else { return nil }
        return st
    }
}

extension StaleLedger {
    /// ShmRing's suffix of SysV key files (`RegionLocation.sysvKeySuffix`).
    static let sysvKeySuffix = ".sysv-key"

    /// One ledger line: an entry, the identity of a SysV object, and a
    /// checksum of both (`text`).
    struct Line: Equatable {
        var entry: Entry
        var identity: SysVIdentity?

        /// "ENTRY[ = KEY COUNT CTIME] #CHECKSUM".
        var text: String {
            let body = entry.line + (identity.map { " = \($0.key) \($0.count) \($0.ctime)" } ?? "")
            return body + " #" + String(Self.checksum(body), radix: 16)
        }

        init(entry: Entry, identity: SysVIdentity?) {
            self.entry = entry
            self.identity = identity
        }

        /// Nil for a line whose checksum or syntax is wrong.
        init?(text: Substring) {
            guard let mark = text.range(of: " #", options: .backwards),
                  UInt64(text[mark.upperBound...], radix: 16) == Self.checksum(text[..<mark.lowerBound]) else { return nil }
            let body = text[..<mark.lowerBound]
            if let equals = body.range(of: " = ") {
                let f = body[equals.upperBound...].split(separator: " ")
                guard f.count == 3, let key = Int32(f[0]), let count = UInt64(f[1]), let ctime = Int64(f[2]),
                      let entry = Entry(line: body[..<equals.lowerBound]) else { return nil }
                self.init(entry: entry, identity: SysVIdentity(key: key, count: count, ctime: ctime))
            } else {
                guard let entry = Entry(line: body) else { return nil }
                self.init(entry: entry, identity: nil)
            }
        }

        /// FNV-1a 64 of the line's text, salted with the magic line.
        static func checksum<S: StringProtocol>(_ body: S) -> UInt64 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in StaleLedger.magicLine.utf8 + [0x0A] + Array(body.utf8) { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
            return h
        }
    }

    /// What IPC_STAT says a semaphore set or message queue is.
    struct SysVIdentity: Equatable {
        var key: Int32
        /// Semaphores in the set (0 for a message queue).
        var count: UInt64
        var ctime: Int64

        /// The identity of the set or queue `entry` names now, if it exists
        /// and this user created it; nil for other entries.
        static func current(of entry: Entry) -> SysVIdentity? {
            var key: Int32 = 0, cuid: UInt32 = 0, count: UInt64 = 0, ctime: Int64 = 0
            switch entry {
            case let .semaphoreSet(id):
                guard cshim_sem_identity(id, &key, &cuid, &count, &ctime) == 0 else { return nil }
            case let .messageQueue(id):
                guard cshim_msg_identity(id, &key, &cuid, &ctime) == 0 else { return nil }
            default:
                return nil
            }
            guard cuid == geteuid() else { return nil }
            return SysVIdentity(key: key, count: count, ctime: ctime)
        }

        /// Whether this (the object now behind the id) is the one recorded.
        func isStill(_ recorded: SysVIdentity, ctimeMayGrow: Bool) -> Bool {
            key == recorded.key && count == recorded.count
                && (ctimeMayGrow ? ctime >= recorded.ctime : ctime == recorded.ctime)
        }
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
