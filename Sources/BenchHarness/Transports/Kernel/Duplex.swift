/// A transport's two directions. The producer (pinger) sends forward and
/// receives backward; the consumer (echoer) does the reverse. Throughput runs
/// use only the forward direction, but both exist so one port type serves
/// both modes.
struct Duplex<End> {
    let forward: End
    let backward: End

    /// The end `role` receives from and the end it sends to.
    func sides(for role: Role) -> (inbound: End, outbound: End) {
        if case .producer = role { return (backward, forward) }
        return (forward, backward)
    }

    func map<T>(_ transform: (End) throws(HarnessError) -> T) throws(HarnessError) -> Duplex<T> {
        Duplex<T>(forward: try transform(forward), backward: try transform(backward))
    }
}

extension Role {
    /// Producers and pingers own the first end of a bidirectional pair.
    var isProducer: Bool {
        if case .producer = self { return true }
        return false
    }
}
