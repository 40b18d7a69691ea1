/// No lock: acquire and release do nothing. The control run: with two or
/// more processes the exclusion check must fail.
public struct NoLock: ProcessLock {
    public mutating func acquire() throws(HarnessError) {}
    public mutating func release() {}
}
