import ArgumentParser
import BenchHarness
import ShmRing

/// Opens a named ring as a consumer would (full header validation) and
/// prints what it holds, without consuming anything.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate a named SPSC ring's header and print its parameters and fill level.",
        discussion: """
            Useful when embedding the ring in a pipeline: it reports exactly why a region cannot be
            opened (no such ring, permission denied, not a ring, incompatible version, truncated,
            corrupted header) and otherwise its capacity, message size, creator and pending messages.
            """)

    @Argument(help: ArgumentHelp("Ring name (a file name under --directory) or an absolute path.", valueName: "NAME"))
    var name: String

    @Option(help: ArgumentHelp("Backing of the ring: sysv or mmap.", valueName: "sysv|mmap"))
    var backing: String = "mmap"

    @Option(help: ArgumentHelp("Directory of ring files and SysV key files.", valueName: "DIR"))
    var directory: String = "/dev/shm"

    @Option(parsing: .unconditional,
            help: OptionRules.wait.help("Seconds to wait for a creator to publish the ring.", valueName: "SECONDS", default: 1),
            transform: OptionRules.wait.transform)
    var wait: Double = 1

    func run() throws {
        guard let kind = RegionBacking(rawValue: backing), kind != .anon else {
            throw CommandFailure(message: "--backing must be sysv or mmap for a named ring, got '\(backing)'", code: 2)
        }
        let options = RegionOptions(directory: directory, openTimeoutSeconds: wait)
        do {
            let ring = try SPSCRing.open(backing: kind, name: name, options: options)
            let state = ring.snapshot()
            print("""
                ring \(name) (\(kind)): SPSC ring, layout version \(RegionLayout.layoutVersion)
                capacity \(ring.capacity) slots of \(ring.messageSize) bytes, region \(ring.region.size) bytes, created by pid \(state.creatorPid)
                consumer position \(state.readPosition), \(state.pending) message(s) pending
                """)
        } catch {
            throw CommandFailure(message: error.description)
        }
    }
}
