import CShim
#if canImport(Glibc)
import Glibc
#endif

/// AF_UNIX socket set-up shared by the socketpair and path-based transports.
enum UnixSocket {
    enum Kind {
        case stream, datagram
        var type: Int32 { self == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue) }
        var name: String { self == .stream ? "SOCK_STREAM" : "SOCK_DGRAM" }
    }

    static func make(_ kind: Kind) throws(HarnessError) -> Int32 {
        try KernelCall.create("socket(AF_UNIX, \(kind.name))") { socket(AF_UNIX, kind.type | Int32(SOCK_CLOEXEC.rawValue), 0) }
    }

    /// A connected pair made by the parent: the producer keeps the first
    /// end, the consumer the second; the parent's copies close at cleanup.
    struct Pair {
        let ends: (producer: Int32, consumer: Int32)

        init(_ kind: Kind, cleanup: CleanupRegistry) throws(HarnessError) {
            var fds: [Int32] = [-1, -1]
            let r = fds.withUnsafeMutableBufferPointer { socketpair(AF_UNIX, kind.type | Int32(SOCK_CLOEXEC.rawValue), 0, $0.baseAddress!) }
            if r < 0 { throw KernelCall.failure("socketpair(AF_UNIX, \(kind.name))", errno: errno) }
            KernelCall.closeOnCleanup(fds[0], "socketpair end", cleanup)
            KernelCall.closeOnCleanup(fds[1], "socketpair end", cleanup)
            ends = (fds[0], fds[1])
        }

        func end(for role: Role) -> Int32 { role.isProducer ? ends.producer : ends.consumer }
    }

    /// A socket bound to `path`: any stale entry is unlinked first, and the
    /// path's removal is registered the moment bind has created it.
    static func bound(_ kind: Kind, to path: String, cleanup: CleanupRegistry) throws(HarnessError) -> Int32 {
        let fd = try make(kind)
        KernelCall.closeOnCleanup(fd, "socket \(path)", cleanup)
        _ = unlink(path)
        cleanup.ledger.record(.file(path))
        _ = try KernelCall.create("bind(\(path))") { cshim_unix_bind(fd, path) }
        // Connected or accepted sockets do not need the path any more.
        cleanup.registerName("socket path \(path)") { _ = unlink(path) }
        return fd
    }

    static func connect(_ fd: Int32, to path: String) throws(HarnessError) {
        _ = try KernelCall.create("connect(\(path))") { cshim_unix_connect(fd, path) }
    }
}

/// Datagram sockets as a message channel: send and recv of whole datagrams.
/// MSG_TRUNC makes recv report a datagram's real length even when it is
/// longer than the buffer, so an oversized one is caught, not cut silently.
struct SocketDatagramChannel: MessageChannel {
    let fd: Int32
    let label: String

    func send(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) {
        let fd = fd
        let n = try KernelCall.check("send(\(label), \(size) bytes)") { Glibc.send(fd, buffer, size, Int32(MSG_NOSIGNAL)) }
        guard n == size else { throw .protocolViolation("send(\(label)) sent \(n) of a \(size)-byte datagram") }
    }

    func receive(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) -> Int {
        let fd = fd
        return try KernelCall.check("recv(\(label))") { recv(fd, buffer, size, Int32(MSG_TRUNC)) }
    }
}
