import Foundation

/// What the machine holds in SysV IPC and /dev/shm, to prove a test left
/// nothing behind.
public struct IPCSnapshot: Equatable, Sendable {
    public var entries: Set<String>

    public init(entries: Set<String> = []) { self.entries = entries }

    public static func take() -> IPCSnapshot {
        var entries = Set<String>()
        for kind in ["shm", "sem", "msg"] {
            let text = (try? String(contentsOfFile: "/proc/sysvipc/\(kind)", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                entries.insert("\(kind) " + line.split(separator: " ").prefix(2).joined(separator: " "))
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? [] { entries.insert("devshm \(name)") }
        return IPCSnapshot(entries: entries)
    }

    /// Objects that appeared since this snapshot and are still there after up
    /// to 5 s: objects other processes create and remove meanwhile drop out,
    /// leaks stay. Objects of a process still running (a /dev/shm name
    /// carrying its pid, a segment it created) are another test's run in
    /// progress, not a leak: a leak outlives its process.
    public func leftovers() -> [String] {
        var extra = Self.take().entries.subtracting(entries)
        var waited = 0
        while !extra.isEmpty, waited < 50 {
            usleep(100_000)
            waited += 1
            extra.formIntersection(Self.take().entries)
        }
        return extra.filter { !Self.belongsToRunningProcess($0) }.sorted()
    }

    /// "devshm ringbench-PID-..." or "shm KEY ID" of a segment whose creator
    /// (cpid in /proc/sysvipc/shm) is alive.
    static func belongsToRunningProcess(_ entry: String) -> Bool {
        let fields = entry.split(separator: " ")
        if fields.first == "devshm", fields.count == 2, fields[1].hasPrefix("ringbench-"),
           let pid = Int32(fields[1].dropFirst("ringbench-".count).prefix { $0.isNumber }) {
            return kill(pid, 0) == 0
        }
        if fields.first == "shm", fields.count == 3 {
            let table = (try? String(contentsOfFile: "/proc/sysvipc/shm", encoding: .utf8)) ?? ""
            for line in table.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                if f.count > 4, f[1] == fields[2], let cpid = Int32(f[4]) { return kill(cpid, 0) == 0 }
            }
        }
        return false
    }

    /// Ids of the SysV semaphore sets that exist now.
    public static func semaphoreIDs() -> Set<Int32> {
        let text = (try? String(contentsOfFile: "/proc/sysvipc/sem", encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").dropFirst().compactMap { line in
            line.split(separator: " ").dropFirst().first.flatMap { Int32($0) }
        })
    }

    /// SysV shared-memory segments that exist now.
    public static func segmentCount() -> Int {
        let text = (try? String(contentsOfFile: "/proc/sysvipc/shm", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").count - 1
    }
}
