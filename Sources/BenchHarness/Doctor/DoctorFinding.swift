/// One thing `ringbench doctor` found about the machine: what, how bad,
/// and the fix. Recorded in `run`/`suite` results next to the probes.
public struct DoctorFinding: Codable, Sendable, Equatable {
    public enum Level: String, Codable, Sendable, Comparable {
        /// Fine, or a fact worth knowing (e.g. NUMA nodes).
        case ok, info
        /// Distorts a benchmark or endangers a pipeline under some condition.
        case warn
        /// Breaks rings (or the suite) on this machine as it is.
        case fail

        var rank: Int { switch self { case .ok: 0; case .info: 1; case .warn: 2; case .fail: 3 } }
        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
    }

    /// Short name of the check ("dev-shm", "thp", ...).
    public var check: String
    public var level: Level
    public var message: String
    /// What to do about it (nil when nothing needs doing).
    public var fix: String?

    public init(check: String, level: Level, message: String, fix: String? = nil) {
        self.check = check
        self.level = level
        self.message = message
        self.fix = fix
    }

    /// One line: level, check, message and fix.
    public var line: String {
        let tag = level.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0)
        return "\(tag)  \(check): \(message)" + (fix.map { " -- fix: \($0)" } ?? "")
    }

    /// doctor's exit status: 0 all good (ok, info), 1 warnings, 2 something breaks rings.
    public static func exitCode(_ findings: [DoctorFinding]) -> Int32 {
        switch findings.map(\.level).max() ?? .ok {
        case .ok, .info: 0
        case .warn: 1
        case .fail: 2
        }
    }
}
