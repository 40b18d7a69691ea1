import CShim
import ShmRing

/// The parent's anonymous shared mapping through which forked children
/// synchronise and report back. Layout (little-endian u64 words):
///
/// | offset | field                                                        |
/// |-------:|--------------------------------------------------------------|
/// |      0 | arrived: children that reached the start barrier             |
/// |     64 | producersDone: producers that sent their last message         |
/// |    128 | stop: non-zero tells duration-bounded loops to finish        |
/// |    192 | consumersEnded: consumers that received their end of stream  |
/// |    256 | sent[i]: messages producer i sent (up to `maxProducers`)      |
/// |   8448 | progress[c]: per child, one 64-byte line of u64 counts the   |
/// |        | child publishes while it runs: received, duplicated,         |
/// |        | reordered, corrupt (what a consumer killed mid-run, or one   |
/// |        | stopped because its peer died, had verified)                 |
/// | 8448 + 64 x children | report slots: per child, u64 length then bytes |
///
/// The parent treats report bytes as untrusted: lengths are bounds-checked.
public final class ControlBlock: @unchecked Sendable {
    public let region: SharedRegion
    public let children: Int
    public let reportSlotSize: Int

    static let arrivedOffset = 0
    static let producersDoneOffset = 64
    static let stopOffset = 128
    static let consumersEndedOffset = 192
    static let sentOffset = 256
    public static let maxProducers = 1024
    static let progressOffset = sentOffset + 8 * maxProducers
    var slotsOffset: Int { Self.progressOffset + 64 * children }

    public init(children: Int, reportSlotSize: Int = 1 << 20) throws(HarnessError) {
        self.children = children
        self.reportSlotSize = reportSlotSize
        do {
            region = try SharedRegion.create(backing: .anon, name: "control", size: Self.progressOffset + 64 * children + children * reportSlotSize)
        } catch { throw .shm(error) }
    }

    func word(_ offset: Int) -> UnsafeMutablePointer<UInt64> {
        (region.base + offset).assumingMemoryBound(to: UInt64.self)
    }

    /// Waits until all children have arrived. acq_rel on the arrival: each
    /// child's set-up (opening its endpoint) happens before any peer passes
    /// the barrier; acquire on the spin load pairs with the last arrival.
    public func arriveAndWait() {
        let total = UInt64(children)
        _ = cshim_fetch_add_acq_rel(word(Self.arrivedOffset), 1)
        var spin = SpinWait()
        while cshim_load_acquire(word(Self.arrivedOffset)) < total { spin.wait() }
    }

    /// Parent side: every child has arrived at the start barrier. Acquire
    /// pairs with the arrivals' acq_rel: each child's opening of its
    /// endpoint happened before.
    public var allArrived: Bool { cshim_load_acquire(word(Self.arrivedOffset)) >= UInt64(children) }

    /// Counts a finished producer; returns true for the last one. acq_rel:
    /// the last producer sees every other producer's sends completed.
    public func producerFinished(of producers: Int) -> Bool {
        cshim_fetch_add_acq_rel(word(Self.producersDoneOffset), 1) + 1 == UInt64(producers)
    }

    /// Whether all `producers` have finished sending. Acquire pairs with
    /// `producerFinished`'s release half (only a flag is read here; the
    /// stream itself is ordered by the transport).
    public func producersFinished(_ producers: Int) -> Bool {
        cshim_load_acquire(word(Self.producersDoneOffset)) >= UInt64(producers)
    }

    /// Counts a consumer that received its end-of-stream marker. Release:
    /// pairs with `waitForEndedConsumers`; the marker it took is gone.
    public func consumerEnded() {
        _ = cshim_fetch_add_release(word(Self.consumersEndedOffset), 1)
    }

    /// Waits until `count` consumers have ended. The last producer sends the
    /// markers one at a time and waits for each to be taken: a consumer that
    /// pops a batch could otherwise take two markers and leave another
    /// consumer waiting forever. Acquire pairs with `consumerEnded`.
    public func waitForEndedConsumers(_ count: Int) {
        var spin = SpinWait()
        while cshim_load_acquire(word(Self.consumersEndedOffset)) < UInt64(count) { spin.wait() }
    }

    /// Relaxed: the producer's later `producerFinished` (acq_rel) and the
    /// end-of-stream message order this store before any consumer's read.
    public func setSentCount(producer: Int, _ count: UInt64) {
        precondition(producer < Self.maxProducers)
        cshim_store_relaxed(word(Self.sentOffset + 8 * producer), count)
    }

    /// Read after end of stream; acquire for the reason given above.
    public func sentCount(producer: Int) -> UInt64 {
        cshim_load_acquire(word(Self.sentOffset + 8 * producer))
    }

    /// Relaxed is enough: the flag carries no data, only "stop soon".
    public var stopRequested: Bool { cshim_load_relaxed(word(Self.stopOffset)) != 0 }
    public func requestStop() { cshim_store_relaxed(word(Self.stopOffset), 1) }

    /// Child side, while running: the integrity counts so far. Relaxed: the
    /// parent reads them only after the child is gone (waitpid orders that),
    /// and four independent counters need no order among themselves.
    public func publishProgress(child: Int, _ counts: IntegrityCounts) {
        let line = (region.base + Self.progressOffset + 64 * child).assumingMemoryBound(to: UInt64.self)
        cshim_store_relaxed(line, counts.received)
        cshim_store_relaxed(line + 1, counts.duplicated)
        cshim_store_relaxed(line + 2, counts.reordered)
        cshim_store_relaxed(line + 3, counts.corrupt)
    }

    /// Parent side, after the child exited: its last published counts.
    public func progress(child: Int) -> IntegrityCounts {
        let line = (region.base + Self.progressOffset + 64 * child).assumingMemoryBound(to: UInt64.self)
        var counts = IntegrityCounts()
        counts.received = cshim_load_relaxed(line)
        counts.duplicated = cshim_load_relaxed(line + 1)
        counts.reordered = cshim_load_relaxed(line + 2)
        counts.corrupt = cshim_load_relaxed(line + 3)
        return counts
    }

    /// Child side: stores its encoded report. Oversized reports are cut to an
    /// error report so the parent always has something to read.
    public func writeReport(child: Int, bytes: [UInt8]) {
        let slot = region.base + slotsOffset + child * reportSlotSize
        let payload = bytes.count <= reportSlotSize - 8 ? bytes : Array("report too large".utf8)
        payload.withUnsafeBytes { slot.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        // Release: the bytes are written before the length that announces them.
        cshim_store_release(slot.assumingMemoryBound(to: UInt64.self), UInt64(payload.count))
    }

    /// Parent side, after the child exited: its report, or nil if it wrote none.
    public func readReport(child: Int) -> [UInt8]? {
        let slot = region.base + slotsOffset + child * reportSlotSize
        // Acquire pairs with the child's release store of the length.
        let length = cshim_load_acquire(slot.assumingMemoryBound(to: UInt64.self))
        guard length > 0, length <= UInt64(reportSlotSize - 8) else { return nil }
        return Array(UnsafeRawBufferPointer(start: slot + 8, count: Int(length)))
    }
}
