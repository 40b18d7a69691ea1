import Foundation
import TestSupport
import XCTest

final class CleanupAndInputTests: XCTestCase {
    /// SIGINT or SIGTERM in the middle of a run: children die, every IPC object goes.
    func testSignalDuringRunLeavesNothingBehind() throws {
        for (backing, signal, expected) in [("sysv", SIGINT, Int32(130)), ("mmap", SIGINT, 130), ("sysv", SIGTERM, 143)] {
            let running = try Ringbench.start(["run", "--backing", backing, "--duration", "60", "--repeat", "1",
                                               "--warmup", "0", "--mode", "roundtrip", "--no-probes"])
            // Wait until the run has forked (its rings exist by then). Other
            // tests create objects meanwhile, so what is checked below is what
            // this run names after its pid or created (segments by cpid).
            let deadline = Date().addingTimeInterval(20)
            while Ringbench.children(of: running.pid).count < 2, Date() < deadline { usleep(20_000) }
            XCTAssertEqual(Ringbench.children(of: running.pid).count, 2, "the run never started")
            usleep(200_000)
            kill(running.pid, signal)
            let result = running.wait()
            XCTAssertEqual(result.status, expected, "\(backing)")
            let message = result.stderr
            XCTAssertTrue(message.contains("interrupted"), message)
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            XCTAssertEqual(BadInputTests.namedObjects(of: running.pid), [], "\(backing) left objects after signal \(signal)")
        }
    }

    func testBadInputExitsNonZeroWithOneLine() throws {
        let cases: [[String]] = [
            ["run", "--message-size", "0"],
            ["run", "--message-size", "3"],
            ["run", "--capacity", "0"],
            ["run", "--capacity", "100"],
            ["run", "--backing", "tape"],
            ["run", "--messages", "-5"],
            ["run", "--batch", "0"],
            ["run", "--repeat", "0"],
            ["run", "--warmup", "-1"],
            ["run", "--duration", "-2"],
            ["run", "--transport", "carrier-pigeon"],
            ["run", "--pin", "0,99"],
            ["run", "--mode", "sideways"],
            ["run", "--producers", "2"],
            ["run", "--no-such-flag"],
            ["no-such-command"],
        ]
        for arguments in cases {
            let r = try Ringbench.run(arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(arguments): \(r.stderr)")
            XCTAssertTrue(lines.first?.hasPrefix("ringbench: ") ?? false, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(arguments)")
        }
    }

    func testHelpDescribesEveryFlag() throws {
        let r = try Ringbench.run(["run", "--help"])
        XCTAssertEqual(r.status, 0)
        for flag in ["--transport", "--backing", "--message-size", "--messages", "--duration", "--capacity", "--batch",
                     "--mode", "--repeat", "--warmup", "--pin", "--format", "--output", "--timeout"] {
            XCTAssertTrue(r.stdout.contains(flag), "run --help lacks \(flag)")
        }
        let root = try Ringbench.run(["--help"])
        XCTAssertEqual(root.status, 0)
        XCTAssertTrue(root.stdout.contains("run"))
        XCTAssertTrue(root.stdout.contains("suite"))
    }
}
