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

    /// `fork-orphan`: claims the producer of a named ring, forks a child
    /// that only lives on (holding every descriptor the ring's region had
    /// when the fork copied them, but not the witnesses: the fork handler
    /// closed those), prints the child's pid and hangs until killed. The test
    /// kills this parent and checks that its end is dead and claimable while
    /// the child lives.
    ///
    /// The child closes what we were started with beyond stdio, and points
    /// stdout and stderr at /dev/null: Foundation's `Process` gives every
    /// process it launches a socket and learns of its exit only when every
    /// copy of that socket is closed, so a child keeping the copy would hide
    /// this parent's death from the test (its `waitUntilExit` never returned).
    static func orphan(wait: WaitStrategy, create: () throws -> SPSCRing) throws -> Never {
        let inherited = openDescriptors().filter { $0 > 2 }
        let ring = try create()
        var producer = try ring.producer(wait: wait)
        guard try producer.tryPush(UInt64(0)) else { fail("could not push") }
        fflush(nil)
        let child = fork()
        guard child >= 0 else { fail("fork") }
        if child == 0 {
            for fd in inherited { _ = close(fd) }
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { _ = dup2(null, 1); _ = dup2(null, 2); _ = close(null) }
            // The child keeps the mapping and the region's descriptors until killed.
            while true { pause() }
        }
        print("child \(child)")
        fflush(nil)
        while true { pause(); _ = producer.ring }
    }

    /// The descriptors open in this process (from /proc/self/fd, less the
    /// one the listing itself used).
    static func openDescriptors() -> [Int32] {
        guard let dir = opendir("/proc/self/fd") else { fail("opendir /proc/self/fd") }
        var fds: [Int32] = []
        while let entry = readdir(dir) {
            let name = directoryEntryName(entry)
            if let fd = Int32(name) { fds.append(fd) }
        }
        let own = dirfd(dir)
        closedir(dir)
        return fds.filter { $0 != own }
    }
}
