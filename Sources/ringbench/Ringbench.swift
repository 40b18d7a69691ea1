import ArgumentParser
import BenchHarness
#if canImport(Glibc)
import Glibc
#endif

@main
struct Ringbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringbench",
        abstract: "Measures how fast processes on one machine can talk: a lock-free shared-memory ring against the classic Unix IPC mechanisms.",
        discussion: """
            With no subcommand, runs the short default suite and prints a table.
            Every run forks pinned producer and consumer processes, checks every message
            (sequence numbers and checksums) and removes every IPC object it created,
            also on failure, timeout, SIGINT, SIGTERM, SIGHUP and SIGQUIT.
            """,
        version: ToolInfo.version,
        subcommands: [SuiteCommand.self, RunCommand.self, FloorCommand.self, LatencyCommand.self, LocksCommand.self, ProbeCommand.self, InspectCommand.self, ReportCommand.self,
                      CompareCommand.self, BaselineCommand.self, NumaCommand.self, ReclaimCommand.self,
                      PubCommand.self, SubCommand.self, ListCommand.self, RemoveCommand.self,
                      JournalCommand.self, StatCommand.self, TopCommand.self, DoctorCommand.self],
        defaultSubcommand: SuiteCommand.self
    )

    /// Parses, runs, and turns every failure into one line on stderr.
    static func main() {
        // Before anything can create an IPC object: SIGINT, SIGTERM, SIGHUP and SIGQUIT become
        // synchronous events the runner handles (see SignalGuard).
        SignalGuard.install()
        do {
            var command = try parseAsRoot()
            // What killed runs left behind goes before a new run creates anything.
            if command is RunCommand || command is SuiteCommand || command is LocksCommand { StaleLedger.reclaim() }
            try command.run()
        } catch let error as HarnessError {
            fail(error.description, code: exitCode(for: error))
        } catch let error as CommandFailure {
            fail(error.message, code: error.code)
        } catch let verdict as CompareExit {
            fflush(nil)
            Glibc.exit(verdict.code)
        } catch {
            // Help and version requests print and exit 0 the library's way;
            // usage errors become one line.
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            let trimmed = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
            fail(trimmed + " (see 'ringbench --help')", code: usageErrorCode)
        }
    }

    /// Bad arguments exit 2, except for the commands whose 2 means "a
    /// regression" (compare, baseline): there they are errors, 1.
    static var usageErrorCode: Int32 {
        let first = CommandLine.arguments.dropFirst().first
        return first == "compare" || first == "baseline" ? 1 : 2
    }

    static func exitCode(for error: HarnessError) -> Int32 {
        switch error {
        case let .interrupted(signal): return 128 + signal
        case .invalidScenario: return 2
        default: return 1
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        fflush(nil)
        FileHandleOutput.stderr("ringbench: \(message)\n")
        Glibc.exit(code)
    }
}

/// A failure that is not a harness error (integrity violations, bad output path).
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32 = 1
    /// What ArgumentParser prints when a `validate()` throws this.
    var description: String { message }
}

enum FileHandleOutput {
    static func stderr(_ text: String) {
        _ = text.withCString { write(2, $0, strlen($0)) }
    }
}
