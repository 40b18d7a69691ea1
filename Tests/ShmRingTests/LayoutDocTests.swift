import XCTest
@testable import ShmRing

/// docs/layout.md, "Checked offsets", against the layout code: every row
/// must name a constant below with the same value, and every constant
/// below must have a row, so the document and the code cannot drift.
final class LayoutDocTests: XCTestCase {
    /// Every documented constant, by the name the document uses.
    static let constants: [String: UInt64] = [
        "RegionLayout.magic": RegionLayout.magic,
        "RegionLayout.layoutVersion": UInt64(RegionLayout.layoutVersion),
        "RegionLayout.headerSize": UInt64(RegionLayout.headerSize),
        "RegionLayout.magicOffset": UInt64(RegionLayout.magicOffset),
        "RegionLayout.versionOffset": UInt64(RegionLayout.versionOffset),
        "RegionLayout.kindOffset": UInt64(RegionLayout.kindOffset),
        "RegionLayout.totalSizeOffset": UInt64(RegionLayout.totalSizeOffset),
        "RegionLayout.capacityOffset": UInt64(RegionLayout.capacityOffset),
        "RegionLayout.slotSizeOffset": UInt64(RegionLayout.slotSizeOffset),
        "RegionLayout.creatorPidOffset": UInt64(RegionLayout.creatorPidOffset),
        "RegionLayout.initStateOffset": UInt64(RegionLayout.initStateOffset),
        "RegionLayout.checksumOffset": UInt64(RegionLayout.checksumOffset),
        "RegionLayout.parametersOffset": UInt64(RegionLayout.parametersOffset),
        "RegionLayout.parameterCount": UInt64(RegionLayout.parameterCount),
        "RegionLayout.keyFileDeviceOffset": UInt64(RegionLayout.keyFileDeviceOffset),
        "RegionLayout.keyFileInodeOffset": UInt64(RegionLayout.keyFileInodeOffset),
        "EndpointLayout.producerPositionOffset": UInt64(EndpointLayout.producerPositionOffset),
        "EndpointLayout.producerOwnerOffset": UInt64(EndpointLayout.producerOwnerOffset),
        "EndpointLayout.endOfStreamOffset": UInt64(EndpointLayout.endOfStreamOffset),
        "EndpointLayout.producerWaitingAtOffset": UInt64(EndpointLayout.producerWaitingAtOffset),
        "EndpointLayout.abortedAtOffset": UInt64(EndpointLayout.abortedAtOffset),
        "EndpointLayout.abortReasonOffset": UInt64(EndpointLayout.abortReasonOffset),
        "EndpointLayout.readPositionOffset": UInt64(EndpointLayout.readPositionOffset),
        "EndpointLayout.consumerOwnerOffset": UInt64(EndpointLayout.consumerOwnerOffset),
        "EndpointLayout.consumerWaitingAtOffset": UInt64(EndpointLayout.consumerWaitingAtOffset),
        "EndpointLayout.consumerFailureOffset": UInt64(EndpointLayout.consumerFailureOffset),
        "EndpointLayout.consumedByOffset": UInt64(EndpointLayout.consumedByOffset),
        "EndpointLayout.consumerWakeOffset": UInt64(EndpointLayout.consumerWakeOffset),
        "EndpointLayout.consumerSleepingOffset": UInt64(EndpointLayout.consumerSleepingOffset),
        "EndpointLayout.producerWakeOffset": UInt64(EndpointLayout.producerWakeOffset),
        "EndpointLayout.producerSleepingOffset": UInt64(EndpointLayout.producerSleepingOffset),
        "EndpointLayout.consumerParksOffset": UInt64(EndpointLayout.consumerParksOffset),
        "EndpointLayout.producerParksOffset": UInt64(EndpointLayout.producerParksOffset),
        "EndpointLayout.creatorIdentityOffset": UInt64(EndpointLayout.creatorIdentityOffset),
        "EndpointLayout.corruptionOffset": UInt64(EndpointLayout.corruptionOffset),
        "EndpointLayout.dataOffset": UInt64(EndpointLayout.dataOffset),
        "SPSCLayout.slotsOffset": UInt64(SPSCLayout.slotsOffset),
        "SPSCLayout.sequenceWordSize": UInt64(SPSCLayout.sequenceWordSize),
        "RecordLayout.dataOffset": UInt64(RecordLayout.dataOffset),
        "RecordLayout.recordHeaderSize": UInt64(RecordLayout.recordHeaderSize),
        "RecordLayout.recordType": UInt64(RecordLayout.recordType),
        "RecordLayout.paddingType": UInt64(RecordLayout.paddingType),
        "RecordLayout.minimumCapacity": UInt64(RecordLayout.minimumCapacity),
        "MPMCSemaphoreLayout.tailOffset": UInt64(MPMCSemaphoreLayout.tailOffset),
        "MPMCSemaphoreLayout.headOffset": UInt64(MPMCSemaphoreLayout.headOffset),
        "MPMCSemaphoreLayout.intentOperationOffset": UInt64(MPMCSemaphoreLayout.intentOperationOffset),
        "MPMCSemaphoreLayout.intentCountOffset": UInt64(MPMCSemaphoreLayout.intentCountOffset),
        "MPMCSemaphoreLayout.intentPositionOffset": UInt64(MPMCSemaphoreLayout.intentPositionOffset),
        "MPMCSemaphoreLayout.repairCountOffset": UInt64(MPMCSemaphoreLayout.repairCountOffset),
        "MPMCSemaphoreLayout.nameRetiredOffset": UInt64(MPMCSemaphoreLayout.nameRetiredOffset),
        "MPMCSemaphoreLayout.slotsOffset": UInt64(MPMCSemaphoreLayout.slotsOffset),
        "MPMCSemaphoreLayout.maximumCapacity": UInt64(MPMCSemaphoreLayout.maximumCapacity),
        "MPMCLockFreeLayout.enqueuePositionOffset": UInt64(MPMCLockFreeLayout.enqueuePositionOffset),
        "MPMCLockFreeLayout.dequeuePositionOffset": UInt64(MPMCLockFreeLayout.dequeuePositionOffset),
        "MPMCLockFreeLayout.slotsOffset": UInt64(MPMCLockFreeLayout.slotsOffset),
        "StructureKind.spscRing": UInt64(StructureKind.spscRing.rawValue),
        "StructureKind.mpmcSemaphoreQueue": UInt64(StructureKind.mpmcSemaphoreQueue.rawValue),
        "StructureKind.mpmcLockFreeQueue": UInt64(StructureKind.mpmcLockFreeQueue.rawValue),
        "StructureKind.lockArena": UInt64(StructureKind.lockArena.rawValue),
        "StructureKind.benchControl": UInt64(StructureKind.benchControl.rawValue),
        "StructureKind.recordRing": UInt64(StructureKind.recordRing.rawValue),
        "StructureKind.exchange": UInt64(StructureKind.exchange.rawValue),
        "StructureKind.broadcastRing": UInt64(StructureKind.broadcastRing.rawValue),
        "ExchangeLayout.channelsOffset": UInt64(ExchangeLayout.channelsOffset),
        "ExchangeLayout.responseLineOffset": UInt64(ExchangeLayout.responseLineOffset),
        "ExchangeLayout.slotsOffset": UInt64(ExchangeLayout.slotsOffset),
        "ExchangeLayout.inlineCapacity": UInt64(ExchangeLayout.inlineCapacity),
        "CountersLayout.slotSize": UInt64(CountersLayout.slotSize),
        "CountersLayout.queueSlots": UInt64(CountersLayout.queueSlots),
        "CountersLayout.recordsPublishedField": UInt64(CountersLayout.recordsPublishedField),
        "CountersLayout.lastActivityField": UInt64(CountersLayout.lastActivityField),
        "CountersLayout.claimsField": UInt64(CountersLayout.claimsField),
        "CountersLayout.recordsLostField": UInt64(CountersLayout.recordsLostField),
        "CountersLayout.broadcastSlots(consumers: 64)": UInt64(CountersLayout.broadcastSlots(consumers: 64)),
        "BroadcastLayout.slotsOffset": UInt64(BroadcastLayout.slotsOffset),
        "BroadcastLayout.regionSize(capacity: 1024, consumers: 2)": UInt64(BroadcastLayout.regionSize(capacity: 1024, consumers: 2) ?? 0),
        "SPSCLayout.stride(slotSize: 8)": UInt64(SPSCLayout.stride(slotSize: 8)),
        "SPSCLayout.stride(slotSize: 56)": UInt64(SPSCLayout.stride(slotSize: 56)),
        "SPSCLayout.stride(slotSize: 64)": UInt64(SPSCLayout.stride(slotSize: 64)),
        "MPMCSemaphoreLayout.stride(slotSize: 8)": UInt64(MPMCSemaphoreLayout.stride(slotSize: 8)),
        "MPMCSemaphoreLayout.stride(slotSize: 72)": UInt64(MPMCSemaphoreLayout.stride(slotSize: 72)),
        "RecordLayout.footprint(length: 0)": UInt64(RecordLayout.footprint(length: 0)),
        "RecordLayout.footprint(length: 5)": UInt64(RecordLayout.footprint(length: 5)),
        "BroadcastLayout.oldestPositionOffset": UInt64(BroadcastLayout.oldestPositionOffset),
        "BroadcastLayout.reuseLimitOffset": UInt64(BroadcastLayout.reuseLimitOffset),
        "BroadcastLayout.lastRecordOffset": UInt64(BroadcastLayout.lastRecordOffset),
        "BroadcastLayout.slotHighWaterOffset": UInt64(BroadcastLayout.slotHighWaterOffset),
        "BroadcastLayout.slotSize": UInt64(BroadcastLayout.slotSize),
        "BroadcastLayout.slotCursor": UInt64(BroadcastLayout.slotCursor),
        "BroadcastLayout.slotOwner": UInt64(BroadcastLayout.slotOwner),
        "BroadcastLayout.slotParks": UInt64(BroadcastLayout.slotParks),
        "BroadcastLayout.slotLost": UInt64(BroadcastLayout.slotLost),
        "BroadcastLayout.recordHeaderSize": UInt64(BroadcastLayout.recordHeaderSize),
        "BroadcastLayout.maximumConsumers": UInt64(BroadcastLayout.maximumConsumers),
        "BroadcastLayout.minimumCapacity": UInt64(BroadcastLayout.minimumCapacity),
        "JournalLayout.controlMagic": UInt64(JournalLayout.controlMagic),
        "JournalLayout.version": UInt64(JournalLayout.version),
        "JournalLayout.controlSize": UInt64(JournalLayout.controlSize),
        "JournalLayout.controlSegmentSizeOffset": UInt64(JournalLayout.controlSegmentSizeOffset),
        "JournalLayout.controlCRCOffset": UInt64(JournalLayout.controlCRCOffset),
        "JournalLayout.wakeOffset": UInt64(JournalLayout.wakeOffset),
        "JournalLayout.sleepingOffset": UInt64(JournalLayout.sleepingOffset),
        "JournalLayout.parksOffset": UInt64(JournalLayout.parksOffset),
        "JournalLayout.oldestSequenceOffset": UInt64(JournalLayout.oldestSequenceOffset),
        "JournalLayout.producerPidOffset": UInt64(JournalLayout.producerPidOffset),
        "JournalLayout.producerLockByte": UInt64(JournalLayout.producerLockByte),
        "JournalLayout.segmentMagic": UInt64(JournalLayout.segmentMagic),
        "JournalLayout.segmentDataOffsetOffset": UInt64(JournalLayout.segmentDataOffsetOffset),
        "JournalLayout.segmentFirstSequenceOffset": UInt64(JournalLayout.segmentFirstSequenceOffset),
        "JournalLayout.segmentCreatedOffset": UInt64(JournalLayout.segmentCreatedOffset),
        "JournalLayout.segmentIndexCapacityOffset": UInt64(JournalLayout.segmentIndexCapacityOffset),
        "JournalLayout.segmentIndexIntervalOffset": UInt64(JournalLayout.segmentIndexIntervalOffset),
        "JournalLayout.segmentCRCOffset": UInt64(JournalLayout.segmentCRCOffset),
        "JournalLayout.committedSequenceOffset": UInt64(JournalLayout.committedSequenceOffset),
        "JournalLayout.committedOffsetOffset": UInt64(JournalLayout.committedOffsetOffset),
        "JournalLayout.sealedOffset": UInt64(JournalLayout.sealedOffset),
        "JournalLayout.indexCountOffset": UInt64(JournalLayout.indexCountOffset),
        "JournalLayout.indexOffset": UInt64(JournalLayout.indexOffset),
        "JournalLayout.indexEntrySize": UInt64(JournalLayout.indexEntrySize),
        "JournalLayout.recordHeaderSize": UInt64(JournalLayout.recordHeaderSize),
        "JournalLayout.dataOffset(segmentSize: 65536)": UInt64(JournalLayout.dataOffset(segmentSize: 65536)),
    ]

    /// The rows "| `name` | value |" of the document's "Checked offsets" table.
    static func documentedRows() throws -> [(name: String, value: String)] {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/layout.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        guard let section = text.range(of: "## Checked offsets") else { return [] }
        return text[section.upperBound...].split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2, cells[0].hasPrefix("`"), cells[0].hasSuffix("`") else { return nil }
            return (String(cells[0].dropFirst().dropLast()), cells[1])
        }
    }

    func testEveryDocumentedConstantMatchesTheCode() throws {
        let rows = try Self.documentedRows()
        XCTAssertGreaterThan(rows.count, 50, "the table was not found or not parsed")
        for row in rows {
            guard let actual = Self.constants[row.name] else {
                XCTFail("docs/layout.md documents \(row.name), which this test does not know")
                continue
            }
            XCTAssertEqual(UInt64(row.value), actual, "docs/layout.md: \(row.name) is \(row.value), the code says \(actual)")
        }
        let documented = Set(rows.map(\.name))
        for name in Self.constants.keys where !documented.contains(name) {
            XCTFail("\(name) is missing from docs/layout.md, 'Checked offsets'")
        }
    }
}
