#if canImport(Glibc)
import Glibc
#endif

/// A listening AF_UNIX stream socket on a path: the parent creates, binds and
/// listens before forking (so a connect can never race the bind); the
/// consumer accepts, the producer creates its own socket and connects by
/// path, the way a client reaches a local server.
public struct UnixStreamTransport: Transport {
    public static let name = "unix-stream"
    public static let capabilities = TransportCapabilities()

    let scenario: Scenario
    let path: String
    let listener: Int32

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        self.scenario = scenario
        path = try PrivateDirectory(purpose: "unix-stream", cleanup: cleanup).file("stream.sock")
        listener = try UnixSocket.bound(.stream, to: path, cleanup: cleanup)
        let fd = listener
        _ = try KernelCall.create("listen(\(path))") { listen(fd, 1) }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let fd: Int32
        if role.isProducer {
            fd = try UnixSocket.make(.stream)
            do { try UnixSocket.connect(fd, to: path) } catch {
                _ = close(fd)
                throw error
            }
        } else {
            let listener = listener
            fd = try KernelCall.check("accept(\(path))") { accept(listener, nil, nil) }
        }
        var port = StreamPort(readFD: fd, writeFD: fd, ownsDescriptors: true, label: Self.name, scenario: scenario)
        return try visitor.visit(&port)
    }
}
