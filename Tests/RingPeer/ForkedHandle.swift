import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// `fork-child`: a producer of an anonymous ring, inherited by a forked
/// child. The child's copy must be poisoned (`forkedHandle`), a fresh claim
/// in the child must find the parent's end taken, and closing the child's
/// copy must not end the parent's stream. The helper is single-threaded
/// here, flushes stdio before forking and leaves the child with `_exit`.
enum ForkedHandle {
    static func run(wait: WaitStrategy) throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 4, messageSize: 8)
        var producer = try ring.producer(wait: wait)
        guard try producer.tryPush(UInt64(1)) else { fail("could not push") }
        fflush(nil)
        let child = fork()
        guard child >= 0 else { fail("fork") }
        if child == 0 {
            var problems: [String] = []
            do {
                _ = try producer.tryPush(UInt64(2))
                problems.append("the child's tryPush succeeded")
            } catch ShmError.forkedHandle {} catch { problems.append("tryPush: \(error)") }
            do {
                _ = try producer.tryPushBatch(maxCount: 1) { _, _ in }
                problems.append("the child's tryPushBatch succeeded")
            } catch ShmError.forkedHandle {} catch { problems.append("tryPushBatch: \(error)") }
            do {
                _ = try ring.producer(wait: wait)
                problems.append("the child claimed the parent's live end")
            } catch ShmError.endpointTaken {} catch { problems.append("claim: \(error)") }
            producer.close() // must not end the parent's stream
            for problem in problems { say("ring-peer (forked child): \(problem)") }
            _exit(problems.isEmpty ? 0 : 1)
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { fail("the forked child's copy of the producer was not poisoned (status \(status))") }
        let snapshot = ring.snapshot()
        guard !snapshot.endOfStream, snapshot.pending == 1, snapshot.producerPid == getpid() else {
            fail("the child changed the parent's stream: \(snapshot)")
        }
        guard try producer.tryPush(UInt64(3)) else { fail("the parent could not push after the fork") }
        var consumer = try ring.consumer(wait: wait)
        guard try consumer.tryPop(as: UInt64.self) == 1, try consumer.tryPop(as: UInt64.self) == 3,
              try consumer.tryPop(as: UInt64.self) == nil else { fail("the stream is not 1, 3") }
        producer.close()
    }
}
