import Foundation
import XCTest

/// The MPMC transports across real processes: the tests launch the built
/// `ringbench` (which forks); they never fork themselves.
final class MPMCAcrossProcessesTests: XCTestCase {
    var ipcBefore = MPMCCLIIPCState()
    override func setUp() { ipcBefore = MPMCCLIIPCState.take() }
    override func tearDown() { XCTAssertEqual(MPMCCLIIPCState.leftovers(since: ipcBefore), [], "IPC objects left behind") }

    /// Exactly once overall, in order per producer, with two producers and
    /// two consumers: integrity all zero and received == sent.
    func testTwoProducersTwoConsumersExactlyOnceInOrder() throws {
        for transport in ["mpmc-sem", "mpmc-lockfree"] {
            for backing in ["sysv", "mmap"] {
                for batch in ["1", "7"] {
                    let run = try MPMCRingbench.run(["run", "--transport", transport, "--backing", backing,
                                                     "--producers", "2", "--consumers", "2", "--batch", batch,
                                                     "--capacity", "64", "--message-size", "24", "--messages", "20k",
                                                     "--repeat", "1", "--warmup", "0", "--format", "json"])
                    let label = "\(transport) \(backing) batch \(batch)"
                    XCTAssertEqual(run.status, 0, "\(label): \(run.stderr)")
                    let integrity = try XCTUnwrap(run.integrity, label)
                    XCTAssertEqual(integrity["sent"], 40_000, label)
                    XCTAssertEqual(integrity["received"], 40_000, label)
                    for field in ["lost", "duplicated", "reordered", "corrupt"] {
                        XCTAssertEqual(integrity[field], 0, "\(label): \(field)")
                    }
                }
            }
        }
    }

    func testAnonBackingAndRoundtrip() throws {
        for transport in ["mpmc-sem", "mpmc-lockfree"] {
            let throughput = try MPMCRingbench.run(["run", "--transport", transport, "--backing", "anon",
                                                    "--producers", "3", "--consumers", "2", "--batch", "4",
                                                    "--messages", "10k", "--repeat", "1", "--warmup", "0", "--format", "json"])
            XCTAssertEqual(throughput.status, 0, throughput.stderr)
            XCTAssertEqual(throughput.integrity?["received"], 30_000, transport)
            XCTAssertTrue(throughput.stdout.contains("oversubscribed"), "5 processes on this machine's CPUs are noted")
            let roundtrip = try MPMCRingbench.run(["run", "--transport", transport, "--mode", "roundtrip",
                                                   "--messages", "2k", "--repeat", "1", "--warmup", "0", "--format", "json"])
            XCTAssertEqual(roundtrip.status, 0, roundtrip.stderr)
            XCTAssertEqual(roundtrip.integrity?["received"], 2_000, transport)
            XCTAssertEqual(roundtrip.integrity?["lost"], 0, transport)
        }
    }

    func testCapacityBeyondSemaphoreLimitIsRejectedInOneLine() throws {
        let run = try MPMCRingbench.run(["run", "--transport", "mpmc-sem", "--capacity", "32768", "--messages", "10"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("mpmc-sem holds at most 16384 slots"), run.stderr)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1)
    }

    /// kill -9 of one consumer mid-run: the parent names the killed child,
    /// exits non-zero, and removes the queue, its semaphore set and its files.
    func testKilledConsumerFailsTheRunCleanly() throws {
        for backing in ["sysv", "mmap"] {
            let process = try MPMCRingbench.start(["run", "--transport", "mpmc-sem", "--backing", backing,
                                                   "--producers", "2", "--consumers", "3", "--duration", "30",
                                                   "--repeat", "1", "--warmup", "0", "--format", "json"])
            // Children are forked producers first, so the newest is the last consumer.
            var children: [Int32] = []
            for _ in 0..<200 where children.count < 5 {
                usleep(50_000)
                children = MPMCRingbench.children(of: process.process.processIdentifier)
            }
            XCTAssertEqual(children.count, 5, "\(backing): all children forked")
            usleep(300_000)
            let victim = try XCTUnwrap(children.max())
            XCTAssertEqual(kill(victim, SIGKILL), 0)
            let result = process.wait()
            XCTAssertNotEqual(result.status, 0, backing)
            XCTAssertTrue(result.stderr.contains("consumer 2 failed: killed by signal 9"), "\(backing): \(result.stderr)")
        }
    }
}

/// Runs the built `ringbench` executable.
enum MPMCRingbench {
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["RINGBENCH_BIN"] { return URL(fileURLWithPath: path) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("ringbench")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/ringbench")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The first run's integrity counts.
        var integrity: [String: Int]? {
            let json = (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
            let run = (json?["runs"] as? [[String: Any]])?.first
            return (run?["integrity"] as? [String: Any])?.compactMapValues { ($0 as? NSNumber)?.intValue }
        }
    }

    struct Running {
        let process: Process
        let out: Pipe
        let err: Pipe

        func wait() -> Result {
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
        }
    }

    static func start(_ arguments: [String]) throws -> Running {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return Running(process: process, out: out, err: err)
    }

    static func run(_ arguments: [String]) throws -> Result { try start(arguments).wait() }

    /// Pids whose parent is `pid`, from /proc.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // Fields after "comm)": state, ppid, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }
}

/// SysV objects and /dev/shm entries; `leftovers` ignores objects that other
/// processes on the machine create and remove meanwhile.
struct MPMCCLIIPCState {
    var entries: Set<String> = []

    static func take() -> MPMCCLIIPCState {
        var entries = Set<String>()
        for kind in ["shm", "sem", "msg"] {
            let text = (try? String(contentsOfFile: "/proc/sysvipc/\(kind)", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                entries.insert("\(kind) " + line.split(separator: " ").prefix(2).joined(separator: " "))
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? [] { entries.insert("devshm \(name)") }
        return MPMCCLIIPCState(entries: entries)
    }

    static func leftovers(since before: MPMCCLIIPCState) -> [String] {
        var extra = take().entries.subtracting(before.entries)
        var waited = 0
        while !extra.isEmpty, waited < 50 {
            usleep(100_000)
            waited += 1
            extra.formIntersection(take().entries)
        }
        return extra.sorted()
    }
}
