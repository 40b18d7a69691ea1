import Histogram

/// Times a pinger's round trips, for the harness's pinger and both
/// round-trip floors alike.
///
/// By default every trip is a sample: one clock read ends trip i and starts
/// trip i+1, so every nanosecond of the loop is in some sample, and each
/// sample carries the cost of one clock read (~20 ns of TSC here, against
/// round trips of ~100 ns). With `tripsPerSample` K > 1 (`--trips-per-sample`)
/// the clock is read once per K trips and the sample is their mean trip:
/// how the cache-line probe times its ping-pong (batches of 100), so a
/// transport's round trip can be set beside the probe's with the clock's
/// cost out of both. Percentiles of K > 1 are percentiles of K-trip means:
/// one slow trip in K barely moves its sample, so p99 and p99.9 then say
/// little about single trips (docs/results-format.md, `tripsPerSample`).
///
/// Use: `start()` after the start barrier; `recordPending()` while the next
/// ping is in flight (the histogram's bookkeeping hides behind the wait);
/// `tripEnded()` as soon as an echo is in; `finish()` after the last trip.
@usableFromInline
struct TripTimer {
    @usableFromInline let clock: CycleClock
    @usableFromInline let tripsPerSample: UInt64
    @usableFromInline var histogram = LatencyHistogram.make()
    /// The clock reading that opened the current sample.
    @usableFromInline var began: UInt64 = 0
    /// Trips ended in the current sample.
    @usableFromInline var inSample: UInt64 = 0
    /// A finished sample not yet in the histogram: its ticks and its trips.
    @usableFromInline var pendingTicks: UInt64 = 0
    @usableFromInline var pendingTrips: UInt64 = 0

    @usableFromInline
    init(clock: CycleClock, tripsPerSample: Int?) {
        self.clock = clock
        self.tripsPerSample = UInt64(max(1, tripsPerSample ?? 1))
    }

    @inlinable
    mutating func start() {
        began = clock.now()
        inSample = 0
        pendingTrips = 0
    }

    /// Puts the last finished sample in the histogram, as its mean trip.
    @inlinable
    mutating func recordPending() {
        guard pendingTrips > 0 else { return }
        let nanoseconds = clock.nanoseconds(pendingTicks)
        // No division for single trips: the default path stays as it was.
        _ = histogram.record(pendingTrips == 1 ? nanoseconds : nanoseconds / pendingTrips)
        pendingTrips = 0
    }

    /// Counts one trip; returns the clock reading when it ended a sample
    /// (for a duration-bounded loop's deadline), nil otherwise.
    @inlinable
    mutating func tripEnded() -> UInt64? {
        inSample &+= 1
        guard inSample == tripsPerSample else { return nil }
        return closeSample()
    }

    /// Records what is pending and a last, partial sample (its mean over the
    /// trips it had), and returns the histogram's buckets for the report.
    @usableFromInline
    mutating func finish() -> [UInt64] {
        recordPending()
        if inSample > 0 {
            _ = closeSample()
            recordPending()
        }
        return LatencyHistogram.buckets(histogram)
    }

    @inlinable
    mutating func closeSample() -> UInt64 {
        let ended = clock.now()
        // Not yet recorded: the histogram's work waits for the next flight.
        pendingTicks = ended &- began
        pendingTrips = inSample
        began = ended
        inSample = 0
        return ended
    }
}
