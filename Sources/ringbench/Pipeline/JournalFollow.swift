import BenchHarness
import ShmRing

extension Journal.Tailer {
    /// `read(timeoutSeconds: nil)` for a command: waits in short slices so
    /// that SIGINT/SIGTERM/SIGHUP (held pending by `SignalGuard`) end a
    /// follower that would otherwise wait for a producer forever. Throws
    /// `HarnessError.interrupted` or the tailer's `ShmError` (among them
    /// `noSuchRegion` when the journal is removed while it waits).
    mutating func follow<Value>(_ body: (Journal.Record) throws(ShmError) -> Value) throws -> Journal.Read<Value> {
        while true {
            if let step = try readSlice(body) { return step }
            if let signal = SignalGuard.takePendingTermination() { throw HarnessError.interrupted(signal: signal) }
        }
    }

    /// One 50 ms wait; nil when it timed out.
    private mutating func readSlice<Value>(_ body: (Journal.Record) throws(ShmError) -> Value) throws(ShmError) -> Journal.Read<Value>? {
        let step: Journal.Read<Value>
        do {
            step = try read(timeoutSeconds: 0.05, body)
        } catch {
            if case .timedOut = error { return nil }
            throw error
        }
        return step
    }
}
