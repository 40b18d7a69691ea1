import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `ringbench floor` and paced runs (`--rate`, `ringbench latency`) through
/// the built binary: they run, check every message and report what the
/// results format promises. Correctness only, never speed.
final class FloorAndRateTests: XCTestCase {
    func testFloorRunsBothLoopsBackToBackAndReportsTheirRatio() throws {
        let before = IPCSnapshot.take()
        // Batch 7 does not divide the count: the last push is a short batch.
        for batch in ["1", "7"] {
            let document = try runJSON(["floor", "--messages", "200k", "--rounds", "2", "--batch", batch, "--no-probes"])
            let floor = document["floor"] as? [String: Any]
            XCTAssertEqual((floor?["rounds"] as? [Any])?.count, 2)
            XCTAssertGreaterThan(floor?["medianRatio"] as? Double ?? 0, 0)
            let runs = document["runs"] as? [[String: Any]] ?? []
            XCTAssertEqual(runs.compactMap { ($0["scenario"] as? [String: Any])?["transport"] as? String }, ["ring-floor", "spsc"])
            for run in runs {
                XCTAssertEqual((run["scenario"] as? [String: Any])?["batch"] as? Int, Int(batch))
                let integrity = run["integrity"] as? [String: Any]
                XCTAssertEqual(integrity?["received"] as? Int, 400_000, batch)
                for key in ["lost", "duplicated", "reordered", "corrupt"] { XCTAssertEqual(integrity?[key] as? Int, 0, key) }
            }
        }
        XCTAssertEqual(before.leftovers(), [])
    }

    /// Each lock-free rival's native loop (C or C++ in Rivals/) runs beside
    /// the same rival through the harness's port; both check every value.
    func testRivalsNativeLoopsRunBesideTheirPorts() throws {
        for rival in ["boost-spsc", "ck-spsc", "cached-spsc"] {
            let document = try runJSON(["floor", "--transport", rival, "--messages", "100k", "--rounds", "1", "--no-probes"])
            let runs = document["runs"] as? [[String: Any]] ?? []
            XCTAssertEqual(runs.compactMap { ($0["scenario"] as? [String: Any])?["transport"] as? String }, [rival + "-native", rival])
            for run in runs {
                let integrity = run["integrity"] as? [String: Any]
                XCTAssertEqual(integrity?["received"] as? Int, 100_000, rival)
                for key in ["lost", "duplicated", "reordered", "corrupt"] { XCTAssertEqual(integrity?[key] as? Int, 0, "\(rival) \(key)") }
            }
        }
        let refused = try Ringbench.run(["floor", "--transport", "boost-spsc", "--batch", "4", "--no-probes"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertEqual(refused.stderr.filter { $0 == "\n" }.count, 1, refused.stderr)
    }

    func testRoundTripFloorTimesEveryTripOfBothLoops() throws {
        let before = IPCSnapshot.take()
        for backing in ["mmap", "sysv"] {
            let document = try runJSON(["floor", "--mode", "roundtrip", "--backing", backing, "--messages", "20k",
                                        "--rounds", "2", "--no-probes"])
            let floor = document["floor"] as? [String: Any]
            XCTAssertEqual(floor?["metric"] as? String, "roundTripP50Ns")
            XCTAssertEqual((floor?["rounds"] as? [Any])?.count, 2)
            XCTAssertGreaterThan(floor?["medianRatio"] as? Double ?? 0, 0)
            let runs = document["runs"] as? [[String: Any]] ?? []
            XCTAssertEqual(runs.compactMap { ($0["scenario"] as? [String: Any])?["transport"] as? String }, ["ring-floor", "spsc"])
            for run in runs {
                XCTAssertEqual((run["scenario"] as? [String: Any])?["mode"] as? String, "roundtrip")
                let latency = (run["summary"] as? [String: Any])?["latencyNs"] as? [String: Any]
                XCTAssertEqual(latency?["samples"] as? Int, 40_000, "every trip of both rounds is in the merged histogram")
                XCTAssertGreaterThan(latency?["p50"] as? Int ?? 0, 0)
                let integrity = run["integrity"] as? [String: Any]
                XCTAssertEqual(integrity?["received"] as? Int, 40_000)
                for key in ["lost", "duplicated", "reordered", "corrupt"] { XCTAssertEqual(integrity?[key] as? Int, 0, key) }
            }
        }
        // A round trip carries one message: a batch is refused in one line.
        for command in [["floor", "--mode", "roundtrip", "--batch", "4"], ["run", "--mode", "roundtrip", "--batch", "4"]] {
            let result = try Ringbench.run(command + ["--messages", "10", "--no-probes"])
            XCTAssertNotEqual(result.status, 0, "\(command)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(command): \(result.stderr)")
        }
        XCTAssertEqual(before.leftovers(), [])
    }

    /// `--trips-per-sample K`: one histogram sample per K round trips (and
    /// one for a last, partial batch), in the floor, its harnessed transport
    /// and a plain run alike; every trip is still checked.
    func testTripsPerSampleRecordsOneSamplePerKTrips() throws {
        let before = IPCSnapshot.take()
        let floor = try runJSON(["floor", "--mode", "roundtrip", "--transport", "exchange", "--trips-per-sample", "100",
                                 "--messages", "20k", "--rounds", "1", "--no-probes"])
        let floorRuns = floor["runs"] as? [[String: Any]] ?? []
        XCTAssertEqual(floorRuns.compactMap { ($0["scenario"] as? [String: Any])?["transport"] as? String }, ["exchange-floor", "exchange"])
        for run in floorRuns {
            XCTAssertEqual((run["scenario"] as? [String: Any])?["tripsPerSample"] as? Int, 100)
            let latency = (run["summary"] as? [String: Any])?["latencyNs"] as? [String: Any]
            XCTAssertEqual(latency?["samples"] as? Int, 200, "20 000 trips in samples of 100")
            XCTAssertGreaterThan(latency?["p50"] as? Int ?? 0, 0)
            XCTAssertEqual((run["integrity"] as? [String: Any])?["received"] as? Int, 20_000)
        }
        for (transport, trips, samples) in [("spsc", "100", 11), ("pipe", "1", 1_050)] {
            let document = try runJSON(["run", "--mode", "roundtrip", "--transport", transport, "--messages", "1050",
                                        "--trips-per-sample", trips, "--repeat", "1", "--warmup", "0", "--no-probes"])
            let run = (document["runs"] as? [[String: Any]])?.first
            // 1 is the default timing: not written, so such runs compare with older ones.
            XCTAssertEqual((run?["scenario"] as? [String: Any])?["tripsPerSample"] as? Int, trips == "1" ? nil : 100, transport)
            let latency = (run?["summary"] as? [String: Any])?["latencyNs"] as? [String: Any]
            XCTAssertEqual(latency?["samples"] as? Int, samples, "\(transport): ten full samples and a partial one, or every trip")
            XCTAssertEqual((run?["integrity"] as? [String: Any])?["received"] as? Int, 1_050, transport)
        }
        for args in [["run", "--trips-per-sample", "100"], ["run", "--mode", "roundtrip", "--trips-per-sample", "0"],
                     ["floor", "--transport", "boost-spsc", "--trips-per-sample", "10"]] {
            let result = try Ringbench.run(args + ["--messages", "10", "--no-probes"])
            XCTAssertNotEqual(result.status, 0, "\(args): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(args): \(result.stderr)")
        }
        XCTAssertEqual(before.leftovers(), [])
    }

    func testPacedRunsRecordOneWayLatencyOfEveryMessage() throws {
        for (transport, extra) in [("spsc", ["--message-size", "64"]), ("pipe", ["--message-size", "16"]),
                                   ("mpmc-lockfree", ["--message-size", "24", "--producers", "2", "--consumers", "2", "--batch", "3"])] {
            let producers = extra.contains("--producers") ? 2 : 1
            let document = try runJSON(["run", "--transport", transport, "--rate", "200k", "--messages", "20k",
                                        "--repeat", "1", "--warmup", "0", "--no-probes"] + extra)
            let run = (document["runs"] as? [[String: Any]])?.first
            XCTAssertEqual((run?["scenario"] as? [String: Any])?["rate"] as? Double, 200_000, transport)
            let latency = (run?["summary"] as? [String: Any])?["latencyNs"] as? [String: Any]
            XCTAssertEqual(latency?["kind"] as? String, "oneway-from-intended", transport)
            XCTAssertEqual(latency?["samples"] as? Int, 20_000 * producers, transport)
            let integrity = run?["integrity"] as? [String: Any]
            XCTAssertEqual(integrity?["received"] as? Int, 20_000 * producers, transport)
            for key in ["lost", "duplicated", "reordered", "corrupt"] { XCTAssertEqual(integrity?[key] as? Int, 0, "\(transport) \(key)") }
        }
    }

    func testLatencySweepAddsTheSaturationRate() throws {
        let document = try runJSON(["latency", "--transports", "spsc", "--rates", "100k", "--duration", "0.05",
                                    "--repeat", "1", "--warmup", "0", "--no-probes"])
        let rates = (document["runs"] as? [[String: Any]] ?? []).map { ($0["scenario"] as? [String: Any])?["rate"] as? Double }
        XCTAssertEqual(rates.count, 3, "saturation run, 100k and the saturation rate")
        XCTAssertNil(rates.first ?? 0)
        XCTAssertEqual(rates.dropFirst().first ?? nil, 100_000)
    }

    func testBadRatesAreRefusedInOneLine() throws {
        for args in [["--rate", "1M"], ["--rate", "0", "--message-size", "64"], ["--rate", "1M", "--message-size", "64", "--mode", "roundtrip"],
                     ["--rate", "1M", "--message-size", "64", "--transport", "empty"]] {
            let result = try Ringbench.run(["run", "--messages", "10", "--no-probes"] + args)
            XCTAssertEqual(result.status, 2, "\(args): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(args): \(result.stderr)")
        }
    }

    func runJSON(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-floor-rate-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Ringbench.run(args + ["--format", "json", "--output", output.path])
        XCTAssertEqual(result.status, 0, "\(args): \(result.stderr)", file: file, line: line)
        guard result.status == 0 else { return [:] }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any] ?? [:]
    }
}
