#if canImport(Glibc)
import Glibc
#endif

/// Why one end of a record ring gave the stream up without finishing it:
/// the reason a producer stores with `RecordRing.Producer.abort(reason:)`
/// (its consumer then fails with `producerFailed`) and a consumer with
/// `RecordRing.Consumer.abort(reason:)` (its producer sees
/// `consumerFailure`). Stored in the region as one u64 code: the kind in
/// the low byte, its argument (a signal or errno) in the next 32 bits.
public enum StreamFailure: Equatable, Sendable, CustomStringConvertible {
    /// A terminating signal (SIGINT, SIGTERM, ...) stopped it.
    case interrupted(signal: Int32)
    /// The input held a record longer than the ring's largest record.
    case recordTooLong
    /// The input was malformed (a length prefix past its end, ...).
    case badInput
    /// Reading the input failed with `errno`.
    case inputError(errno: Int32)
    /// Writing the output failed with `errno` (a consumer's stdout).
    case outputError(errno: Int32)
    /// Its peer went away and no successor took its end over in time.
    case peerGone
    /// Any other failure.
    case other

    /// The code stored in the region; never 0 (0 means "no failure").
    public var code: UInt64 {
        switch self {
        case let .interrupted(signal): 1 | UInt64(UInt32(bitPattern: signal)) << 8
        case .recordTooLong: 2
        case .badInput: 3
        case let .inputError(errno): 4 | UInt64(UInt32(bitPattern: errno)) << 8
        case let .outputError(errno): 5 | UInt64(UInt32(bitPattern: errno)) << 8
        case .peerGone: 6
        case .other: 7
        }
    }

    /// Decodes a code read from the region (untrusted: anything unknown is
    /// `.other`); nil for 0.
    public init?(code: UInt64) {
        let argument = Int32(bitPattern: UInt32(truncatingIfNeeded: code >> 8))
        switch code & 0xFF {
        case 0 where code == 0: return nil
        case 1: self = .interrupted(signal: argument)
        case 2: self = .recordTooLong
        case 3: self = .badInput
        case 4: self = .inputError(errno: argument)
        case 5: self = .outputError(errno: argument)
        case 6: self = .peerGone
        default: self = .other
        }
    }

    public var description: String {
        switch self {
        case let .interrupted(signal): "interrupted by signal \(signal) (\(Self.signalName(signal)))"
        case .recordTooLong: "its input held a record longer than the ring's largest record"
        case .badInput: "its input was malformed (a length prefix beyond the end of the input)"
        case let .inputError(errno): "reading its input failed: \(Self.errorText(errno))"
        case let .outputError(errno): "writing its output failed: \(Self.errorText(errno))"
        case .peerGone: "its peer went away and no successor took over"
        case .other: "it failed"
        }
    }

    private static func signalName(_ signal: Int32) -> String {
        guard signal > 0, signal < 65, let text = strsignal(signal) else { return "unknown signal" }
        return String(cString: text)
    }

    private static func errorText(_ errno: Int32) -> String {
        guard errno > 0, errno < 4096, let text = strerror(errno) else { return "errno \(errno)" }
        return "\(String(cString: text)) (errno \(errno))"
    }
}
