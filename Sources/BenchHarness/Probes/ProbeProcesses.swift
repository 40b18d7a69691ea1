import ShmRing

/// Runs probe bodies in pinned children forked by `ChildProcessRunner`, the
/// same way message runs do: one anonymous shared page for the probe's data
/// (cache line or futex word, page-aligned so it sits alone on its line), a
/// control block for the start barrier, and each child's figures sent back as
/// a `ChildReport` through its report slot.
enum ProbeProcesses {
    /// Generous: every probe is bounded to well under a second by itself.
    static let timeoutSeconds = 30.0

    /// What a probe child sees: its index, the shared page, the barrier.
    struct Child {
        let index: Int
        let page: UnsafeMutableRawPointer
        let control: ControlBlock
    }

    /// Forks one child per entry of `cpus` (pinned to it) running `body`,
    /// and returns each child's figures in order. A failed child becomes one
    /// error naming it.
    static func run(cpus: [Int], _ body: (Child) throws(HarnessError) -> [String: Double]) throws(HarnessError) -> [[String: Double]] {
        let page: SharedRegion
        do { page = try SharedRegion.create(backing: .anon, name: "probe", size: 4096) } catch { throw .shm(error) }
        defer { withExtendedLifetime(page) {} }
        let control = try ControlBlock(children: cpus.count, reportSlotSize: 64 << 10)
        let specs = cpus.enumerated().map { ChildSpec(role: .worker($0), cpu: $1) }
        let reports = try ReportingChildren.run(specs, control: control, timeoutSeconds: timeoutSeconds) { index, spec throws(HarnessError) in
            var report = ChildReport(role: spec.role, cpu: spec.cpu)
            report.figures = try body(Child(index: index, page: page.base, control: control))
            return report
        }.reports
        return reports.map { $0.figures ?? [:] }
    }

    /// Median and minimum of samples (sorted in place).
    static func medianAndMin(_ samples: inout [Double]) -> (median: Double, min: Double) {
        guard !samples.isEmpty else { return (0, 0) }
        samples.sort()
        let n = samples.count
        let median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2
        return (median, samples[0])
    }
}
