/// socketpair(AF_UNIX, SOCK_DGRAM): a connected pair like socketpair-stream,
/// but every send is one datagram and every recv returns exactly one.
public struct SocketPairDatagramTransport: Transport {
    public static let name = "socketpair-dgram"
    public static var capabilities: TransportCapabilities { KernelLimits.unixDatagram.capabilities }

    let messageSize: Int
    let pair: UnixSocket.Pair

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        messageSize = scenario.messageSize
        pair = try UnixSocket.Pair(.datagram, cleanup: cleanup)
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        var port = DatagramPort(SocketDatagramChannel(fd: pair.end(for: role), label: Self.name), messageSize: messageSize)
        return try visitor.visit(&port)
    }
}
