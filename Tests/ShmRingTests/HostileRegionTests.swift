import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// The hostile-region catalogue (docs/reliability.md, "Hostile regions"):
/// malformed regions, hostile files and a scribbling peer, each of which must
/// end in a typed `ShmError` (or, for a scribbling peer, in correct data),
/// never in a crash, an out-of-bounds access or a hang. Every open runs on a
/// watchdog thread, so a hang is a test failure rather than a stuck suite.
///
/// `HostileRegionTests.catalogue` counts the cases; each header case runs
/// against the SPSC ring, both MPMC queues, the record ring and the exchange
/// (whose own cases are in ExchangeHostileTests.swift).
final class HostileRegionTests: XCTestCase {
    /// The cases of this file, as docs/reliability.md lists them.
    static let catalogue = headerCases.map(\.name) + [
        "field changed without updating the checksum", "truncated body", "shorter than a header", "empty file", "grown file",
        "all zeros", "random garbage", "1 TiB sparse file", "1 TiB sparse file with a valid ring header",
        "symbolic link", "FIFO", "directory", "socket", "file owned by another uid", "mode 0666",
        "SysV key file that is a symbolic link", "SysV segment of garbage",
        "SPSC consumer position ahead", "SPSC consumer position more than a lap behind",
        "SPSC sequence word from the future", "SPSC sequence words zeroed",
        "lock-free sequence word of another slot", "lock-free sequence word pinned ahead",
        "semaphore queue positions impossible",
        "scribbler vs SPSC consumer", "scribbler vs SPSC producer",
        "scribbler vs lock-free consumer", "scribbler vs semaphore-queue consumer", "scribbler vs record ring",
        "parameters: semaphore key of another set",
    ] + exchangeCatalogue

    static let hangLimitSeconds = 20.0

    /// Whether the library validates before it prefaults, checks owners and
    /// modes on open, and bounds the lock-free claim (branch reliability-core).
    /// Before that, the cases below that need it are skipped rather than run:
    /// on the old code a 1 TiB sparse file makes open fault in 1 TiB of tmpfs
    /// pages, and a pinned sequence word leaves a thread spinning forever.
    static let reliabilityCoreMerged = true

    func requireReliabilityCore(_ what: String) throws {
        try XCTSkipUnless(Self.reliabilityCoreMerged, "needs reliability-core (\(what))")
    }

    var ipcBefore = IPCSnapshot()
    override func setUp() { ipcBefore = IPCSnapshot.take() }
    override func tearDown() {
        XCTAssertEqual(ipcBefore.leftovers().filter(Self.mayBeOurs), [], "IPC objects left behind")
    }

    /// Other processes (the harness run by people or other test suites) make
    /// and remove objects meanwhile: an entry that provably belongs to
    /// another process is not a leak of this test. `ringbench-PID-...` names
    /// are the harness's, with its pid; a segment's creator pid is in
    /// /proc/sysvipc/shm.
    static func mayBeOurs(_ entry: String) -> Bool {
        let me = getpid()
        let fields = entry.split(separator: " ")
        if fields.first == "devshm", fields.count > 1 {
            let parts = fields[1].split(separator: "-")
            if parts.count > 2, parts[0] == "ringbench", let pid = Int32(parts[1]) { return pid == me }
        }
        if fields.first == "shm", fields.count > 2, let id = Int(fields[2]) {
            let table = (try? String(contentsOfFile: "/proc/sysvipc/shm", encoding: .utf8)) ?? ""
            for line in table.split(separator: "\n").dropFirst() {
                let columns = line.split(separator: " ")
                if columns.count > 4, Int(columns[1]) == id, let creator = Int32(columns[4]) { return creator == me }
            }
        }
        return true
    }

    func testCatalogueHasAtLeast25Cases() {
        XCTAssertGreaterThanOrEqual(Set(Self.catalogue).count, 25)
        XCTAssertEqual(Set(Self.catalogue).count, Self.catalogue.count, "names are unique")
    }

    // MARK: - The three structures

    enum Kind: CaseIterable {
        case spsc, lockFree, semaphore, record, exchange

        func create(_ backing: RegionBacking, _ name: String, _ options: RegionOptions,
                    capacity: Int = 8, messageSize: Int = 16) throws -> SharedRegion {
            switch self {
            case .spsc: try SPSCRing.create(backing: backing, name: name, capacity: capacity, messageSize: messageSize, options: options).region
            case .lockFree: try MPMCLockFreeQueue.create(backing: backing, name: name, capacity: capacity, messageSize: messageSize, options: options).region
            case .semaphore: try MPMCSemaphoreQueue.create(backing: backing, name: name, capacity: capacity, messageSize: messageSize, options: options).region
            case .record: try RecordRing.create(backing: backing, name: name, capacity: 64 * capacity, maximumRecordLength: messageSize, options: options).region
            case .exchange: try Exchange.create(backing: backing, name: name, maximumMessageSize: messageSize, options: options).region
            }
        }

        /// Opens by name and returns what the open threw (nil if it succeeded).
        func openError(_ backing: RegionBacking, _ name: String, _ options: RegionOptions) -> ShmError? {
            do {
                switch self {
                case .spsc: _ = try SPSCRing.open(backing: backing, name: name, options: options)
                case .lockFree: _ = try MPMCLockFreeQueue.open(backing: backing, name: name, options: options)
                case .semaphore: _ = try MPMCSemaphoreQueue.open(backing: backing, name: name, options: options)
                case .record: _ = try RecordRing.open(backing: backing, name: name, options: options)
                case .exchange: _ = try Exchange.open(backing: backing, name: name, options: options)
                }
                return nil
            } catch {
                return error
            }
        }
    }

    // MARK: - Every header field wrong in turn (checksum recomputed, as a hostile writer would)

    struct HeaderCase: Sendable {
        let name: String
        let damage: @Sendable (inout [UInt8]) -> Void
        let expected: @Sendable (ShmError) -> Bool
    }

    static func put<T>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    static func fixChecksum(_ bytes: inout [UInt8]) {
        let sum = bytes.withUnsafeBytes { RegionHeader.checksum($0.baseAddress!) }
        put(sum, at: RegionLayout.checksumOffset, in: &bytes)
    }

    /// A field set to `value`, the checksum made to match.
    static func field<T: Sendable>(_ name: String, _ offset: Int, _ value: T, expected: @escaping @Sendable (ShmError) -> Bool) -> HeaderCase {
        HeaderCase(name: name, damage: { put(value, at: offset, in: &$0); fixChecksum(&$0) }, expected: expected)
    }

    static let headerCases: [HeaderCase] = [
        field("magic wrong", RegionLayout.magicOffset, UInt64(0xDEAD_BEEF)) { if case .notARing = $0 { true } else { false } },
        field("version wrong", RegionLayout.versionOffset, UInt32(99)) { if case .incompatibleVersion = $0 { true } else { false } },
        field("kind unknown", RegionLayout.kindOffset, UInt32(77)) { if case .corruptedHeader = $0 { true } else { false } },
        field("kind of another structure", RegionLayout.kindOffset, StructureKind.lockArena.rawValue) {
            if case .wrongStructure = $0 { true } else { false }
        },
        field("totalSize wrong", RegionLayout.totalSizeOffset, UInt64(1 << 20)) { if case .sizeMismatch = $0 { true } else { false } },
        field("capacity zero", RegionLayout.capacityOffset, UInt64(0)) { if case .corruptedHeader = $0 { true } else { false } },
        field("capacity not a power of two", RegionLayout.capacityOffset, UInt64(6)) { if case .corruptedHeader = $0 { true } else { false } },
        field("capacity huge", RegionLayout.capacityOffset, UInt64(1) << 62) { if case .corruptedHeader = $0 { true } else { false } },
        HeaderCase(name: "capacity doubled (size no longer matches)", damage: { bytes in
            let capacity = bytes.withUnsafeBytes { $0.load(fromByteOffset: RegionLayout.capacityOffset, as: UInt64.self) }
            put(capacity * 2, at: RegionLayout.capacityOffset, in: &bytes)
            fixChecksum(&bytes)
        }, expected: { if case .sizeMismatch = $0 { true } else { false } }),
        field("slotSize zero", RegionLayout.slotSizeOffset, UInt64(0)) { if case .corruptedHeader = $0 { true } else { false } },
        field("slotSize huge", RegionLayout.slotSizeOffset, UInt64.max) { if case .corruptedHeader = $0 { true } else { false } },
        field("creatorPid out of range", RegionLayout.creatorPidOffset, UInt64(1) << 40) {
            if case .corruptedHeader = $0 { true } else { false }
        },
        field("initState garbage", RegionLayout.initStateOffset, UInt64(7)) { if case .corruptedHeader = $0 { true } else { false } },
        field("initState never published", RegionLayout.initStateOffset, UInt64(0)) { if case .notReady = $0 { true } else { false } },
        HeaderCase(name: "checksum wrong", damage: { put(UInt64(0x1234_5678), at: RegionLayout.checksumOffset, in: &$0) },
                   expected: { if case .corruptedHeader = $0 { true } else { false } }),
    ]

    func testEveryHeaderFieldWrongInTurn() throws {
        for kind in Kind.allCases {
            for c in Self.headerCases {
                let error = try openDamaged(kind, c.damage)
                XCTAssertTrue(error.map(c.expected) ?? false, "\(kind), \(c.name): \(String(describing: error))")
            }
        }
    }

    /// Parameter 0 of the semaphore queue names its semaphore set's key.
    /// With the right key the open gets as far as looking for the set (none
    /// exists: noSuchRegion); with another key it stops at the header.
    func testParametersWrongSemaphoreKey() throws {
        let scratch = try ScratchDirectory()
        var bytes = try validBytes(.semaphore, scratch)
        try write(bytes, to: scratch.file("victim"))
        let key = try SemaphoreSet.key(forFile: scratch.file("victim"))
        for (stored, wrong) in [(UInt64(UInt32(bitPattern: key)), false), (UInt64(UInt32(bitPattern: key) ^ 0x5A5A), true)] {
            Self.put(stored, at: RegionLayout.parametersOffset, in: &bytes)
            Self.fixChecksum(&bytes)
            try write(bytes, to: scratch.file("victim")) // in place: same inode, same key
            let error = try watchdog("open with key parameter") { Kind.semaphore.openError(.mmap, "victim", scratch.options) } ?? nil
            if wrong {
                guard case .corruptedHeader? = error else { return XCTFail("wrong key: \(String(describing: error))") }
            } else {
                guard let error, !{ if case .corruptedHeader = error { true } else { false } }() else {
                    return XCTFail("right key: \(String(describing: error))")
                }
            }
        }
    }

    func testBadChecksumTruncatedGrownZeroAndGarbage() throws {
        for kind in Kind.allCases {
            let cases: [(String, (inout [UInt8]) -> Void, (ShmError) -> Bool)] = [
                ("field changed without updating the checksum", { $0[RegionLayout.capacityOffset] ^= 0x40 }, { if case .corruptedHeader = $0 { true } else { false } }),
                ("truncated body", { $0.removeLast(64) }, { if case .sizeMismatch = $0 { true } else { false } }),
                ("shorter than a header", { $0.removeLast($0.count - 40) }, { if case .sizeMismatch = $0 { true } else { false } }),
                ("empty file", { $0 = [] }, { if case .sizeMismatch = $0 { true } else { false } }),
                ("grown file", { $0.append(contentsOf: [UInt8](repeating: 0xAB, count: 8192)) }, {
                    if case .sizeMismatch = $0 { true } else { false }
                }),
                ("all zeros", { $0 = [UInt8](repeating: 0, count: $0.count) }, {
                    if case .notARing = $0 { true } else if case .notReady = $0 { true } else { false }
                }),
                ("random garbage", { bytes in
                    var rng = SplitMix(seed: 42)
                    for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
                }, { if case .notARing = $0 { true } else { false } }),
            ]
            for (name, damage, expected) in cases {
                let error = try openDamaged(kind, damage)
                XCTAssertTrue(error.map(expected) ?? false, "\(kind), \(name): \(String(describing: error))")
            }
        }
    }

    // MARK: - Sparse and huge

    /// `truncate -s 1T` over a real ring: the header no longer matches the
    /// size. Opening must fail at once, without walking 2^28 pages.
    func testOneTebibyteSparseFileFailsFast() throws {
        try requireReliabilityCore("validate before prefault")
        for kind in Kind.allCases {
            let scratch = try ScratchDirectory()
            let bytes = try validBytes(kind, scratch)
            try write(bytes, to: scratch.file("huge"))
            XCTAssertEqual(truncate(scratch.file("huge"), 1 << 40), 0)
            let started = Date()
            let error = try watchdog("open a 1 TiB sparse file as \(kind)") { kind.openError(.mmap, "huge", scratch.options) } ?? nil
            guard let error else { return XCTFail("\(kind): a 1 TiB sparse file opened") }
            if case .sizeMismatch = error {} else { XCTFail("\(kind): \(error)") }
            XCTAssertLessThan(Date().timeIntervalSince(started), 5, "\(kind): open touched the pages of a 1 TiB sparse file")
        }
    }

    /// A consistent header for a 1 TiB ring on a sparse file: valid, so it
    /// opens. Opened without prefault, it is only a mapping and must be quick;
    /// prefaulting it would fill tmpfs (this machine's RAM), so that is not tried.
    func testOneTebibyteSparseRingWithAValidHeaderOpensWithoutTouchingItsPages() throws {
        let scratch = try ScratchDirectory()
        let capacity = 1 << 30, slotSize = 1024 - 8
        let size = try XCTUnwrap(SPSCLayout.regionSize(capacity: capacity, slotSize: slotSize))
        var bytes = try validBytes(.spsc, scratch)
        bytes.removeLast(bytes.count - RegionLayout.headerSize)
        Self.put(UInt64(size), at: RegionLayout.totalSizeOffset, in: &bytes)
        Self.put(UInt64(capacity), at: RegionLayout.capacityOffset, in: &bytes)
        Self.put(UInt64(slotSize), at: RegionLayout.slotSizeOffset, in: &bytes)
        Self.fixChecksum(&bytes)
        try write(bytes, to: scratch.file("hugering"))
        XCTAssertEqual(truncate(scratch.file("hugering"), off_t(size)), 0)
        var options = scratch.options
        options.prefault = false
        let started = Date()
        let error = try watchdog("open a valid 1 TiB sparse ring") { Kind.spsc.openError(.mmap, "hugering", options) } ?? nil
        XCTAssertNil(error)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    // MARK: - Files that are not regular files of ours

    func testSymlinkFIFODirectoryAndSocketAreRefused() throws {
        for kind in Kind.allCases {
            let scratch = try ScratchDirectory()
            let region = try kind.create(.mmap, "real", scratch.options)
            XCTAssertEqual(symlink(scratch.file("real"), scratch.file("link")), 0)
            XCTAssertEqual(mkfifo(scratch.file("fifo"), 0o600), 0)
            XCTAssertEqual(mkdir(scratch.file("dir"), 0o700), 0)
            let socketFD = try bindUnixSocket(at: scratch.file("sock"))
            defer { close(socketFD) }
            for name in ["link", "fifo", "dir", "sock"] {
                let error = try watchdog("open \(name) as \(kind)") { kind.openError(.mmap, name, scratch.options) } ?? nil
                XCTAssertNotNil(error, "\(kind) opened a \(name)")
            }
            withExtendedLifetime(region) {}
        }
    }

    func testFileOwnedByAnotherUidIsRefused() throws {
        try requireReliabilityCore("owner check on open")
        try XCTSkipUnless(geteuid() == 0, "needs root to chown a file to another uid")
        for kind in Kind.allCases {
            let scratch = try ScratchDirectory()
            let bytes = try validBytes(kind, scratch)
            try write(bytes, to: scratch.file("foreign"))
            XCTAssertEqual(chown(scratch.file("foreign"), 65534, 65534), 0)
            let error = try watchdog("open a foreign file") { kind.openError(.mmap, "foreign", scratch.options) } ?? nil
            XCTAssertTrue(error?.description.contains("65534") ?? false, "\(kind): \(String(describing: error))")
        }
    }

    func testWorldWritableFileIsRefused() throws {
        try requireReliabilityCore("permission check on open")
        for kind in Kind.allCases {
            let scratch = try ScratchDirectory()
            let bytes = try validBytes(kind, scratch)
            try write(bytes, to: scratch.file("open"))
            XCTAssertEqual(chmod(scratch.file("open"), 0o666), 0)
            let error = try watchdog("open a 0666 file") { kind.openError(.mmap, "open", scratch.options) } ?? nil
            XCTAssertTrue(error?.description.contains("0666") ?? false, "\(kind): \(String(describing: error))")
        }
    }

    func testSysVKeyFileSymlinkAndGarbageSegment() throws {
        let scratch = try ScratchDirectory()
        // A key file that is a symbolic link.
        let target = scratch.file("elsewhere")
        try write([1, 2, 3], to: target)
        XCTAssertEqual(symlink(target, scratch.file("linked" + RegionLocation.sysvKeySuffix)), 0)
        XCTAssertNotNil(try watchdog("sysv symlink") { Kind.spsc.openError(.sysv, "linked", scratch.options) } ?? nil)
        // A named segment holding garbage.
        let region = try SharedRegion.create(backing: .sysv, name: "garbage", size: 4096, options: scratch.options)
        var rng = SplitMix(seed: 7)
        for i in 0..<4096 { region.base.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self) }
        for kind in Kind.allCases {
            let error = try watchdog("sysv garbage") { kind.openError(.sysv, "garbage", scratch.options) } ?? nil
            guard case .notARing? = error else { return XCTFail("\(kind): \(String(describing: error))") }
        }
        withExtendedLifetime(region) {}
    }

    // MARK: - Positions and sequence words a peer wrote

    func testSPSCImpossiblePeerPositions() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        let readPosition = (ring.region.base + SPSCLayout.readPositionOffset).assumingMemoryBound(to: UInt64.self)
        var producer = try ring.producer()
        for i in 0..<8 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
        // Ahead of the producer.
        readPosition.pointee = 1000
        XCTAssertThrowsError(try producer.tryPush(UInt64(9))) { XCTAssertTrue(Self.isCorruptRing($0), "\($0)") }
        // A sequence word from the future.
        readPosition.pointee = 0
        var consumer = try ring.consumer()
        let slot0 = (ring.region.base + SPSCLayout.slotsOffset).assumingMemoryBound(to: UInt64.self)
        slot0.pointee = 1 << 40
        XCTAssertThrowsError(try consumer.tryPop(as: UInt64.self)) { XCTAssertTrue(Self.isCorruptRing($0), "\($0)") }
    }

    /// Zeroed sequence words make a full ring look empty: a blocking pop
    /// must end (timedOut, or corruptRing once the producer's position
    /// shows messages that are not there), never spin forever.
    func testSPSCSequenceWordsZeroed() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        var producer = try ring.producer()
        for i in 0..<8 { XCTAssertTrue(try producer.tryPush(UInt64(i))) }
        for i in 0..<8 {
            (ring.region.base + SPSCLayout.slotsOffset + i * SPSCLayout.stride(slotSize: 8)).storeBytes(of: UInt64(0), as: UInt64.self)
        }
        let outcome = try watchdog("pop a zeroed ring") { () -> String in
            do {
                var consumer = try ring.consumer()
                _ = try consumer.pop(timeoutSeconds: 0.2) { _ in }
                return "popped"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(outcome.map { $0.contains("timed out") || $0.contains("corrupt") } ?? false, outcome ?? "hung")
        withExtendedLifetime(producer) {}
    }

    func testSPSCConsumerPositionMoreThanALapBehind() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        var producer = try ring.producer()
        var consumer = try ring.consumer()
        for round in 0..<3 {
            for i in 0..<8 { XCTAssertTrue(try producer.tryPush(UInt64(round * 8 + i))) }
            for _ in 0..<8 { _ = try consumer.tryPop(as: UInt64.self) }
        }
        (ring.region.base + SPSCLayout.readPositionOffset).storeBytes(of: UInt64(1), as: UInt64.self)
        // The producer notices when it next reloads the consumer's position.
        var outcome = "no error"
        for i in 0..<9 {
            do { _ = try producer.tryPush(UInt64(i)) } catch { outcome = "\(error)"; break }
        }
        XCTAssertTrue(outcome.contains("corrupt"), outcome)
    }

    func testLockFreeSequenceWordOfAnotherSlot() throws {
        let q = try MPMCLockFreeQueue.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        (q.region.base + MPMCLockFreeLayout.slotsOffset).storeBytes(of: UInt64(2 * 3), as: UInt64.self)
        XCTAssertThrowsError(try q.tryPush(UInt64(1))) { XCTAssertTrue(Self.isCorruptRing($0), "\($0)") }
    }

    /// A peer pins slot 0's sequence word a lap ahead (index bits still match):
    /// a claim must not loop forever.
    func testLockFreeSequenceWordPinnedAhead() throws {
        try requireReliabilityCore("bounded claim")
        let q = try MPMCLockFreeQueue.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        (q.region.base + MPMCLockFreeLayout.slotsOffset).storeBytes(of: UInt64(2 * 8), as: UInt64.self)
        let outcome = try watchdog("tryPush against a pinned sequence word", seconds: 5, abandonOnTimeout: true) { () -> String in
            do { return "returned \(try q.tryPush(UInt64(1)))" } catch { return "\(error)" }
        }
        guard let outcome else { return XCTFail("tryPush loops forever on a pinned sequence word") }
        XCTAssertTrue(outcome.contains("corrupt") || outcome == "returned false", outcome)
    }

    func testSemaphoreQueueImpossiblePositions() throws {
        let q = try MPMCSemaphoreQueue.create(backing: .anon, name: nil, capacity: 8, messageSize: 8)
        XCTAssertTrue(try q.tryPush(UInt64(1)))
        (q.region.base + MPMCSemaphoreLayout.tailOffset).storeBytes(of: UInt64(1 << 50), as: UInt64.self)
        XCTAssertThrowsError(try q.tryPop(as: UInt64.self)) { XCTAssertTrue(Self.isCorruptRing($0), "\($0)") }
        // The mutex was given back: the next call answers too (and is still corrupt).
        XCTAssertThrowsError(try watchdog("second pop") { () throws in try q.tryPush(UInt64(2)) }) { _ in }
    }

    // MARK: - A peer scribbling while the other side runs

    /// How long each side works under a scribbler. Corruption is counted and
    /// the side restarts (as a restarted peer would); any other error, a crash
    /// or a hang fails the test.
    static let scribbleSeconds = 0.5

    func testScribblerVersusSPSCConsumer() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 16, messageSize: 16)
        let outcome = try scribbling(over: ring.region, from: EndpointLayout.producerLineOffset) { () -> String in
            Self.drain(restarting: { () throws(ShmError) in Ends(producer: try ring.producer(), consumer: try ring.consumer()) }) { (ends: inout Ends) throws(ShmError) in
                _ = try ends.producer.tryPush(UInt64(7))
                return try ends.consumer.tryPop(as: UInt64.self) != nil
            }
        }
        print("\(name): \(outcome ?? "hung")") // the tally docs/reliability.md quotes
        XCTAssertFalse(outcome?.hasPrefix("unexpected") ?? true, outcome ?? "hung")
    }

    func testScribblerVersusSPSCProducer() throws {
        let ring = try SPSCRing.create(backing: .anon, name: nil, capacity: 16, messageSize: 16)
        let outcome = try scribbling(over: ring.region, from: EndpointLayout.producerLineOffset) { () -> String in
            Self.drain(restarting: { () throws(ShmError) in try ring.producer() }) { (producer: inout SPSCRing.Producer) throws(ShmError) in
                try producer.tryPushBatch(maxCount: 4) { _, slot in slot.storeBytes(of: UInt64(1), as: UInt64.self) } > 0
            }
        }
        print("\(name): \(outcome ?? "hung")")
        XCTAssertFalse(outcome?.hasPrefix("unexpected") ?? true, outcome ?? "hung")
    }

    func testScribblerVersusRecordRing() throws {
        let ring = try RecordRing.create(backing: .anon, name: nil, capacity: 1024, maximumRecordLength: 40)
        let outcome = try scribbling(over: ring.region, from: EndpointLayout.producerLineOffset) { () -> String in
            Self.drain(restarting: { () throws(ShmError) in RecordEnds(producer: try ring.producer(), consumer: try ring.consumer()) }) {
                (ends: inout RecordEnds) throws(ShmError) in
                if try ends.producer.tryReserve(24, { $0.storeBytes(of: UInt64(7), as: UInt64.self) }) { ends.producer.commit() }
                guard try ends.consumer.tryPeek({ record in record.count >= 8 ? record.load(as: UInt64.self) : 0 }) != nil else {
                    return false
                }
                ends.consumer.release()
                return true
            }
        }
        print("\(name): \(outcome ?? "hung")")
        XCTAssertFalse(outcome?.hasPrefix("unexpected") ?? true, outcome ?? "hung")
    }

    func testScribblerVersusLockFreeConsumer() throws {
        try requireReliabilityCore("bounded claim")
        let q = try MPMCLockFreeQueue.create(backing: .anon, name: nil, capacity: 16, messageSize: 16)
        let outcome = try scribbling(over: q.region, from: MPMCLockFreeLayout.enqueuePositionOffset, abandonOnTimeout: true) { () -> String in
            Self.drain(restarting: { () throws(ShmError) in }) { (_: inout Void) throws(ShmError) in
                _ = try q.tryPush(UInt64(7))
                return try q.tryPop(as: UInt64.self) != nil
            }
        }
        guard let outcome else { return XCTFail("the lock-free queue looped forever under a scribbler") }
        print("\(name): \(outcome)")
        XCTAssertFalse(outcome.hasPrefix("unexpected"), outcome)
    }

    func testScribblerVersusSemaphoreQueueConsumer() throws {
        let q = try MPMCSemaphoreQueue.create(backing: .anon, name: nil, capacity: 16, messageSize: 16)
        let outcome = try scribbling(over: q.region, from: MPMCSemaphoreLayout.tailOffset) { () -> String in
            Self.drain(restarting: { () throws(ShmError) in }) { (_: inout Void) throws(ShmError) in
                _ = try q.tryPush(UInt64(7))
                return try q.tryPop(as: UInt64.self) != nil
            }
        }
        print("\(name): \(outcome ?? "hung")") // the tally docs/reliability.md quotes
        XCTAssertFalse(outcome?.hasPrefix("unexpected") ?? true, outcome ?? "hung")
    }

    // MARK: - Helpers

    static func isCorruptRing(_ error: Error) -> Bool {
        if case .corruptRing? = error as? ShmError { return true }
        return false
    }

    /// Runs `step` for `scribbleSeconds`, counting data and `corruptRing`;
    /// after corruption the endpoint is made anew (a restarted peer).
    static func drain<Endpoint: ~Copyable>(restarting make: () throws(ShmError) -> Endpoint,
                                           _ step: (inout Endpoint) throws(ShmError) -> Bool) -> String {
        var tally = Tally()
        while tally.running {
            // Claiming an end reads the scribbled owner words: any typed
            // refusal (corruptRing, endpointTaken) is an acceptable answer.
            var endpoint: Endpoint
            do throws(ShmError) { endpoint = try make() } catch { tally.refused += 1; continue }
            while tally.running {
                do throws(ShmError) {
                    tally.count(try step(&endpoint))
                } catch .corruptRing {
                    tally.corrupt += 1
                    break
                } catch {
                    return "unexpected \(error)"
                }
            }
        }
        return tally.description
    }

    /// Runs `body` while another thread writes random words over the region
    /// from `offset` (positions and slots; the header is left alone). Returns
    /// what `body` returned, or nil if it did not finish (only with
    /// `abandonOnTimeout`; otherwise that is a failure).
    func scribbling(over region: SharedRegion, from offset: Int, abandonOnTimeout: Bool = false,
                    _ body: @escaping @Sendable () -> String) throws -> String? {
        let stop = StopFlag()
        let started = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        let words = (region.size - offset) / 8
        nonisolated(unsafe) let start = region.base + offset
        let scribbler = Thread {
            // The closure holds the region: it stays mapped while this thread writes.
            defer { withExtendedLifetime(region) { finished.signal() } }
            started.signal()
            var rng = SplitMix(seed: 2026)
            while !stop.isSet {
                let word = Int(rng.next() % UInt64(words))
                let r = rng.next()
                // Mostly small values and near-miss positions: those are the
                // ones that pass the cheap checks and reach the deep ones.
                let value: UInt64 = switch r % 4 {
                case 0: r >> 2
                case 1: r & 0xFF
                case 2: start.load(fromByteOffset: word * 8, as: UInt64.self) &+ (r >> 8 & 3)
                default: 0
                }
                start.storeBytes(of: value, toByteOffset: word * 8, as: UInt64.self)
            }
        }
        scribbler.start()
        started.wait()
        defer {
            stop.set()
            finished.wait()
        }
        return try watchdog("work under a scribbler", seconds: Self.hangLimitSeconds, abandonOnTimeout: abandonOnTimeout, body)
    }

    /// Runs `body` on its own thread and waits up to `seconds`. A body that
    /// does not return is a failure (or, with `abandonOnTimeout`, nil: the
    /// thread is left spinning, as a skipped case that needs a fix says).
    @discardableResult
    func watchdog<T>(_ what: String, seconds: Double = hangLimitSeconds, abandonOnTimeout: Bool = false,
                     _ body: @escaping () throws -> T) throws -> T? {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let work = body
        let thread = Thread {
            box.set(Result { try work() })
            done.signal()
        }
        thread.start()
        guard done.wait(timeout: .now() + seconds) == .success else {
            if abandonOnTimeout { return nil }
            XCTFail("\(what) did not return within \(seconds) s (a hang)")
            throw Hang()
        }
        return try box.get()
    }

    /// The bytes of a valid `kind` region (created in `scratch`, then removed).
    func validBytes(_ kind: Kind, _ scratch: ScratchDirectory) throws -> [UInt8] {
        let region = try kind.create(.mmap, "template", scratch.options)
        defer { withExtendedLifetime(region) {} }
        return Array(UnsafeRawBufferPointer(start: region.base, count: region.size))
    }

    /// Writes `bytes` in place (same inode if the file exists, so its ftok key stays), mode 0600.
    func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ShmError.invalidArgument("cannot create \(path)") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw ShmError.invalidArgument("short write to \(path)") }
    }

    /// A valid region of `kind`, damaged, written where an opener looks; returns the open's error.
    func openDamaged(_ kind: Kind, _ damage: (inout [UInt8]) -> Void) throws -> ShmError? {
        let scratch = try ScratchDirectory()
        var bytes = try validBytes(kind, scratch)
        damage(&bytes)
        try write(bytes, to: scratch.file("victim"))
        return try watchdog("open a damaged \(kind)") { kind.openError(.mmap, "victim", scratch.options) } ?? nil
    }

    func bindUnixSocket(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ShmError.invalidArgument("socket failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { close(fd); throw ShmError.invalidArgument("bind \(path) failed") }
        return fd
    }
}

struct Hang: Error {}

/// Both ends of a record ring, restarted together.
struct RecordEnds: ~Copyable {
    var producer: RecordRing.Producer
    var consumer: RecordRing.Consumer
}

/// Both ends of an SPSC ring, restarted together.
struct Ends: ~Copyable {
    var producer: SPSCRing.Producer
    var consumer: SPSCRing.Consumer
}

/// What one side saw under a scribbler, over `scribbleSeconds`.
struct Tally: CustomStringConvertible {
    let end = Date().addingTimeInterval(HostileRegionTests.scribbleSeconds)
    var done = 0, idle = 0, corrupt = 0, refused = 0
    var running: Bool { Date() < end }
    mutating func count(_ did: Bool) { if did { done += 1 } else { idle += 1 } }
    var description: String { "\(done) done, \(idle) idle, \(corrupt) corruptRing, \(refused) claims refused" }
}

/// A small deterministic generator (SplitMix64), so every run scribbles the same way.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

private final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, Error>?
    func set(_ r: Result<T, Error>) { lock.withLock { result = r } }
    func get() throws -> T { try lock.withLock { result }!.get() }
}
