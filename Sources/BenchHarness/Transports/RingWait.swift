import ShmRing

/// `--wait` for the ring transports (`spsc`, `records`): how a port waits
/// when its ring is empty or full.
///
/// Without `--wait` a port retries its non-blocking call with the harness's
/// own `SpinWait` (the figures the suite has always reported). With
/// `--wait spin|yield|park|backoff` it claims its ends with that `WaitStrategy` and,
/// once the non-blocking call finds nothing, makes the library's blocking
/// call: what an embedding pipeline pays, parking and wake-ups included.
public enum RingWait {
    /// The strategy `--wait` names, or nil without one.
    public static func strategy(_ raw: String?) throws(HarnessError) -> WaitStrategy? {
        guard let raw else { return nil }
        guard let strategy = WaitStrategy(rawValue: raw) else {
            throw .invalidScenario("unknown --wait '\(raw)'; choose one of: \(WaitStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return strategy
    }

    /// The strategy to claim endpoints with: `.spin` keeps the wake-up check
    /// off the peer's hot path when the harness spins by itself.
    static func claimStrategy(_ scenario: Scenario) throws(HarnessError) -> (strategy: WaitStrategy, blocking: Bool) {
        guard let chosen = try strategy(scenario.wait) else { return (.spin, false) }
        return (chosen, true)
    }

    /// A blocking receive found the ring closed: the harness never closes
    /// its rings, so this is a protocol violation.
    @usableFromInline static let unexpectedEnd = HarnessError.protocolViolation("the ring reported end of stream, which the harness never sends")
}
