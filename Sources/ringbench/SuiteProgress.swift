import BenchHarness
#if canImport(Glibc)
import Glibc
#endif

/// One status line on stderr while a long suite runs: which scenario, how
/// many remain, roughly how long. Only when stderr is a terminal; redirected
/// output and CI logs stay quiet.
struct SuiteProgress {
    let enabled = isatty(2) == 1
    let total: Int
    let profile: SuitePlan.Profile

    func show(_ text: String) {
        guard enabled else { return }
        // Carriage return and erase-line: the line is rewritten in place.
        FileHandleOutput.stderr("\r\u{1B}[K" + text)
    }

    func starting(_ index: Int, _ s: Scenario) {
        let left = total - index
        let seconds = profile.estimatedSeconds(scenarios: left)
        let backing = s.backing.map { " (\($0))" } ?? ""
        show("[\(index + 1)/\(total)] \(s.transport)\(backing) \(s.mode.rawValue) \(ResultRenderer.bytes(Double(s.messageSize)))"
            + ": \(left - 1) more to go, ~\(Int(seconds.rounded(.up))) s left")
    }

    func finish() { show("") }
}
