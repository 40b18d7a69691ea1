/// How long each message of a run is: every message `messageSize` bytes
/// (`fixed`, what every fixed-slot transport carries), or a length drawn per
/// message from a seeded distribution between 8 bytes and `messageSize` (the
/// `records` transport: `--record-sizes`, `--seed`).
///
/// A length is a pure function of the seed and the message's sequence
/// number, so the producer's port (which reserves the record) and the
/// consumer's check (which compares the received length with the one the
/// stamp determines) agree without sending anything extra, and a run can be
/// repeated exactly from the seed recorded in its results.
public struct MessageLengths: Sendable, Equatable {
    public enum Distribution: String, Sendable, CaseIterable, Codable {
        /// Every message has the maximum length.
        case fixed
        /// Uniform between 8 bytes and the maximum.
        case uniform
        /// Uniform in log2 between 8 bytes and the maximum: as many records of
        /// 8-15 bytes as of 1-2 KiB (log lines, serialized rows).
        case logUniform = "log-uniform"
    }

    public let distribution: Distribution
    public let maximum: Int
    public let seed: UInt64
    public static let minimum = 8
    public static let defaultSeed: UInt64 = 0x5EED

    public init(distribution: Distribution = .fixed, maximum: Int, seed: UInt64 = MessageLengths.defaultSeed) {
        self.distribution = distribution
        self.maximum = maximum
        self.seed = seed
    }

    /// The lengths a scenario asks for (`fixed` when it names none).
    public init(_ scenario: Scenario) throws(HarnessError) {
        let raw = scenario.recordSizes ?? Distribution.fixed.rawValue
        guard let distribution = Distribution(rawValue: raw) else {
            throw .invalidScenario("unknown --record-sizes '\(raw)'; choose one of: \(Distribution.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(distribution: distribution, maximum: scenario.messageSize, seed: scenario.seed ?? Self.defaultSeed)
    }

    public var isFixed: Bool { distribution == .fixed || maximum <= Self.minimum }

    /// The length of message `sequence` (8 ... maximum).
    @inlinable
    public func length(sequence: UInt64) -> Int {
        switch distribution {
        case .fixed:
            return maximum
        case .uniform:
            let span = UInt64(maximum - Self.minimum + 1)
            return Self.minimum + Int(truncatingIfNeeded: Self.mix(seed ^ sequence) % span)
        case .logUniform:
            let r = Self.mix(seed ^ sequence)
            let topBit = Int.bitWidth - 1 - maximum.leadingZeroBitCount
            // A power of two 8 ... 2^topBit, then uniform below the next one.
            let exponent = 3 + Int(truncatingIfNeeded: (r >> 32) % UInt64(topBit - 2))
            let low = 1 << exponent
            let high = min(maximum, (low << 1) - 1)
            return low + Int(truncatingIfNeeded: (r & 0xFFFF_FFFF) % UInt64(high - low + 1))
        }
    }

    /// The length of the message with this stamp (producer bits ignored).
    @inlinable
    public func length(stamp: UInt64) -> Int { length(sequence: stamp & MessageCodec.sequenceMask) }

    /// The mean length over the first `count` messages (for reporting bytes moved).
    public func meanLength(over count: Int = 1 << 16) -> Double {
        guard !isFixed else { return Double(maximum) }
        var total = 0
        for s in 0..<count { total += length(sequence: UInt64(s)) }
        return Double(total) / Double(count)
    }

    /// splitmix64's finaliser: a well-mixed 64-bit value from any input.
    @inlinable
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
