import Foundation
import TestSupport
import XCTest

/// The two-containers recipe (README, "Operating rings") without a Docker
/// engine: a consumer in its own PID and mount namespaces (`unshare --pid
/// --fork --mount-proc`, as a container gets) shares /dev/shm with a
/// producer outside; `top`, `stat` and `doctor` run from either side.
final class NamespaceRecipeTests: XCTestCase {
    static let unshare = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc"]

    func inNamespaces(_ arguments: [String]) throws -> Ringbench.Result {
        try Ringbench.run(Array(Self.unshare.dropFirst()) + [Ringbench.executable.path] + arguments,
                          executable: URL(fileURLWithPath: Self.unshare[0]))
    }

    func skipUnlessUnshareWorks() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.unshare[0]) else { throw XCTSkip("unshare (util-linux) is not installed") }
        let probe = try Ringbench.run(Array(Self.unshare.dropFirst()) + ["/bin/true"], executable: URL(fileURLWithPath: Self.unshare[0]))
        guard probe.status == 0 else {
            throw XCTSkip("cannot create PID and mount namespaces here (unshare needs root or user namespaces): \(probe.stderr)")
        }
    }

    func testTopStatAndDoctorSeeBothEndsAcrossPIDNamespaces() throws {
        try skipUnlessUnshareWorks()
        let scratch = try ScratchDirectory()
        let dir = scratch.path
        let pub = try Ringbench.start(["pub", "shared", "--directory", dir, "--count", "1M", "--size", "100", "--rate", "2000"])
        let sub = try Ringbench.start(Array(Self.unshare.dropFirst()) + [Ringbench.executable.path, "sub", "shared", "--directory", dir],
                                      executable: URL(fileURLWithPath: Self.unshare[0]))
        defer {
            for running in [pub, sub] where running.process.isRunning { kill(running.pid, SIGTERM) }
            _ = pub.wait()
            // unshare forwards nothing: its child is killed with the namespace's init.
            _ = sub.wait()
        }
        func stat(_ result: Ringbench.Result) -> [String: [String: Any]] {
            let rings = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]] ?? []
            let endpoints = rings.first?["endpoints"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: endpoints.map { ($0["endpoint"] as? String ?? "?", $0) })
        }
        // Until the consumer (inside) has read something, seen from outside.
        var outside: [String: [String: Any]] = [:]
        for _ in 0..<200 {
            outside = stat(try Ringbench.run(["stat", "shared", "--directory", dir, "--format", "json"]))
            if (outside["consumer"]?["recordsConsumed"] as? Int ?? 0) > 0 { break }
            usleep(50_000)
        }
        XCTAssertEqual(outside["consumer"]?["alive"] as? Bool, true, "the kernel-held witness works across PID namespaces: \(outside)")
        XCTAssertEqual(outside["producer"]?["alive"] as? Bool, true)
        XCTAssertEqual(outside["producer"]?["pid"] as? Int, Int(pub.pid))
        XCTAssertNotEqual(outside["consumer"]?["pid"] as? Int, Int(sub.pid), "the consumer's label is its pid inside its namespace")

        // From inside: both ends alive, the producer's pid is the outside one.
        let inside = stat(try inNamespaces(["stat", "shared", "--directory", dir, "--format", "json"]))
        XCTAssertEqual(inside["producer"]?["alive"] as? Bool, true, "\(inside)")
        XCTAssertEqual(inside["consumer"]?["alive"] as? Bool, true)
        XCTAssertGreaterThan(inside["consumer"]?["recordsConsumed"] as? Int ?? 0, 0)

        for top in [try Ringbench.run(["top", "--directory", dir, "--interval", "0.3", "--count", "1"]),
                    try inNamespaces(["top", "--directory", dir, "--interval", "0.3", "--count", "1"])] {
            XCTAssertEqual(top.status, 0, top.stderr)
            let rows = top.stdout.split(separator: "\n").filter { $0.hasPrefix("shared ") }
            XCTAssertEqual(rows.count, 2, top.stdout)
            XCTAssertTrue(rows.allSatisfy { $0.contains(" alive ") && !$0.contains("DEAD") }, top.stdout)
        }

        // doctor inside sees it is not in the initial PID namespace.
        let doctor = try inNamespaces(["doctor", "--format", "json"])
        let findings = (try? JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8))) as? [[String: Any]] ?? []
        let pidFinding = findings.first { $0["check"] as? String == "pid-namespace" }
        XCTAssertEqual(pidFinding?["level"] as? String, "warn", doctor.stdout + doctor.stderr)
        XCTAssertTrue((pidFinding?["message"] as? String ?? "").contains("is not the initial one"))
        XCTAssertNotEqual(doctor.status, 0)
    }
}
