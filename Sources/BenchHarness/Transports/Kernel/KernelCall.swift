import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The one error path of the kernel transports: a failed call becomes
/// `HarnessError.systemCall` naming the call and carrying errno; EINTR is
/// retried. `call` is an autoclosure, so the hot path builds no string unless
/// the call fails.
enum KernelCall {
    /// Runs `body` until it returns a non-negative result or fails with
    /// something other than EINTR (children install no handlers, so EINTR is
    /// rare: a stop/continue under a debugger).
    @inline(__always)
    static func check<R: BinaryInteger>(_ call: @autoclosure () -> String, _ body: () -> R) throws(HarnessError) -> R {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code != EINTR { throw failure(call(), errno: code) }
        }
    }

    /// The error for a call that failed with `errno` (read it before building any string).
    static func failure(_ call: String, errno code: Int32) -> HarnessError {
        .systemCall(call: call, errno: Errno(rawValue: code))
    }

    /// Creation-time calls: -1 with errno becomes an error, no retry.
    static func create(_ call: @autoclosure () -> String, _ body: () -> Int32) throws(HarnessError) -> Int32 {
        let result = body()
        if result < 0 { throw failure(call(), errno: errno) }
        return result
    }

    /// Closes `fd` when the run's cleanup runs (the parent's copy of an
    /// object both children inherited).
    static func closeOnCleanup(_ fd: Int32, _ label: String, _ cleanup: CleanupRegistry) {
        cleanup.register("\(label) (fd \(fd))") { _ = Glibc.close(fd) }
    }
}

/// Kernel limits read when the harness starts, so the one-line rejection of an
/// oversized message quotes this machine's value and where it came from.
enum KernelLimits {
    /// The first integer in a /proc/sys file, or nil.
    static func integer(at path: String) -> Int? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 64)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 63) }
        guard n > 0 else { return nil }
        let text = String(decoding: bytes[0..<n], as: UTF8.self)
        return text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) }
    }

    /// A message-size limit and the reason the rejection prints.
    struct Limit {
        var bytes: Int
        var reason: String
        /// What a transport bounded by this limit can do (all modes).
        var capabilities: TransportCapabilities {
            TransportCapabilities(maximumMessageSize: bytes, limitReason: reason)
        }
    }

    /// A limit from `path`, with the reason the error message prints.
    static func limit(_ name: String, at path: String, fallback: Int) -> Limit {
        if let value = integer(at: path) { return Limit(bytes: value, reason: "\(name), from \(path)") }
        return Limit(bytes: fallback, reason: "\(name); \(path) was unreadable, so the usual default")
    }

    /// SysV message queues: msgsnd rejects messages above msgmax, and a queue
    /// holds at most msgmnb bytes, so the smaller of the two is the limit.
    static var sysvMessage: Limit {
        let msgmax = limit("msgmax", at: "/proc/sys/kernel/msgmax", fallback: 8192)
        let msgmnb = limit("msgmnb", at: "/proc/sys/kernel/msgmnb", fallback: 16384)
        return msgmnb.bytes < msgmax.bytes ? msgmnb : msgmax
    }

    /// POSIX message queues: mq_open refuses mq_msgsize above msgsize_max
    /// (unprivileged; the harness keeps to it even as root).
    static var posixMessage: Limit {
        limit("msgsize_max", at: "/proc/sys/fs/mqueue/msgsize_max", fallback: 8192)
    }

    /// Queue depth for POSIX message queues: msg_max.
    static var posixQueueDepth: Int { integer(at: "/proc/sys/fs/mqueue/msg_max") ?? 10 }

    /// AF_UNIX datagrams: unix_dgram_sendmsg fails with EMSGSIZE above the
    /// socket's send buffer less 32 bytes; sockets start with wmem_default.
    static var unixDatagram: Limit {
        let buffer = limit("the default socket send buffer", at: "/proc/sys/net/core/wmem_default", fallback: 212_992)
        return Limit(bytes: buffer.bytes - 32, reason: buffer.reason + ", less the 32 bytes AF_UNIX reserves")
    }
}
