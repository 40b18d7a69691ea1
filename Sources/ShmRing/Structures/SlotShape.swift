/// The shape checks every slot structure (the SPSC ring, both MPMC queues)
/// shares: arguments on create, header fields on attach. A region's header
/// is untrusted input, so attach re-derives the size from the fields and
/// compares it with the real mapping.
enum SlotShape {
    /// Validates the arguments and creates the zero-filled region the
    /// layout's `regionSize` asks for; the caller writes the header.
    static func createRegion(backing: RegionBacking, name: String?, capacity: Int, messageSize: Int,
                             maximumCapacity: Int, options: RegionOptions,
                             regionSize: (Int, Int) -> Int?) throws(ShmError) -> SharedRegion {
        try validate(capacity: capacity, messageSize: messageSize, maximumCapacity: maximumCapacity)
        guard let size = regionSize(capacity, messageSize) else {
            throw .invalidArgument("\(capacity) slots of \(messageSize) bytes is too large a region")
        }
        return try SharedRegion.create(backing: backing, name: name, size: size, options: options)
    }

    static func validate(capacity: Int, messageSize: Int, maximumCapacity: Int) throws(ShmError) {
        guard capacity >= 1, capacity <= maximumCapacity, capacity & (capacity - 1) == 0 else {
            throw .invalidArgument("capacity must be a power of two between 1 and \(maximumCapacity), got \(capacity)")
        }
        guard messageSize >= RegionLayout.minimumSlotSize, messageSize <= RegionLayout.maximumSlotSize else {
            throw .invalidArgument("message size must be between \(RegionLayout.minimumSlotSize) and \(RegionLayout.maximumSlotSize) bytes, got \(messageSize)")
        }
    }

    /// Validates the header of `region` as a `kind` structure and returns its
    /// capacity and message size; `regionSize` is the layout's size formula.
    static func attach(_ region: SharedRegion, kind: StructureKind, maximumCapacity: Int, timeoutSeconds: Double,
                       regionSize: (Int, Int) -> Int?) throws(ShmError) -> (header: RegionHeader, capacity: Int, messageSize: Int) {
        let header = try RegionHeader.validate(region, expecting: kind, timeoutSeconds: timeoutSeconds)
        guard header.capacity >= 1, header.capacity <= UInt64(maximumCapacity),
              header.capacity & (header.capacity - 1) == 0 else {
            throw .corruptedHeader(name: region.name, reason: "capacity \(header.capacity) is not a power of two in 1...\(maximumCapacity)")
        }
        guard header.slotSize >= UInt64(RegionLayout.minimumSlotSize),
              header.slotSize <= UInt64(RegionLayout.maximumSlotSize) else {
            throw .corruptedHeader(name: region.name, reason: "slot size \(header.slotSize) outside \(RegionLayout.minimumSlotSize)...\(RegionLayout.maximumSlotSize)")
        }
        let capacity = Int(header.capacity), slotSize = Int(header.slotSize)
        let expected = regionSize(capacity, slotSize)
        guard let expected, expected == region.size else {
            throw .sizeMismatch(name: region.name, headerSays: UInt64(expected ?? 0), actual: UInt64(region.size))
        }
        return (header, capacity, slotSize)
    }
}
