import ArgumentParser
import BenchHarness

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Measure this machine's physical limits: core-to-core cache-line latency, memcpy bandwidth, futex wake-up, clock cost.",
        discussion: """
            The cache-line matrix covers every pair of the chosen CPUs: pinned processes ping-pong one cache line, as c2clat does (minimum of 200 samples of 100 round trips; one-way = round trip / 2; the same-CPU diagonal is not measured). memcpy runs on one core at 4 KiB, 64 KiB, 1 MiB and 64 MiB. The futex wake-up runs two pinned processes on the same CPU and on two CPUs.

            Examples:
              ringbench probe
              ringbench probe --pin 0,1 --format json --output probes.json
            """)

    @Option(help: ArgumentHelp("CPUs to include: 'all' (every CPU this process may use; also 'auto' or 'none') or a list like 0,1. memcpy and the same-CPU wake-up run on the first.",
                               valueName: "all|LIST"))
    var pin: String = "all"

    @OptionGroup var destination: Destination

    func run() throws {
        let topology = SystemTopology()
        let cpus: [Int]
        switch pin {
        case "all", "auto", "none":
            cpus = topology.allowedCPUs
        default:
            guard case let .cpus(list)? = try? PinPolicy(parsing: pin) else {
                throw CommandFailure(message: "--pin takes 'all' or a list of CPU numbers like 0,1; got '\(pin)'", code: 2)
            }
            // Placement checks every CPU is available and explains when not.
            _ = try Placement.resolve(.cpus(list), count: list.count, topology: topology)
            cpus = list
        }
        let probes = try PhysicalProbes.run(cpus: cpus)
        let document = ProbeDocument(tool: .current(), machine: .current(), probes: probes)
        try destination.write { ProbeRenderer.render(document, as: $0) }
    }
}
