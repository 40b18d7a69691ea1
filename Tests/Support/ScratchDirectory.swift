import Foundation
import ShmRing

/// A private directory under /dev/shm for region files, removed afterwards.
public final class ScratchDirectory {
    public let path: String

    public init() throws {
        var template = Array("/dev/shm/ringbench-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShmError.invalidArgument("mkdtemp failed") }
        path = String(cString: made)
    }

    /// Options that put regions here and give up opening quickly.
    public var options: RegionOptions { RegionOptions(directory: path, openTimeoutSeconds: 0.2) }

    public func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
