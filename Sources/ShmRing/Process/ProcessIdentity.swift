import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A process, named so that a reused pid is not mistaken for it: the pid plus
/// the process's start time (field 22 of `/proc/PID/stat`, clock ticks since
/// boot), which a later process with the same pid cannot share.
///
/// Regions store identities packed into one 64-bit word (`packed`), so that a
/// claim is a single compare-and-swap: the pid in the low 32 bits, the low 32
/// bits of the start time in the high ones. At 100 ticks per second those 32
/// bits wrap after 497 days; a pid reused by a process started exactly a
/// multiple of that later is the only confusion left.
public struct ProcessIdentity: Sendable, Hashable, CustomStringConvertible {
    public let pid: Int32
    /// Low 32 bits of the start time in clock ticks since boot.
    public let startTime: UInt32

    public init(pid: Int32, startTime: UInt32) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The calling process. Reads /proc: set-up and liveness checks only,
    /// never a hot path. Nil only if /proc is not mounted.
    public static func current() -> ProcessIdentity? { of(pid: getpid()) }

    /// The process running now under `pid`, or nil if there is none.
    public static func of(pid: Int32) -> ProcessIdentity? {
        guard pid > 0, let start = startTime(of: pid) else { return nil }
        return ProcessIdentity(pid: pid, startTime: UInt32(truncatingIfNeeded: start))
    }

    /// Whether this very process (not a successor with its pid) may still
    /// exist, judged by pid in this process's PID namespace: false only when
    /// /proc shows a different process under the pid, or no process has the
    /// pid at all (no /proc entry and `kill(pid, 0)` says ESRCH). When /proc
    /// cannot tell (hidepid, out of descriptors) the answer is true. A zombie
    /// counts as alive until its parent reaps it.
    ///
    /// A pid means nothing in another PID namespace, so rings never judge by
    /// it: they ask their kernel-held witness (`RegionWitness`). This is for
    /// structures that record only a pid (the harness's ledgers).
    public var isAlive: Bool {
        switch Self.readStartTime(of: pid) {
        case .success(let start): return UInt32(truncatingIfNeeded: start) == startTime
        case .failure(.noSuchFileOrDirectory), .failure(.noSuchProcess): return !(kill(pid, 0) == -1 && errnoValue() == ESRCH)
        case .failure: return true
        }
    }

    /// One word for the region: 0 never names a process (pid 0 is invalid).
    public var packed: UInt64 { UInt64(UInt32(bitPattern: pid)) | UInt64(startTime) << 32 }

    /// Unpacks a word read from a region (untrusted): nil for 0 or a pid out of range.
    public init?(packed word: UInt64) {
        let pid = Int32(truncatingIfNeeded: word & 0xFFFF_FFFF)
        guard pid > 0 else { return nil }
        self.init(pid: pid, startTime: UInt32(truncatingIfNeeded: word >> 32))
    }

    public var description: String { "pid \(pid)" }

    /// Field 22 of /proc/PID/stat. The command name (field 2) is in
    /// parentheses and may hold spaces or ')', so fields are counted from
    /// the last ')'.
    static func startTime(of pid: Int32) -> UInt64? {
        try? readStartTime(of: pid).get()
    }

    /// `startTime(of:)` with the reason it failed (the errno of open or
    /// read; EINVAL for a line that does not parse).
    static func readStartTime(of pid: Int32) -> Result<UInt64, Errno> {
        let fd = Glibc.open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Errno(rawValue: errnoValue())) }
        defer { _ = Glibc.close(fd) }
        // 1 KiB holds the line up to field 22 whatever the name (at most 64 bytes).
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return .failure(count < 0 ? Errno(rawValue: errnoValue()) : .invalidArgument) }
        let line = buffer[0..<count]
        guard let close = line.lastIndex(of: UInt8(ascii: ")")) else { return .failure(.invalidArgument) }
        // After ") " come field 3 (state), 4, ...: field 22 is the 20th.
        let fields = line[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard fields.count >= 20 else { return .failure(.invalidArgument) }
        var value: UInt64 = 0
        for digit in fields[fields.startIndex + 19] {
            guard digit >= 0x30, digit <= 0x39 else { return .failure(.invalidArgument) }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(digit - 0x30))
            guard !o1, !o2 else { return .failure(.invalidArgument) }
            value = sum
        }
        return .success(value)
    }
}
