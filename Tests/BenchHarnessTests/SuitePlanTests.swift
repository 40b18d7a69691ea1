@testable import BenchHarness
import XCTest

/// The suite is built from the catalog's capabilities alone, so transports
/// added later join it without touching the plan.
final class SuitePlanTests: XCTestCase {
    static func entry(_ name: String, _ capabilities: TransportCapabilities) -> TransportCatalog.Entry {
        TransportCatalog.Entry(name: name, capabilities: capabilities) { _, _ throws(HarnessError) in
            throw .invalidScenario("not run in tests")
        }
    }

    func testEveryCatalogTransportRunsEverySizeAndModeItSupports() {
        let plan = SuitePlan.scenarios(profile: SuitePlan.full)
        XCTAssertFalse(plan.contains { $0.transport == "records-fanout" }, "a 1 -> N comparator in the 1 -> 1 suite")
        for entry in TransportCatalog.suite {
            // Transports with wait strategies add --wait rows on the first backing.
            let waitRows = entry.capabilities.waitStrategies ? SuitePlan.waitRows.count : 0
            let backings = entry.capabilities.usesBacking ? SuitePlan.ringBackings.count : 1
            let sizes = SuitePlan.defaultSizes.filter { $0 <= (entry.capabilities.maximumMessageSize ?? .max) }.count
            XCTAssertEqual(plan.filter { $0.transport == entry.name }.count,
                           (backings + waitRows) * sizes * entry.capabilities.modes.count, entry.name)
        }
        XCTAssertEqual(Set(plan.filter { $0.wait == "park" }.map(\.transport)), ["spsc", "records", "broadcast", "exchange", "exchange-shared"])
        XCTAssertEqual(plan.filter { $0.transport == "records" && $0.wait == nil }.map(\.messageSize).sorted().first, 8)
        let needsCount = Set(TransportCatalog.all.filter(\.capabilities.needsMessageCount).map(\.name))
        XCTAssertTrue(plan.filter { !needsCount.contains($0.transport) }
            .allSatisfy { $0.durationSeconds == SuitePlan.full.secondsPerRepetition && $0.messages == nil })
        XCTAssertTrue(plan.filter { needsCount.contains($0.transport) }
            .allSatisfy { $0.durationSeconds == nil && ($0.messages ?? 0) >= 1000 })
    }

    func testRingRunsOnSysvAndMmapOthersWithoutBacking() {
        let ring = Self.entry("ring", TransportCapabilities(usesBacking: true, usesCapacity: true))
        let kernel = Self.entry("kernel", TransportCapabilities())
        let plan = SuitePlan.scenarios(transports: [ring, kernel], sizes: [8], profile: SuitePlan.quick)
        XCTAssertEqual(Set(plan.filter { $0.transport == "ring" }.map(\.backing)), ["sysv", "mmap"])
        XCTAssertEqual(plan.filter { $0.transport == "kernel" }.map(\.backing), [nil, nil])
        XCTAssertEqual(Set(plan.map(\.mode)), [.throughput, .roundtrip])
        XCTAssertTrue(plan.allSatisfy { $0.durationSeconds == SuitePlan.quick.secondsPerRepetition })
    }

    func testSizesAboveALimitAndUnsupportedModesAreLeftOut() {
        let small = Self.entry("small", TransportCapabilities(modes: [.throughput], maximumMessageSize: 64))
        let plan = SuitePlan.scenarios(transports: [small], sizes: [8, 64, 1024])
        XCTAssertEqual(plan.map(\.messageSize), [8, 64])
        XCTAssertEqual(Set(plan.map(\.mode)), [.throughput])
    }

    func testModesNarrowThePlanAndUnknownOnesAreOneLineErrors() throws {
        let ring = Self.entry("ring", TransportCapabilities(usesBacking: true, usesCapacity: true))
        let plan = SuitePlan.scenarios(transports: [ring], sizes: [8], modes: try SuitePlan.modes(named: ["throughput"]))
        XCTAssertEqual(plan.count, 2) // one per backing
        XCTAssertEqual(Set(plan.map(\.mode)), [.throughput])
        XCTAssertEqual(try SuitePlan.modes(named: ["roundtrip", "throughput"]), [.throughput, .roundtrip])
        XCTAssertThrowsError(try SuitePlan.modes(named: ["latency"])) { error in
            let text = (error as? HarnessError)?.description ?? ""
            XCTAssertTrue(text.contains("latency") && text.contains("throughput"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    func testScenariosAreNamedAndSelectedExactly() throws {
        let plan = SuitePlan.scenarios(transports: try SuitePlan.transports(named: ["spsc", "pipe"]), profile: SuitePlan.quick)
        let names = plan.map(SuitePlan.name(of:))
        XCTAssertEqual(Set(names).count, names.count, "two suite scenarios share a name")
        XCTAssertTrue(names.contains("spsc/sysv/8/throughput/park") && names.contains("pipe/65536/roundtrip"), "\(names)")
        let chosen = try SuitePlan.only(["pipe/64/roundtrip", "spsc/sysv/8/throughput"], of: plan)
        XCTAssertEqual(chosen.map(SuitePlan.name(of:)), ["spsc/sysv/8/throughput", "pipe/64/roundtrip"]) // the plan's order
        XCTAssertThrowsError(try SuitePlan.only(["spsc/sysv/9/throughput"], of: plan)) { error in
            let text = (error as? HarnessError)?.description ?? ""
            XCTAssertTrue(text.contains("spsc/sysv/9/throughput"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        // Every suite scenario has its name in compare's JSON; others have none.
        XCTAssertTrue(plan.allSatisfy { SuitePlan.suiteName(of: $0) == SuitePlan.name(of: $0) })
        var batched = plan[0]
        batched.batch = 32
        XCTAssertNil(SuitePlan.suiteName(of: batched))
        var twoConsumers = plan[0]
        twoConsumers.consumers = 2
        XCTAssertNil(SuitePlan.suiteName(of: twoConsumers))
    }

    func testLargeMessagesGetASmallerRing() {
        XCTAssertEqual(SuitePlan.capacity(messageSize: 8), 4096)
        XCTAssertEqual(SuitePlan.capacity(messageSize: 65536), 64)
    }

    func testUnknownTransportIsOneLineError() {
        XCTAssertThrowsError(try SuitePlan.transports(named: ["spsc", "nope"])) { error in
            let text = (error as? HarnessError)?.description ?? ""
            XCTAssertTrue(text.contains("nope"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertEqual(try SuitePlan.transports(named: ["spsc", "spsc"]).map(\.name), ["spsc"])
    }

    func testEveryPlannedScenarioPassesValidation() throws {
        for scenario in SuitePlan.scenarios(profile: SuitePlan.quick) {
            let capabilities = try TransportCatalog.named(scenario.transport).capabilities
            XCTAssertNoThrow(try BenchmarkRunner.validate(scenario, capabilities: capabilities, options: RunOptions()))
        }
    }
}
