import CPlacement
import Foundation

/// The machine a result was measured on.
public struct MachineInfo: Codable, Sendable {
    public var cpuModel: String
    /// Online CPUs.
    public var cpus: Int
    public var numaNodes: Int
    public var kernel: String
    public var hostname: String?
    /// Every online NUMA node: its CPUs, memory and distances to the others
    /// (/sys/devices/system/node); absent in files written before it existed.
    public var nodes: [NodeInfo]?

    public static func current() -> MachineInfo {
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let host = withUnsafeBytes(of: name.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MachineInfo(cpuModel: cpuModel(), cpus: Int(cplacement_online_cpus()),
                           numaNodes: Int(cplacement_numa_node_count()), kernel: kernel, hostname: host,
                           nodes: SystemTopology().nodes)
    }

    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }
}

extension ToolInfo {
    public static let version = "0.1.0"

    /// The commit is baked in by `make` through RINGBENCH_COMMIT, else read
    /// from the checkout the executable was built in, else "unknown".
    public static func current() -> ToolInfo {
        if let commit = ProcessInfo.processInfo.environment["RINGBENCH_COMMIT"], !commit.isEmpty {
            return ToolInfo(version: version, commit: commit)
        }
        return ToolInfo(version: version, commit: gitCommit() ?? "unknown")
    }

    /// Reads .git/HEAD above the executable without running git (no child
    /// processes from the parent outside the runner).
    static func gitCommit() -> String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            let head = dir.appendingPathComponent(".git/HEAD")
            if let text = try? String(contentsOf: head, encoding: .utf8) {
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard trimmed.hasPrefix("ref: ") else { return trimmed }
                let ref = String(trimmed.dropFirst(5))
                if let sha = try? String(contentsOf: dir.appendingPathComponent(".git/" + ref), encoding: .utf8) {
                    return sha.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                if let packed = try? String(contentsOf: dir.appendingPathComponent(".git/packed-refs"), encoding: .utf8) {
                    for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) {
                        return String(line.prefix { $0 != " " })
                    }
                }
                return nil
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
