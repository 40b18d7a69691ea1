import ArgumentParser
import BenchHarness

struct SuiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Run the default suite (what 'ringbench' with no arguments does).",
        discussion: "Throughput at 8 B, 64 B, 1 KiB and 64 KiB and roundtrip latency, on the sysv and mmap backings.")

    @OptionGroup var output: OutputOptions

    func run() throws {
        let options = try output.runOptions()
        var records: [RunRecord] = []
        for scenario in SuitePlan.defaultSuite() {
            records.append(try BenchmarkRunner.run(scenario, options: options))
        }
        let document = ResultDocument(tool: .current(), machine: .current(), runs: records)
        try output.emit(document)
        try output.checkIntegrity(document)
    }
}
