#if canImport(Glibc)
import Glibc
#endif

extension ProcessIdentity {
    /// Whether this process can still write to a region: alive and not a
    /// zombie. A killed process whose parent has not reaped it yet still
    /// `isAlive` (its pid is taken), but its memory is gone: for a ring it is
    /// a dead peer.
    var canStillWrite: Bool { isAlive && !Self.isZombie(pid: pid) }

    /// The state field (3) of /proc/PID/stat is Z (zombie) or X (dead). The
    /// command name before it is in parentheses and may hold ')': the state
    /// follows the last one.
    static func isZombie(pid: Int32) -> Bool {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true } // no such process any more
        defer { _ = close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0, let close = buffer[0..<count].lastIndex(of: UInt8(ascii: ")")), close + 2 < count else { return false }
        let state = buffer[close + 2]
        return state == UInt8(ascii: "Z") || state == UInt8(ascii: "X")
    }
}
