// A test helper, never a product: opens a semaphore-guarded MPMC queue by
// name and pushes or pops one batch, so that a test can arm a death point
// (SHMRING_DEBUG_DIE_AT, see ShmRing's DeathPoint) and watch the process
// die or stop inside the queue's critical section. Tests launch it; it never
// forks.
//
//   MPMCDeathHelper push|pop DIRECTORY NAME COUNT
//
// push writes COUNT messages 1000, 1001, ... (u64); pop reads up to COUNT.
// Prints "finished" and exits 0 when no death point stopped it.
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

func fail(_ text: String, status: Int32) -> Never {
    let line = text + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count == 5, ["push", "pop"].contains(arguments[1]), let count = Int(arguments[4]), count > 0 else {
    fail("usage: MPMCDeathHelper push|pop DIRECTORY NAME COUNT", status: 2)
}
do {
    let options = RegionOptions(directory: arguments[2], openTimeoutSeconds: 5)
    let queue = try MPMCSemaphoreQueue.open(backing: .mmap, name: arguments[3], options: options)
    if arguments[1] == "push" {
        try queue.pushBatch(count: count, timeoutSeconds: 10) { i, slot in
            slot.storeBytes(of: UInt64(1000 + i), as: UInt64.self)
        }
    } else {
        _ = try queue.popBatch(maxCount: count, timeoutSeconds: 10) { _, _ in }
    }
    print("finished")
} catch {
    fail("MPMCDeathHelper: \(error)", status: 1)
}
