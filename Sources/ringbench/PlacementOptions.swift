import ArgumentParser
import BenchHarness

/// `--producer-node`, `--consumer-node`, `--memory-node`, `--strict-placement`
/// (docs/numa.md).
struct PlacementOptions: ParsableArguments {
    @Option(name: .customLong("producer-node"),
            help: ArgumentHelp("Pin every producer to a CPU of NUMA node N (several spread over its CPUs).", valueName: "N"))
    var producerNode: Int?

    @Option(name: .customLong("consumer-node"),
            help: ArgumentHelp("Pin every consumer to a CPU of NUMA node N.", valueName: "N"))
    var consumerNode: Int?

    @Option(name: .customLong("memory-node"),
            help: ArgumentHelp("Put the ring's pages on node K, on the producer's or consumer's node, or interleave them over all nodes (shared-memory transports).",
                               valueName: "K|local-producer|local-consumer|interleave"))
    var memoryNode: String?

    @Flag(name: .customLong("strict-placement"),
          help: "Fail (after writing the results) when a process or page is not where it was asked to be; otherwise warn.")
    var strict = false

    func request() throws -> PlacementRequest {
        for (flag, node) in [("--producer-node", producerNode), ("--consumer-node", consumerNode)] {
            if let node, node < 0 { throw CommandFailure(message: "\(flag) must be a node number (0 or more), got \(node)", code: 2) }
        }
        return PlacementRequest(producerNode: producerNode, consumerNode: consumerNode,
                                memory: try memoryNode.map { text throws(HarnessError) in try MemoryNodeRequest(parsing: text) })
    }

    /// Warns loudly on stderr about every run whose placement differs from
    /// the request; with --strict-placement, fails.
    func check(_ document: ResultDocument) throws {
        try Self.check(document, strict: strict)
    }

    /// The same for any document: runs, and the study's memcpy probe buffers.
    static func check(_ document: ResultDocument, strict: Bool) throws {
        var failed = 0
        for run in document.runs where run.placement?.matches == false {
            failed += 1
            let s = run.scenario
            for line in run.placement?.mismatches ?? [] {
                FileHandleOutput.stderr("ringbench: WARNING: placement mismatch in \(s.transport) \(s.mode.rawValue) \(s.messageSize) B: \(line)\n")
            }
        }
        for m in document.numaStudy?.memcpy ?? [] where !m.placementMatches {
            failed += 1
            FileHandleOutput.stderr("ringbench: WARNING: placement mismatch in the memcpy probe: \(m.pagesOnMemoryNode) of \(m.pages) pages on node \(m.memoryNode)\n")
        }
        if strict, failed > 0 {
            throw CommandFailure(message: "--strict-placement: \(failed) run(s) or probe(s) not placed as asked (see the warnings above)")
        }
    }
}
