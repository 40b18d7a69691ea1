@testable import BenchHarness
import Foundation
import XCTest

/// The dashboard exports' schemas and the HTML report's charts.
final class ExportTests: XCTestCase {
    typealias F = CompareFixtures

    static let document = F.document([F.run("spsc", rates: [1e6, 1.1e6, 0.9e6]), F.run("pipe", mode: .roundtrip, rates: [1e5, 1.2e5])])

    func keys() throws -> [ScenarioKey] { try F.set(Self.document).runs.map(\.key) }

    func decode(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    func testGithubActionBenchmarkBiggerIsBetterEntries() throws {
        let entries = try XCTUnwrap(try decode(DashboardExports.encode(DashboardExports.actionBenchmarkBigger(Self.document, keys: keys()))) as? [[String: Any]])
        XCTAssertEqual(entries.count, 2)
        for entry in entries {
            XCTAssertTrue(Set(entry.keys).isSubset(of: ["name", "unit", "value", "range", "extra"]), "\(entry.keys)")
            XCTAssertNotNil(entry["name"] as? String)
            XCTAssertEqual(entry["unit"] as? String, "msgs/s")
            XCTAssertNotNil(entry["value"] as? Double)
        }
        XCTAssertEqual(entries[0]["value"] as? Double, 1e6)
        XCTAssertTrue((entries[0]["range"] as? String)?.hasPrefix("± ") == true)
        XCTAssertTrue((entries[0]["name"] as? String)?.hasPrefix("spsc sysv throughput 64B") == true)
    }

    func testGithubActionBenchmarkSmallerIsBetterHasThePercentiles() throws {
        let entries = try XCTUnwrap(try decode(DashboardExports.encode(DashboardExports.actionBenchmarkSmaller(Self.document, keys: keys()))) as? [[String: Any]])
        XCTAssertEqual(entries.compactMap { ($0["name"] as? String)?.split(separator: " ").last }, ["p50", "p99", "p99.9"])
        XCTAssertTrue(entries.allSatisfy { $0["unit"] as? String == "ns" })
    }

    func testBencherMetricFormat() throws {
        let bmf = try XCTUnwrap(try decode(DashboardExports.encode(DashboardExports.bencher(Self.document, keys: keys()))) as? [String: [String: [String: Double]]])
        XCTAssertEqual(bmf.count, 2)
        let spsc = try XCTUnwrap(bmf.first { $0.key.hasPrefix("spsc") }?.value)
        XCTAssertEqual(Set(spsc.keys), ["throughput"])
        XCTAssertEqual(spsc["throughput"], ["value": 1e6, "lower_value": 0.9e6, "upper_value": 1.1e6])
        let pipe = try XCTUnwrap(bmf.first { $0.key.hasPrefix("pipe") }?.value)
        XCTAssertEqual(Set(pipe.keys), ["throughput", "latency", "latency-p99", "latency-p999"])
        XCTAssertNotNil(pipe["latency"]?["value"])
        XCTAssertNotNil(pipe["latency"]?["lower_value"])
    }

    func testMarkdownTable() {
        let text = DashboardExports.markdown(Self.document)
        XCTAssertTrue(text.contains("#### throughput"))
        XCTAssertTrue(text.contains("#### roundtrip"))
        XCTAssertTrue(text.contains("| transport | backing | mode |"))
    }

    func testHTMLIsSelfContainedWithEveryChart() throws {
        let older = F.document([F.run("spsc", rates: F.rates(1.5e6)), F.run("pipe", mode: .roundtrip, rates: F.rates(1e5))])
        let newer = F.document([F.run("spsc", rates: F.rates(1e6)), F.run("pipe", mode: .roundtrip, rates: F.rates(1e5))])
        let html = HTMLReport.render([HTMLReport.Input(label: "old.json", set: try F.set(older)),
                                      HTMLReport.Input(label: "new.json", set: try F.set(newer))])
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<svg class=\"chart throughput\""))
        XCTAssertTrue(html.contains("<svg class=\"chart latency\""))
        XCTAssertTrue(html.contains("<svg class=\"chart trend\""))
        XCTAssertTrue(html.contains("class=\"point regression\""), "the 1.5 M -> 1 M step is marked")
        XCTAssertFalse(html.contains("<script"))
        // Nothing to fetch: the only URL is the SVG namespace.
        XCTAssertFalse(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"))
    }

    func testPercentileDistributionEndsAtTheMaximum() throws {
        var h = LatencyHistogram.make()
        for v in 1...10_000 { _ = h.record(UInt64(v)) }
        let points = try XCTUnwrap(PercentilePoint.distribution(of: h))
        XCTAssertEqual(points.first?.percentile, 0)
        XCTAssertEqual(points.last?.percentile, 100)
        XCTAssertEqual(points.last?.ns, h.max)
        XCTAssertEqual(points.map(\.percentile), points.map(\.percentile).sorted())
        XCTAssertLessThan(points.count, 30)
        XCTAssertTrue(points.contains { abs($0.percentile - 99.9) < 1e-9 })
    }
}
