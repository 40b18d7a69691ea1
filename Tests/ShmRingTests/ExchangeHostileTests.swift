import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// The exchange's entries in the hostile-region catalogue (the header cases
/// run on it through `HostileRegionTests.Kind.exchange`): signal words and
/// lines a peer wrote, each a typed error (`corruptRing`, `corruptedHeader`),
/// never a read outside the line or slot, a crash or a hang.
extension HostileRegionTests {
    static let exchangeCatalogue = [
        "exchange turn from the future", "exchange length beyond the maximum", "exchange lines that disagree",
        "exchange lines parameter wrong", "exchange end of stream behind the server", "scribbler vs exchange",
    ]

    func signalWord(_ exchange: Exchange, response: Bool) -> UnsafeMutablePointer<UInt64> {
        let offset = ExchangeLayout.channelsOffset + (response ? ExchangeLayout.responseLineOffset : ExchangeLayout.requestLineOffset)
        return (exchange.region.base + offset).assumingMemoryBound(to: UInt64.self)
    }

    func testExchangeTurnFromTheFutureAndLengthBeyondTheMaximum() throws {
        for lines in Exchange.Lines.allCases {
            for (word, what) in [(UInt64(77), "turn"), (UInt64(1) | UInt64(17) << 32, "length")] {
                let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 16, lines: lines)
                var server = try exchange.server()
                var client = try exchange.client()
                signalWord(exchange, response: false).pointee = word
                XCTAssertThrowsError(try server.tryServe { _, _ in 0 }) { XCTAssertTrue(Self.isCorruptRing($0), "\(lines) \(what): \($0)") }
                // A new claimant finds the lines inconsistent.
                XCTAssertThrowsError(try { _ = try exchange.server() }()) { _ in }
                // The flag stops a waiting client too.
                let error = try watchdog("client under a corrupt exchange") { () -> Error? in
                    do { try [UInt8(1)].withUnsafeBytes { r in try client.call(request: r, timeoutSeconds: 5) { _ in } } } catch { return error }
                    return nil
                } ?? nil
                XCTAssertTrue(error.map(Self.isCorruptRing) ?? false, "\(lines) \(what): \(String(describing: error))")
            }
            // The response side: the answer to turn 2 says 4 GiB - 1 bytes,
            // written while the client waits (with one line, the client's own
            // request is there until then).
            let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 16, lines: lines)
            var client = try exchange.client()
            nonisolated(unsafe) let answer = signalWord(exchange, response: lines == .separate)
            let writer = Thread {
                usleep(20_000)
                // Atomic, as a hostile peer's store is to the reading thread:
                // a plain store from another thread is a data race to TSan.
                cshim_store_relaxed(answer, UInt64(UInt32.max) << 32 | 2)
            }
            writer.start()
            let error = try watchdog("client reading a long response") { () -> Error? in
                do { try [UInt8(1)].withUnsafeBytes { r in try client.call(request: r, timeoutSeconds: 5) { _ in } } } catch { return error }
                return nil
            } ?? nil
            XCTAssertTrue(error.map(Self.isCorruptRing) ?? false, "\(lines): \(String(describing: error))")
        }
    }

    func testExchangeLinesThatDisagreeAndAnEndBehindTheServer() throws {
        let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 16, lines: .separate)
        signalWord(exchange, response: false).pointee = 5
        signalWord(exchange, response: true).pointee = 2
        XCTAssertThrowsError(try { _ = try exchange.server() }()) { XCTAssertTrue(Self.isCorruptRing($0), "\($0)") }
        XCTAssertThrowsError(try { _ = try exchange.client() }()) { XCTAssertTrue(Self.isCorruptRing($0), "\($0)") }
        XCTAssertEqual(exchange.pendingRequests(), 0, "a monitor's glance never throws")

        let ended = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 16, lines: .shared)
        var server = try ended.server()
        (ended.region.base + EndpointLayout.endOfStreamOffset).assumingMemoryBound(to: UInt64.self).pointee = 41
        XCTAssertThrowsError(try watchdog("serve past a wrong end") { try server.serve(timeoutSeconds: 5) { _, _ in 0 } }) {
            XCTAssertTrue(Self.isCorruptRing($0), "\($0)")
        }
    }

    func testExchangeLinesParameterWrong() throws {
        let scratch = try ScratchDirectory()
        var bytes = try validBytes(.exchange, scratch)
        for lines in [UInt64(0), 3, UInt64.max] {
            Self.put(lines, at: RegionLayout.parametersOffset + 8 * ExchangeLayout.linesParameter, in: &bytes)
            Self.fixChecksum(&bytes)
            try write(bytes, to: scratch.file("victim"))
            let error = try watchdog("open with lines \(lines)") { Kind.exchange.openError(.mmap, "victim", scratch.options) } ?? nil
            guard case .corruptedHeader? = error else { return XCTFail("lines \(lines): \(String(describing: error))") }
        }
    }

    func testScribblerVersusExchange() throws {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 90, alignment: 8)
        defer { bytes.deallocate() }
        bytes.initializeMemory(as: UInt8.self, repeating: 9)
        nonisolated(unsafe) let requests = [UnsafeRawBufferPointer(rebasing: bytes[0..<8]), UnsafeRawBufferPointer(bytes)]
        for lines in Exchange.Lines.allCases {
            let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 100, lines: lines)
            let outcome = try scribbling(over: exchange.region, from: ExchangeLayout.channelsOffset) { () -> String in
                Self.drain(restarting: { () throws(ShmError) in
                    ExchangeEnds(client: try exchange.client(wait: .spin), server: try exchange.server(wait: .spin))
                }) { (ends: inout ExchangeEnds) throws(ShmError) in
                    // A call that posts its request and gives up waiting at
                    // once (the next call discards the late answer), then one
                    // try at serving; `done` counts the requests answered.
                    ends.round += 1
                    do throws(ShmError) {
                        try ends.client.call(request: requests[ends.round % 2], timeoutSeconds: 0) { _ in }
                    } catch .timedOut {}
                    return try ends.server.tryServe { request, response in
                        response.copyMemory(from: request)
                        return request.count
                    }
                }
            }
            print("\(name) \(lines): \(outcome ?? "hung")")
            XCTAssertFalse(outcome?.hasPrefix("unexpected") ?? true, outcome ?? "hung")
        }
    }
}

struct ExchangeEnds: ~Copyable {
    var client: Exchange.Client
    var server: Exchange.Server
    var round = 0
}
