import ShmRing

/// What `sub` reads many records a call from: the record ring's and the
/// broadcast ring's consumers (`tryPeekRecords`) and the journal's tailer
/// (`tryReadRecords`, the payloads of one segment). Each conformance passes
/// `RecordOutput.take` straight to its source's inlined read, so the
/// per-record staging compiles into the source's loop; `gather` is generic
/// only above it, once per read. (Generic below it, through a forwarding
/// closure or a protocol requirement taking the body, the staging stayed out
/// of line: record-ring sub 88 -> 118-125 instructions a line.)
protocol RecordSource: ~Copyable {
    /// One many-records read into `output`, staged in `run`; how many records.
    mutating func read(into output: inout RecordOutput, _ run: inout RecordOutput.LineRun) throws(ShmError) -> Int
}

extension RecordRing.Consumer: RecordSource {
    mutating func read(into output: inout RecordOutput, _ run: inout RecordOutput.LineRun) throws(ShmError) -> Int {
        try tryPeekRecords { output.take($0, &run) }
    }
}

/// `.block` rings only (`tryPeekRecords`).
extension BroadcastRing.Consumer: RecordSource {
    mutating func read(into output: inout RecordOutput, _ run: inout RecordOutput.LineRun) throws(ShmError) -> Int {
        try tryPeekRecords { output.take($0, &run) }
    }
}

extension Journal.Tailer: RecordSource {
    mutating func read(into output: inout RecordOutput, _ run: inout RecordOutput.LineRun) throws(ShmError) -> Int {
        try tryReadRecords { output.take($0.payload, &run) }
    }
}

extension RecordOutput {
    /// Adds what `source` shows now, many records a read, up to the batch's
    /// room; whether anything was added. What was read before a read throws
    /// joins the batch.
    mutating func gather<Source: RecordSource & ~Copyable>(from source: inout Source) throws(ShmError) -> Bool {
        var gathered = false
        while hasRoom {
            var run = lineRun(), n = 0
            do { n = try source.read(into: &self, &run) } catch { finish(&run); throw error }
            finish(&run)
            guard n > 0 else { break }
            gathered = true
        }
        return gathered
    }
}
