import Foundation

/// A value shared between test threads behind an `NSLock`. Tests use this
/// rather than `Synchronization.Mutex`: on Linux that mutex waits with raw
/// futex calls, which ThreadSanitizer cannot see, so `make sanitize-thread`
/// would report every access it guards as a race.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: every access to `value` goes through `lock`.
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
