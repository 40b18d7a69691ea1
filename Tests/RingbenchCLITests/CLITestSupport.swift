import Foundation

import XCTest

/// Runs the built `ringbench` executable: the one launcher every CLI test
/// uses. Tests never fork in their own process: the executable does, and the
/// tests read what it prints.
enum Ringbench {
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["RINGBENCH_BIN"] { return URL(fileURLWithPath: path) }
        // The test bundle sits next to the products it was built with.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !dir.path.isEmpty, dir.path != "/" {
            let candidate = dir.appendingPathComponent("ringbench")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug/ringbench")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }

        /// The first run's integrity counts.
        var integrity: [String: Int]? { RingbenchCLITests.integrity(of: json).first }
    }

    /// A started process whose output is captured.
    struct Running {
        let process: Process
        let out: Pipe
        let err: Pipe

        var pid: Int32 { process.processIdentifier }

        /// Reads both pipes to the end (so a full pipe cannot stall the
        /// child), then waits.
        func wait() -> Result {
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
        }
    }

    /// Starts ringbench (or `executable`, e.g. strace) without waiting.
    static func start(_ arguments: [String], environment: [String: String] = [:],
                      executable: URL? = nil, input: URL? = nil) throws -> Running {
        let process = Process()
        if let input { process.standardInput = try FileHandle(forReadingFrom: input) }
        process.executableURL = executable ?? Self.executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return Running(process: process, out: out, err: err)
    }

    /// Runs ringbench to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:],
                    executable: URL? = nil, input: URL? = nil) throws -> Result {
        try start(arguments, environment: environment, executable: executable, input: input).wait()
    }

    /// Pids whose parent is `pid`, from /proc.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // Fields after "comm)": state, ppid, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }
}

/// Integrity counts from a result document's runs.
func integrity(of json: [String: Any]?) -> [[String: Int]] {
    let runs = json?["runs"] as? [[String: Any]] ?? []
    return runs.map { ($0["integrity"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue } }
}
