#if canImport(Glibc)
import Glibc
#endif

/// Named pipes: the parent makes two FIFOs (one per direction) with mkfifo in
/// a private directory; each child opens them by path, as unrelated processes
/// would. Opening a FIFO blocks until the other side opens it too, so both
/// children open the forward FIFO first and the backward one second: the
/// opens pair up in the same order and cannot deadlock.
public struct FIFOTransport: Transport {
    public static let name = "fifo"
    public static let capabilities = TransportCapabilities()

    let scenario: Scenario
    let paths: Duplex<String>

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        self.scenario = scenario
        let directory = try PrivateDirectory(purpose: "fifo", cleanup: cleanup)
        paths = try Duplex(forward: directory.file("forward"), backward: directory.file("backward")).map { path throws(HarnessError) in
            cleanup.ledger.record(.file(path))
            _ = try KernelCall.create("mkfifo(\(path))") { mkfifo(path, 0o600) }
            // Both children have it open once they arrive: the path can go.
            cleanup.registerName("fifo \(path)") { _ = unlink(path) }
            return path
        }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let producer = role.isProducer
        // Forward first, then backward, in both children (see above).
        let forwardFD = try Self.open(paths.forward, producer ? O_WRONLY : O_RDONLY)
        let backwardFD: Int32
        do { backwardFD = try Self.open(paths.backward, producer ? O_RDONLY : O_WRONLY) } catch {
            _ = close(forwardFD)
            throw error
        }
        let (inbound, outbound) = Duplex(forward: forwardFD, backward: backwardFD).sides(for: role)
        var port = StreamPort(readFD: inbound, writeFD: outbound, ownsDescriptors: true, label: "fifo", scenario: scenario)
        return try visitor.visit(&port)
    }

    static func open(_ path: String, _ access: Int32) throws(HarnessError) -> Int32 {
        try KernelCall.check("open(\(path), \(access == O_RDONLY ? "O_RDONLY" : "O_WRONLY"))") {
            Glibc.open(path, access | O_NOFOLLOW | O_CLOEXEC)
        }
    }
}
