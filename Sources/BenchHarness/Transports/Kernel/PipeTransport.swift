#if canImport(Glibc)
import Glibc
#endif

/// pipe(2) + fork: the parent creates one pipe per direction before forking
/// and both children inherit them, the oldest Unix IPC there is.
public struct PipeTransport: Transport {
    public static let name = "pipe"
    public static let capabilities = TransportCapabilities()

    struct Ends { let read: Int32; let write: Int32 }

    let scenario: Scenario
    let pipes: Duplex<Ends>

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        self.scenario = scenario
        pipes = Duplex(forward: try Self.makePipe("forward", cleanup), backward: try Self.makePipe("backward", cleanup))
    }

    static func makePipe(_ direction: String, _ cleanup: CleanupRegistry) throws(HarnessError) -> Ends {
        var fds: [Int32] = [-1, -1]
        let r = fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) }
        if r < 0 { throw KernelCall.failure("pipe (\(direction))", errno: errno) }
        KernelCall.closeOnCleanup(fds[0], "\(direction) pipe read end", cleanup)
        KernelCall.closeOnCleanup(fds[1], "\(direction) pipe write end", cleanup)
        return Ends(read: fds[0], write: fds[1])
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let (inbound, outbound) = pipes.sides(for: role)
        var port = StreamPort(readFD: inbound.read, writeFD: outbound.write, ownsDescriptors: false,
                              label: "pipe", scenario: scenario)
        return try visitor.visit(&port)
    }
}
