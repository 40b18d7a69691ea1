import ArgumentParser
import BenchHarness
import Foundation

/// `ringbench doctor`: checks the machine for what breaks rings or distorts figures.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this machine for what would break a pipeline of rings or distort a benchmark, one line each with the fix.",
        discussion: """
            Checks /dev/shm size and free space, IPC/PID/mount namespaces, systemd-logind RemoveIPC, SysV limits
            against the suite's needs, ulimit -n and -l, transparent huge pages and hugetlb, CPU governor and boost,
            isolated CPUs, SMT siblings, NUMA nodes, clocksource, virtual machine, perf_event_paranoid.
            Exit status: 0 all good, 1 warnings, 2 something breaks rings.
            `run` and `suite` record these findings in their results; `compare` says when two results differ in them.
            """)

    @Option(help: "Output format: table or json.")
    var format: String = "table"

    /// Tests point the checks at a faked tree (also SHMRING_DOCTOR_ROOT).
    @Option(help: .hidden)
    var root: String?

    func validate() throws {
        guard ["table", "json"].contains(format) else {
            throw CommandFailure(message: "--format must be table or json, got '\(format)'", code: 2)
        }
    }

    func run() throws {
        let root = root ?? ProcessInfo.processInfo.environment[MachineFiles.rootVariable] ?? "/"
        let findings = MachineDoctor.check(MachineFiles(root: root))
        if format == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(findings), as: UTF8.self))
        } else {
            for finding in findings { print(finding.line) }
        }
        let code = DoctorFinding.exitCode(findings)
        if code != 0 { throw CommandFailure(message: "\(findings.filter { $0.level >= .warn }.count) findings need attention", code: code) }
    }
}
