import Foundation
import XCTest

/// Runs the built `ringbench` executable. Tests never fork in their own
/// process: the executable does, and the tests read what it prints.
struct Ringbench {
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["RINGBENCH_BIN"] { return URL(fileURLWithPath: path) }
        // The test bundle sits next to the products it was built with.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !dir.path.isEmpty, dir.path != "/" {
            let candidate = dir.appendingPathComponent("ringbench")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/ringbench")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
    }

    /// Starts ringbench without waiting.
    static func start(_ arguments: [String], stdout: Pipe = Pipe(), stderr: Pipe = Pipe()) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        return process
    }

    /// Runs ringbench to completion.
    static func run(_ arguments: [String]) throws -> Result {
        let out = Pipe(), err = Pipe()
        let process = try start(arguments, stdout: out, stderr: err)
        // Read before waiting so a full pipe cannot stall the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// What the machine holds in SysV IPC and /dev/shm, to prove nothing leaked.
struct IPCSnapshot: Equatable {
    var sysv: [String]
    var devShm: [String]

    static func take() -> IPCSnapshot {
        var sysv: [String] = []
        for kind in ["shm", "sem", "msg"] {
            let text = (try? String(contentsOfFile: "/proc/sysvipc/\(kind)", encoding: .utf8)) ?? ""
            sysv += text.split(separator: "\n").dropFirst().map { "\(kind) " + $0.split(separator: " ").prefix(2).joined(separator: " ") }
        }
        let shm = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
        return IPCSnapshot(sysv: sysv.sorted(), devShm: shm.sorted())
    }
}

/// Integrity counts from a result document's runs.
func integrity(of json: [String: Any]?) -> [[String: Int]] {
    let runs = json?["runs"] as? [[String: Any]] ?? []
    return runs.map { ($0["integrity"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue } }
}
