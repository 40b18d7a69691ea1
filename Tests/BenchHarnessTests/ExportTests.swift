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

    // Issue 20, defect 8: one colour per series on the whole page, readable
    // trend labels, regression markers in a colour no series has.
    func testHTMLColoursPerSeriesThinnedTrendLabelsAndDistinctMarkers() throws {
        // Two charts (64 B and 128 B) whose bars are ranked differently.
        func doc(_ spsc: Double) -> ResultDocument {
            F.document([F.run("spsc", size: 64, rates: F.rates(spsc)), F.run("pipe", size: 64, rates: F.rates(2e6)),
                        F.run("spsc", size: 128, rates: F.rates(1e6)), F.run("pipe", size: 128, rates: F.rates(3e6))])
        }
        let inputs = try (0..<14).map { i in
            HTMLReport.Input(label: "r\(i).json", set: try F.set(doc(i == 13 ? 0.5e6 : 4e6)))
        }
        let html = HTMLReport.render(inputs)
        func fills(_ name: String) -> Set<String> {
            let pattern = try! NSRegularExpression(pattern: "fill=\"(#[0-9a-f]{6})\"><title>\(name)[ :]")
            let range = NSRange(html.startIndex..., in: html)
            return Set(pattern.matches(in: html, range: range).map { String(html[Range($0.range(at: 1), in: html)!]) })
        }
        XCTAssertEqual(fills("spsc").count, 1, "spsc has one colour in every chart")
        XCTAssertEqual(fills("pipe").count, 1)
        XCTAssertNotEqual(fills("spsc"), fills("pipe"))
        // The regression (4 M -> 0.5 M) is a black ring, and no series is black.
        XCTAssertTrue(html.contains("class=\"point regression\""))
        XCTAssertTrue(html.contains("stroke=\"\(SVGChart.markerColor)\""))
        XCTAssertFalse(SVGChart.palette.contains(SVGChart.markerColor))
        XCTAssertFalse(SVGChart.palette.contains("#d62728"), "no series in the old marker red")
        // 14 files: not every "#i commit" label is drawn in a trend chart.
        let trend = try XCTUnwrap(html.components(separatedBy: "<svg class=\"chart trend\"").dropFirst().first)
        let xLabel = try NSRegularExpression(pattern: "class=\"tick\" x=\"[0-9.]+\" y=\"316.0\"") // below the plot
        let labels = xLabel.numberOfMatches(in: trend, range: NSRange(trend.startIndex..., in: trend))
        XCTAssertGreaterThanOrEqual(labels, 4)
        XCTAssertLessThanOrEqual(labels, 7, "14 x labels thinned to what fits")
        XCTAssertTrue(html.contains("width:100%"), "charts take the page's width")
    }
}
