/// socketpair(AF_UNIX, SOCK_STREAM): one bidirectional connected pair made by
/// the parent; the producer keeps one end, the consumer the other.
public struct SocketPairStreamTransport: Transport {
    public static let name = "socketpair-stream"
    public static let capabilities = TransportCapabilities()

    let scenario: Scenario
    let pair: UnixSocket.Pair

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        self.scenario = scenario
        pair = try UnixSocket.Pair(.stream, cleanup: cleanup)
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let fd = pair.end(for: role)
        var port = StreamPort(readFD: fd, writeFD: fd, ownsDescriptors: false, label: Self.name, scenario: scenario)
        return try visitor.visit(&port)
    }
}
