#if canImport(Glibc)
import Glibc
#endif

/// The name of a `dirent` that `readdir` returned, read in place.
///
/// A dirent is only as long as its name (`d_reclen`), so copying the struct
/// (`entry.pointee.d_name`, a 256-byte tuple) reads past the record into
/// whatever follows it: AddressSanitizer reported a heap-buffer-overflow
/// there in the journal's directory listing. Every directory walk of the
/// package uses this instead.
package func directoryEntryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
    String(cString: UnsafeRawPointer(entry).advanced(by: directoryEntryNameOffset).assumingMemoryBound(to: CChar.self))
}

/// Offset of `d_name` in a `dirent`.
private let directoryEntryNameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
