import ArgumentParser
import BenchHarness
import Foundation

/// Named reference results per machine, kept in the repository:
/// `results/baselines/<machine id>/<NAME>.json` (machine id: see
/// MachineIdentity.id). Without a RESULT file, `save` and `compare` measure
/// one: the quick suite with 5 repetitions per scenario.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Save, compare against, list and delete named baselines (results/baselines/<machine>/NAME.json).",
        discussion: """
            The machine directory is derived from the result's machine section: CPU model, CPU count, NUMA nodes and
            kernel major.minor (a patch-level update keeps the baseline), lower-cased, other characters replaced by '-'
            (e.g. amd-epyc-2cpu-1node-6.18 for kernel 6.18.44-fc-v669).
            Without RESULT, 'save' and 'compare' first run 'ringbench suite --quick --repeat 5' (narrow it with
            --transports/--sizes). 'baseline compare' exits like 'compare': 0, 2 regression, 3 not comparable (also: no baseline NAME for this
            machine), 4 not enough evidence, 1 error. 'save' refuses a result whose runs are mostly unsteady or in a slower
            host state than its fastest (--force stores it anyway) and writes NAME.runs.txt beside it: each run usable or not.

            Examples:
              ringbench baseline save main results/new.json
              ringbench baseline compare main --transports spsc,pipe
              ringbench baseline list
            """,
        subcommands: [Save.self, Compare.self, List.self, Delete.self])

    struct Location: ParsableArguments {
        @Option(name: .customLong("baselines-dir"),
                help: ArgumentHelp("Where baselines live (default: $RINGBENCH_BASELINES, else results/baselines).", valueName: "DIR"))
        var directory: String?

        var root: String {
            directory ?? ProcessInfo.processInfo.environment["RINGBENCH_BASELINES"].flatMap { $0.isEmpty ? nil : $0 } ?? "results/baselines"
        }

        func path(name: String, machine: String) -> String { "\(root)/\(machine)/\(name).json" }
    }

    /// What the suite measures when no RESULT is given.
    struct Measure: ParsableArguments {
        @Option(help: ArgumentHelp("Without RESULT: only these transports in the measured quick suite.", valueName: "A,B,..."))
        var transports: String?

        @Option(help: ArgumentHelp("Without RESULT: only these message sizes in the measured quick suite.", valueName: "S,..."))
        var sizes: String?

        /// The result at `file`, or a fresh quick-suite run written to a temporary file.
        func result(_ file: String?, body: (String) throws -> Void) throws {
            if let file { return try body(file) }
            let path = NSTemporaryDirectory() + "ringbench-baseline-\(getpid()).json"
            defer { try? FileManager.default.removeItem(atPath: path) }
            var arguments = ["--quick", "--repeat", "5", "--format", "json", "--output", path]
            if let transports { arguments += ["--transports", transports] }
            if let sizes { arguments += ["--sizes", sizes] }
            let suite = try SuiteCommand.parse(arguments)
            try suite.run()
            try body(path)
        }
    }

    static func validName(_ name: String) throws -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, !name.hasPrefix("."), name.allSatisfy(allowed.contains) else {
            throw CommandFailure(message: "baseline name '\(name)' must be letters, digits, '.', '_' or '-' (not starting with '.')", code: 1)
        }
        return name
    }

    static func load(_ path: String) throws -> (ResultDocument, ResultSet) {
        do {
            let set = try ResultSet.load(path)
            guard set.documents.count == 1 else { throw ResultFileError("\(path): a baseline is one results file, not a directory") }
            return (set.documents[0], set)
        } catch let error as ResultFileError {
            throw CommandFailure(message: error.description, code: 1)
        }
    }

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store RESULT (or a fresh quick-suite run) as baseline NAME for its machine.")
        @Argument(help: "Baseline name.") var name: String
        @Argument(help: ArgumentHelp("A results file (default: run the quick suite now).", valueName: "RESULT")) var result: String?
        @OptionGroup var location: Location
        @OptionGroup var measure: Measure
        @Flag(help: "Store the result even when most of its runs are unsteady or in a slower host state than its fastest.")
        var force = false

        func run() throws {
            let name = try BaselineCommand.validName(name)
            try measure.result(result) { file in
                let (document, _) = try BaselineCommand.load(file)
                let keys: [ScenarioKey]
                do { keys = try ResultSet.loadDocument(file).1 } catch let error as ResultFileError { throw CommandFailure(message: error.description, code: 1) }
                let quality = BaselineQuality(document, keys: keys)
                if let problem = quality.problem {
                    guard force else { throw CommandFailure(message: "baseline '\(name)' not saved: \(problem)", code: 1) }
                    FileHandleOutput.stderr("warning: \(problem) (stored anyway: --force)\n")
                }
                let path = location.path(name: name, machine: MachineIdentity.id(document.machine))
                let replaced = FileManager.default.fileExists(atPath: path)
                do {
                    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    // Re-encoded, so what is stored is exactly what this version reads.
                    try Data(ResultRenderer.json(document).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                } catch {
                    throw CommandFailure(message: "cannot write \(path): \(error.localizedDescription)", code: 1)
                }
                // Which runs a comparison will use, beside the baseline (not a *.json, so not listed as one).
                let runsPath = String(path.dropLast(5)) + ".runs.txt"
                do { try Data(quality.listing.utf8).write(to: URL(fileURLWithPath: runsPath), options: .atomic) } catch {
                    throw CommandFailure(message: "cannot write \(runsPath): \(error.localizedDescription)", code: 1)
                }
                print("\(replaced ? "replaced" : "saved") baseline '\(name)' at \(path) (\(document.runs.count) runs, "
                      + (quality.probed > 0 ? "\(quality.usable) usable by their own host probes (\(runsPath)), " : "no per-run host probes, ")
                      + "commit \(document.tool.commit.prefix(12)))")
            }
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare RESULT (or a fresh quick-suite run) with baseline NAME of its machine; exits like 'compare'.")
        @Argument(help: "Baseline name.") var name: String
        @Argument(help: ArgumentHelp("A results file (default: run the quick suite now).", valueName: "RESULT")) var result: String?
        @OptionGroup var location: Location
        @OptionGroup var measure: Measure
        @OptionGroup var settings: CompareSettings

        func run() throws {
            let name = try BaselineCommand.validName(name)
            try measure.result(result) { file in
                let (document, new) = try BaselineCommand.load(file)
                let machine = MachineIdentity.id(document.machine)
                let path = location.path(name: name, machine: machine)
                guard FileManager.default.fileExists(atPath: path) else {
                    let others = BaselineCommand.entries(location.root).filter { $0.name == name }.map(\.machine)
                    // Not comparable (3), as the help says: nothing to compare on this machine.
                    throw CommandFailure(message: "no baseline '\(name)' for machine \(machine) in \(location.root)"
                        + (others.isEmpty ? "" : " (it exists for: \(others.joined(separator: ", ")))")
                        + "; in CI, keep results/baselines between jobs (actions/cache or an artifact, bench/README.md)", code: 3)
                }
                let (_, base) = try BaselineCommand.load(path)
                try settings.emit(try settings.compare(base: base, new: new))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List baselines: machine, name, commit, runs.")
        @OptionGroup var location: Location

        func run() throws {
            let entries = BaselineCommand.entries(location.root)
            guard !entries.isEmpty else { print("no baselines in \(location.root)"); return }
            var rows = [["machine", "name", "commit", "runs", "file"]]
            for e in entries {
                let document = try? BaselineCommand.load(e.path).0
                rows.append([e.machine, e.name, document.map { String($0.tool.commit.prefix(12)) } ?? "unreadable",
                             document.map { "\($0.runs.count)" } ?? "-", e.path])
            }
            print(ResultRenderer.align(rows), terminator: "")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete baseline NAME (of this machine, or of --machine ID).")
        @Argument(help: "Baseline name.") var name: String
        @Option(help: ArgumentHelp("The machine directory (default: this machine's id).", valueName: "ID")) var machine: String?
        @OptionGroup var location: Location

        func run() throws {
            let name = try BaselineCommand.validName(name)
            let id = machine ?? MachineIdentity.id(.current())
            let path = location.path(name: name, machine: id)
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure(message: "no baseline '\(name)' for machine \(id) in \(location.root)", code: 1)
            }
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw CommandFailure(message: "cannot delete \(path): \(error.localizedDescription)", code: 1)
            }
            try? FileManager.default.removeItem(atPath: String(path.dropLast(5)) + ".runs.txt")
            let directory = (path as NSString).deletingLastPathComponent
            if (try? FileManager.default.contentsOfDirectory(atPath: directory))?.isEmpty == true {
                try? FileManager.default.removeItem(atPath: directory)
            }
            print("deleted baseline '\(name)' (\(path))")
        }
    }

    /// Every `<root>/<machine>/<name>.json`, sorted.
    static func entries(_ root: String) -> [(machine: String, name: String, path: String)] {
        let fm = FileManager.default
        var out: [(machine: String, name: String, path: String)] = []
        for machine in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() {
            for file in ((try? fm.contentsOfDirectory(atPath: "\(root)/\(machine)")) ?? []).sorted() where file.hasSuffix(".json") {
                out.append((machine, String(file.dropLast(5)), "\(root)/\(machine)/\(file)"))
            }
        }
        return out
    }
}
