import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// `produce-zombie`: the producer end is claimed and used by a second
/// thread; the main thread then calls pthread_exit, so /proc shows the
/// process as a zombie (Z) while it still writes.
enum ZombieLeader {
    nonisolated(unsafe) static var ring: SPSCRing?
    nonisolated(unsafe) static var count: UInt64 = 0
    nonisolated(unsafe) static var wait = WaitStrategy.park

    static func run(ring: SPSCRing, count: UInt64, wait: WaitStrategy) -> Never {
        Self.ring = ring
        Self.count = count
        Self.wait = wait
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { _ in ZombieLeader.produce(); return nil }, nil) == 0 else { fail("pthread_create") }
        // The claim shows in the region's producer word.
        while ring.snapshot().producerPid != getpid() { usleep(1000) }
        print("claimed")
        fflush(nil)
        pthread_exit(nil)
    }

    static func produce() {
        do {
            var producer = try ring!.producer(wait: wait)
            for i in 0..<count { try producer.push(i, timeoutSeconds: 30) }
            while true { pause(); _ = producer.ring }
        } catch {
            fail("zombie leader's producer thread: \(error)")
        }
    }
}

func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
