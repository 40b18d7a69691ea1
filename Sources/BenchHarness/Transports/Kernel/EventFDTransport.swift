import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Two eventfd counters made by the parent, one per direction. Roundtrip only:
/// a read returns the *sum* of every write since the last read, so a counter
/// can carry one value in flight, not a stream.
///
/// What integrity can check with 8 bytes: a message is only its stamp (no
/// room for a checksum). The counter carries stamp + 1 (a counter at 0 has
/// nothing to read, and a write of UInt64.max is refused), and end of stream
/// travels as UInt64.max - 1, a stamp no producer index can form. Were two
/// values ever in flight, the read would return their sum, which decodes to a
/// wrong sequence number and shows up as lost, reordered or duplicated.
public struct EventFDTransport: Transport {
    public static let name = "eventfd"
    public static let capabilities = TransportCapabilities(
        modes: [.roundtrip], maximumMessageSize: 8,
        limitReason: "an eventfd counter is one 64-bit value; roundtrip only")

    let counters: Duplex<Int32>

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        counters = try Duplex(forward: "forward", backward: "backward").map { direction throws(HarnessError) in
            let fd = try KernelCall.create("eventfd (\(direction))") { cshim_eventfd() }
            KernelCall.closeOnCleanup(fd, "\(direction) eventfd", cleanup)
            return fd
        }
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let (inbound, outbound) = counters.sides(for: role)
        var port = DatagramPort(EventFDChannel(readFD: inbound, writeFD: outbound), messageSize: 8)
        return try visitor.visit(&port)
    }
}

struct EventFDChannel: MessageChannel {
    let readFD: Int32
    let writeFD: Int32
    var label: String { "eventfd" }

    static let endOfStream = UInt64.max - 1

    func send(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) {
        let stamp = buffer.load(as: UInt64.self)
        var value = stamp == MessageCodec.endOfStream ? Self.endOfStream : stamp &+ 1
        let fd = writeFD
        let n = try KernelCall.check("write(eventfd)") { write(fd, &value, 8) }
        guard n == 8 else { throw .protocolViolation("write(eventfd) took \(n) of 8 bytes") }
    }

    func receive(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) -> Int {
        var value: UInt64 = 0
        let fd = readFD
        let n = try KernelCall.check("read(eventfd)") { read(fd, &value, 8) }
        guard n == 8 else { throw .protocolViolation("read(eventfd) returned \(n) of 8 bytes") }
        buffer.storeBytes(of: value == Self.endOfStream ? MessageCodec.endOfStream : value &- 1, as: UInt64.self)
        return 8
    }
}
