import CShim
import Foundation
import XCTest

/// Bounded waits on helper processes: no test here may hang on a helper that
/// hangs, or on a pipe nobody closes. XCTest on Linux has no per-test time
/// limit, so every wait carries its own.
extension Process {
    /// The exit status once the process has ended, waiting at most `seconds`.
    /// On timeout the process is killed (SIGKILL), the test fails, and nil
    /// is returned (after a further bounded wait for the kill to land).
    func exitStatus(within seconds: Double, file: StaticString = #filePath, line: UInt = #line) -> Int32? {
        if waitForExit(seconds: seconds) { return terminationStatus }
        XCTFail("\(executableURL?.lastPathComponent ?? "helper") \(arguments ?? []) did not exit within \(seconds) s: killed",
                file: file, line: line)
        kill(processIdentifier, SIGKILL)
        _ = waitForExit(seconds: 10)
        return nil
    }

    /// Kills the process (SIGKILL) and waits a bounded time for Foundation
    /// to see it gone; for `defer` blocks.
    func killAndReap(seconds: Double = 10) {
        if isRunning { kill(processIdentifier, SIGKILL) }
        _ = waitForExit(seconds: seconds)
    }

    /// Polls `isRunning` (Foundation reaps the process itself) until it is
    /// false or `seconds` pass; whether it ended.
    private func waitForExit(seconds: Double) -> Bool {
        let deadline = cshim_monotonic_ns() &+ UInt64(seconds * 1e9)
        while isRunning {
            if cshim_monotonic_ns() >= deadline { return false }
            usleep(2000)
        }
        return true
    }
}

extension Pipe {
    /// Reads until a line ends (returning the text read so far, with the
    /// newline) or the writers close the pipe or `seconds` pass (returning
    /// what was read, without a newline).
    func readLine(within seconds: Double) -> String {
        read(within: seconds) { $0.contains("\n") }
    }

    /// Reads until the writers close the pipe or `seconds` pass.
    func readToEnd(within seconds: Double) -> String {
        read(within: seconds) { _ in false }
    }

    private func read(within seconds: Double, until done: (String) -> Bool) -> String {
        let fd = fileHandleForReading.fileDescriptor
        let deadline = cshim_monotonic_ns() &+ UInt64(seconds * 1e9)
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 256)
        while !done(text) {
            let now = cshim_monotonic_ns()
            guard now < deadline else { break }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min((deadline - now) / 1_000_000 + 1, 1000)))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            text += String(decoding: buffer[..<count], as: UTF8.self)
        }
        return text
    }
}
