@testable import BenchHarness
import CShim
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The shared fd helpers of the kernel transports, in one process (no fork):
/// framing over short reads, protocol violations, channel encodings.
final class KernelPortTests: XCTestCase {
    func scenario(size: Int, batch: Int = 1) -> Scenario {
        Scenario(transport: "pipe", backing: nil, messageSize: size, messages: 10, capacity: 1, batch: batch, mode: .throughput)
    }

    func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) }, 0)
        return (fds[0], fds[1])
    }

    /// Records written in odd-sized pieces come out whole and in order.
    func testStreamPortReassemblesRecordsAcrossShortReads() throws {
        let (r, w) = try makePipe()
        defer { close(r); close(w) }
        let size = 24, count = 5
        var bytes = [UInt8]()
        for i in 0..<count { bytes += [UInt8](repeating: UInt8(i + 1), count: size) }
        var port = StreamPort(readFD: r, writeFD: w, ownsDescriptors: false, label: "test pipe", scenario: scenario(size: size, batch: 2))
        var seen: [UInt8] = []
        var offset = 0
        for piece in [7, 30, 1, 50, 32] {
            _ = bytes[offset..<offset + piece].withUnsafeBytes { write(w, $0.baseAddress, piece) }
            offset += piece
            while seen.count < offset / size {
                _ = try port.receive(maxCount: 4) { _, record in
                    XCTAssertEqual(record.count, size)
                    XCTAssertTrue(record.allSatisfy { $0 == record[0] }, "a record mixes bytes of two messages")
                    seen.append(record[0])
                }
            }
        }
        XCTAssertEqual(seen, [1, 2, 3, 4, 5])
    }

    /// A batch goes out as consecutive records, filled in place.
    func testStreamPortSendsABatchInOneBuffer() throws {
        let (r, w) = try makePipe()
        defer { close(r); close(w) }
        var port = StreamPort(readFD: r, writeFD: w, ownsDescriptors: false, label: "test pipe", scenario: scenario(size: 16, batch: 3))
        try port.send(count: 7) { i, record in record.initializeMemory(as: UInt8.self, repeating: UInt8(i)) }
        var raw = [UInt8](repeating: 0, count: 7 * 16)
        XCTAssertEqual(raw.withUnsafeMutableBytes { read(r, $0.baseAddress, 7 * 16) }, 7 * 16)
        XCTAssertEqual(raw, (0..<7).flatMap { [UInt8](repeating: UInt8($0), count: 16) })
    }

    func testStreamPortReportsAStreamThatEndsInsideARecord() throws {
        let (r, w) = try makePipe()
        defer { close(r) }
        let partial = [UInt8](repeating: 9, count: 10)
        _ = partial.withUnsafeBytes { write(w, $0.baseAddress, 10) }
        close(w)
        var port = StreamPort(readFD: r, writeFD: r, ownsDescriptors: false, label: "test pipe", scenario: scenario(size: 16))
        XCTAssertThrowsError(try port.receive(maxCount: 1) { _, _ in }) { error in
            guard case let HarnessError.protocolViolation(text)? = error as? HarnessError else { return XCTFail("\(error)") }
            XCTAssertTrue(text.contains("10 bytes into a 16-byte message"), text)
        }
    }

    /// A datagram of another length than the scenario's is refused, shorter or longer.
    func testDatagramPortRejectsWrongSizedDatagrams() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(fds.withUnsafeMutableBufferPointer { socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, $0.baseAddress!) }, 0)
        defer { close(fds[0]); close(fds[1]) }
        var port = DatagramPort(SocketDatagramChannel(fd: fds[1], label: "test dgram"), messageSize: 16)
        for length in [15, 17] {
            let bytes = [UInt8](repeating: 1, count: length)
            XCTAssertEqual(bytes.withUnsafeBytes { send(fds[0], $0.baseAddress, length, 0) }, length)
            XCTAssertThrowsError(try port.receive(maxCount: 1) { _, _ in XCTFail("delivered a \(length)-byte datagram") })
        }
        let exact = [UInt8](repeating: 3, count: 16)
        _ = exact.withUnsafeBytes { send(fds[0], $0.baseAddress, 16, 0) }
        XCTAssertEqual(try port.receive(maxCount: 1) { _, bytes in XCTAssertEqual(Array(bytes), exact) }, 1)
    }

    /// Both directions share one SysV queue; each side reads only its mtype.
    func testSysVChannelKeepsDirectionsApartByType() throws {
        let queue = msgget(cshim_IPC_PRIVATE, IPC_CREAT | 0o600)
        XCTAssertGreaterThanOrEqual(queue, 0)
        defer { _ = msgctl(queue, IPC_RMID, nil) }
        var producer = DatagramPort(SysVQueueChannel(queue: queue, sendType: 1, receiveType: 2), messageSize: 8)
        var consumer = DatagramPort(SysVQueueChannel(queue: queue, sendType: 2, receiveType: 1), messageSize: 8)
        try producer.send(count: 2) { i, bytes in bytes.storeBytes(of: UInt64(100 + i), as: UInt64.self) }
        try consumer.send(count: 1) { _, bytes in bytes.storeBytes(of: UInt64(7), as: UInt64.self) }
        var got: [UInt64] = []
        for _ in 0..<2 { _ = try consumer.receive(maxCount: 1) { _, bytes in got.append(bytes.load(as: UInt64.self)) } }
        _ = try producer.receive(maxCount: 1) { _, bytes in got.append(bytes.load(as: UInt64.self)) }
        XCTAssertEqual(got, [100, 101, 7])
    }

    /// eventfd carries stamp + 1, and end of stream survives the trip.
    func testEventFDChannelEncodesStampsAndEndOfStream() throws {
        let fd = cshim_eventfd()
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var port = DatagramPort(EventFDChannel(readFD: fd, writeFD: fd), messageSize: 8)
        for stamp in [0, 41, MessageCodec.stamp(producer: 3, sequence: MessageCodec.sequenceMask), MessageCodec.endOfStream] {
            try port.send(count: 1) { _, bytes in bytes.storeBytes(of: stamp, as: UInt64.self) }
            _ = try port.receive(maxCount: 1) { _, bytes in XCTAssertEqual(bytes.load(as: UInt64.self), stamp) }
        }
    }

    func testKernelLimitsComeFromProc() {
        let msgmax = KernelLimits.integer(at: "/proc/sys/kernel/msgmax")
        XCTAssertNotNil(msgmax)
        XCTAssertTrue(SysVMessageQueueTransport.capabilities.limitReason.contains("/proc/sys/kernel/msg"))
        XCTAssertLessThanOrEqual(SysVMessageQueueTransport.capabilities.maximumMessageSize ?? .max, msgmax ?? 0)
        XCTAssertEqual(SignalTransport.capabilities.modes, [.roundtrip])
        XCTAssertEqual(EventFDTransport.capabilities.modes, [.roundtrip])
    }
}
