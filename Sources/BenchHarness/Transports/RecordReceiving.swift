import ShmRing

/// The receive half of a record port: the record ring's consumer, read in
/// place (`tryPeek { }` / `release`), up to `maxCount` records a call. The
/// `records` transport and the `records-fanout` transport's consumers both
/// receive through it, as both send through `RecordSender`.
public struct RecordReceiver: ~Copyable {
    @usableFromInline var consumer: RecordRing.Consumer
    /// Wait in the library's blocking `peek` (`--wait`) rather than spin here.
    @usableFromInline let blocking: Bool

    init(_ consumer: consuming RecordRing.Consumer, blocking: Bool) {
        self.consumer = consumer
        self.blocking = blocking
    }

    /// Blocks until at least one record is there, then passes up to
    /// `maxCount` to `body(i, bytes)`; returns how many.
    @inlinable @inline(__always)
    public mutating func receive(maxCount: Int, _ body: (Int, UnsafeRawBufferPointer) -> Void) throws(HarnessError) -> Int {
        var spin = SpinWait()
        do throws(ShmError) {
            while true {
                var n = 0
                while n < maxCount, try consumer.tryPeek({ record in body(n, record) }) != nil {
                    consumer.release()
                    n &+= 1
                }
                if n > 0 { return n }
                if blocking {
                    guard try consumer.peek(timeoutSeconds: nil, { record in body(0, record) }) != nil else { break }
                    consumer.release()
                    return 1
                }
                spin.wait()
            }
        } catch { throw .shm(error) }
        throw RingWait.unexpectedEnd
    }
}
