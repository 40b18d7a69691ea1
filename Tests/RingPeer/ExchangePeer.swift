import ShmRing
#if canImport(Glibc)
import Glibc
#endif

/// ring-peer's exchange roles (KIND `exchange`):
///
///   ring-peer serve exchange NAME DIR COUNT WAIT [create|open] [close|hang]
///       answer COUNT requests (the u64 v with v + 1), then with `hang` keep
///       the server role without answering until killed, else serve on until
///       the end of the stream
///   ring-peer call exchange NAME DIR COUNT WAIT [create|open] [close|hang]
///       COUNT calls (request i, response i + 1 expected), then close, or
///       with `hang` keep the client role until killed
enum ExchangePeer {
    static func open(create: Bool) throws -> Exchange {
        create ? try Exchange.create(backing: backing, name: name, maximumMessageSize: 64, options: options)
               : try Exchange.open(backing: backing, name: name, options: options, waitForCreationSeconds: 10)
    }

    static func serve(count: UInt64, wait: WaitStrategy, create: Bool, hang: Bool) throws {
        let exchange = try open(create: create)
        var server = try exchange.server(wait: wait)
        // Tests that start a successor wait for this line: until the claim,
        // a client still sees the dead predecessor's end.
        print("serving")
        fflush(nil)
        var served: UInt64 = 0
        func answer(_ request: UnsafeRawBufferPointer, _ response: UnsafeMutableRawBufferPointer) -> Int {
            response.storeBytes(of: request.loadUnaligned(as: UInt64.self) &+ 1, as: UInt64.self)
            return 8
        }
        while served < count, try server.serve(timeoutSeconds: 10, answer) == .message { served += 1 }
        if hang { while true { pause(); _ = server.exchange } }
        while try server.serve(timeoutSeconds: 10, answer) == .message { served += 1 }
    }

    static func call(count: UInt64, wait: WaitStrategy, create: Bool, hang: Bool) throws {
        let exchange = try open(create: create)
        var client = try exchange.client(wait: wait)
        var response = [UInt8](repeating: 0, count: 64)
        for i in 0..<count {
            var request = i
            let length = try withUnsafeBytes(of: &request) { r in
                try response.withUnsafeMutableBytes { try client.call(request: r, response: $0, timeoutSeconds: 10) }
            }
            let value = response.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            guard length == 8, value == i + 1 else { fail("request \(i) was answered with \(length) bytes, \(value)") }
        }
        if hang { while true { pause(); _ = client.exchange } }
        client.close()
    }
}
