import ArgumentParser
import CShim
import Foundation
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// `ringbench journal bench DIR`: the journal's figures in one run (results/vm-2026-12-05-journal/).
/// Append of --size records (.processCrash) against write(2) of the same
/// bytes; replay from .oldest (checksums on and off) against `cat` of the
/// segment files; random seeks; .everyCommit against fdatasync's own rate.
struct JournalBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure the journal on the disk behind DIR (creates and removes DIR/bench-*).")
    @Argument(help: ArgumentHelp("Scratch directory on the disk to measure.", valueName: "DIR")) var directory: String
    @Option var size: Int = 1024
    @Option var count: Int = 1_000_000
    @Option var seeks: Int = 1000
    @Option(name: .customLong("sync-count")) var syncCount: Int = 2000

    func run() throws {
        // Locals: reading an @Option inside a timed loop goes through
        // ArgumentParser's generic getter (the runtime's metadata cache) every time.
        let size = size, count = count, seeks = seeks, syncCount = syncCount
        let journal = directory + "/bench-journal"
        let plain = directory + "/bench-write.dat"
        let synced = directory + "/bench-sync"
        defer { for path in [journal, synced] { try? FileManager.default.removeItem(atPath: path) }; unlink(plain) }
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: size + 24, alignment: 64)
        defer { payload.deallocate() }
        for i in 0..<payload.count { payload[i] = UInt8(truncatingIfNeeded: i) }
        var lines: [String] = ["journal bench: \(count) records of \(size) B, \(seeks) seeks, \(syncCount) synced records, DIR \(directory)"]
        func say(_ line: String) { print(line); lines.append(line) }
        try JournalCommand.guarded { () throws(ShmError) in
            // 1. Append, .processCrash, one commit per record.
            var producer = try Journal.producer(directory: journal)
            let t0 = cshim_monotonic_ns()
            for _ in 0..<count {
                try producer.reserve(size) { $0.baseAddress!.copyMemory(from: payload.baseAddress!, byteCount: size) }
                try producer.commit()
            }
            let append = Double(cshim_monotonic_ns() - t0) / 1e9
            try producer.close()
            say(String(format: "append .processCrash: %.0f records/s, %.0f MB/s of payload (%.2f s)", Double(count) / append, Double(count * size) / append / 1e6, append))
        }
        // 2. write(2) of the same records (24-byte header + payload) to one file.
        let fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CommandFailure(message: "open(\(plain)) failed") }
        let t1 = cshim_monotonic_ns()
        for _ in 0..<count { guard write(fd, payload.baseAddress, size + 24) == size + 24 else { throw CommandFailure(message: "write failed") } }
        let writes = Double(cshim_monotonic_ns() - t1) / 1e9
        close(fd)
        unlink(plain)
        say(String(format: "write(2) of the same records: %.0f records/s, %.0f MB/s of payload (%.2f s)", Double(count) / writes, Double(count * size) / writes / 1e6, writes))
        // 3. Replay from .oldest, then cat of the segment files.
        for verify in [true, false] {
            try JournalCommand.guarded { () throws(ShmError) in
                var tailer = try Journal.tailer(directory: journal, from: .oldest, verifyChecksums: verify)
                var sum: UInt64 = 0, records = 0
                let t = cshim_monotonic_ns()
                while let step = try tailer.tryRead({ r in UInt64(r.payload[r.payload.count - 1]) }) {
                    guard case .record(let v) = step else { break }
                    sum &+= v
                    records += 1
                }
                let s = Double(cshim_monotonic_ns() - t) / 1e9
                say(String(format: "replay .oldest (checksums %@): %d records in %.3f s, %.0f MB/s of payload (sum %llu)", verify ? "on" : "off", records, s, Double(records * size) / s / 1e6, sum))
            }
        }
        let segments = try FileManager.default.contentsOfDirectory(atPath: journal).filter { $0.hasSuffix(".seg") }.map { journal + "/" + $0 }
        let fileBytes = segments.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        let cat = Process()
        cat.executableURL = URL(fileURLWithPath: "/bin/sh")
        cat.arguments = ["-c", "cat \(journal)/*.seg > /dev/null"]
        let t2 = cshim_monotonic_ns()
        try cat.run()
        cat.waitUntilExit()
        let catSeconds = Double(cshim_monotonic_ns() - t2) / 1e9
        say(String(format: "cat of the %d segment files (%.0f MB) to /dev/null: %.3f s, %.0f MB/s of file", segments.count, Double(fileBytes) / 1e6, catSeconds, Double(fileBytes) / catSeconds / 1e6))
        // 4. Random seeks: open a tailer at a random sequence and read that record.
        var latencies: [UInt64] = []
        var generator = SystemRandomNumberGenerator()
        try JournalCommand.guarded { () throws(ShmError) in
            for _ in 0..<seeks {
                let target = UInt64.random(in: 0..<UInt64(count), using: &generator)
                let t = cshim_monotonic_ns()
                var tailer = try Journal.tailer(directory: journal, from: .sequence(target))
                guard case .record(let got)? = try tailer.tryRead({ $0.sequence }), got == target else {
                    throw .corruptRing(reason: "seek to \(target) failed")
                }
                latencies.append(cshim_monotonic_ns() - t)
            }
        }
        latencies.sort()
        say(String(format: "random seek (open tailer at .sequence(n) + read it): median %.1f us, p99 %.1f us, max %.1f us",
                   Double(latencies[latencies.count / 2]) / 1e3, Double(latencies[latencies.count * 99 / 100]) / 1e3, Double(latencies.last!) / 1e3))
        // 5. .everyCommit against write + fdatasync of the same bytes.
        try JournalCommand.guarded { () throws(ShmError) in
            var producer = try Journal.producer(directory: synced, options: .init(durability: .everyCommit))
            let t = cshim_monotonic_ns()
            for _ in 0..<syncCount {
                try producer.reserve(size) { $0.baseAddress!.copyMemory(from: payload.baseAddress!, byteCount: size) }
                try producer.commit()
            }
            let s = Double(cshim_monotonic_ns() - t) / 1e9
            say(String(format: ".everyCommit: %.0f records/s (%.1f us per commit)", Double(syncCount) / s, s / Double(syncCount) * 1e6))
        }
        let sfd = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let t3 = cshim_monotonic_ns()
        for _ in 0..<syncCount {
            _ = write(sfd, payload.baseAddress, size + 24)
            _ = fdatasync(sfd)
        }
        let s3 = Double(cshim_monotonic_ns() - t3) / 1e9
        close(sfd)
        say(String(format: "write(2) + fdatasync of the same records: %.0f records/s (%.1f us each)", Double(syncCount) / s3, s3 / Double(syncCount) * 1e6))
        say("crc32c: \(cshim_crc32c_is_hardware() != 0 ? "SSE4.2 crc32 instruction" : "table (software)")")
    }
}
