#if canImport(Glibc)
import Glibc
#endif

/// Writing results (`--output FILE` or standard output) and reading them
/// back (`report FILE`), with errors that name the argument and say plainly
/// what is wrong with it.
///
/// Writing: a regular file (or a path that does not exist yet) is replaced
/// atomically: the text goes to a temporary file beside it, which is renamed
/// over the target only once everything was written, so a failed write never
/// leaves half a results file. Anything else that exists (a FIFO, a symbolic
/// link, a device such as /dev/full or /dev/null) is opened and written
/// through, the way a shell redirection would: renaming over it would
/// replace the FIFO, the link or the device node itself. Every write error
/// (ENOSPC, EIO, EPIPE...) is reported and the command exits non-zero.
enum OutputFile {
    /// Checks `--output` before any work starts, so a directory or a missing
    /// parent directory fails at once rather than after a long run.
    static func checkWritable(_ path: String) throws(CommandFailure) {
        guard !path.isEmpty else { throw CommandFailure(message: "--output needs a file path", code: 2) }
        var st = stat()
        if stat(path, &st) == 0 {
            if st.st_mode & S_IFMT == S_IFDIR {
                throw CommandFailure(message: "--output \(path) is a directory; give the path of a file to write", code: 2)
            }
            return
        }
        let e = errno
        guard e == ENOENT else { throw CommandFailure(message: "--output \(path): \(describe(e))", code: 2) }
        // A link pointing nowhere: writing through it creates its target.
        if lstat(path, &st) == 0 { return }
        let directory = parentDirectory(of: path)
        guard stat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw CommandFailure(message: "--output \(path): directory \(directory) does not exist", code: 2)
        }
    }

    /// Writes `text` to `path`, or to standard output when `path` is nil.
    static func write(_ text: String, to path: String?) throws(CommandFailure) {
        let bytes = Array(text.utf8)
        guard let path else {
            try writeAll(bytes, to: 1, what: "standard output")
            return
        }
        var st = stat()
        if lstat(path, &st) != 0 {
            guard errno == ENOENT else { throw CommandFailure(message: "cannot write --output \(path): \(describe(errno))") }
            try replace(path, with: bytes, mode: nil)
            return
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: try replace(path, with: bytes, mode: st.st_mode & 0o7777)
        case S_IFDIR: throw CommandFailure(message: "--output \(path) is a directory; give the path of a file to write", code: 2)
        default: try writeThrough(path, bytes)
        }
    }

    /// Temporary file beside `path`, then rename over it. `mode` keeps an
    /// existing file's permissions; a new file gets 0666 less the umask.
    private static func replace(_ path: String, with bytes: [UInt8], mode: mode_t?) throws(CommandFailure) {
        let directory = parentDirectory(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = "\(directory)/.\(base).ringbench-\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw CommandFailure(message: "cannot write --output \(path): creating \(temporary): \(describe(errno))") }
        do throws(CommandFailure) {
            if let mode { _ = fchmod(fd, mode) }
            try writeAll(bytes, to: fd, what: "--output \(path)")
            guard fsync(fd) == 0 else { throw CommandFailure(message: "cannot write --output \(path): fsync: \(describe(errno))") }
            guard close(fd) == 0 else { throw CommandFailure(message: "cannot write --output \(path): close: \(describe(errno))") }
            guard rename(temporary, path) == 0 else {
                throw CommandFailure(message: "cannot write --output \(path): rename: \(describe(errno))")
            }
        } catch {
            _ = close(fd)
            _ = unlink(temporary)
            throw error
        }
    }

    /// Opens what is there (following a symbolic link, creating its target
    /// if it points nowhere) and writes into it.
    private static func writeThrough(_ path: String, _ bytes: [UInt8]) throws(CommandFailure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw CommandFailure(message: "cannot write --output \(path): \(describe(errno))") }
        do throws(CommandFailure) {
            try writeAll(bytes, to: fd, what: "--output \(path)")
        } catch {
            _ = close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw CommandFailure(message: "cannot write --output \(path): close: \(describe(errno))") }
    }

    /// Writes every byte, through short writes and EINTR.
    static func writeAll(_ bytes: [UInt8], to fd: Int32, what: String) throws(CommandFailure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw CommandFailure(message: "cannot write \(what): \(n < 0 ? describe(errno) : "the write made no progress")")
            }
            offset += n
        }
    }

    /// The bytes of a results file for `report`, or an error saying what the
    /// argument is instead (missing, a directory, a device, empty...).
    static func read(_ path: String, argument: String) throws(CommandFailure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw CommandFailure(message: "\(argument): cannot read \(path): \(describe(errno))") }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CommandFailure(message: "\(argument): cannot read \(path): \(describe(errno))") }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw CommandFailure(message: "\(argument): \(path) is \(kind(st.st_mode)), not a results file; give a file written with --format json", code: 2)
        }
        guard st.st_size > 0 else {
            throw CommandFailure(message: "\(argument): \(path) is empty, not a results file; give a file written with --format json", code: 2)
        }
        guard st.st_size <= 1 << 30 else {
            throw CommandFailure(message: "\(argument): \(path) is \(st.st_size) bytes, too large for a results file", code: 2)
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw CommandFailure(message: "\(argument): cannot read \(path): \(describe(errno))") }
            if n == 0 { break } // truncated meanwhile: decode what is there
            offset += n
        }
        return Array(bytes[0..<offset])
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// "No space left on device (errno 28)".
    static func describe(_ e: Int32) -> String { "\(String(cString: strerror(e))) (errno \(e))" }
}
