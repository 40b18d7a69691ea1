import CShim
import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// Queued real-time signals: sigqueue(SIGRTMIN+1) to the peer's pid with the
/// message's 8 bytes as si_value, received with sigwaitinfo (no handler runs).
/// Roundtrip only: a signal is a wake-up with one word attached, not a
/// stream. The whole message is that word, so messages are exactly 8 bytes
/// and integrity covers sequence numbers (there is no room for a checksum);
/// the receiver also checks that si_code is SI_QUEUE and si_pid is the peer.
///
/// Race-freedom: each child blocks the signal, then publishes its pid, then
/// reaches the start barrier. Nobody sends before the barrier, so the signal
/// is blocked (and queued, never delivered by default action) before the peer
/// can send it, and the peer's pid is published before anyone reads it.
///
/// Shared block (anonymous mapping made by the parent, inherited through fork):
///
/// | offset | field                                   |
/// |-------:|-----------------------------------------|
/// |      0 | producer's pid (u64; 0 until published) |
/// |     64 | consumer's pid                          |
public struct SignalTransport: Transport {
    public static let name = "signal"
    public static let capabilities = TransportCapabilities(
        modes: [.roundtrip], maximumMessageSize: 8,
        limitReason: "a queued signal carries one 64-bit si_value; roundtrip only")

    static let producerSlot = 0
    static let consumerSlot = 64

    let pids: SharedRegion

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        do { pids = try SharedRegion.create(backing: .anon, name: "signal pids", size: 128) } catch { throw .shm(error) }
        cleanup.retain("signal pid block", pids)
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let signal = cshim_sigrtmin() + 1
        _ = try KernelCall.create("sigprocmask(SIG_BLOCK, SIGRTMIN+1)") { cshim_block_signal(signal) }
        let (mine, peer) = role.isProducer ? (Self.producerSlot, Self.consumerSlot) : (Self.consumerSlot, Self.producerSlot)
        // Release: the signal mask change above is ordered before the pid
        // that tells the peer it may signal us (the barrier orders it too).
        cshim_store_release((pids.base + mine).assumingMemoryBound(to: UInt64.self), UInt64(getpid()))
        let channel = SignalChannel(signal: signal, peerSlot: (pids.base + peer).assumingMemoryBound(to: UInt64.self))
        var port = DatagramPort(channel, messageSize: 8)
        return try visitor.visit(&port)
    }
}

struct SignalChannel: MessageChannel {
    let signal: Int32
    let peerSlot: UnsafeMutablePointer<UInt64>
    var label: String { "signal" }

    /// The peer's pid, read from shared memory (untrusted: bounds-checked).
    /// Acquire pairs with the peer's release store of its pid.
    func peer() throws(HarnessError) -> Int32 {
        let pid = cshim_load_acquire(peerSlot)
        guard pid > 1, pid <= UInt64(Int32.max) else {
            throw .protocolViolation("signal: the peer published no valid pid (\(pid))")
        }
        return Int32(pid)
    }

    func send(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) {
        let pid = try peer(), signal = signal
        let value = buffer.load(as: UInt64.self)
        _ = try KernelCall.check("sigqueue(\(pid), SIGRTMIN+1)") { cshim_sigqueue_value(pid, signal, value) }
    }

    func receive(_ buffer: UnsafeMutableRawPointer, size: Int) throws(HarnessError) -> Int {
        var value: UInt64 = 0, sender: Int32 = 0, code: Int32 = 0
        let signal = signal
        _ = try KernelCall.check("sigwaitinfo(SIGRTMIN+1)") { cshim_sigwait_value(signal, &value, &sender, &code) }
        let pid = try peer()
        guard code == cshim_SI_QUEUE, sender == pid else {
            throw .protocolViolation("signal: SIGRTMIN+1 from pid \(sender) with si_code \(code), expected sigqueue from \(pid)")
        }
        buffer.storeBytes(of: value, as: UInt64.self)
        return 8
    }
}
