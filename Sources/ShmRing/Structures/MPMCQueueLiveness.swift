/// Who uses an MPMC queue, judged as the rings judge their ends: by the
/// region's kernel-held witness (`RegionWitness`), never by a pid. The
/// creator's region holds the creator byte for its lifetime; every region
/// object that created or opened the queue holds a shared lock on the member
/// byte for its lifetime. The kernel drops both when their holder dies, in
/// any PID namespace. The creator pid in the header stays a label for people.
///
/// This is what `ringbench ls` shows for a queue and what `rm` and
/// `rm --stale` go by: a queue is stale only when the witness shows neither
/// its creator nor any member; when the witness cannot answer, it is in use.
extension SharedRegion {
    /// Takes this process's holds on a queue region: the creator byte
    /// (`creator`: the region was just made) and the shared member byte.
    func joinQueue(asCreator creator: Bool) throws(ShmError) {
        if creator { try witness.holdCreator(for: name) }
        try witness.holdMember(for: name)
    }
}

public enum QueueNames {
    /// A queue region's users: its creator (pid from the header's label,
    /// alive while the creator byte is held) and, when some process holds
    /// the member byte, one "members" entry (pid 0: members are not named).
    /// Where the witness cannot answer, every entry is alive with a note.
    public static func holders(of region: SharedRegion) -> [RingHolder] {
        let creatorPid = Int32(truncatingIfNeeded: region.base.load(fromByteOffset: RegionLayout.creatorPidOffset, as: UInt64.self))
        if let reason = region.witness.unavailableReason {
            return [RingHolder(role: "creator", pid: creatorPid, alive: true, note: "cannot judge liveness: \(reason)")]
        }
        var holders: [RingHolder] = []
        for role in [WitnessRole.creator, .member] {
            let alive: Bool, note: String?
            switch region.witness.isHeld(role) {
            case .success(let held): (alive, note) = (held, nil)
            case .failure(let error): (alive, note) = (true, "cannot judge liveness: \(error.description)")
            }
            if role == .creator {
                holders.append(RingHolder(role: "creator", pid: creatorPid, alive: alive, note: note))
            } else if alive {
                holders.append(RingHolder(role: "members", pid: 0, alive: true, note: note))
            }
        }
        return holders
    }

    /// Whether nobody uses the queue: no live creator and no member.
    public static func isStale(_ region: SharedRegion) -> Bool {
        !holders(of: region).contains(where: \.alive)
    }
}
