import Foundation
import ShmRing
import XCTest

/// `ringbench inspect` opens rings made by another process (this one).
final class InspectTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        var template = Array("/dev/shm/ringbench-inspect-XXXXXX".utf8CString)
        directory = String(cString: try XCTUnwrap(mkdtemp(&template)))
        chmod(directory, 0o755) // others may look in, but the ring itself stays 0600
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testValidRingIsDescribed() throws {
        for backing in [RegionBacking.mmap, .sysv] {
            let ring = try SPSCRing.create(backing: backing, name: "pipeline", capacity: 16, messageSize: 32,
                                           options: RegionOptions(directory: directory))
            do { // the handle ends before the region is unmapped
                var producer = try ring.producer()
                for i in 0..<3 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
            }
            let r = try Ringbench.run(["inspect", "pipeline", "--backing", backing.rawValue, "--directory", directory])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("capacity 16 slots of 32 bytes"), r.stdout)
            XCTAssertTrue(r.stdout.contains("3 message(s) pending"), r.stdout)
            ring.region.removeName()
        }
    }

    func testMissingRing() throws {
        let r = try Ringbench.run(["inspect", "nothing-here", "--directory", directory])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "ringbench: no such ring 'nothing-here': nothing has created it (or its creator already removed it)\n")
    }

    func testOtherUsersAreDeniedByDefault() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to act as another user")
        }
        let ring = try SPSCRing.create(backing: .mmap, name: "private", capacity: 4, messageSize: 8,
                                       options: RegionOptions(directory: directory))
        defer { ring.region.removeName() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", Ringbench.executable.path,
                             "inspect", "private", "--directory", directory]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertTrue(message.contains("permission denied opening ring 'private'"), message)
    }

    func testCorruptedFileIsReportedNotCrashedOn() throws {
        let path = directory + "/garbage"
        FileManager.default.createFile(atPath: path, contents: Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 13) }),
                                       attributes: [.posixPermissions: 0o600])
        let r = try Ringbench.run(["inspect", "garbage", "--directory", directory])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("ringbench: 'garbage' is not a ShmRing region"), r.stderr)
    }
}

/// `ringbench report` renders committed results without rerunning them.
final class ReportCommandTests: XCTestCase {
    func testCommittedResultsRenderAsTableAndCSV() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let results = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("results").path)
            .filter { $0.hasSuffix(".json") }
        XCTAssertFalse(results.isEmpty, "results/ holds committed runs")
        for name in results {
            let path = root.appendingPathComponent("results/" + name).path
            let table = try Ringbench.run(["report", path])
            XCTAssertEqual(table.status, 0, "\(name): \(table.stderr)")
            XCTAssertTrue(table.stdout.hasPrefix("ringbench "), name)
            let csv = try Ringbench.run(["report", path, "--format", "csv"])
            XCTAssertEqual(csv.status, 0, name)
            XCTAssertTrue(csv.stdout.contains(","), name)
        }
    }

    func testNonResultsFileIsOneLineError() throws {
        let r = try Ringbench.run(["report", "/etc/hostname"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("is not a ringbench results file"), r.stderr)
    }
}
