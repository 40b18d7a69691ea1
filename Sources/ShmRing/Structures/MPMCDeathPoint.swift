#if canImport(Glibc)
import Glibc
#endif

/// Named points inside `MPMCSemaphoreQueue`'s critical section where a test
/// makes the process die (SIGKILL) or stop (SIGSTOP), to prove the repair
/// protocol and the mutex timeout. Armed only by the environment variable
/// `SHMRING_DEBUG_DIE_AT`, read once when a queue value is made (never on the
/// hot path): `push.entered`, `push.intent`, `push.published`,
/// `push.cleared`, the same four for `pop.`, or any of them prefixed with
/// `stop@` to stop instead of dying. Unset, it costs one predictable branch.
@usableFromInline
enum DeathPoint: UInt8, CaseIterable {
    /// Permits, mutex and busy taken; nothing written yet.
    case pushEntered = 1
    /// Intent recorded; slots not yet written.
    case pushIntent
    /// `tail` advanced; intent not yet cleared, permits not yet posted.
    case pushPublished
    /// Intent cleared; the release semop not yet made.
    case pushCleared
    case popEntered
    case popIntent
    case popPublished
    case popCleared

    static let environmentVariable = "SHMRING_DEBUG_DIE_AT"
    /// Set in the armed byte: stop (SIGSTOP) rather than die.
    static let stopFlag: UInt8 = 0x80

    var label: String {
        switch self {
        case .pushEntered: "push.entered"
        case .pushIntent: "push.intent"
        case .pushPublished: "push.published"
        case .pushCleared: "push.cleared"
        case .popEntered: "pop.entered"
        case .popIntent: "pop.intent"
        case .popPublished: "pop.published"
        case .popCleared: "pop.cleared"
        }
    }

    /// The armed byte from the environment: 0 when unset or unknown.
    static func fromEnvironment() -> UInt8 {
        guard let raw = getenv(environmentVariable) else { return 0 }
        var text = String(cString: raw)
        var flag: UInt8 = 0
        if text.hasPrefix("stop@") {
            flag = stopFlag
            text.removeFirst(5)
        }
        guard let point = allCases.first(where: { $0.label == text }) else { return 0 }
        return point.rawValue | flag
    }

    /// Dies or stops if `armed` names `point`.
    @usableFromInline @inline(never)
    static func dieIf(_ armed: UInt8, at point: DeathPoint) {
        guard armed & ~stopFlag == point.rawValue else { return }
        _ = kill(getpid(), armed & stopFlag != 0 ? SIGSTOP : SIGKILL)
    }
}
