import CShim
#if canImport(Glibc)
import Glibc
#endif

/// One SysV message queue (msgget with IPC_PRIVATE, mode 0600) carries both
/// directions, told apart by mtype: 1 forward, 2 backward. msgrcv asks for
/// its own type only, so an echo can never be read by the process that sent
/// the ping. Removed with IPC_RMID at cleanup.
public struct SysVMessageQueueTransport: Transport {
    public static let name = "sysv-msgq"
    public static var capabilities: TransportCapabilities { KernelLimits.sysvMessage.capabilities }

    let scenario: Scenario
    let queue: Int32

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        self.scenario = scenario
        let queue = try KernelCall.create("msgget(IPC_PRIVATE)") { msgget(cshim_IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0o600) }
        cleanup.register("sysv message queue \(queue)") { _ = msgctl(queue, IPC_RMID, nil) }
        // IPC_RMID destroys a queue at once, so it cannot be unnamed while in
        // use: if the parent is killed, the stale reclaim removes it.
        cleanup.ledger.record(.messageQueue(queue))
        self.queue = queue
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let (inbound, outbound) = Duplex(forward: 1, backward: 2).sides(for: role)
        var port = DatagramPort(SysVQueueChannel(queue: queue, sendType: outbound, receiveType: inbound),
                                messageSize: scenario.messageSize)
        return try visitor.visit(&port)
    }
}

/// msgsnd/msgrcv on one queue; the buffer starts with the `long mtype` the
/// calls expect in front of the payload.
struct SysVQueueChannel: MessageChannel {
    static var headerSize: Int { MemoryLayout<Int>.size }
    let queue: Int32
    let sendType: Int
    let receiveType: Int
    var label: String { "sysv-msgq \(queue)" }

    func send(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) {
        buffer.storeBytes(of: sendType, as: Int.self)
        let queue = queue
        _ = try KernelCall.check("msgsnd(\(label), \(size) bytes)") { msgsnd(queue, buffer, size, 0) }
    }

    /// Without MSG_NOERROR, a longer message fails with E2BIG instead of being cut.
    func receive(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) -> Int {
        let queue = queue, type = receiveType
        let length = try KernelCall.check("msgrcv(\(label), mtype \(type))") { msgrcv(queue, buffer, size, type, 0) }
        let got = buffer.load(as: Int.self)
        guard got == type else { throw .protocolViolation("msgrcv(\(label)) asked for mtype \(type) and got \(got)") }
        return length
    }
}
