import CShim
import Foundation
import TestSupport
import XCTest
import ShmRing

/// The exchange between this process and a `ring-peer` process: a whole
/// stream across processes, and a peer SIGKILLed while the other side waits
/// (parked) for it, either role. XCTest never forks: it launches the helper.
final class ExchangeLifecycleTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDownWithError() throws { scratch = nil }

    func startPeer(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = RingLifecycleTests.helper
        process.arguments = arguments
        try process.run()
        return process
    }

    func options() -> RegionOptions { RegionOptions(directory: scratch.path, openTimeoutSeconds: 5) }

    func backing(_ name: String) -> RegionBacking { name.hasPrefix("sysv-") ? .sysv : .mmap }

    func call(_ client: inout Exchange.Client, _ value: UInt64) throws -> UInt64 {
        var request = value, response: UInt64 = 0
        try withUnsafeBytes(of: &request) { r in
            try client.call(request: r, timeoutSeconds: 20) { response = $0.loadUnaligned(as: UInt64.self) }
        }
        return response
    }

    /// The peer creates the exchange and serves; we call, then close: the
    /// peer sees the end of the stream, exits 0 and the name is gone.
    func testAStreamAcrossProcessesEndsCleanly() throws {
        for name in ["x-stream", "sysv-x-stream"] {
            let server = try startPeer(["serve", "exchange", name, scratch.path, "0", "park", "create", "close"])
            let exchange = try Exchange.open(backing: backing(name), name: name, options: options(), waitForCreationSeconds: 20)
            var client = try exchange.client(wait: .park)
            for i in UInt64(0)..<1000 { XCTAssertEqual(try call(&client, i), i + 1, name) }
            client.close()
            server.waitUntilExit()
            XCTAssertEqual(server.terminationStatus, 0, name)
            let file = backing(name) == .sysv ? name + ".sysv-key" : name
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file(file)), "\(name): the server removes the name")
        }
    }

    /// A server SIGKILLed while our call waits (parked) for its answer:
    /// `peerDied` naming it, soon after the kill; a new server then answers
    /// the request the dead one left.
    func testServerKilledWhileTheClientWaits() throws {
        for name in ["x-server-killed", "sysv-x-server-killed"] {
            let exchange = try Exchange.create(backing: backing(name), name: name, maximumMessageSize: 64, options: options())
            let server = try startPeer(["serve", "exchange", name, scratch.path, "3", "park", "open", "hang"])
            var client = try exchange.client(wait: .park)
            for i in UInt64(0)..<3 { XCTAssertEqual(try call(&client, i), i + 1) }
            let pid = server.processIdentifier
            Thread { usleep(300_000); kill(pid, SIGKILL) }.start()
            let outcome = Result { try call(&client, 3) }
            guard case .failure(let error) = outcome, case .peerDied(let dead)? = error as? ShmError else { return XCTFail("\(name): \(outcome)") }
            XCTAssertEqual(dead, pid)
            server.waitUntilExit()
            // A successor serves the pending request; our next call discards its answer.
            // Until the successor has claimed the server end, the client
            // rightly still sees the dead server's end: wait for the claim.
            let claimed = Pipe()
            let successor = Process()
            successor.executableURL = RingLifecycleTests.helper
            successor.arguments = ["serve", "exchange", name, scratch.path, "0", "park", "open", "close"]
            successor.standardOutput = claimed
            try successor.run()
            XCTAssertEqual(claimed.readLine(within: 20).trimmingCharacters(in: .whitespacesAndNewlines), "serving", name)
            XCTAssertEqual(try call(&client, 41), 42, name)
            client.close()
            successor.waitUntilExit()
            XCTAssertEqual(successor.terminationStatus, 0, name)
        }
    }

    /// A client SIGKILLed while our server waits (parked) for its next
    /// request: `peerDied` once everything it sent was answered.
    func testClientKilledWhileTheServerWaits() throws {
        for name in ["x-client-killed", "sysv-x-client-killed"] {
            let exchange = try Exchange.create(backing: backing(name), name: name, maximumMessageSize: 64, options: options())
            let client = try startPeer(["call", "exchange", name, scratch.path, "5", "park", "open", "hang"])
            var server = try exchange.server(wait: .park)
            var served = 0
            let handler = { (request: UnsafeRawBufferPointer, response: UnsafeMutableRawBufferPointer) throws(ShmError) -> Int in
                response.storeBytes(of: request.loadUnaligned(as: UInt64.self) &+ 1, as: UInt64.self)
                return 8
            }
            while served < 5 { XCTAssertEqual(try server.serve(timeoutSeconds: 20, handler), .message); served += 1 }
            let pid = client.processIdentifier
            let killedAt = ResultBox<UInt64, Never>()
            Thread { usleep(300_000); kill(pid, SIGKILL); killedAt.set(.success(cshim_monotonic_ns())) }.start()
            let outcome = Result { () throws(ShmError) in try server.serve(timeoutSeconds: 20, handler) }
            let detected = cshim_monotonic_ns()
            guard case .failure(.peerDied(let dead)) = outcome else { return XCTFail("\(name): \(outcome)") }
            XCTAssertEqual(dead, pid)
            if case .success(let at)? = killedAt.wait(seconds: 5) {
                XCTAssertLessThan(Double(detected &- at) / 1e6, 2000, "\(name): detected long after the kill")
                print("\(name): client death detected \(Double(detected &- at) / 1e6) ms after SIGKILL")
            }
            client.waitUntilExit()
        }
    }
}
