import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The kernel transports and `empty`, end to end through the built
/// `ringbench` binary (the test process never forks itself).
final class KernelTransportTests: XCTestCase {
    /// Transports that run in both modes.
    static let bothModes = ["empty", "pipe", "fifo", "socketpair-stream", "socketpair-dgram",
                            "unix-stream", "unix-dgram", "sysv-msgq", "posix-mq"]
    static let roundtripOnly = ["signal", "eventfd"]

    func testThroughputDeliversEveryMessageIntact() throws {
        for transport in Self.bothModes {
            // 100 bytes with a batch of 3: stream records straddle reads and writes.
            try assertCleanRun(transport, ["--mode", "throughput", "--message-size", "100", "--batch", "3"])
            try assertCleanRun(transport, ["--mode", "throughput", "--message-size", "8"])
        }
    }

    func testRoundtripDeliversEveryMessageIntact() throws {
        for transport in Self.bothModes + Self.roundtripOnly {
            try assertCleanRun(transport, ["--mode", "roundtrip"], messages: 5_000)
        }
    }

    func testLargestAllowedMessagesPass() throws {
        try assertCleanRun("sysv-msgq", ["--message-size", "\(HostLimits.msgmax)"], messages: 500)
        try assertCleanRun("posix-mq", ["--message-size", "\(HostLimits.msgsizeMax)"], messages: 500)
        try assertCleanRun("socketpair-dgram", ["--message-size", "\(HostLimits.unixDatagram)"], messages: 200)
        try assertCleanRun("pipe", ["--message-size", "64K", "--mode", "roundtrip"], messages: 200)
    }

    func testOversizedMessagesAreRejectedBeforeForking() throws {
        let cases: [(String, Int, String)] = [
            ("sysv-msgq", HostLimits.msgmax, "msgmax"),
            ("posix-mq", HostLimits.msgsizeMax, "msgsize_max"),
            ("socketpair-dgram", HostLimits.unixDatagram, "wmem_default"),
            ("unix-dgram", HostLimits.unixDatagram, "wmem_default"),
            ("signal", 8, "si_value"),
            ("eventfd", 8, "64-bit value"),
        ]
        for (transport, limit, limitName) in cases {
            let size = limit + 1
            let mode = Self.roundtripOnly.contains(transport) ? "roundtrip" : "throughput"
            let args = ["run", "--transport", transport, "--mode", mode, "--message-size", "\(size)", "--messages", "10"]
            let result = try Ringbench.run(args)
            XCTAssertEqual(result.status, 2, "\(transport): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(transport): one line expected: \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(limitName), "\(transport): the error should name \(limitName): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("at most \(limit) bytes"), "\(transport): \(result.stderr)")
            XCTAssertEqual(result.stdout, "")
            if let forks = try Binary.forksWhileRunning(args) {
                XCTAssertEqual(forks, [], "\(transport): the rejection must come before any fork")
            }
        }
    }

    func testSignalAndEventfdRefuseThroughput() throws {
        for transport in Self.roundtripOnly {
            let result = try Ringbench.run(["run", "--transport", transport, "--mode", "throughput", "--messages", "10"])
            XCTAssertEqual(result.status, 2, result.stderr)
            XCTAssertEqual(result.stderr, "ringbench: \(transport) supports only roundtrip mode\n")
        }
    }

    func testEmptyRefusesDuration() throws {
        let result = try Ringbench.run(["run", "--transport", "empty", "--duration", "1"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1)
    }

    /// SIGINT in the middle of a run kills the children and removes every
    /// object: nothing of the run is left in SysV IPC, /dev/shm, the POSIX
    /// queue namespace or the temporary directory.
    func testSIGINTLeavesNoObjectBehind() throws {
        let cases = Self.bothModes.filter { $0 != "empty" }.map { ($0, "throughput") }
            + (Self.bothModes.filter { $0 != "empty" } + Self.roundtripOnly).map { ($0, "roundtrip") }
        for (transport, mode) in cases {
            let before = IPCSnapshot.take(runPids: [])
            let process = Process()
            process.executableURL = Ringbench.executable
            // --no-probes: the children waited for below are the run's, not the probes'.
            process.arguments = ["run", "--transport", transport, "--mode", mode, "--duration", "30",
                                 "--repeat", "1", "--warmup", "0", "--format", "json", "--no-probes"]
            let stderr = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = stderr
            try process.run()
            let pid = process.processIdentifier
            let children = try Binary.waitForChildren(of: pid, count: 2)
            // Let the children get past their set-up and into the loop.
            usleep(300_000)
            let during = IPCSnapshot.take(runPids: [pid] + children)
            process.interrupt()
            process.waitUntilExit()
            let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(process.terminationReason, .exit, "\(transport) \(mode)")
            XCTAssertEqual(process.terminationStatus, 130, "\(transport) \(mode): \(message)")
            XCTAssertTrue(message.contains("interrupted by SIGINT"), "\(transport) \(mode): \(message)")
            for child in children { XCTAssertFalse(Binary.isAlive(child), "\(transport) \(mode): child \(child) survived") }
            let after = IPCSnapshot.take(runPids: [pid] + children)
            XCTAssertEqual(after.leftovers(of: pid, comparedWith: before), [], "\(transport) \(mode)")
            // The snapshot taken mid-run must have seen the objects, or the check proves nothing.
            // Path-named objects are unlinked once both children have opened
            // them (CleanupRegistry.releaseNames), so mid-run there is none.
            if ["fifo", "unix-stream", "unix-dgram"].contains(transport) {
                XCTAssertTrue(during.temporaryEntries(of: pid).isEmpty, "\(transport): private directory still there mid-run")
            }
            if transport == "sysv-msgq" {
                XCTAssertFalse(during.messageQueues.subtracting(before.messageQueues).isEmpty, "no message queue seen mid-run")
            }
            if transport == "posix-mq" {
                XCTAssertFalse(IPCSnapshot.posixQueueExists(of: pid), "posix-mq: a queue of pid \(pid) is still linked")
            }
        }
    }

    // MARK: Helpers

    func assertCleanRun(_ transport: String, _ extra: [String], messages: Int = 20_000,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-test-\(getpid())-\(transport).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let args = ["run", "--transport", transport, "--messages", "\(messages)", "--repeat", "1", "--warmup", "0",
                    "--format", "json", "--output", output.path] + extra
        let result = try Ringbench.run(args)
        let what = "\(transport) \(extra.joined(separator: " "))"
        XCTAssertEqual(result.status, 0, "\(what): \(result.stderr)", file: file, line: line)
        guard result.status == 0 else { return }
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any]
        let run = (document?["runs"] as? [[String: Any]])?.first
        let integrity = run?["integrity"] as? [String: Any]
        XCTAssertEqual(integrity?["sent"] as? Int, messages, what, file: file, line: line)
        XCTAssertEqual(integrity?["received"] as? Int, messages, what, file: file, line: line)
        for key in ["lost", "duplicated", "reordered", "corrupt"] {
            XCTAssertEqual(integrity?[key] as? Int, 0, "\(what): \(key)", file: file, line: line)
        }
        XCTAssertEqual((run?["scenario"] as? [String: Any])?["transport"] as? String, transport, file: file, line: line)
    }
}

// Helpers are nested so they cannot collide with other test files of this target.
extension KernelTransportTests {
    /// This machine's kernel limits, read the way ringbench reads them.
    enum HostLimits {
        static func read(_ path: String) -> Int {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        }
        static var msgmax: Int { min(read("/proc/sys/kernel/msgmax"), read("/proc/sys/kernel/msgmnb")) }
        static var msgsizeMax: Int { read("/proc/sys/fs/mqueue/msgsize_max") }
        static var unixDatagram: Int { read("/proc/sys/net/core/wmem_default") - 32 }
    }

    /// Launching the built binary.
    enum Binary {
        /// The process-creating clone/fork calls ringbench made, traced with
        /// strace; nil when strace is missing or cannot trace here.
        static func forksWhileRunning(_ arguments: [String]) throws -> [String]? {
            let strace = URL(fileURLWithPath: "/usr/bin/strace")
            guard FileManager.default.isExecutableFile(atPath: strace.path) else { return nil }
            let trace = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-test-\(getpid())-strace.txt")
            defer { try? FileManager.default.removeItem(at: trace) }
            let result = try Ringbench.run(["-f", "-qq", "-e", "trace=fork,vfork,clone,clone3", "-o", trace.path, Ringbench.executable.path] + arguments,
                                 executable: strace)
            guard result.status == 2, let text = try? String(contentsOf: trace, encoding: .utf8) else { return nil }
            // Threads are clones too; only a clone without CLONE_THREAD makes a process.
            return text.split(separator: "\n").map(String.init).filter { !$0.contains("CLONE_THREAD") && !$0.isEmpty }
        }

        /// Polls /proc until `pid` has `count` children; returns their pids.
        static func waitForChildren(of pid: Int32, count: Int) throws -> [Int32] {
            for _ in 0..<300 {
                let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
                let pids = text.split(separator: " ").compactMap { Int32($0) }
                if pids.count >= count { return pids }
                usleep(20_000)
            }
            throw XCTSkip("ringbench \(pid) never had \(count) children")
        }

        static func isAlive(_ pid: Int32) -> Bool {
            // A zombie is gone for our purposes; /proc/PID/stat's third field is the state.
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
        }
    }

    /// The IPC objects a run could leave behind.
    struct IPCSnapshot {
        var messageQueues: Set<String>
        /// SysV segments created by the run's processes (by cpid).
        var segments: Set<String>
        var devShm: Set<String>
        var mqueue: Set<String>
        var temporary: Set<String>

        static var temporaryDirectory: String {
            ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        }

        static func take(runPids: [Int32]) -> IPCSnapshot {
            func rows(_ path: String) -> [[Substring]] {
                ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").dropFirst()
                    .map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            }
            func entries(_ path: String) -> Set<String> {
                Set((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            }
            let pids = Set(runPids.map(String.init))
            return IPCSnapshot(
                messageQueues: Set(rows("/proc/sysvipc/msg").compactMap { $0.count > 1 ? String($0[1]) : nil }),
                segments: Set(rows("/proc/sysvipc/shm").compactMap { $0.count > 4 && pids.contains(String($0[4])) ? String($0[1]) : nil }),
                devShm: entries("/dev/shm"),
                mqueue: entries("/dev/mqueue"),
                temporary: entries(temporaryDirectory))
        }

        func temporaryEntries(of pid: Int32) -> Set<String> {
            temporary.filter { $0.hasPrefix("ringbench-\(pid)-") }
        }

        /// What this snapshot has that `before` did not, as readable lines. Only
        /// objects a concurrent test could not have made count: message queues
        /// (only sysv-msgq makes them), segments created by the run, and names
        /// carrying the run's pid.
        func leftovers(of pid: Int32, comparedWith before: IPCSnapshot) -> [String] {
            let mine = "ringbench-\(pid)-"
            return messageQueues.subtracting(before.messageQueues).map { "msqid \($0)" }
                + segments.map { "shmid \($0)" }
                + devShm.filter { $0.contains(mine) }.map { "/dev/shm/\($0)" }
                + mqueue.filter { $0.contains(mine) }.map { "/dev/mqueue/\($0)" }
                + temporaryEntries(of: pid).map { "\(Self.temporaryDirectory)/\($0)" }
        }

        /// Whether a POSIX queue of this run is still linked. /dev/mqueue is not
        /// always mounted, so ask the kernel by name: the run names its queues
        /// /ringbench-PID-N-forward|backward. mq_unlink is not in Swift's Glibc
        /// module, so it is looked up in libc; a queue found is also removed.
        static func posixQueueExists(of pid: Int32) -> Bool {
            typealias Unlink = @convention(c) (UnsafePointer<CChar>) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mq_unlink") else { return false }
            let unlink = unsafeBitCast(symbol, to: Unlink.self)
            for n in 1...4 {
                for direction in ["forward", "backward"] where unlink("/ringbench-\(pid)-\(n)-\(direction)") == 0 {
                    return true
                }
            }
            return false
        }
    }
}
