import CShim
#if canImport(Glibc)
import Glibc
#endif

/// How a record ring's stream ends other than by `close()` (see
/// docs/design.md, "Stream ends of the record ring"):
/// * a producer that fails `abort`s: its consumer delivers what was
///   published, then fails with `producerFailed` (the `abortedAt` and
///   `abortReason` words);
/// * a consumer that fails `abort`s: its producer can see it
///   (`consumerFailure`) and wait for a successor or give up; the next
///   consumer's claim clears the word;
/// * the consumer that reads a stream to its end stamps `consumedBy`, so a
///   consumer that claims the ring afterwards fails with `streamConsumed`
///   instead of seeing an empty, "complete" stream.
/// The words are in `EndpointLayout` (abortedAt ... consumedBy).
extension RecordRing {
    @usableFromInline
    static func streamWord(_ ring: RecordRing, _ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (ring.region.base + offset).assumingMemoryBound(to: UInt64.self)
    }
}

extension RecordRing.Producer {
    /// Ends the stream as failed after the records written so far (they
    /// are committed and will be delivered), with `reason` for the consumer,
    /// which then throws `producerFailed`. Gives the end up.
    public consuming func abort(reason: StreamFailure) {
        commit()
        // Relaxed: published by the release store of abortedAt below.
        cshim_store_relaxed(RecordRing.streamWord(ring, EndpointLayout.abortReasonOffset), reason.code)
        // Release: the records and the reason are visible to a consumer that
        // acquires this word.
        cshim_store_release(RecordRing.streamWord(ring, EndpointLayout.abortedAtOffset), writePosition &+ 1)
        endpoint.wakePeerIfSleeping()
    }

    /// Why the consumer gave up (`Consumer.abort`), while no successor has
    /// claimed its end; nil otherwise. A producer waiting for room checks it
    /// on its slow path.
    public var consumerFailure: StreamFailure? {
        // Acquire: pairs with the release in `Consumer.abort`.
        StreamFailure(code: cshim_load_acquire(RecordRing.streamWord(ring, EndpointLayout.consumerFailureOffset)))
    }

    /// Whether a process holds the consuming end now.
    public var consumerClaimed: Bool {
        // Relaxed: a snapshot for a decision taken on a slow path.
        cshim_load_relaxed(RecordRing.streamWord(ring, EndpointLayout.consumerOwnerOffset)) != 0
    }
}

extension RecordRing.Consumer {
    /// Gives the stream up with `reason` (records read but not released
    /// stay for a successor) and releases the end: the producer sees
    /// `consumerFailure` until another consumer claims the end.
    public consuming func abort(reason: StreamFailure) {
        // Release: pairs with the producer's acquire in `consumerFailure`.
        cshim_store_release(RecordRing.streamWord(ring, EndpointLayout.consumerFailureOffset), reason.code)
        endpoint.wakePeerIfSleeping()
    }

    /// Whether a process holds the producing end now (a producer that
    /// released it without `close` or `abort` left the stream unfinished).
    public var producerClaimed: Bool {
        // Relaxed: a snapshot for a decision taken on a slow path.
        cshim_load_relaxed(RecordRing.streamWord(ring, EndpointLayout.producerOwnerOffset)) != 0
    }

    /// Throws `producerFailed` once the consumer has read everything an
    /// aborted producer published. Part of the wait's `settled` check.
    @usableFromInline
    func checkAborted() throws(ShmError) {
        // Acquire: pairs with the release in `Producer.abort`.
        let abortedAt = cshim_load_acquire(RecordRing.streamWord(ring, EndpointLayout.abortedAtOffset))
        guard abortedAt != 0, abortedAt &- 1 <= readPosition else { return }
        guard abortedAt &- 1 == readPosition else {
            throw endpoint.corrupt("abort at \(abortedAt &- 1) is behind the consumer position \(readPosition) in ring '\(ring.region.name)'")
        }
        let code = cshim_load_relaxed(RecordRing.streamWord(ring, EndpointLayout.abortReasonOffset))
        throw .producerFailed(name: ring.region.name, reason: StreamFailure(code: code) ?? .other)
    }

    /// At claim: a stream another consumer already read to its end is not
    /// read again (`streamConsumed`); a predecessor's failure is cleared
    /// (this consumer takes over).
    static func checkClaimable(_ ring: RecordRing) throws(ShmError) {
        // Acquire: pairs with the release in `markConsumed`.
        let consumer = cshim_load_acquire(RecordRing.streamWord(ring, EndpointLayout.consumedByOffset))
        if consumer != 0 { throw .streamConsumed(name: ring.region.name, pid: Int32(truncatingIfNeeded: consumer)) }
        // Release: the producer may now wait for this consumer again.
        cshim_store_release(RecordRing.streamWord(ring, EndpointLayout.consumerFailureOffset), 0)
    }

    /// At end of stream, before the name goes: stamp this process as the one
    /// that consumed the stream.
    @usableFromInline
    func markConsumed() {
        // Release: ordered before this consumer releases its end, which a
        // later claimant acquires.
        cshim_store_release(RecordRing.streamWord(ring, EndpointLayout.consumedByOffset), UInt64(UInt32(bitPattern: getpid())))
    }
}
