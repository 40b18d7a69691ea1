import XCTest
@testable import BenchHarness

/// The node-placement decisions (`--producer-node`, `--consumer-node`,
/// `--memory-node`) and the placement check, on fake topologies: every
/// decision is tested whatever machine runs the tests.
final class NodePlacementTests: XCTestCase {
    let twoNodes = FakeTopology(nodes: [[0, 1, 2, 3], [4, 5, 6, 7]])

    func resolve(producers: Int = 1, consumers: Int = 1, _ request: PlacementRequest,
                 topology: (any Topology)? = nil, pin: PinPolicy = .auto) throws -> Placement {
        let machine: any Topology = topology ?? twoNodes
        return try Placement.resolve(pin, producers: producers, consumers: consumers, request: request, topology: machine)
    }

    func testProducerAndConsumerNodes() throws {
        XCTAssertEqual(try resolve(PlacementRequest(producerNode: 0, consumerNode: 1)).cpus, [0, 4])
        XCTAssertEqual(try resolve(PlacementRequest(producerNode: 1, consumerNode: 0)).cpus, [4, 0])
        // Both on one node: distinct CPUs of it.
        XCTAssertEqual(try resolve(PlacementRequest(producerNode: 1, consumerNode: 1)).cpus, [4, 5])
    }

    func testSeveralProcessesSpreadWithinTheirNode() throws {
        let p = try resolve(producers: 2, consumers: 3, PlacementRequest(producerNode: 1, consumerNode: 1))
        XCTAssertEqual(p.cpus, [4, 5, 6, 7, 4])
        XCTAssertTrue(p.oversubscribed)
        let q = try resolve(producers: 3, consumers: 1, PlacementRequest(producerNode: 0, consumerNode: 1))
        XCTAssertEqual(q.cpus, [0, 1, 2, 4])
        XCTAssertFalse(q.oversubscribed)
    }

    func testOneSideRequestedTheOtherTakesAFreeCPU() throws {
        let p = try resolve(PlacementRequest(producerNode: 1))
        XCTAssertEqual(p.cpus[0], 4)
        XCTAssertEqual(p.cpus[1], 0, "the consumer takes the first free CPU in auto order")
    }

    func testNoNodeRequestKeepsThePinPolicy() throws {
        XCTAssertEqual(try resolve(PlacementRequest()).cpus, [0, 4])
        XCTAssertEqual(try resolve(PlacementRequest(), pin: .cpus([2, 3])).cpus, [2, 3])
        XCTAssertNil(try resolve(PlacementRequest()).memory)
    }

    func testMemoryNodes() throws {
        XCTAssertEqual(try resolve(PlacementRequest(memory: .node(1))).memory, MemoryPolicy(mode: .bind, nodes: [1]))
        XCTAssertEqual(try resolve(PlacementRequest(producerNode: 1, consumerNode: 0, memory: .localProducer)).memory,
                       MemoryPolicy(mode: .bind, nodes: [1]))
        XCTAssertEqual(try resolve(PlacementRequest(producerNode: 1, consumerNode: 0, memory: .localConsumer)).memory,
                       MemoryPolicy(mode: .bind, nodes: [0]))
        XCTAssertEqual(try resolve(PlacementRequest(memory: .interleave)).memory, MemoryPolicy(mode: .interleave, nodes: [0, 1]))
        // local-consumer with auto pinning: the consumer's auto CPU is on node 1.
        XCTAssertEqual(try resolve(PlacementRequest(memory: .localConsumer)).memory, MemoryPolicy(mode: .bind, nodes: [1]))
    }

    func testRefusals() {
        func message(_ request: PlacementRequest, topology: (any Topology)? = nil, pin: PinPolicy = .auto) -> String {
            do {
                _ = try resolve(request, topology: topology, pin: pin)
                return "accepted"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(message(PlacementRequest(producerNode: 2)), "--producer-node 2: no such NUMA node (this machine has nodes 0, 1)")
        XCTAssertEqual(message(PlacementRequest(memory: .node(1)), topology: FakeTopology(nodes: [[0, 1]])),
                       "--memory-node 1: no such NUMA node (this machine has node 0)")
        let cpuless = FakeTopology(nodes: [[0, 1], []])
        XCTAssertTrue(message(PlacementRequest(consumerNode: 1), topology: cpuless).contains("has no CPUs"))
        let memoryless = FakeTopology(nodes: [[0, 1], [2, 3]], memoryBytes: [1 << 30, 0])
        XCTAssertEqual(message(PlacementRequest(memory: .node(1)), topology: memoryless), "--memory-node 1: node 1 has no memory")
        XCTAssertEqual(message(PlacementRequest(producerNode: 1, memory: .localProducer), topology: memoryless),
                       "--memory-node local-producer: node 1 has no memory")
        XCTAssertEqual(try resolve(PlacementRequest(memory: .interleave), topology: memoryless).memory?.nodes, [0])
        XCTAssertTrue(message(PlacementRequest(producerNode: 0), pin: .cpus([1])).contains("--pin auto"))
        XCTAssertTrue(message(PlacementRequest(memory: .localProducer), pin: .none).contains("needs the producer pinned"))
    }

    func testMemoryNodeParsing() throws {
        XCTAssertEqual(try MemoryNodeRequest(parsing: "3"), .node(3))
        XCTAssertEqual(try MemoryNodeRequest(parsing: "local-producer"), .localProducer)
        XCTAssertEqual(try MemoryNodeRequest(parsing: "local-consumer"), .localConsumer)
        XCTAssertEqual(try MemoryNodeRequest(parsing: "interleave"), .interleave)
        for bad in ["", "-1", "x", "local"] { XCTAssertThrowsError(try MemoryNodeRequest(parsing: bad), bad) }
    }

    func testStudyCoversEveryCombination() {
        let placements = NumaStudy.placements(topology: twoNodes)
        XCTAssertEqual(placements.count, 8)
        XCTAssertEqual(Set(placements.map { "\($0.producer)\($0.consumer)\($0.memory)" }).count, 8)
        let memoryless = FakeTopology(nodes: [[0, 1], [2, 3]], memoryBytes: [1 << 30, 0])
        XCTAssertEqual(NumaStudy.placements(topology: memoryless).count, 4)
    }

    // MARK: The check

    func located(_ role: String, planned: Int?, cpu: Int, node: Int) -> ObservedProcess {
        ObservedProcess(role: role, plannedCPU: planned, ran: ProcessLocation(cpu: cpu, node: node, allowedCPUs: planned.map { [$0] } ?? [cpu]))
    }

    func report(_ request: PlacementRequest, memory: MemoryPolicy?, processes: [ObservedProcess],
                pages: PageCensus?) -> PlacementReport {
        PlacementReport.check(request: request, memory: memory, producers: 1,
                              observations: [PlacementObservation(processes: processes, pages: pages)])
    }

    func testCheckAcceptsWhatWasAsked() {
        let r = report(PlacementRequest(producerNode: 0, consumerNode: 1, memory: .node(1)), memory: MemoryPolicy(mode: .bind, nodes: [1]),
                       processes: [located("producer 0", planned: 0, cpu: 0, node: 0), located("consumer 0", planned: 4, cpu: 4, node: 1)],
                       pages: PageCensus(pages: 20, byNode: ["1": 20], unknown: 0, regions: 2))
        XCTAssertTrue(r.matches)
        XCTAssertNil(r.mismatches)
        XCTAssertEqual(r.requested.memoryNode, "1")
    }

    func testCheckReportsPagesOnTheWrongNode() {
        let r = report(PlacementRequest(memory: .node(1)), memory: MemoryPolicy(mode: .bind, nodes: [1]),
                       processes: [], pages: PageCensus(pages: 20, byNode: ["0": 3, "1": 17], unknown: 0, regions: 2))
        XCTAssertFalse(r.matches)
        XCTAssertEqual(r.mismatches, ["memory: bind to node 1 but 3 on node 0 (of 20 pages)"])
        let absent = report(PlacementRequest(memory: .node(1)), memory: MemoryPolicy(mode: .bind, nodes: [1]),
                            processes: [], pages: PageCensus(pages: 20, byNode: ["1": 18], unknown: 2, regions: 2))
        XCTAssertFalse(absent.matches)
        let none = report(PlacementRequest(memory: .node(1)), memory: MemoryPolicy(mode: .bind, nodes: [1]), processes: [], pages: nil)
        XCTAssertFalse(none.matches)
    }

    func testCheckReportsProcessesElsewhere() {
        let r = report(PlacementRequest(producerNode: 1), memory: nil,
                       processes: [located("producer 0", planned: 4, cpu: 5, node: 1), located("consumer 0", planned: 0, cpu: 0, node: 0)],
                       pages: nil)
        XCTAssertEqual(r.mismatches?.count, 1)
        XCTAssertTrue(r.mismatches?.first?.hasPrefix("producer 0: pinned to CPU 4 but ran on CPU 5") ?? false)
        let wrongNode = report(PlacementRequest(consumerNode: 1), memory: nil,
                               processes: [located("producer 0", planned: 0, cpu: 0, node: 0), located("consumer 0", planned: 1, cpu: 1, node: 0)],
                               pages: nil)
        XCTAssertEqual(wrongNode.mismatches, ["consumer 0: asked for node 1, ran on node 0 (CPU 1)"])
    }

    func testCheckOfInterleave() {
        let policy = MemoryPolicy(mode: .interleave, nodes: [0, 1])
        XCTAssertTrue(report(PlacementRequest(memory: .interleave), memory: policy, processes: [],
                             pages: PageCensus(pages: 21, byNode: ["0": 11, "1": 10], unknown: 0, regions: 2)).matches)
        XCTAssertFalse(report(PlacementRequest(memory: .interleave), memory: policy, processes: [],
                              pages: PageCensus(pages: 64, byNode: ["0": 64], unknown: 0, regions: 2)).matches)
    }

    // MARK: Reading the machine

    func testCPUListParsing() {
        XCTAssertEqual(CPUList.parse("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11])
        XCTAssertEqual(CPUList.parse(""), [])
        for bad in ["x", "3-1", "1-", "-1", "1,,2"] { XCTAssertNil(CPUList.parse(bad), bad) }
    }

    func testSysfsNodes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ringbench-nodes-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        func write(_ path: String, _ text: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try write("online", "0-1\n")
        try write("node0/cpulist", "0-1\n")
        try write("node0/distance", "10 21\n")
        try write("node0/meminfo", "Node 0 MemTotal:        1048576 kB\nNode 0 MemFree: 1 kB\n")
        try write("node1/cpulist", "\n")
        try write("node1/distance", "21 10\n")
        try write("node1/meminfo", "Node 1 MemTotal:        2048 kB\n")
        let nodes = try XCTUnwrap(SystemTopology.readNodes(root: root.path))
        XCTAssertEqual(nodes, [NodeInfo(id: 0, cpus: [0, 1], memoryBytes: 1 << 30, distances: [10, 21]),
                               NodeInfo(id: 1, cpus: [], memoryBytes: 2 << 20, distances: [21, 10])])
        XCTAssertNil(SystemTopology.readNodes(root: root.path + "/absent"))
    }

    func testThisMachineHasANodeZeroWithCPUsAndMemory() throws {
        let machine = SystemTopology()
        let zero = try XCTUnwrap(machine.node(0))
        XCTAssertFalse(zero.cpus.isEmpty)
        XCTAssertGreaterThan(zero.memoryBytes, 0)
    }
}
