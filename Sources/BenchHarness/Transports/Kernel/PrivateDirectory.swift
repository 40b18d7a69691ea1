#if canImport(Glibc)
import Glibc
#endif

/// A directory only this user can enter (mkdtemp creates it 0700), under
/// $TMPDIR or /tmp, for the FIFOs and socket paths of one run. Nobody else
/// can create, replace or connect to what is inside, so a path-based object
/// cannot be swapped for a symlink or hijacked by another user. Its removal
/// is registered first, so cleanup (newest first) removes the files inside
/// before the directory; like them it is a name (`registerName`), removed as
/// soon as every child has opened or connected what it needs.
struct PrivateDirectory {
    let path: String

    init(purpose: String, cleanup: CleanupRegistry) throws(HarnessError) {
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        // The parent's pid in the name lets tests find leftovers of one run.
        var template = Array("\(base)/ringbench-\(getpid())-\(purpose)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { throw KernelCall.failure("mkdtemp(\(base)/ringbench-...)", errno: errno) }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.path = path
        cleanup.ledger.record(.directory(path))
        // A name like the paths inside: it goes once the children are connected.
        cleanup.registerName("directory \(path)") { _ = rmdir(path) }
    }

    /// A path inside the directory.
    func file(_ name: String) -> String { path + "/" + name }
}
