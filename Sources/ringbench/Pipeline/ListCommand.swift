import ArgumentParser
import Foundation
import ShmRing

/// `ringbench ls`: every ring and queue of this user in a directory.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List this user's rings and queues: kind, size, capacity, fill, owner pids (alive or not), age.",
        discussion: """
            Looks at the mmap files and SysV key files (and their segments) in --directory. A region that
            fails validation is listed as corrupt with the reason, one not yet published by its creator as
            creating, one whose mode lets group or others write it (a chmod) as unsafe; files that are not this library's are left out. 'stale' means its creator and every endpoint are gone: `ringbench rm --stale` removes those.
            """)

    @Option(help: ArgumentHelp("Directory of ring files and SysV key files.", valueName: "DIR"))
    var directory: String = "/dev/shm"

    @Option(help: "Output format: table or json.")
    var format: String = "table"

    func run() throws {
        let entries = try RingDirectory.scan(directory)
        switch format {
        case "json":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(entries), as: UTF8.self))
        case "table":
            print(Self.table(entries), terminator: "")
        default:
            throw CommandFailure(message: "--format must be table or json, got '\(format)'", code: 2)
        }
    }

    static func table(_ entries: [RingEntry]) -> String {
        let head = ["name", "backing", "kind", "size", "capacity", "item", "pending", "fill", "owners", "age", "state"]
        let rows = entries.map { e -> [String] in
            [e.name, e.backing, e.kind, e.sizeBytes.map(String.init) ?? "-", e.capacity.map(String.init) ?? "-",
             e.messageBytes.map(String.init) ?? "-", e.pending.map(String.init) ?? "-",
             e.fillPercent.map { "\($0)%" } ?? "-",
             e.owners.isEmpty ? "-" : e.owners.map { "\($0.role)\($0.pid > 0 ? " \($0.pid)" : "")\($0.alive ? "" : " (dead)")" }.joined(separator: ", "),
             String(format: "%.0fs", e.ageSeconds),
             e.state + (e.problem.map { ": \($0)" } ?? "")]
        }
        let widths = head.indices.map { i in ([head[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ") + "\n"
        }
        return line(head) + rows.map(line).joined()
    }
}

/// `ringbench rm NAME` / `ringbench rm --stale`.
struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove a named ring or queue (refusing while a live process holds it, unless --force), or every stale one.",
        discussion: """
            Removing a name never unmaps: processes that have the ring keep using it until they exit.
            """)

    @Argument(help: ArgumentHelp("Ring or queue name (as `ringbench ls` shows it).", valueName: "NAME"))
    var name: String?

    @Flag(help: "Remove every ring and queue whose creator and endpoints are all gone.")
    var stale = false

    @Flag(help: "Remove even while a live process holds it, or when it is corrupt.")
    var force = false

    @Option(help: ArgumentHelp("Directory of ring files and SysV key files.", valueName: "DIR"))
    var directory: String = "/dev/shm"

    func run() throws {
        let entries = try RingDirectory.scan(directory)
        if stale {
            guard name == nil else { throw CommandFailure(message: "give either NAME or --stale, not both", code: 2) }
            for entry in entries where entry.isStale {
                if entry.kind == "SPSC ring" || entry.kind == "record ring" {
                    // Checked again and removed by the library, in one step.
                    let removed = try? RingNames.removeStale(backing: RegionBacking(rawValue: entry.backing) ?? .mmap, name: entry.name,
                                                             options: RegionOptions(directory: directory))
                    guard removed == true else { continue }
                } else {
                    try RingDirectory.remove(entry, directory: directory)
                }
                print("removed \(entry.name) (\(entry.kind), \(entry.backing))")
            }
            return
        }
        guard let name else { throw CommandFailure(message: "give a NAME to remove, or --stale", code: 2) }
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw CommandFailure(message: "no ring or queue '\(name)' of this user in \(directory)")
        }
        if !force {
            if let live = entry.owners.first(where: \.alive) {
                // A queue's members are not named (pid 0): they share one witness byte.
                let who = live.pid > 0 ? "its \(live.role) (pid \(live.pid)) is alive" : "its \(live.role) are alive"
                throw CommandFailure(message: "'\(name)' is in use: \(who); use --force to remove it anyway")
            }
            if entry.state == "creating" {
                throw CommandFailure(message: "'\(name)' is being created (not yet published by its creator); use --force to remove it")
            }
            if entry.state == "corrupt" {
                throw CommandFailure(message: "'\(name)' is corrupt (\(entry.problem ?? "?")); use --force to remove it")
            }
        }
        try RingDirectory.remove(entry, directory: directory)
        print("removed \(entry.name)")
    }
}
