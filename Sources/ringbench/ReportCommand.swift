import ArgumentParser
import BenchHarness
import Foundation

/// Renders a results file written with --format json: for reading committed
/// results, or turning one run into a table and a CSV without rerunning it;
/// and exports for dashboards (docs/results-format.md, "Exports").
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print a results file (ringbench/result-v1 JSON) as a table, CSV, JSON, Markdown, a dashboard export or HTML.",
        discussion: """
            Formats: table, json, csv, markdown; github-action-benchmark (customBiggerIsBetter: msgs/s of every run);
            github-action-benchmark-latency (customSmallerIsBetter: round-trip p50/p99/p99.9 ns; fails on a file
            without roundtrip runs); bmf (Bencher Metric
            Format); html (one self-contained page with charts; several FILEs, oldest first, add trend charts).
            Example:
              ringbench report results/host-2026-11-25.json
              ringbench report results/host-2026-11-25.json --format csv --output table.csv
              ringbench report old.json new.json --format html --output report.html
            """)

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case table, json, csv, markdown
        case githubActionBenchmark = "github-action-benchmark"
        case githubActionBenchmarkLatency = "github-action-benchmark-latency"
        case bmf, html
    }

    @Argument(help: ArgumentHelp("A results file written with --format json (html: several, oldest first).", valueName: "FILE"))
    var files: [String]

    @Option(help: "Output format: table, json, csv, markdown, github-action-benchmark, github-action-benchmark-latency, bmf or html.")
    var format: Format = .table

    @Option(help: ArgumentHelp("Write to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give a results FILE") }
        guard files.count == 1 || format == .html else {
            throw ValidationError("--format \(format.rawValue) reads one FILE; only html takes several")
        }
    }

    func run() throws {
        var sets: [ResultSet] = [], firstKeys: [ScenarioKey] = []
        for file in files {
            let bytes = try OutputFile.read(file, argument: "report")
            do {
                let (document, keys) = try ResultSet.decode(Data(bytes), name: file)
                if sets.isEmpty { firstKeys = keys }
                sets.append(ResultSet(label: file, documents: [document], scenarioKeys: [keys]))
            } catch {
                throw CommandFailure(message: error.description)
            }
        }
        let document = sets[0].documents[0], runKeys = firstKeys
        let text: String
        switch format {
        // A NUMA study reads best as the study's own table.
        case .table: text = document.numaStudy != nil ? NumaRenderer.study(document) : ResultRenderer.render(document, as: .table)
        case .json: text = ResultRenderer.render(document, as: .json)
        case .csv: text = ResultRenderer.render(document, as: .csv)
        case .markdown: text = DashboardExports.markdown(document)
        case .githubActionBenchmark: text = DashboardExports.encode(DashboardExports.actionBenchmarkBigger(document, keys: runKeys))
        case .githubActionBenchmarkLatency:
            let entries = DashboardExports.actionBenchmarkSmaller(document, keys: runKeys)
            // An empty array makes the action fail later with "No benchmark result was found".
            guard !entries.isEmpty else {
                throw CommandFailure(message: "\(files[0]) has no round-trip latency (no run in roundtrip mode): nothing for "
                    + "github-action-benchmark-latency; use --format github-action-benchmark for msgs/s, or measure --mode roundtrip")
            }
            text = DashboardExports.encode(entries)
        case .bmf: text = DashboardExports.encode(DashboardExports.bencher(document, keys: runKeys))
        case .html: text = HTMLReport.render(zip(files, sets).map { HTMLReport.Input(label: $0, set: $1) })
        }
        try writeOutput(text, to: output)
    }
}
