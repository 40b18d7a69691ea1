/// The one way a measurement forks its children and hears back from them:
/// each child runs `work`, its report (or the error it threw) travels back
/// through the control block, and the parent turns a failed run into one error.
public enum ReportingChildren {
    /// Runs `work(index, spec)` in one child per spec. Returns the reports of
    /// the children that count (all but one the fault injection killed on
    /// purpose) and every outcome. `afterAttach` runs in the parent as soon
    /// as every child has reached the start barrier, i.e. has opened its
    /// end of the transport (the runners release the run's names there).
    public static func run(_ specs: [ChildSpec], control: ControlBlock, timeoutSeconds: Double,
                           faultInjection: FaultInjection? = nil, afterAttach: (() -> Void)? = nil,
                           work: (Int, ChildSpec) throws(HarnessError) -> ChildReport)
        throws(HarnessError) -> (reports: [ChildReport], outcomes: [ChildOutcome]) {
        let outcomes = try ChildProcessRunner.run(specs, timeoutSeconds: timeoutSeconds,
                                                  faultInjection: faultInjection,
                                                  trigger: afterAttach.map { ParentTrigger(isReady: { control.allArrived }, action: $0) }) { index, spec in
            var report: ChildReport
            do throws(HarnessError) {
                report = try work(index, spec)
            } catch {
                report = ChildReport(role: spec.role, cpu: spec.cpu)
                report.error = error.description
            }
            control.writeReport(child: index, bytes: report.encoded())
            return report.error == nil ? 0 : 1
        }
        let reports = try collect(specs: specs, outcomes: outcomes, control: control,
                                  expectedKilled: faultInjection?.child)
        return (reports, outcomes)
    }

    /// Reads every child's report. A failed run becomes one error naming the
    /// child that explains it: the first with an error message of its own,
    /// else the first that was not `.stopped` (the runner stops the rest once
    /// one child fails). `expectedKilled` is a
    /// child the fault injection SIGKILLed on purpose: neither a failure nor
    /// a report.
    static func collect(specs: [ChildSpec], outcomes: [ChildOutcome], control: ControlBlock,
                        expectedKilled: Int? = nil) throws(HarnessError) -> [ChildReport] {
        let counted = specs.indices.filter { !($0 == expectedKilled && outcomes[$0] == .signaled(SIGKILL)) }
        var reports: [Int: ChildReport] = [:]
        for i in counted { reports[i] = control.readReport(child: i).flatMap(ChildReport.decode) }
        let failed = counted.filter { !outcomes[$0].succeeded || reports[$0]?.error != nil }
        if let first = failed.first {
            // A child killed by a signal explains the failure before a peer's
            // error (a pipe's reader sees EOF because its writer died).
            let culprit = failed.first { if case .signaled = outcomes[$0] { return true }; return false }
                ?? failed.first { reports[$0]?.error != nil }
                ?? failed.first { outcomes[$0] != .stopped } ?? first
            throw .childFailed(role: specs[culprit].role.description,
                               detail: (reports[culprit]?.error ?? outcomes[culprit].description)
                                   + receivedBeforeFailure(specs: specs, reports: reports, control: control))
        }
        return counted.compactMap { reports[$0] }
    }

    /// "; received before the failure: consumer 0: 1234 messages, 0
    /// duplicated, 0 reordered, 0 corrupt": each consumer's integrity counts,
    /// from its report if it wrote one, else from the progress it published
    /// while running. Empty for runs without consumers (the lock engine).
    static func receivedBeforeFailure(specs: [ChildSpec], reports: [Int: ChildReport], control: ControlBlock) -> String {
        let parts: [String] = specs.indices.compactMap { i in
            guard case .consumer = specs[i].role else { return nil }
            let c = reports[i].flatMap { $0.error == nil ? $0.integrity : nil } ?? control.progress(child: i)
            return "\(specs[i].role): \(c.received) messages, \(c.duplicated) duplicated, \(c.reordered) reordered, \(c.corrupt) corrupt"
        }
        return parts.isEmpty ? "" : "; received before the failure: " + parts.joined(separator: "; ")
    }
}

#if canImport(Glibc)
import Glibc
#endif
