#if canImport(Glibc)
import Glibc
#endif

/// One process's end of a byte-stream transport (pipe, FIFO, stream socket).
///
/// Framing: every message of a run has the scenario's fixed size, so frames
/// are fixed-length records and need no length prefix (a prefix would add
/// bytes and a second parse to every message for nothing). The stream only
/// guarantees byte order, not boundaries: `send` loops over short writes,
/// `receive` over short reads, and a record split across reads is carried
/// over to the next read. A stream that ends inside a record is a protocol
/// violation.
///
/// Batching: `send(count: K)` fills K records into one buffer and writes them
/// with one write(2) (looping only if the kernel takes less); `receive` reads
/// as much as its buffer holds and hands out every complete record in it.
/// Both buffers are allocated once, here, never in the loop.
struct StreamPort: MessagePort, ~Copyable {
    let readFD: Int32
    let writeFD: Int32
    /// Whether this port opened its descriptors itself (FIFO opens, accept,
    /// connect) and so closes them; inherited descriptors belong to the parent.
    let ownsDescriptors: Bool
    let label: String
    let messageSize: Int
    /// Records per write (the batch, capped so a buffer stays below 1 MiB).
    let recordsPerWrite: Int
    let outbound: UnsafeMutableRawPointer
    let inbound: UnsafeMutableRawPointer
    let inboundCapacity: Int
    /// Received bytes not yet delivered are inbound[head..<tail].
    var head = 0
    var tail = 0

    static let bufferCap = 1 << 20

    init(readFD: Int32, writeFD: Int32, ownsDescriptors: Bool, label: String, scenario: Scenario) {
        self.readFD = readFD
        self.writeFD = writeFD
        self.ownsDescriptors = ownsDescriptors
        self.label = label
        messageSize = scenario.messageSize
        recordsPerWrite = max(1, min(scenario.batch, Self.bufferCap / scenario.messageSize))
        outbound = .allocate(byteCount: recordsPerWrite * messageSize, alignment: 64)
        inboundCapacity = recordsPerWrite * messageSize
        inbound = .allocate(byteCount: inboundCapacity, alignment: 64)
        // A dead peer then shows up as EPIPE from write, a one-line error,
        // rather than a child killed by SIGPIPE. (Ports are built in the children.)
        _ = signal(SIGPIPE, SIG_IGN)
    }

    deinit {
        outbound.deallocate()
        inbound.deallocate()
        if ownsDescriptors {
            _ = Glibc.close(readFD)
            if writeFD != readFD { _ = Glibc.close(writeFD) }
        }
    }

    mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
        var first = 0
        while first < count {
            let records = min(recordsPerWrite, count - first)
            for i in 0..<records {
                fill(first + i, UnsafeMutableRawBufferPointer(start: outbound + i * messageSize, count: messageSize))
            }
            try writeAll(records * messageSize)
            first += records
        }
    }

    private func writeAll(_ length: Int) throws(HarnessError) {
        let fd = writeFD, out = outbound, label = label
        var done = 0
        while done < length {
            let n = try KernelCall.check("write(\(label), \(length - done) bytes)") { Glibc.write(fd, out + done, length - done) }
            guard n > 0 else { throw .protocolViolation("write(\(label)) accepted 0 of \(length - done) bytes") }
            done += n
        }
    }

    mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
        if tail - head < messageSize { try fillRecord() }
        let count = min(maxCount, (tail - head) / messageSize)
        for i in 0..<count {
            body(i, UnsafeRawBufferPointer(start: inbound + head, count: messageSize))
            head += messageSize
        }
        if head == tail { head = 0; tail = 0 }
        return count
    }

    /// Reads until at least one whole record is buffered, first moving a
    /// partial record (less than messageSize bytes) to the buffer's start.
    private mutating func fillRecord() throws(HarnessError) {
        if head > 0 {
            let partial = tail - head
            if partial > 0 { inbound.copyMemory(from: inbound + head, byteCount: partial) }
            head = 0
            tail = partial
        }
        let fd = readFD, buffer = inbound, capacity = inboundCapacity, label = label
        while tail < messageSize {
            let start = tail
            let n = try KernelCall.check("read(\(label), \(capacity - start) bytes)") { Glibc.read(fd, buffer + start, capacity - start) }
            if n == 0 {
                throw .protocolViolation("\(label): the peer closed the stream \(start) bytes into a \(messageSize)-byte message")
            }
            tail += n
        }
    }
}
