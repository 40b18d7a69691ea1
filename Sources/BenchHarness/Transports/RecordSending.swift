import ShmRing

/// A producing end that writes variable-length records in place: the record
/// ring's and the broadcast ring's producers. Both transports send through
/// `RecordSender`, so the two differ in their rings alone.
public protocol RecordReserving: ~Copyable {
    mutating func tryReserve(_ length: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool
    mutating func reserve(_ length: Int, timeoutSeconds: Double?,
                          _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError)
    mutating func commit()
}

extension RecordRing.Producer: RecordReserving {}
extension BroadcastRing.Producer: RecordReserving {}

/// The send half of a record port: each message one record, written in
/// place, its length drawn from its sequence number; a batch is published
/// with one `commit`.
public struct RecordSender<Producer: RecordReserving & ~Copyable>: ~Copyable {
    @usableFromInline var producer: Producer
    @usableFromInline let lengths: MessageLengths
    /// Wait in the library's blocking `reserve` (`--wait`) rather than spin here.
    @usableFromInline let blocking: Bool
    /// Records sent: the sequence number of the next one, which fixes its
    /// length (a pinger's pings and an echoer's echoes follow the same sequence).
    @usableFromInline var sent: UInt64 = 0

    init(_ producer: consuming Producer, lengths: MessageLengths, blocking: Bool) {
        self.producer = producer
        self.lengths = lengths
        self.blocking = blocking
    }

    /// Writes `count` records.
    @inlinable @inline(__always)
    public mutating func send(count: Int, _ fill: (Int, UnsafeMutableRawBufferPointer) -> Void) throws(HarnessError) {
        var i = 0
        var spin = SpinWait()
        do throws(ShmError) {
            while i < count {
                let length = lengths.length(sequence: sent)
                let index = i
                if try producer.tryReserve(length, { payload in fill(index, payload) }) {
                    // Written; published at the commit below.
                } else if blocking {
                    try producer.reserve(length, timeoutSeconds: nil) { payload in fill(index, payload) }
                } else {
                    spin.wait()
                    continue
                }
                i &+= 1
                sent &+= 1
            }
            producer.commit()
        } catch { throw .shm(error) }
    }
}
