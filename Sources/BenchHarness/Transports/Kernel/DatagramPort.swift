/// A kernel object that moves whole messages: one call sends one message,
/// one call receives one (datagram sockets, SysV and POSIX message queues,
/// queued signals, eventfd counters).
protocol MessageChannel {
    /// Bytes the kernel wants in front of each message in the same buffer
    /// (SysV's `mtype`); 0 for the others.
    static var headerSize: Int { get }
    /// Names the channel in error messages ("socketpair-dgram", ...).
    var label: String { get }
    /// Sends the message whose header starts at `buffer`, `size` payload bytes after it.
    func send(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError)
    /// Blocks for one message, stores header and payload at `buffer` (room for
    /// `size` payload bytes) and returns the payload length the kernel reported.
    func receive(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) -> Int
    /// Closes what this process opened itself (nothing for inherited objects).
    func close()
}

extension MessageChannel {
    static var headerSize: Int { 0 }
    func close() {}
}

/// One process's end of a message-at-a-time transport. Message boundaries are
/// the kernel's, so there is no framing: a message of any other length than
/// the scenario's is a protocol violation. A batch of K is K send calls, and
/// `receive` hands out one message per call (one system call each): the
/// per-message system call is what these transports cost. Both buffers are
/// allocated once, here.
struct DatagramPort<Channel: MessageChannel>: MessagePort, ~Copyable {
    let channel: Channel
    let messageSize: Int
    let outbound: UnsafeMutableRawPointer
    let inbound: UnsafeMutableRawPointer

    init(_ channel: Channel, messageSize: Int) {
        self.channel = channel
        self.messageSize = messageSize
        outbound = .allocate(byteCount: Channel.headerSize + messageSize, alignment: 64)
        inbound = .allocate(byteCount: Channel.headerSize + messageSize, alignment: 64)
    }

    deinit {
        outbound.deallocate()
        inbound.deallocate()
        channel.close()
    }

    mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
        let payload = UnsafeMutableRawBufferPointer(start: outbound + Channel.headerSize, count: messageSize)
        for i in 0..<count {
            fill(i, payload)
            try channel.send(outbound, size: messageSize)
        }
    }

    mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
        let length = try channel.receive(inbound, size: messageSize)
        guard length == messageSize else {
            throw .protocolViolation("\(channel.label) delivered a \(length)-byte message where \(messageSize) bytes were expected")
        }
        body(0, UnsafeRawBufferPointer(start: inbound + Channel.headerSize, count: messageSize))
        return 1
    }
}
