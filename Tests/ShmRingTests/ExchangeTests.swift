import CShim
import Foundation
import TestSupport
import XCTest
@testable import ShmRing

/// The request/response exchange in one process (a server thread where both
/// sides must run at once; peer death across processes is in
/// RingLifecycleTests.ExchangeLifecycleTests, hostile regions in
/// HostileRegionTests).
final class ExchangeTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDownWithError() throws { scratch = nil }

    func assertError(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void,
                     matches: (ShmError) -> Bool) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let shm = error as? ShmError, matches(shm) else { return XCTFail("unexpected \(error)", file: file, line: line) }
        }
    }

    /// The server's answer to a request: its bytes reversed, then one byte
    /// more (so the response differs from the request in length and content).
    static func answer(_ request: UnsafeRawBufferPointer, _ response: UnsafeMutableRawBufferPointer) -> Int {
        for i in 0..<request.count { response[i] = request[request.count - 1 - i] }
        response[request.count] = 0xA5
        return request.count + 1
    }

    /// Serves on a thread until the end of the stream; returns how many it answered.
    func startServer(_ exchange: Exchange, wait: WaitStrategy = .park) -> ResultBox<Int, Error> {
        let box = ResultBox<Int, Error>()
        let server = Thread {
            box.set(Result { () throws -> Int in
                var server = try exchange.server(wait: wait)
                var served = 0
                while try server.serve(timeoutSeconds: 10, { Self.answer($0, $1) }) == .message { served += 1 }
                return served
            })
        }
        server.start()
        return box
    }

    /// Every length from 0 to the maximum (inline up to 56 bytes, slot above),
    /// on both backings and both line arrangements, then the end of the stream.
    func testRoundTripsOfEveryLengthReachTheServerAndBack() throws {
        for backing in [RegionBacking.mmap, .sysv] {
            for lines in Exchange.Lines.allCases {
                let name = "rt-\(backing)-\(lines)"
                let exchange = try Exchange.create(backing: backing, name: name, maximumMessageSize: 200, lines: lines, options: scratch.options)
                XCTAssertEqual(exchange.lines, lines)
                let served = startServer(exchange, wait: lines == .shared ? .spin : .park)
                var client = try exchange.client(wait: lines == .shared ? .spin : .park)
                var response = [UInt8](repeating: 0, count: 200)
                for length in 0..<200 {
                    let request = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ length) }
                    let got = try request.withUnsafeBytes { r in
                        try response.withUnsafeMutableBytes { try client.call(request: r, response: $0, timeoutSeconds: 10) }
                    }
                    XCTAssertEqual(got, length + 1, "\(name) length \(length)")
                    XCTAssertEqual(Array(response[0..<length]), request.reversed(), "\(name) length \(length)")
                    XCTAssertEqual(response[length], 0xA5)
                }
                client.close()
                XCTAssertEqual(try served.wait(seconds: 20)?.get(), 200, name)
                let file = backing == .sysv ? name + ".sysv-key" : name
                XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.file(file)), "\(name): the server removes the name at the end")
            }
        }
    }

    func testOpenFindsTheShapeAndRolesAreExclusive() throws {
        let exchange = try Exchange.create(backing: .mmap, name: "roles", maximumMessageSize: 64, lines: .shared, options: scratch.options)
        let opened = try Exchange.open(backing: .mmap, name: "roles", options: scratch.options)
        XCTAssertEqual(opened.maximumMessageSize, 64)
        XCTAssertEqual(opened.lines, .shared)
        let me = getpid()
        let client = try exchange.client()
        assertError({ _ = try opened.client() }, matches: { $0 == .endpointTaken(name: "roles", side: .producer, pid: me) })
        let server = try opened.server()
        assertError({ _ = try exchange.server() }, matches: { $0 == .endpointTaken(name: "roles", side: .consumer, pid: me) })
        _ = client.exchange; _ = server.exchange
        assertError({ _ = try Exchange.create(backing: .mmap, name: "roles", maximumMessageSize: 64, options: self.scratch.options) },
                    matches: { if case .alreadyExists = $0 { true } else { false } })
        assertError({ _ = try SPSCRing.open(backing: .mmap, name: "roles", options: self.scratch.options) },
                    matches: { if case .wrongStructure = $0 { true } else { false } })
        assertError({ _ = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 4) },
                    matches: { if case .invalidArgument = $0 { true } else { false } })
    }

    /// A call nobody answers times out; the late answer is discarded by the
    /// next call, which gets its own. A server with nothing to do times out.
    func testTimeoutsAndTheLateResponseIsDiscarded() throws {
        let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 16)
        var client = try exchange.client(wait: .park)
        var server = try exchange.server(wait: .park)
        assertError({ _ = try server.serve(timeoutSeconds: 0.05) { _, _ in 0 } },
                    matches: { if case .timedOut = $0 { true } else { false } })
        var one: UInt64 = 1, two: UInt64 = 2
        assertError({ try withUnsafeBytes(of: &one) { r in try client.call(request: r, timeoutSeconds: 0.05) { _ in } } },
                    matches: { if case .timedOut = $0 { true } else { false } })
        XCTAssertEqual(exchange.pendingRequests(), 1)
        // The server answers the first request late.
        XCTAssertTrue(try server.tryServe { request, response in
            response.copyMemory(from: request)
            return request.count
        })
        _ = consume server
        let answered = startServer(exchange)
        var value: UInt64 = 0
        try withUnsafeBytes(of: &two) { r in
            try client.call(request: r, timeoutSeconds: 10) { bytes in
                XCTAssertEqual(bytes.count, 9)
                value = bytes.loadUnaligned(as: UInt64.self)
            }
        }
        XCTAssertEqual(value.byteSwapped, 2, "the response to the second request, not the first's")
        assertError({ try withUnsafeBytes(of: &two) { r in try client.call(request: UnsafeRawBufferPointer(rebasing: r[0..<0]), timeoutSeconds: -1) { _ in } } },
                    matches: { if case .invalidArgument = $0 { true } else { false } })
        client.close()
        XCTAssertEqual(try answered.wait(seconds: 10)?.get(), 1)
    }

    /// A client closed: the server answers what was asked, then the end; a
    /// new client is refused; a waiting server is woken by the close.
    func testCloseEndsTheStreamAndRefusesANewClient() throws {
        let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 16, lines: .shared)
        let served = startServer(exchange, wait: .park)
        var client = try exchange.client(wait: .park)
        var x: UInt64 = 7
        for _ in 0..<100 { try withUnsafeBytes(of: &x) { r in try client.call(request: r, timeoutSeconds: 10) { _ in } } }
        usleep(50_000) // the server parks
        client.close()
        XCTAssertEqual(try served.wait(seconds: 10)?.get(), 100)
        assertError({ _ = try exchange.client() }, matches: { if case .invalidArgument = $0 { true } else { false } })
    }

    /// A server that takes over answers the request its predecessor left
    /// (here released without answering, as one that died after reading).
    func testNewServerAnswersThePendingRequest() throws {
        for lines in Exchange.Lines.allCases {
            let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 100, lines: lines)
            var client = try exchange.client(wait: .yield)
            let long = [UInt8](repeating: 3, count: 99) // a slot's worth, its answer one byte more
            assertError({ try long.withUnsafeBytes { r in try client.call(request: r, timeoutSeconds: 0.02) { _ in } } },
                        matches: { if case .timedOut = $0 { true } else { false } })
            do {
                var failing = try exchange.server()
                assertError({ _ = try failing.tryServe { _, _ throws(ShmError) in throw .invalidArgument("handler failed") } },
                            matches: { if case .invalidArgument = $0 { true } else { false } })
            }
            var server = try exchange.server()
            var seen = 0
            XCTAssertTrue(try server.tryServe { request, response in seen = request.count; return Self.answer(request, response) })
            XCTAssertEqual(seen, 99, "\(lines)")
            XCTAssertFalse(try server.tryServe { _, _ in 0 })
            XCTAssertEqual(exchange.pendingRequests(), 0)
            // The client's next call discards that answer and gets its own.
            _ = consume server
            let served = startServer(exchange)
            var got = 0
            try [UInt8(9)].withUnsafeBytes { r in try client.call(request: r, timeoutSeconds: 10) { got = $0.count } }
            XCTAssertEqual(got, 2, "\(lines)")
            client.close()
            XCTAssertEqual(try served.wait(seconds: 10)?.get(), 1)
        }
    }

    /// A new client after one that left mid-call resumes at the right turn:
    /// it discards the response meant for its predecessor.
    func testNewClientDiscardsItsPredecessorsResponse() throws {
        let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 16)
        do {
            var first = try exchange.client()
            assertError({ try [UInt8(1)].withUnsafeBytes { r in try first.call(request: r, timeoutSeconds: 0.01) { _ in } } },
                        matches: { if case .timedOut = $0 { true } else { false } })
        }
        let served = startServer(exchange)
        var second = try exchange.client()
        var got: [UInt8] = []
        try [UInt8(2), 3].withUnsafeBytes { r in try second.call(request: r, timeoutSeconds: 10) { got = Array($0) } }
        XCTAssertEqual(got, [3, 2, 0xA5])
        second.close()
        XCTAssertEqual(try served.wait(seconds: 10)?.get(), 2)
    }

    /// The name stays until the server reaches the end; a stale exchange
    /// (everyone gone) is reclaimed like a ring.
    func testStaleExchangeIsReclaimed() throws {
        do {
            let exchange = try Exchange.create(backing: .mmap, name: "stale", maximumMessageSize: 8, options: scratch.options)
            exchange.region.removesNameOnDeinit = false // as a creator that was killed
            XCTAssertFalse(try RingNames.isStale(backing: .mmap, name: "stale", options: scratch.options))
        }
        XCTAssertTrue(try RingNames.isStale(backing: .mmap, name: "stale", options: scratch.options))
        let again = try Exchange.create(backing: .mmap, name: "stale", maximumMessageSize: 8, options: scratch.options, reclaimStale: true)
        XCTAssertEqual(again.maximumMessageSize, 8)
    }

    /// The split calls the harness uses: send, then receive, on both sides,
    /// in place; each refuses to run out of turn.
    func testSplitSendReceiveRespondInPlace() throws {
        for lines in Exchange.Lines.allCases {
            let exchange = try Exchange.create(backing: .anon, name: nil, maximumMessageSize: 80, lines: lines)
            var client = try exchange.client(wait: .spin)
            var server = try exchange.server(wait: .spin)
            assertError({ _ = try client.tryReceive { _ in } }, matches: { if case .invalidArgument = $0 { true } else { false } })
            assertError({ try server.respond(length: 8) { _ in } }, matches: { if case .invalidArgument = $0 { true } else { false } })
            for length in [8, 56, 57, 80] {
                try client.send(length: length, timeoutSeconds: 1) { $0.initializeMemory(as: UInt8.self, repeating: UInt8(length)) }
                XCTAssertFalse(try client.tryReceive { _ in })
                var seen: [[UInt8]] = []
                XCTAssertTrue(try server.tryReceive { seen.append(Array($0)) })
                XCTAssertTrue(try server.tryReceive { seen.append(Array($0)) }, "still the request to answer")
                XCTAssertEqual(seen, [[UInt8]](repeating: [UInt8](repeating: UInt8(length), count: length), count: 2))
                try server.respond(length: length - 1) { $0.initializeMemory(as: UInt8.self, repeating: 0xEE) }
                XCTAssertFalse(try server.tryReceive { _ in })
                var answer: [UInt8] = []
                XCTAssertTrue(try client.tryReceive { answer = Array($0) })
                XCTAssertEqual(answer, [UInt8](repeating: 0xEE, count: length - 1), "\(lines) \(length)")
            }
            assertError({ try server.respond(length: 81) { _ in } }, matches: { if case .invalidArgument = $0 { true } else { false } })
            assertError({ try client.send(length: 81, timeoutSeconds: 1) { _ in } }, matches: { if case .invalidArgument = $0 { true } else { false } })
        }
    }
}
