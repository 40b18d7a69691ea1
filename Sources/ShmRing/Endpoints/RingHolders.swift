import CShim

/// Who holds a ring's roles, judged as the rings themselves judge
/// (`RegionWitness`): what `ringbench ls` and `rm` show and refuse by.
public struct RingHolder: Sendable, Equatable {
    /// "creator", "producer" or "consumer".
    public var role: String
    /// The pid from the role's label word, in the labeller's PID namespace
    /// (it may mean nothing, or another process, in ours).
    public var pid: Int32
    /// False only when the kernel-held witness shows the holder gone.
    public var alive: Bool
    /// Why liveness could not be judged (then `alive` is true), or nil.
    public var note: String?
}

extension RingNames {
    /// The holders named in a ring region's label words (roles nobody holds
    /// are left out), each judged by the region's witness. A label word
    /// that names no process is `corruptRing`.
    public static func holders(of region: SharedRegion) throws(ShmError) -> [RingHolder] {
        guard region.size >= EndpointLayout.dataOffset else {
            throw .sizeMismatch(name: region.name, headerSays: UInt64(EndpointLayout.dataOffset), actual: UInt64(region.size))
        }
        var holders: [RingHolder] = []
        for (role, offset) in [(WitnessRole.creator, EndpointLayout.creatorIdentityOffset),
                               (.producer, EndpointLayout.producerOwnerOffset), (.consumer, EndpointLayout.consumerOwnerOffset)] {
            let word = (region.base + offset).assumingMemoryBound(to: UInt64.self)
            let verdict = region.witness.judge(word, as: role)
            let owner: UInt64, alive: Bool, note: String?
            switch verdict {
            case .unclaimed: continue
            case let .alive(word): (owner, alive, note) = (word, true, nil)
            case let .dead(word): (owner, alive, note) = (word, false, nil)
            case let .unknown(word, reason): (owner, alive, note) = (word, true, reason)
            }
            guard let identity = ProcessIdentity(packed: owner) else {
                throw .corruptRing(reason: "the \(role) word of ring '\(region.name)' holds 0x\(String(owner, radix: 16)), not a process")
            }
            holders.append(RingHolder(role: role.description, pid: identity.pid, alive: alive, note: note))
        }
        return holders
    }
}
