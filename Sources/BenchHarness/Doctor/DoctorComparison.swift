/// What `compare` says when two sides' doctor findings differ (the machine
/// changed in a way a figure may show: governor, THP, namespace, VM...).
public enum DoctorComparison {
    /// One line naming each check whose level differs between the sides
    /// (messages with the same level are not compared: they carry readings
    /// such as free space), or nil when they agree or a side recorded none.
    public static func difference(base: [[DoctorFinding]], new: [[DoctorFinding]]) -> String? {
        guard !base.isEmpty, !new.isEmpty else { return nil }
        func levels(_ documents: [[DoctorFinding]]) -> [String: String] {
            var result: [String: Set<String>] = [:]
            for findings in documents { for f in findings { result[f.check, default: []].insert(f.level.rawValue) } }
            return result.mapValues { $0.sorted().joined(separator: "/") }
        }
        let b = levels(base), n = levels(new)
        let changed = Set(b.keys).union(n.keys).sorted().filter { b[$0] != n[$0] }
        guard !changed.isEmpty else { return nil }
        return "doctor findings differ: " + changed.map { "\($0) \(b[$0] ?? "absent") -> \(n[$0] ?? "absent")" }.joined(separator: ", ")
            + " (ringbench doctor on each machine state says why)"
    }
}
