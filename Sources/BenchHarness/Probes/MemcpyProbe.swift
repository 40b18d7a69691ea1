import CShim
#if canImport(Glibc)
import Glibc
#endif

/// Single-core memcpy bandwidth at the sizes that bound message transports:
/// 4 KiB (L1-resident), 64 KiB (L2), 1 MiB (L2/L3) and 64 MiB (memory).
///
/// One child pinned to one CPU allocates two 64 MiB buffers and touches
/// every page first, so page faults stay out of the figures. For each size
/// it times batches of copies between the same two addresses (so the small
/// sizes stay cache-resident, as a ring slot does) until `budgetSeconds` and
/// at least `minimumBatches` have passed, and keeps the fastest batch. The
/// copies go through `cshim_memcpy_repeat`, out of line with a memory
/// clobber after each copy, so the optimiser cannot merge or drop them.
public enum MemcpyProbe {
    public static let sizes = [4 << 10, 64 << 10, 1 << 20, 64 << 20]
    static let budgetSeconds = 0.06
    static let minimumBatches = 3
    /// Bytes per timed batch: long enough that the two clock reads vanish.
    static let bytesPerBatch = 16 << 20

    /// Runs in a probe child: figures "memcpy.<bytes>" in bytes per second.
    /// `inspect` sees both buffers, touched, before anything is timed.
    static func measureInChild(sizes: [Int] = sizes,
                               inspect: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> [String: Double] = { _, _ in [:] })
        throws(HarnessError) -> [String: Double] {
        let largest = sizes.max() ?? 0
        guard let source = malloc(largest), let destination = malloc(largest) else {
            throw .systemCall(call: "malloc(\(largest)) for the memcpy probe", errno: .noMemory)
        }
        defer { free(source); free(destination) }
        // Touch every page of both buffers before timing anything. Not with
        // zeros: the optimiser turns malloc + memset(0) into calloc, which
        // leaves a fresh mapping untouched (seen by the NUMA page census).
        memset(source, 0x5A, largest)
        memset(destination, 0xA5, largest)
        var figures = inspect(UnsafeRawBufferPointer(start: source, count: largest),
                              UnsafeRawBufferPointer(start: destination, count: largest))
        for size in sizes {
            let copies = UInt64(max(1, bytesPerBatch / size))
            let deadline = cshim_monotonic_ns() &+ UInt64(budgetSeconds * 1e9)
            var best = 0.0
            var batches = 0
            while batches < minimumBatches || cshim_monotonic_ns() < deadline {
                let start = cshim_monotonic_ns()
                cshim_memcpy_repeat(destination, source, size, copies)
                let seconds = Double(cshim_monotonic_ns() &- start) / 1e9
                if seconds > 0 { best = max(best, Double(size) * Double(copies) / seconds) }
                batches += 1
            }
            figures["memcpy.\(size)"] = best
        }
        return figures
    }

    static func results(from figures: [String: Double], cpu: Int) throws(HarnessError) -> [MemcpyBandwidth] {
        var results: [MemcpyBandwidth] = []
        for size in sizes {
            guard let rate = figures["memcpy.\(size)"] else {
                throw .protocolViolation("memcpy probe reported no figure for \(size) bytes")
            }
            results.append(MemcpyBandwidth(bytes: size, bytesPerSecond: rate, cpu: cpu))
        }
        return results
    }
}
