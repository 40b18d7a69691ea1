import ArgumentParser
import BenchHarness
import Foundation

/// Renders a results file written with --format json: for reading committed
/// results, or turning one run into a table and a CSV without rerunning it.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print a results file (ringbench/result-v1 JSON) as a table, CSV or JSON.",
        discussion: """
            Example:
              ringbench report results/host-2026-11-25.json
              ringbench report results/host-2026-11-25.json --format csv --output table.csv
            """)

    @Argument(help: ArgumentHelp("A results file written with --format json.", valueName: "FILE"))
    var file: String

    @OptionGroup var destination: Destination

    func run() throws {
        let data = Data(try OutputFile.read(file, argument: "report"))
        let document: ResultDocument
        do { document = try JSONDecoder().decode(ResultDocument.self, from: data) } catch {
            throw CommandFailure(message: "\(file) is not a ringbench results file (\(ResultDocument.schemaName))")
        }
        guard document.schema == ResultDocument.schemaName else {
            throw CommandFailure(message: "\(file) has schema '\(document.schema)'; this ringbench reads \(ResultDocument.schemaName)")
        }
        try destination.write { ResultRenderer.render(document, as: $0) }
    }
}
