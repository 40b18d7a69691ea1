import CShim
#if canImport(Glibc)
import Glibc
#endif

/// POSIX message queues, one per direction, named uniquely per run
/// ("/ringbench-PID-N-forward"), created exclusively with mode 0600 and
/// mq_msgsize equal to the message size, so the kernel itself refuses any
/// other length. The parent creates them; the children open them by name
/// like unrelated processes, and the parent unlinks the names as soon as
/// both have.
public struct POSIXMessageQueueTransport: Transport {
    public static let name = "posix-mq"
    public static var capabilities: TransportCapabilities { KernelLimits.posixMessage.capabilities }

    nonisolated(unsafe) static var created = 0

    let scenario: Scenario
    let names: Duplex<String>

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        self.scenario = scenario
        Self.created += 1
        let prefix = "/ringbench-\(getpid())-\(Self.created)"
        // msg_max deep: the default ceiling for an unprivileged queue.
        let depth = KernelLimits.posixQueueDepth, size = scenario.messageSize
        names = try Duplex(forward: prefix + "-forward", backward: prefix + "-backward").map { name throws(HarnessError) in
            cleanup.ledger.record(.posixQueue(name))
            let queue = try KernelCall.create("mq_open(\(name), O_CREAT|O_EXCL, maxmsg \(depth), msgsize \(size))") {
                cshim_mq_create(name, depth, size)
            }
            // mq_unlink once both children have opened it: the queue lives
            // on until the last descriptor closes.
            cleanup.registerName("posix message queue \(name)") { _ = cshim_mq_unlink(name) }
            _ = cshim_mq_close(queue)
            return name
        }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let (inbound, outbound) = names.sides(for: role)
        let receiveQueue = try Self.open(inbound, O_RDONLY)
        let sendQueue: Int32
        do { sendQueue = try Self.open(outbound, O_WRONLY) } catch {
            _ = cshim_mq_close(receiveQueue)
            throw error
        }
        var port = DatagramPort(POSIXQueueChannel(sendQueue: sendQueue, receiveQueue: receiveQueue),
                                messageSize: scenario.messageSize)
        return try visitor.visit(&port)
    }

    static func open(_ name: String, _ access: Int32) throws(HarnessError) -> Int32 {
        try KernelCall.create("mq_open(\(name))") { cshim_mq_open(name, access) }
    }
}

/// mq_send/mq_receive at priority 0 (plain FIFO order).
struct POSIXQueueChannel: MessageChannel {
    let sendQueue: Int32
    let receiveQueue: Int32
    var label: String { "posix-mq" }

    func send(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) {
        let queue = sendQueue
        _ = try KernelCall.check("mq_send(\(label), \(size) bytes)") { cshim_mq_send(queue, buffer, size) }
    }

    func receive(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) -> Int {
        let queue = receiveQueue
        return try KernelCall.check("mq_receive(\(label))") { cshim_mq_receive(queue, buffer, size) }
    }

    func close() {
        _ = cshim_mq_close(sendQueue)
        _ = cshim_mq_close(receiveQueue)
    }
}
