/// Two AF_UNIX datagram sockets bound to paths in a private directory and
/// connected to each other's path. The parent binds and connects both before
/// forking, so no datagram can be sent to a path that is not bound yet; each
/// child keeps one socket.
public struct UnixDatagramTransport: Transport {
    public static let name = "unix-dgram"
    public static var capabilities: TransportCapabilities { KernelLimits.unixDatagram.capabilities }

    let scenario: Scenario
    let producerSocket: Int32
    let consumerSocket: Int32

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        self.scenario = scenario
        let directory = try PrivateDirectory(purpose: "unix-dgram", cleanup: cleanup)
        let producerPath = directory.file("producer.sock"), consumerPath = directory.file("consumer.sock")
        producerSocket = try UnixSocket.bound(.datagram, to: producerPath, cleanup: cleanup)
        consumerSocket = try UnixSocket.bound(.datagram, to: consumerPath, cleanup: cleanup)
        try UnixSocket.connect(producerSocket, to: consumerPath)
        try UnixSocket.connect(consumerSocket, to: producerPath)
        // Both sockets are connected to each other: the paths (and the
        // directory) are no longer needed by anyone, even before the fork.
        cleanup.releaseNames()
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let channel = SocketDatagramChannel(fd: role.isProducer ? producerSocket : consumerSocket, label: Self.name)
        var port = DatagramPort(channel, messageSize: scenario.messageSize)
        return try visitor.visit(&port)
    }
}
