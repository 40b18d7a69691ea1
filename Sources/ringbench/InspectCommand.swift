import ArgumentParser
import BenchHarness
import ShmRing

/// Opens a named ring or queue as a user would (full header validation) and
/// prints what it holds, without consuming anything. Every kind `ls` lists
/// is described (SPSC and record rings, both MPMC queues, lock arenas).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Validate a named ring's or queue's header and print its parameters, owners and fill level.",
        discussion: """
            Useful when embedding the ring in a pipeline: it reports exactly why a region cannot be
            opened (no such ring, permission denied, not a ring, incompatible version, truncated,
            corrupted header) and otherwise its kind, capacity, message size, creator, owners and what is pending.
            """)

    @Argument(help: ArgumentHelp("Ring or queue name (a file name under --directory).", valueName: "NAME"))
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
        let options = RegionOptions(directory: directory, openTimeoutSeconds: wait, prefault: false)
        do throws(ShmError) {
            let region = try SharedRegion.open(backing: kind, name: name, options: options)
            // Waits (up to --wait) for the creator to publish it, whatever it holds.
            do throws(ShmError) {
                _ = try RegionHeader.validate(region, expecting: .spscRing, timeoutSeconds: wait)
            } catch .wrongStructure { } // published: `describe` validates it as what it is
            var entry = RingEntry(name: name, backing: kind.rawValue, kind: "?", ageSeconds: 0, state: "live")
            try RingDirectory.describe(region, into: &entry, directory: directory)
            print(Self.text(entry, region: region))
        } catch {
            throw CommandFailure(message: error.description)
        }
    }

    /// Three to four lines: kind and version; shape; position and pending;
    /// owners and state.
    static func text(_ e: RingEntry, region: SharedRegion) -> String {
        let creator = region.base.load(fromByteOffset: RegionLayout.creatorPidOffset, as: UInt64.self)
        let capacity = e.capacity ?? 0, item = e.messageBytes ?? 0, pending = e.pending ?? 0
        var lines = ["ring \(e.name) (\(e.backing)): \(e.kind), layout version \(RegionLayout.layoutVersion)"]
        let size = "region \(region.size) bytes, created by pid \(creator)"
        switch e.kind {
        case StructureKind.spscRing.description:
            let read = region.base.load(fromByteOffset: EndpointLayout.readPositionOffset, as: UInt64.self)
            lines.append("capacity \(capacity) slots of \(item) bytes, \(size)")
            lines.append("consumer position \(read), \(pending) message(s) pending")
        case StructureKind.recordRing.description:
            let read = region.base.load(fromByteOffset: EndpointLayout.readPositionOffset, as: UInt64.self)
            lines.append("capacity \(capacity) bytes, records up to \(item) bytes, \(size)")
            lines.append("consumer position \(read), \(pending) byte(s) pending")
        case StructureKind.broadcastRing.description:
            lines.append("capacity \(capacity) bytes, records up to \(item) bytes, \(size)")
            lines += broadcastLines(region)
        case StructureKind.mpmcSemaphoreQueue.description, StructureKind.mpmcLockFreeQueue.description:
            lines.append("capacity \(capacity) slots of \(item) bytes, \(size)")
            lines.append("\(pending) message(s) pending" + (e.semaphoreKey.map { ", semaphore set key \($0)" } ?? ""))
        default:
            lines.append(size)
        }
        let owners = e.owners.map { "\($0.role) \($0.pid)\($0.alive ? "" : " (dead)")" }.joined(separator: ", ")
        lines.append("owners: \(owners.isEmpty ? "none" : owners); state: \(e.state)")
        return lines.joined(separator: "\n")
    }
}
