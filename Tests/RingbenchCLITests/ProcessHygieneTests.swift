import Foundation
import XCTest

/// How the parent handles its own death, its children's crashes, every
/// terminating signal, and where it writes (issue 7, items 16 to 19).
final class ProcessHygieneTests: XCTestCase {
    /// Starts `ringbench run` for a minute and waits until its children
    /// exist and have had time to open their ends.
    func startRun(_ extra: [String]) throws -> (Ringbench.Running, [Int32]) {
        let running = try Ringbench.start(["run", "--duration", "60", "--repeat", "1", "--warmup", "0", "--no-probes"] + extra)
        let deadline = Date().addingTimeInterval(30)
        var children: [Int32] = []
        while children.count < 2, Date() < deadline {
            usleep(20_000)
            children = Ringbench.children(of: running.pid).sorted()
        }
        XCTAssertEqual(children.count, 2, "the run never forked: \(extra)")
        usleep(500_000)
        return (running, children)
    }

    func waitGone(_ pids: [Int32], seconds: Double = 10) -> [Int32] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if pids.allSatisfy({ kill($0, 0) != 0 }) { return [] }
            usleep(10_000)
        }
        return pids.filter { kill($0, 0) == 0 }
    }

    /// SIGHUP (a closed terminal) and SIGQUIT (^\) clean up like SIGINT/SIGTERM.
    func testHangupAndQuitCleanUp() throws {
        for (signal, name) in [(SIGHUP, "SIGHUP"), (SIGQUIT, "SIGQUIT")] {
            let (running, children) = try startRun(["--backing", "sysv", "--mode", "roundtrip"])
            kill(running.pid, signal)
            let r = running.wait()
            XCTAssertEqual(r.status, 128 + signal, r.stderr)
            XCTAssertEqual(r.stderr, "ringbench: interrupted by \(name); children killed and IPC objects removed\n")
            XCTAssertEqual(waitGone(children), [])
            XCTAssertEqual(BadInputTests.namedObjects(of: running.pid), [], "\(name) left objects")
        }
    }

    /// kill -9 of the parent: the children die with it (PR_SET_PDEATHSIG);
    /// no name of the run is left once they had attached, and what cannot
    /// be unnamed (a semaphore set, a message queue) is in a stale ledger
    /// that `ringbench reclaim` empties.
    func testKilledParentLeavesOnlyReclaimableObjects() throws {
        let transports: [[String]] = [
            ["--transport", "spsc", "--backing", "sysv"], ["--transport", "spsc", "--backing", "mmap"],
            ["--transport", "mpmc-sem", "--backing", "sysv"], ["--transport", "fifo"], ["--transport", "unix-stream"],
            ["--transport", "posix-mq"], ["--transport", "sysv-msgq"],
        ]
        for arguments in transports {
            let (running, children) = try startRun(arguments)
            kill(running.pid, SIGKILL)
            _ = running.wait()
            XCTAssertEqual(waitGone(children), [], "\(arguments): children outlived the parent")
            let left = BadInputTests.namedObjects(of: running.pid)
            let ledgerOnly = left.allSatisfy { $0.hasSuffix(".ledger") }
            XCTAssertTrue(ledgerOnly, "\(arguments): names left after the children attached: \(left)")
            let reclaim = try Ringbench.run(["reclaim"])
            XCTAssertEqual(reclaim.status, 0, reclaim.stderr)
            XCTAssertEqual(BadInputTests.namedObjects(of: running.pid), [], "\(arguments): reclaim left \(left)")
            if arguments.contains("mpmc-sem") || arguments.contains("sysv-msgq") {
                XCTAssertTrue(reclaim.stdout.contains("removed \(arguments.contains("mpmc-sem") ? "sem" : "msg") "),
                              "\(arguments): \(reclaim.stdout)")
            }
        }
    }

    /// A child that crashes dies by its signal, reported by name, and leaves
    /// no swift-backtrace helper behind.
    func testCrashingChildLeavesNoBacktraceHelper() throws {
        let helpersBefore = Self.backtraceHelpers()
        let (running, children) = try startRun(["--transport", "pipe"])
        kill(children[0], SIGSEGV)
        let r = running.wait()
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("ringbench: producer 0 failed: killed by signal 11 (SIGSEGV)"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        usleep(500_000)
        XCTAssertEqual(Self.backtraceHelpers().subtracting(helpersBefore), [])
    }

    static func backtraceHelpers() -> Set<Int32> {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return Set(entries.compactMap(Int32.init).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("swift-backtrace") ?? false
        })
    }

    /// --output renames over regular files only: a device, a FIFO and a
    /// symbolic link are written through and stay what they were; write
    /// errors fail the command.
    func testOutputWritesThroughSpecialFiles() throws {
        let directory = NSTemporaryDirectory() + "ringbench-output-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let results = directory + "/results.json"
        let made = try Ringbench.run(["run", "--transport", "pipe", "--messages", "1000", "--repeat", "1", "--warmup", "0",
                                      "--no-probes", "--format", "json", "--output", results])
        XCTAssertEqual(made.status, 0, made.stderr)

        let full = try Ringbench.run(["report", results, "--output", "/dev/full"])
        XCTAssertEqual(full.status, 1)
        XCTAssertTrue(full.stderr.contains("cannot write --output /dev/full: No space left on device"), full.stderr)
        XCTAssertEqual(try Self.kind("/dev/full"), S_IFCHR)

        let null = try Ringbench.run(["report", results, "--output", "/dev/null"])
        XCTAssertEqual(null.status, 0, null.stderr)
        XCTAssertEqual(try Self.kind("/dev/null"), S_IFCHR)

        let target = directory + "/target.csv", link = directory + "/link.csv"
        XCTAssertEqual(symlink(target, link), 0)
        let linked = try Ringbench.run(["report", results, "--format", "csv", "--output", link])
        XCTAssertEqual(linked.status, 0, linked.stderr)
        XCTAssertEqual(try Self.kind(link), S_IFLNK)
        XCTAssertFalse(try String(contentsOfFile: target, encoding: .utf8).isEmpty)

        let fifo = directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/cat")
        reader.arguments = [fifo]
        let pipe = Pipe()
        reader.standardOutput = pipe
        try reader.run()
        let written = try Ringbench.run(["report", results, "--format", "csv", "--output", fifo])
        let received = pipe.fileHandleForReading.readDataToEndOfFile()
        reader.waitUntilExit()
        XCTAssertEqual(written.status, 0, written.stderr)
        XCTAssertFalse(received.isEmpty)
        XCTAssertEqual(try Self.kind(fifo), S_IFIFO)

        let regular = directory + "/plain.csv"
        XCTAssertEqual(try Ringbench.run(["report", results, "--format", "csv", "--output", regular]).status, 0)
        XCTAssertEqual(try Self.kind(regular), S_IFREG)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tmp") }, [])
    }

    static func kind(_ path: String) throws -> mode_t {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw CocoaError(.fileNoSuchFile) }
        return st.st_mode & S_IFMT
    }
}
