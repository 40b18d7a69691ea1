import Foundation

/// Whether two results come from the same machine: CPU model, CPU count,
/// NUMA layout and kernel series (major.minor). The hostname is not part of
/// it (CI runners of one kind differ only in name), nor the kernel's patch
/// level and build suffix (a runner image update changes them every few
/// weeks, and a baseline must outlive that). The same fields name a
/// machine's baseline directory (`id`).
public enum MachineIdentity {
    /// "cpus 2 -> 4", one line per differing field; empty when the same.
    public static func differences(_ a: MachineInfo, _ b: MachineInfo) -> [String] {
        var out: [String] = []
        if a.cpuModel != b.cpuModel { out.append("CPU model '\(a.cpuModel)' -> '\(b.cpuModel)'") }
        if a.cpus != b.cpus { out.append("CPUs \(a.cpus) -> \(b.cpus)") }
        if a.numaNodes != b.numaNodes { out.append("NUMA nodes \(a.numaNodes) -> \(b.numaNodes)") }
        if kernelSeries(a.kernel) != kernelSeries(b.kernel) { out.append("kernel \(a.kernel) -> \(b.kernel)") }
        return out
    }

    /// A directory name for the machine: `<cpu model>-<cpus>cpu-<nodes>node-<kernel major.minor>`,
    /// lower case, every run of characters other than [a-z0-9.] replaced by
    /// one '-'. The development VM (kernel 6.18.44-fc-v669): `amd-epyc-2cpu-1node-6.18`.
    public static func id(_ m: MachineInfo) -> String {
        slug("\(m.cpuModel)-\(m.cpus)cpu-\(m.numaNodes)node-\(kernelSeries(m.kernel))")
    }

    /// "6.18" of "6.18.44-fc-v669": the leading major.minor numbers, or
    /// "unknown-kernel" when the release does not start with them.
    public static func kernelSeries(_ release: String) -> String {
        let parts = release.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let major = Int(parts[0]) else { return "unknown-kernel" }
        let minor = parts[1].prefix { $0.isASCII && $0.isNumber }
        return minor.isEmpty ? "unknown-kernel" : "\(major).\(minor)"
    }

    static func slug(_ text: String) -> String {
        var out = "", dash = false
        for c in text.lowercased() {
            if c.isASCII && (c.isLetter || c.isNumber || c == ".") {
                out.append(c); dash = false
            } else if !dash, !out.isEmpty {
                out.append("-"); dash = true
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "unknown" : out
    }
}

/// A physical-limit probe of the two sides, when both have it.
public struct ProbeDifference: Codable, Sendable, Equatable {
    /// `cacheLineRoundTripNs`, `memcpyBytesPerSecond@<size>`, `wakeupNs`.
    public var probe: String
    public var base: Double
    public var new: Double
    /// (new - base) / base.
    public var change: Double
    /// The sides' values are further apart than the tolerance (new > base x
    /// (1 + tolerance) or base > new x (1 + tolerance), over all their
    /// values): the machine was in another state.
    public var flagged: Bool
}

/// The machine's physical state as the probes saw it: a side with several
/// documents (A/B rounds) reports each probe's median over them, and is
/// flagged only when no value of one side is within the tolerance of a value
/// of the other (for single files: the two values differ by more than it).
public enum MachineState {
    public static func differences(base: [ProbeResults], new: [ProbeResults], tolerance: Double) -> [ProbeDifference] {
        var out: [ProbeDifference] = []
        func add(_ name: String, _ pick: (ProbeResults) -> Double?) {
            let b = base.compactMap(pick), n = new.compactMap(pick)
            guard !b.isEmpty, !n.isEmpty else { return }
            let mb = Spread(b).median, mn = Spread(n).median
            guard mb > 0 else { return }
            let change = (mn - mb) / mb
            // Flagged only when the sides never saw the same state: A/B
            // rounds that both caught both placements are comparable.
            let apart = n.min()! > b.max()! * (1 + tolerance) || b.min()! > n.max()! * (1 + tolerance)
            out.append(ProbeDifference(probe: name, base: mb, new: mn, change: change, flagged: apart))
        }
        add("cacheLineRoundTripNs") { $0.cacheLine.bestRoundTrip?.ns }
        let sizes = Set(base.flatMap { $0.memcpy.map(\.bytes) }).intersection(new.flatMap { $0.memcpy.map(\.bytes) })
        for size in sizes.sorted() {
            add("memcpyBytesPerSecond@\(size)") { p in p.memcpy.first { $0.bytes == size }?.bytesPerSecond }
        }
        add("wakeupNs") { ($0.wakeup.crossCPU ?? $0.wakeup.sameCPU)?.wakeupNs }
        return out
    }
}
