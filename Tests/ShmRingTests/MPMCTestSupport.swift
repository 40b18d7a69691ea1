import Foundation
@testable import ShmRing

/// A private directory under /dev/shm for region files, removed afterwards.
final class MPMCScratch {
    let path: String

    init() throws {
        var template = Array("/dev/shm/ringbench-mpmc-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShmError.invalidArgument("mkdtemp failed") }
        path = String(cString: made)
    }

    var options: RegionOptions { RegionOptions(directory: path, openTimeoutSeconds: 0.2) }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// SysV objects and /dev/shm entries, to prove a test left nothing behind.
/// Other processes on the machine may create and remove objects meanwhile,
/// so `leftovers` reports only new objects that persist.
struct MPMCIPCState: Equatable {
    var entries: Set<String> = []

    static func take() -> MPMCIPCState {
        var entries = Set<String>()
        for kind in ["shm", "sem", "msg"] {
            let text = (try? String(contentsOfFile: "/proc/sysvipc/\(kind)", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                entries.insert("\(kind) " + line.split(separator: " ").prefix(2).joined(separator: " "))
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? [] { entries.insert("devshm \(name)") }
        return MPMCIPCState(entries: entries)
    }

    /// New objects since `before` that are still there after up to 5 s.
    static func leftovers(since before: MPMCIPCState) -> [String] {
        var extra = take().entries.subtracting(before.entries)
        var waited = 0
        while !extra.isEmpty, waited < 50 {
            usleep(100_000)
            waited += 1
            extra.formIntersection(take().entries)
        }
        return extra.sorted()
    }

    static func semaphoreIDs() -> Set<Int32> {
        let text = (try? String(contentsOfFile: "/proc/sysvipc/sem", encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").dropFirst().compactMap { line in
            line.split(separator: " ").dropFirst().first.flatMap { Int32($0) }
        })
    }
}
