import CShim

extension BroadcastRing.Consumer {
    /// Where a lent record is, for the validation after the caller's read.
    struct LentRecord {
        let position: UInt64
        let sequence: UInt64
        let length: Int
    }

    /// Whether a record lent by `tryPeekHeld` or `peekHeld` awaits `releaseHeld()`.
    public var holdsRecord: Bool { lent != nil }

    /// `tryPeek` for a read that goes on after the call returns (callers
    /// that cannot read inside a closure: the C ABI's peek): `.record` lends
    /// the next record's payload in place until `releaseHeld()`, which
    /// validates the read as `tryPeek` validates its closure's. Nothing read
    /// may be trusted before `releaseHeld()` returned `.record`: under
    /// `.overwrite` the producer may write over the bytes meanwhile. One
    /// record at a time: `invalidArgument` while one is lent. Until
    /// `releaseHeld()`, do not call the other reads or `release()` (they
    /// would release the record without validating it).
    public mutating func tryPeekHeld() throws(ShmError) -> BroadcastDelivery<UnsafeRawBufferPointer>? {
        try lend { (consumer) throws(ShmError) in try consumer.tryPeek { $0 } }
    }

    /// Blocking `tryPeekHeld` (waits as `peek`); nil at the end of the stream.
    public mutating func peekHeld(timeoutSeconds: Double?) throws(ShmError) -> BroadcastDelivery<UnsafeRawBufferPointer>? {
        try lend { (consumer) throws(ShmError) in try consumer.peek(timeoutSeconds: timeoutSeconds) { $0 } }
    }

    /// Runs `peek` (which shows the payload itself) and remembers the record
    /// it delivered: the one just before `readPosition`.
    mutating func lend(_ peek: (inout Self) throws(ShmError) -> BroadcastDelivery<UnsafeRawBufferPointer>?) throws(ShmError) -> BroadcastDelivery<UnsafeRawBufferPointer>? {
        guard lent == nil else {
            throw .invalidArgument("broadcast ring '\(ring.region.name)': the record peeked before is not released yet")
        }
        let delivery = try peek(&self)
        if case .record(let payload)? = delivery {
            let footprint = UInt64(RecordLayout.footprint(length: payload.count, headerSize: BroadcastLayout.recordHeaderSize))
            lent = LentRecord(position: readPosition &- footprint, sequence: nextSequence &- 1, length: payload.count)
        }
        return delivery
    }

    /// Ends the read of the lent record and releases it (with everything
    /// read before), validated as `tryPeek` validates its closure's read:
    /// `.record(())` when the bytes were intact from the peek to now.
    /// `.overwrite`: `.overrun(lost:)` when the producer wrote over them
    /// meanwhile: what was read is garbage, to be dropped; `lost` counts that
    /// record and every one overwritten after it, up to the oldest intact
    /// record, where the consumer continues (as a lapped `tryPeek`).
    /// `.evict`: throws `evicted` when the producer dropped the consumer
    /// meanwhile (the read may be torn as well). Nothing lent: `release()`.
    public mutating func releaseHeld() throws(ShmError) -> BroadcastDelivery<Void> {
        guard let record = lent else {
            release()
            return .record(())
        }
        lent = nil
        if geometry.overwrite, !geometry.wasIntact(record.position) {
            // Back to the lent record, which was lost: `overrun` counts from
            // it, and it was never read (nor counted as consumed).
            readPosition = record.position
            nextSequence = record.sequence
            unreleasedRecords &-= 1
            unreleasedBytes &-= UInt64(truncatingIfNeeded: record.length)
            guard let lost = try overrun() else {
                throw geometry.corrupt("broadcast ring '\(ring.region.name)': record \(record.sequence) at \(record.position) was overwritten, yet the oldest record is not past it")
            }
            return .overrun(lost: lost)
        }
        if geometry.evict, let evicted = evictedError() { throw evicted }
        release()
        return .record(())
    }
}
