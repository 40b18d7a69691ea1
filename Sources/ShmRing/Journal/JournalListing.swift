extension Journal {
    /// One segment file as `ringbench journal ls` shows it.
    public struct SegmentInfo: Sendable {
        public let fileName: String
        public let firstSequence: UInt64
        /// Committed records in the segment.
        public let records: UInt64
        /// "open", "sealed" or "closed".
        public let state: String
        /// The first record's timestamp (ns since the epoch), if any.
        public let firstTimestamp: UInt64?
    }

    /// The journal's segments, oldest first (each header validated).
    public static func segments(directory: String) throws(ShmError) -> [SegmentInfo] {
        let control = try JournalControl.open(directory: directory)
        var result: [SegmentInfo] = []
        for first in try JournalDirectory.segments(in: directory) {
            guard let segment = try Tailer.openSegment(control, first: first) else { continue }
            let committed = try segment.committedSequence()
            let state = switch segment.sealState() { case 0: "open"; case 1: "sealed"; case 2: "closed"; default: "bad" }
            result.append(SegmentInfo(fileName: JournalLayout.segmentName(firstSequence: first), firstSequence: first,
                                      records: committed - first, state: state, firstTimestamp: try segment.firstTimestamp()))
        }
        return result
    }
}
