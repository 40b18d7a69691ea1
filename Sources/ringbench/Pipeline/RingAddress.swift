import ArgumentParser
import BenchHarness
import ShmRing

/// Where a named ring lives: the options `pub`, `sub`, `ls` and `rm` share.
struct RingLocationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Backing of the ring: mmap (a file in --directory) or sysv (a segment keyed by a file there).",
                               valueName: "mmap|sysv"))
    var backing: String = "mmap"

    @Option(help: ArgumentHelp("Directory of ring files and SysV key files.", valueName: "DIR"))
    var directory: String = "/dev/shm"

    func regionBacking() throws -> RegionBacking {
        guard let kind = RegionBacking(rawValue: backing), kind != .anon else {
            throw CommandFailure(message: "--backing must be mmap or sysv for a named ring, got '\(backing)'", code: 2)
        }
        return kind
    }

    func regionOptions() -> RegionOptions { RegionOptions(directory: directory) }
}

/// How records are cut from a byte stream and put back into one.
enum Framing: String, ExpressibleByArgument, CaseIterable {
    /// One record per line; the newline is not stored and is restored on output.
    case lines
    /// Each record is a 4-byte little-endian length and that many bytes
    /// (binary-safe; the same framing on output).
    case length
    /// The input as a byte stream: each read of standard input is one
    /// record (up to the largest record), written back as is. Record
    /// boundaries mean nothing; the fastest framing (pub reads straight into
    /// the ring, sub writes straight from it): a pipe replacement.
    case bytes
}

extension WaitStrategy: ExpressibleByArgument {}

/// Blocking ring calls in slices, so that SIGINT and SIGTERM (blocked for
/// the whole process, see `SignalGuard`) are noticed while waiting.
enum InterruptibleWait {
    static let sliceSeconds = 0.1

    /// Calls `body` with a slice timeout until it returns, retrying while
    /// it times out and no SIGINT/SIGTERM is pending.
    static func retrying<R>(_ body: (Double) throws(ShmError) -> R) throws -> R {
        while true {
            let outcome: Result<R, ShmError>
            do throws(ShmError) { outcome = .success(try body(sliceSeconds)) } catch { outcome = .failure(error) }
            switch outcome {
            case let .success(value):
                return value
            case .failure(.timedOut):
                if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
            case let .failure(error):
                throw error
            }
        }
    }
}

extension ShmError {
    /// As a command failure: one line, exit status 1.
    var commandFailure: CommandFailure { CommandFailure(message: description) }
}
