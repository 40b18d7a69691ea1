import CShim
import Foundation
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// One ring or queue found in a directory (`ringbench ls`).
struct RingEntry: Encodable {
    struct Owner: Encodable {
        var role: String
        var pid: Int32
        var alive: Bool
    }

    var name: String
    var backing: String
    var kind: String
    var sizeBytes: Int?
    /// Slots (SPSC ring, queues) or bytes (record ring).
    var capacity: Int?
    /// Bytes per slot, or the largest record.
    var messageBytes: Int?
    /// Messages (or, for a record ring, bytes) waiting to be read.
    var pending: Int?
    var fillPercent: Double?
    var owners: [Owner] = []
    var ageSeconds: Double
    /// "live", "stale" (creator and every endpoint gone), "waiting for
    /// consumer" (a closed stream nobody holds, not yet drained), "creating"
    /// (zero-filled, not yet published), "unsafe" (a mode that lets group or
    /// others write it: endpoints refuse to open it) or "corrupt".
    var state: String
    var problem: String?
    /// SysV key of a semaphore queue's set and whether the set exists.
    var semaphoreKey: String?

    var isStale: Bool { state == "stale" }
}

/// Reads every ring and queue of this user in a directory: regular files
/// only (never a symbolic link), owned by our uid, bearing the library's
/// magic (a file that does not is someone else's and is left out). A region
/// that fails validation is listed as corrupt with the reason.
enum RingDirectory {
    static let sysvKeySuffix = ".sysv-key"

    static func scan(_ directory: String) throws -> [RingEntry] {
        // Hidden files are never rings (no ring name starts with '.'): name
        // locks and the harness's ledgers live there.
        try fileNames(in: directory).filter { !$0.hasPrefix(".") }.sorted().compactMap { entry(directory: directory, file: $0) }
    }

    /// The names in `directory`; a failure is one line naming the reason
    /// (strerror), e.g. "cannot list /etc/passwd: Not a directory".
    static func fileNames(in directory: String) throws -> [String] {
        guard let dir = opendir(directory) else {
            throw CommandFailure(message: "cannot list \(directory): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = directoryEntryName(entry)
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    static func entry(directory: String, file: String) -> RingEntry? {
        let path = directory + "/" + file
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == getuid() else { return nil }
        let isKey = file.hasSuffix(sysvKeySuffix)
        let name = isKey ? String(file.dropLast(sysvKeySuffix.count)) : file
        let backing: RegionBacking = isKey ? .sysv : .mmap
        if !isKey {
            // Someone else's shared memory is not ours to list.
            guard st.st_size >= 8, let fd = Optional(open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)), fd >= 0 else { return nil }
            var magic: UInt64 = 0
            let got = pread(fd, &magic, 8, 0)
            close(fd)
            guard got == 8, magic == RegionLayout.magic || magic == 0 else { return nil }
        }
        let age = max(0, Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec))
        var entry = RingEntry(name: name, backing: backing.rawValue, kind: "?", ageSeconds: age, state: "live")
        var options = RegionOptions(directory: directory, openTimeoutSeconds: 0, prefault: false)
        do throws(ShmError) {
            let region: SharedRegion
            var unsafeMode: UInt32?
            do throws(ShmError) {
                region = try SharedRegion.open(backing: backing, name: name, options: options)
            } catch .unsafePermissions(_, let mode) {
                // Our own region with a mode that lets others write it (a
                // chmod): not corrupt. Listing only reads, so look inside,
                // and say why no endpoint will open it.
                options.allowSharedWrite = true
                region = try SharedRegion.open(backing: backing, name: name, options: options)
                unsafeMode = mode
            }
            try describe(region, into: &entry, directory: directory)
            if let unsafeMode {
                if entry.state == "live" { entry.state = "unsafe" }
                let note = "mode \(String(unsafeMode, radix: 8)) lets group or others write it: endpoints refuse it (chmod 600 to use it)"
                entry.problem = [note, entry.problem].compactMap { $0 }.joined(separator: "; ")
            }
        } catch .notReady, .notARing(_, magic: 0) {
            // Zero-filled, not published yet: a creator is at work (or died
            // at work, which `rm --force` cleans up).
            entry.state = "creating"
            entry.problem = "not yet published by its creator"
        } catch {
            entry.state = "corrupt"
            entry.problem = error.description
        }
        return entry
    }

    /// Fills in what the validated header and the endpoint words say.
    static func describe(_ region: SharedRegion, into entry: inout RingEntry, directory: String) throws(ShmError) {
        entry.sizeBytes = region.size
        guard region.size >= RegionLayout.headerSize else {
            throw .sizeMismatch(name: region.name, headerSays: UInt64(RegionLayout.headerSize), actual: UInt64(region.size))
        }
        // Acquire: pairs with the creator's release in `publishReady`. Not
        // published yet: its kind may not be written yet either.
        let state = cshim_load_acquire((region.base + RegionLayout.initStateOffset).assumingMemoryBound(to: UInt64.self))
        if state == RegionLayout.stateInitialising { throw .notReady(name: region.name, waitedSeconds: 0) }
        let rawKind = region.base.load(fromByteOffset: RegionLayout.kindOffset, as: UInt32.self)
        guard let kind = StructureKind(rawValue: rawKind) else {
            throw .corruptedHeader(name: region.name, reason: "unknown structure kind \(rawKind)")
        }
        let header = try RegionHeader.validate(region, expecting: kind, timeoutSeconds: 0)
        entry.kind = kind.description
        entry.capacity = Int(header.capacity)
        entry.messageBytes = Int(header.slotSize)
        func word(_ offset: Int) -> UInt64 {
            // Acquire: monitoring reads of words other processes publish.
            cshim_load_acquire((region.base + offset).assumingMemoryBound(to: UInt64.self))
        }
        switch kind {
        case .spscRing, .recordRing, .exchange:
            guard region.size >= EndpointLayout.dataOffset else {
                throw .sizeMismatch(name: region.name, headerSays: UInt64(EndpointLayout.dataOffset), actual: UInt64(region.size))
            }
            // The rings' own judge (their kernel-held witness), so that `ls`
            // and `rm` agree with `pub` and `sub` on who is alive.
            for holder in try RingNames.holders(of: region) {
                entry.owners.append(.init(role: holder.role, pid: holder.pid, alive: holder.alive))
                if let note = holder.note { entry.problem = "\(holder.role) \(holder.pid): \(note)" }
            }
            if kind == .exchange {
                entry.pending = try Exchange.attach(region, timeoutSeconds: 0).pendingRequests()
            } else if kind == .spscRing {
                let ring = try SPSCRing.attach(region, timeoutSeconds: 0)
                entry.pending = ring.snapshot().pending
            } else {
                let written = word(EndpointLayout.producerPositionOffset), read = word(EndpointLayout.readPositionOffset)
                guard read <= written, written - read <= header.capacity else {
                    throw .corruptRing(reason: "positions read \(read), written \(written) do not fit a \(header.capacity)-byte ring")
                }
                entry.pending = Int(written - read)
            }
        case .mpmcSemaphoreQueue, .mpmcLockFreeQueue:
            let (tail, head) = kind == .mpmcSemaphoreQueue
                ? (word(MPMCSemaphoreLayout.tailOffset), word(MPMCSemaphoreLayout.headOffset))
                : (word(MPMCLockFreeLayout.enqueuePositionOffset), word(MPMCLockFreeLayout.dequeuePositionOffset))
            entry.pending = tail >= head ? Int(min(tail - head, header.capacity)) : 0
            // The queues' witness (creator byte, shared member byte), not
            // kill(pid): the creator's pid means nothing in another PID
            // namespace. The pid shown is a label.
            for holder in QueueNames.holders(of: region) {
                entry.owners.append(.init(role: holder.role, pid: holder.pid, alive: holder.alive))
                if let note = holder.note { entry.problem = "\(holder.role) \(holder.pid): \(note)" }
            }
            if kind == .mpmcSemaphoreQueue {
                let key = Int32(truncatingIfNeeded: header.parameters[MPMCSemaphoreLayout.semaphoreKeyParameter])
                entry.semaphoreKey = "0x" + String(UInt32(bitPattern: key), radix: 16)
            }
        case .lockArena, .benchControl:
            // The library never names these (lock arenas are anonymous and
            // shared by fork; no control block is made): a file of this kind
            // here is not one of ours in use. Judged like a queue, by the
            // witness: nobody holds its bytes, so it shows as stale.
            for holder in QueueNames.holders(of: region) {
                entry.owners.append(.init(role: holder.role, pid: holder.pid, alive: holder.alive))
            }
        case .broadcastRing:
            try describeBroadcast(region, into: &entry)
        }
        if let pending = entry.pending, let capacity = entry.capacity, capacity > 0 {
            entry.fillPercent = (Double(pending) / Double(capacity) * 1000).rounded() / 10
        }
        if entry.owners.contains(where: \.alive) {
            entry.state = "live"
        } else if kind == .spscRing || kind == .recordRing {
            // The library's judgement (`RingNames.isStale`): a closed stream
            // still holding undelivered records waits for its consumer.
            let options = RegionOptions(directory: directory, openTimeoutSeconds: 0, prefault: false)
            entry.state = (try? RingNames.isStale(backing: region.backing, name: region.name, options: options)) == true
                ? "stale" : "waiting for consumer"
        } else {
            entry.state = "stale"
        }
    }

    /// Removes an entry's name (file, or segment and key file) and, for a
    /// semaphore queue, its semaphore set.
    static func remove(_ entry: RingEntry, directory: String) throws {
        let backing = RegionBacking(rawValue: entry.backing) ?? .mmap
        let options = RegionOptions(directory: directory)
        if entry.semaphoreKey != nil,
           let key = try? SemaphoreSet.key(forFile: directory + "/" + entry.name + (backing == .sysv ? sysvKeySuffix : "")),
           let set = try? SemaphoreSet.open(key: key, count: MPMCSemaphoreLayout.semaphoreCount, name: entry.name, timeoutSeconds: 0) {
            _ = cshim_semctl_rmid(set.id)
        }
        do { try RingNames.remove(backing: backing, name: entry.name, options: options) } catch {
            throw CommandFailure(message: "cannot remove '\(entry.name)': \(error.description)")
        }
    }
}
