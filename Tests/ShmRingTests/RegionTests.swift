import Foundation
import TestSupport
import XCTest
@testable import ShmRing

final class RegionTests: XCTestCase {
    func testCreateOpenValidateEveryNamedBacking() throws {
        let scratch = try ScratchDirectory()
        let before = IPCSnapshot.segmentCount()
        for backing in [RegionBacking.sysv, .mmap] {
            let ring = try SPSCRing.create(backing: backing, name: "r-\(backing)", capacity: 8, messageSize: 24,
                                           options: scratch.options)
            let opened = try SPSCRing.open(backing: backing, name: "r-\(backing)", options: scratch.options)
            XCTAssertEqual(opened.capacity, 8)
            XCTAssertEqual(opened.messageSize, 24)
            XCTAssertFalse(opened.region.isOwner)
            XCTAssertTrue(ring.region.isOwner)
            // A second creator loses: names are claimed exclusively.
            XCTAssertThrowsError(try SPSCRing.create(backing: backing, name: "r-\(backing)", capacity: 8, messageSize: 24,
                                                     options: scratch.options))
            opened.region.removeName()
            ring.region.removeName()
            XCTAssertThrowsError(try SPSCRing.open(backing: backing, name: "r-\(backing)", options: scratch.options)) { error in
                XCTAssertEqual(error as? ShmError, .noSuchRegion(name: "r-\(backing)"))
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), [])
        XCTAssertEqual(IPCSnapshot.segmentCount(), before)
    }

    func testPrivateAndAnonymousRegionsNeedNoName() throws {
        let before = IPCSnapshot.segmentCount()
        for backing in [RegionBacking.sysv, .anon] {
            let ring = try SPSCRing.create(backing: backing, name: nil, capacity: 4, messageSize: 8)
            do { // the handles end before the region is unmapped
                var producer = try ring.producer()
                var consumer = try ring.consumer()
                XCTAssertTrue(try producer.tryPush(UInt64(42)))
                XCTAssertEqual(try consumer.tryPop(as: UInt64.self), 42)
            }
            ring.region.removeName()
        }
        // IPC_PRIVATE segments are marked for removal at creation.
        XCTAssertEqual(IPCSnapshot.segmentCount(), before)
        XCTAssertThrowsError(try SharedRegion.open(backing: .anon, name: "x"))
    }

    func testNamesAreValidated() throws {
        let scratch = try ScratchDirectory()
        for bad in ["", ".hidden", "a b", "semi;colon", String(repeating: "x", count: 300)] {
            XCTAssertThrowsError(try SPSCRing.create(backing: .mmap, name: bad, capacity: 4, messageSize: 8, options: scratch.options),
                                 "name \(bad)")
        }
    }

    func testFilesAreCreatedPrivateAndSymlinksRefused() throws {
        let scratch = try ScratchDirectory()
        let ring = try SPSCRing.create(backing: .mmap, name: "private", capacity: 4, messageSize: 8, options: scratch.options)
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.file("private"))
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        try FileManager.default.createSymbolicLink(atPath: scratch.file("link"), withDestinationPath: scratch.file("private"))
        XCTAssertThrowsError(try SPSCRing.open(backing: .mmap, name: "link", options: scratch.options)) { error in
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
        ring.region.removeName()
    }

    // MARK: Bad headers: garbage written into a real region file, then opened.

    /// Creates a valid ring file, lets `damage` edit its bytes, and returns the open error.
    private func openError(_ damage: (inout [UInt8]) -> Void) throws -> ShmError? {
        let scratch = try ScratchDirectory()
        let ring = try SPSCRing.create(backing: .mmap, name: "victim", capacity: 8, messageSize: 16, options: scratch.options)
        var bytes = Array(UnsafeRawBufferPointer(start: ring.region.base, count: ring.region.size))
        ring.region.removeName() // removes the file; write the damaged copy in its place
        damage(&bytes)
        FileManager.default.createFile(atPath: scratch.file("victim"), contents: Data(bytes),
                                       attributes: [.posixPermissions: 0o600])
        defer { unlink(scratch.file("victim")) }
        do {
            _ = try SPSCRing.open(backing: .mmap, name: "victim", options: scratch.options)
            return nil
        } catch {
            return error
        }
    }

    private func put<T>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    func testGarbageIsNotARing() throws {
        let error = try openError { bytes in for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) } }
        guard case .notARing? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testBadMagicIsNotARing() throws {
        let error = try openError { put(UInt64(0xDEAD_BEEF), at: RegionLayout.magicOffset, in: &$0) }
        guard case .notARing(_, 0xDEAD_BEEF)? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testOtherVersionIsIncompatible() throws {
        let error = try openError { put(UInt32(99), at: RegionLayout.versionOffset, in: &$0) }
        XCTAssertEqual(error, .incompatibleVersion(name: "victim", found: 99, supported: RegionLayout.layoutVersion))
    }

    func testTruncatedFileIsASizeMismatch() throws {
        let error = try openError { $0.removeLast(100) }
        guard case .sizeMismatch? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testFileShorterThanHeaderIsTruncated() throws {
        let error = try openError { $0.removeLast($0.count - 40) }
        guard case .sizeMismatch? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testGrownFileIsASizeMismatch() throws {
        let error = try openError { $0.append(contentsOf: [UInt8](repeating: 0, count: 4096)) }
        guard case .sizeMismatch? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testFlippedCapacityIsACorruptedHeader() throws {
        let error = try openError { $0[RegionLayout.capacityOffset] ^= 0x40 }
        guard case let .corruptedHeader(_, reason)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("checksum"))
    }

    func testConsistentButImpossibleHeaderIsCorrupted() throws {
        // A hostile writer can fix up the checksum: the fields are still checked.
        let error = try openError { bytes in
            self.put(UInt64(6), at: RegionLayout.capacityOffset, in: &bytes) // not a power of two
            bytes.withUnsafeBytes { raw in
                self.put(RegionHeader.checksum(raw.baseAddress!), at: RegionLayout.checksumOffset, in: &bytes)
            }
        }
        guard case .corruptedHeader? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testUnknownStateWordIsCorrupted() throws {
        let error = try openError { self.put(UInt64(7), at: RegionLayout.initStateOffset, in: &$0) }
        guard case .corruptedHeader? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testUnpublishedRegionTimesOutAsNotReady() throws {
        let error = try openError { self.put(UInt64(0), at: RegionLayout.initStateOffset, in: &$0) }
        guard case .notReady? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testOtherStructureIsRejected() throws {
        let error = try openError { bytes in
            self.put(StructureKind.lockArena.rawValue, at: RegionLayout.kindOffset, in: &bytes)
            bytes.withUnsafeBytes { raw in
                self.put(RegionHeader.checksum(raw.baseAddress!), at: RegionLayout.checksumOffset, in: &bytes)
            }
        }
        guard case .wrongStructure? = error else { return XCTFail("\(String(describing: error))") }
    }

    func testErrorsPrintAsOneLine() throws {
        let errors: [ShmError] = [
            .noSuchRegion(name: "a"), .permissionDenied(name: "a"), .notARing(name: "a", magic: 1),
            .incompatibleVersion(name: "a", found: 2, supported: 1), .sizeMismatch(name: "a", headerSays: 1, actual: 2),
            .corruptedHeader(name: "a", reason: "r"), .notReady(name: "a", waitedSeconds: 1),
            .systemCall(call: "shmget", errno: .permissionDenied),
        ]
        for error in errors {
            XCTAssertFalse(error.description.contains("\n"))
            XCTAssertFalse(error.description.isEmpty)
        }
        XCTAssertTrue(ShmError.systemCall(call: "shmget", errno: .permissionDenied).description.contains("shmget"))
    }
}
