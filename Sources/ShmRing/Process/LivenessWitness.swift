import CShim
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The one judge of whether the process named in a ring's owner word still
/// lives: a kernel-held witness, not /proc.
///
/// Every holder of a role (the producer end, the consumer end, the creator's
/// region) holds an OFD write lock (`fcntl(F_OFD_SETLK)`) on one byte of the
/// region's witness file, at `WitnessRole.offset`, through an open file
/// description of its own. The kernel drops the lock when the last
/// descriptor of that description closes, which process death does, in any
/// PID namespace, whatever /proc shows (hidepid, another namespace, a zombie
/// thread-group leader whose other threads still run, a checker out of
/// descriptors). A checker asks with `F_OFD_GETLK` through the region's
/// source descriptor, which never holds a lock, so it sees every holder,
/// its own process's included.
///
/// The owner word (pid and start time, `ProcessIdentity`) stays, as the
/// label people read (`ringbench ls`) and as the thing a claim replaces;
/// the lock decides. Where the witness cannot answer (no witness file, an
/// fcntl error) the answer is "alive": never take over, never remove.
///
/// The witness file is the ring file (mmap), the key file (named SysV), or
/// a memfd made with the region (anonymous and IPC_PRIVATE regions, shared
/// only by fork). See docs/design.md, "Ownership and liveness".
@usableFromInline
final class RegionWitness: @unchecked Sendable {
    // @unchecked: `source`, `path` and `missing` are immutable; the creator's
    // hold is behind a lock.
    /// A descriptor of the witness file, open for the region's lifetime, on
    /// which no lock is ever placed (-1: none, see `missing`).
    private let source: Int32
    /// The file's path, tried first when opening a fresh description.
    private let path: String?
    /// Why there is no source: the failing call and its errno.
    private let missing: (call: String, errno: Errno)?
    /// The creator's hold on the creator byte, for the region's lifetime.
    private let creatorHold = ThreadLock<HeldWitness?>(nil)
    /// This region object's shared hold on the member byte (queues), for
    /// the region's lifetime.
    private let memberHold = ThreadLock<HeldWitness?>(nil)
    /// This region object's hold on one of a queue's counters slots
    /// (`holdCounterSlot`), for the region's lifetime.
    private let counterSlotHold = ThreadLock<(index: Int, held: HeldWitness)?>(nil)

    /// Takes ownership of `fd`, a descriptor of the witness file (the ring
    /// file, the key file) that `path` names.
    init(source fd: Int32, path: String?) {
        source = fd
        self.path = path
        missing = nil
    }

    /// A region without a witness: every question about it answers "alive"
    /// and claims fail with this error.
    init(failedCall call: String, errno: Errno) {
        source = -1
        path = nil
        missing = (call, errno)
    }

    /// A memfd for an anonymous or IPC_PRIVATE region; forked children
    /// inherit it with the mapping.
    static func memfd(name: String) -> RegionWitness {
        let fd = cshim_memfd("shmring-witness")
        guard fd >= 0 else { return RegionWitness(failedCall: "memfd_create (liveness witness of \(name))", errno: Errno(rawValue: errnoValue())) }
        return RegionWitness(source: fd, path: nil)
    }

    /// Opens the key file of a named SysV region: its witness. A key file
    /// that cannot be opened read-write, or that is no longer the file whose
    /// key was used (`device`, `inode`), leaves the region without a witness.
    static func keyFile(_ path: String, device: UInt64, inode: UInt64) -> RegionWitness {
        let fd = Glibc.open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return RegionWitness(failedCall: "open(\(path)) (liveness witness)", errno: Errno(rawValue: errnoValue())) }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_dev) == device, UInt64(st.st_ino) == inode else {
            _ = Glibc.close(fd)
            return RegionWitness(failedCall: "open(\(path)) (liveness witness: the key file was replaced)", errno: .staleNFSFileHandle)
        }
        return RegionWitness(source: fd, path: path)
    }

    deinit {
        creatorHold.withLock { $0?.release() }
        memberHold.withLock { $0?.release() }
        counterSlotHold.withLock { $0?.held.release() }
        if source >= 0 { _ = Glibc.close(source) }
    }

    /// Why liveness cannot be judged for this region, or nil if it can.
    var unavailableReason: String? {
        missing.map { "\($0.call) failed: \($0.errno) (errno \($0.errno.rawValue))" }
    }

    // MARK: Holding

    /// Takes `role`'s lock on a fresh open file description. Returns nil
    /// when a live holder has it (another process, or another handle or
    /// region object in this one).
    /// `shared`: a read lock, which any number of holders may take at once
    /// (the member byte); nil then means a writer holds the byte.
    func hold(_ role: WitnessRole, for name: String, shared: Bool = false) throws(ShmError) -> HeldWitness? {
        try holdFirstFree(of: [role.offset], label: role.description, shared: shared, for: name)?.held
    }

    /// Takes the lock of the first of `bytes` that no live holder has, on
    /// one fresh open file description (a broadcast ring's consumer slots:
    /// one open, then one fcntl per byte tried). Returns its index in
    /// `bytes` and the hold, or nil when every byte is held.
    func holdFirstFree(of bytes: [UInt64], label: String, shared: Bool = false, for name: String) throws(ShmError) -> (index: Int, held: HeldWitness)? {
        if let missing { throw .systemCall(call: missing.call, errno: missing.errno) }
        let fd = cshim_witness_open(source, path)
        guard fd >= 0 else { throw .lastErrno("open a liveness witness of ring '\(name)'") }
        let held = HeldWitness(fd: fd, generation: cshim_fork_generation())
        for (index, byte) in bytes.enumerated() {
            switch shared ? cshim_ofd_trylock_shared(fd, byte) : cshim_ofd_trylock(fd, byte) {
            case 0: return (index, held)
            case 1: continue
            default:
                let error = ShmError.lastErrno("fcntl(F_OFD_SETLK, \(label) byte of ring '\(name)')")
                held.release()
                throw error
            }
        }
        held.release()
        return nil
    }

    /// A queue's counters slot for this region object: the first of `count`
    /// slot bytes no live holder has, held for the region's lifetime, so a
    /// slot is reused only once the kernel dropped its holder's lock (never
    /// because /proc cannot see the holder). `isNew`: taken by this call.
    /// Nil when every slot is held or the witness cannot answer.
    func holdCounterSlot(count: Int, for name: String) -> (index: Int, isNew: Bool)? {
        counterSlotHold.withLock { slot in
            if let slot { return (slot.index, false) }
            let bytes = (0..<count).map(WitnessRole.queueCounterSlotByte)
            guard let taken = try? holdFirstFree(of: bytes, label: "counters slot", for: name) else { return nil }
            slot = taken
            return (taken.index, true)
        }
    }

    /// The creator's region holds the creator byte for its lifetime. Call
    /// before the region is published.
    func holdCreator(for name: String) throws(ShmError) {
        guard let held = try hold(.creator, for: name) else {
            throw .alreadyExists(name: name)
        }
        creatorHold.withLock { $0 = held }
    }

    /// A queue's region holds the member byte (shared with every other
    /// process that has the queue) for its lifetime: while any holds it,
    /// the queue is in use, whatever its creator's fate. Idempotent. A
    /// region without a witness (`unavailableReason`) holds nothing and
    /// is judged "cannot tell" (alive) by `QueueNames`.
    func holdMember(for name: String) throws(ShmError) {
        guard missing == nil else { return }
        try memberHold.withLock { (held: inout HeldWitness?) throws(ShmError) in
            guard held == nil else { return }
            guard let taken = try hold(.member, for: name, shared: true) else {
                throw .corruptRing(reason: "the member byte of '\(name)' is write-locked (not a lock this library takes)")
            }
            held = taken
        }
    }

    /// Drops the creator's hold before the region goes: what the creator's
    /// death does (tests simulate it in-process).
    func dropCreatorHold() {
        creatorHold.withLock { held in
            held?.release()
            held = nil
        }
    }

    // MARK: Judging

    /// Whether some live open file description holds `role`'s byte.
    func isHeld(_ role: WitnessRole) -> Result<Bool, ShmError> { isHeld(byte: role.offset) }

    /// Whether some live open file description holds the witness byte `byte`.
    func isHeld(byte: UInt64) -> Result<Bool, ShmError> {
        if let missing { return .failure(.systemCall(call: missing.call, errno: missing.errno)) }
        switch cshim_ofd_is_held(source, byte) {
        case 0: return .success(false)
        case 1: return .success(true)
        default: return .failure(.lastErrno("fcntl(F_OFD_GETLK, witness byte \(byte - WitnessRole.base))"))
        }
    }

    /// The judgement of the process `word` names as `role`'s holder: gone
    /// only when the word names someone, the lock is free, and the word still
    /// names the same one after (a holder releasing clears the word before
    /// it drops the lock, so a free lock under an unchanged word is a death)
    /// and the lock is still free after that (so a holder that released and
    /// claimed again in between is not taken for dead).
    func judge(_ word: UnsafeMutablePointer<UInt64>, as role: WitnessRole) -> Liveness {
        judge(word, byte: role.offset)
    }

    /// `judge` for any witness byte (a broadcast ring's consumer slot).
    func judge(_ word: UnsafeMutablePointer<UInt64>, byte: UInt64) -> Liveness {
        // Acquire: pairs with the claim's CAS and the release's store.
        let owner = cshim_load_acquire(word)
        guard owner != 0 else { return .unclaimed }
        for round in 0..<2 {
            switch isHeld(byte: byte) {
            case .failure(let error): return .unknown(owner: owner, reason: "cannot judge liveness: \(error.description)")
            case .success(true): return .alive(owner: owner)
            case .success(false):
                // Acquire: as above; a changed word means someone acted: alive.
                if round == 0, cshim_load_acquire(word) != owner { return .alive(owner: owner) }
            }
        }
        return .dead(owner: owner)
    }
}

/// One role's judgement. `unknown` counts as alive everywhere.
enum Liveness: Equatable {
    case unclaimed
    case alive(owner: UInt64)
    case dead(owner: UInt64)
    case unknown(owner: UInt64, reason: String)

    var isDead: Bool { if case .dead = self { return true } else { return false } }
    /// Nobody holds the role: never claimed, released, or its holder died.
    var isGone: Bool {
        switch self {
        case .unclaimed, .dead: return true
        case .alive, .unknown: return false
        }
    }
}

/// The byte of the witness file that stands for a role: 2^40 plus the
/// role's index, far past the end of any region file (a lock past the end of
/// a file is allowed and changes nothing in it).
enum WitnessRole: UInt64, CustomStringConvertible {
    case producer = 0, consumer = 1, creator = 2
    /// Queues (MPMC): every process that has the queue holds a shared lock here.
    case member = 3

    static let base: UInt64 = 1 << 40
    var offset: UInt64 { Self.base + rawValue }
    /// The byte of a broadcast ring's consumer slot `index`: after the roles'.
    static func broadcastConsumerByte(_ index: Int) -> UInt64 { base + 16 + UInt64(index) }
    /// The byte of a queue's counters slot `index`: after the broadcast
    /// consumers' range (a region is one kind; distinct ranges read clearer).
    static func queueCounterSlotByte(_ index: Int) -> UInt64 { base + 4096 + UInt64(index) }
    init(_ side: EndpointSide) { self = side == .producer ? .producer : .consumer }
    var description: String {
        switch self {
        case .producer: return "producer"
        case .consumer: return "consumer"
        case .creator: return "creator"
        case .member: return "member"
        }
    }
}

/// A witness lock this process holds: its own open file description.
/// `release` (or process death) drops the lock; in a forked child it does
/// nothing (the fork handler closed the descriptor already).
@usableFromInline
struct HeldWitness: Sendable {
    let fd: Int32
    @usableFromInline let generation: UInt64

    func release() { cshim_witness_close(fd, generation) }
}
