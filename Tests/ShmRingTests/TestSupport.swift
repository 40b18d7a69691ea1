import Foundation
import XCTest
@testable import ShmRing

/// A private directory for region files, removed after the test.
final class ScratchDirectory {
    let path: String

    init() throws {
        var template = Array("/dev/shm/ringbench-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShmError.invalidArgument("mkdtemp failed") }
        path = String(cString: made)
    }

    var options: RegionOptions { RegionOptions(directory: path, openTimeoutSeconds: 0.2) }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Counts SysV shared-memory segments, to check nothing leaked.
func sysvSegmentCount() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/sysvipc/shm", encoding: .utf8) else { return 0 }
    return text.split(separator: "\n").count - 1
}
