import Foundation

/// A result handed from a thread to the test that waits for it.
public final class ResultBox<Success: Sendable, Failure: Error>: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSCondition()
    private var stored: Result<Success, Failure>?

    public init() {}

    public var value: Result<Success, Failure>? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    public func set(_ result: Result<Success, Failure>) {
        lock.lock()
        stored = result
        lock.broadcast()
        lock.unlock()
    }

    /// The result, waiting up to `seconds` for it (nil if none came).
    public func wait(seconds: Double) -> Result<Success, Failure>? {
        lock.lock()
        defer { lock.unlock() }
        let end = Date(timeIntervalSinceNow: seconds)
        while stored == nil, lock.wait(until: end) {}
        return stored
    }
}
