import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where `MachineDoctor` reads the machine from: the real files under "/",
/// or a test's faked tree under another root. Every input of every check
/// goes through here, so a test can fake each one.
///
/// Inputs that are not files have a file form under a faked root:
/// - free space of a mount point P (statvfs): `<root>/.statvfs/P`, "TOTAL_BYTES FREE_BYTES"
/// - this process's uid: the `Uid:` line of `<root>/proc/self/status`
public struct MachineFiles: Sendable {
    public var root: String
    /// The environment variable that points `ringbench doctor` at a faked root.
    public static let rootVariable = "SHMRING_DOCTOR_ROOT"

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    var isReal: Bool { root == "/" }

    func path(_ absolute: String) -> String { isReal ? absolute : root + absolute }

    /// A file's contents, trimmed; nil when it cannot be read.
    public func read(_ absolute: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path(absolute)) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A file's contents as an integer.
    /// A file's contents as an integer; values past Int64 (shmmax's
    /// "unlimited" is 2^64 - 2^24 - 1) read as Int64.max.
    public func integer(_ absolute: String) -> Int64? {
        guard let text = read(absolute) else { return nil }
        return Int64(text) ?? UInt64(text).map { _ in Int64.max }
    }

    /// A symbolic link's target (namespace links read "ipc:[4026531839]").
    public func link(_ absolute: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let n = readlink(path(absolute), &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Entry names in a directory, sorted; [] when it cannot be listed.
    public func list(_ absolute: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(absolute))) ?? []).sorted()
    }

    public func exists(_ absolute: String) -> Bool { FileManager.default.fileExists(atPath: path(absolute)) }

    /// Total and free bytes of the filesystem at `mountPoint`.
    public func space(_ mountPoint: String) -> (total: UInt64, free: UInt64)? {
        if !isReal {
            let parts = read("/.statvfs" + mountPoint)?.split(separator: " ").compactMap { UInt64($0) } ?? []
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
        var info = statvfs()
        guard statvfs(mountPoint, &info) == 0 else { return nil }
        return (UInt64(info.f_blocks) * UInt64(info.f_frsize), UInt64(info.f_bavail) * UInt64(info.f_frsize))
    }

    /// This process's real uid.
    public func uid() -> UInt32? {
        if isReal { return getuid() }
        let line = read("/proc/self/status")?.split(separator: "\n").first { $0.hasPrefix("Uid:") }
        return line?.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { UInt32($0) }
    }
}
