import ShmRing
import CShmRingABI

// The request/response exchange's C entry points (include/shmring.h): a
// client calls (request out, response back), a server receives and responds
// or serves with a callback. Each converts its arguments, calls the Swift
// API, and turns a thrown ShmError into a status.

typealias ExchangeClient = Exchange.Client
typealias ExchangeServer = Exchange.Server

@_cdecl("shmring_exchange_create")
public func shmring_exchange_create(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ maxMessage: Int, _ sharedLine: Int32,
                                    _ options: UnsafePointer<shmring_options>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.exchange) { () throws(ShmError) in
        let (opts, reclaim) = try ABIArgument.options(options)
        guard sharedLine == 0 || sharedLine == 1 else { throw .invalidArgument("shared_line must be 0 or 1, got \(sharedLine)") }
        let exchange = try Exchange.create(backing: ABIArgument.backing(backing), name: ABIArgument.name(name, optional: true),
                                           maximumMessageSize: ABIArgument.count(maxMessage, "max_message"),
                                           lines: sharedLine == 1 ? .shared : .separate, options: opts, reclaimStale: reclaim)
        return exchange
    }
}

@_cdecl("shmring_exchange_open")
public func shmring_exchange_open(_ backing: shmring_backing, _ name: UnsafePointer<CChar>?, _ options: UnsafePointer<shmring_options>?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    HandleCell.produce(out, tag: HandleTag.exchange) { () throws(ShmError) in
        let (opts, _) = try ABIArgument.options(options)
        let exchange = try Exchange.open(backing: ABIArgument.backing(backing), name: ABIArgument.name(name)!, options: opts,
                                         waitForCreationSeconds: opts.waitForCreationSeconds)
        return exchange
    }
}

@_cdecl("shmring_exchange_max_message")
public func shmring_exchange_max_message(_ handle: OpaquePointer?, _ maxMessage: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let exchange = HandleCell.value(handle, tag: HandleTag.exchange, as: Exchange.self, #function) else { return HandleCell.status }
    maxMessage?.pointee = exchange.pointee.maximumMessageSize
    return ABIStatus.ok
}

@_cdecl("shmring_exchange_free")
public func shmring_exchange_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.exchange, as: Exchange.self) }

@_cdecl("shmring_exchange_claim_client")
public func shmring_exchange_claim_client(_ handle: OpaquePointer?, _ wait: shmring_wait, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    EndClaim.run(handle, tag: HandleTag.exchange, as: Exchange.self, #function, wait: wait, out: out, endTag: HandleTag.exchangeClient) { s, w throws(ShmError) in try s.client(wait: w) }
}

@_cdecl("shmring_exchange_claim_server")
public func shmring_exchange_claim_server(_ handle: OpaquePointer?, _ wait: shmring_wait, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    EndClaim.run(handle, tag: HandleTag.exchange, as: Exchange.self, #function, wait: wait, out: out, endTag: HandleTag.exchangeServer) { s, w throws(ShmError) in try s.server(wait: w) }
}

@_cdecl("shmring_exchange_call")
public func shmring_exchange_call(_ handle: OpaquePointer?, _ request: UnsafeRawPointer?, _ length: Int,
                                  _ response: UnsafeMutableRawPointer?, _ responseSize: Int, _ timeout: Double,
                                  _ responseLength: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let client = HandleCell.value(handle, tag: HandleTag.exchangeClient, as: ExchangeClient.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let source = try bytes(request, length), target = try buffer(response, responseSize), seconds = try ABIArgument.timeout(timeout)
        // The response is checked against the caller's buffer before it is
        // copied: one that does not fit is an error, never an overrun.
        var n = 0
        try client.pointee.call(request: source, timeoutSeconds: seconds) { r throws(ShmError) in n = try copyRecord(r, into: target) }
        responseLength?.pointee = n
        return ABIStatus.ok
    }
}

@_cdecl("shmring_exchange_client_close")
public func shmring_exchange_client_close(_ handle: OpaquePointer?) -> Int32 {
    guard let client = HandleCell.value(handle, tag: HandleTag.exchangeClient, as: ExchangeClient.self, #function) else { return HandleCell.status }
    HandleCell.markClosed(handle)
    client.move().close()
    return ABIStatus.ok
}

@_cdecl("shmring_exchange_client_free")
public func shmring_exchange_client_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.exchangeClient, as: ExchangeClient.self) }

@_cdecl("shmring_exchange_receive")
public func shmring_exchange_receive(_ handle: OpaquePointer?, _ request: UnsafeMutableRawPointer?, _ size: Int, _ timeout: Double,
                                     _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let server = HandleCell.value(handle, tag: HandleTag.exchangeServer, as: ExchangeServer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let target = try buffer(request, size), seconds = try ABIArgument.timeout(timeout)
        var n = 0
        let got = try server.pointee.receive(timeoutSeconds: seconds) { r throws(ShmError) in n = try copyRecord(r, into: target) }
        if got == .message { length?.pointee = n }
        return received(got)
    }
}

@_cdecl("shmring_exchange_respond")
public func shmring_exchange_respond(_ handle: OpaquePointer?, _ response: UnsafeRawPointer?, _ length: Int) -> Int32 {
    guard let server = HandleCell.value(handle, tag: HandleTag.exchangeServer, as: ExchangeServer.self, #function) else { return HandleCell.status }
    return ABIStatus.run { () throws(ShmError) in
        let source = try bytes(response, length)
        try server.pointee.respond(length: length) { bytes in
            if length > 0 { bytes.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: length) }
        }
        return ABIStatus.ok
    }
}

@_cdecl("shmring_exchange_serve")
public func shmring_exchange_serve(_ handle: OpaquePointer?, _ handler: shmring_serve_fn?, _ context: UnsafeMutableRawPointer?,
                                   _ timeout: Double) -> Int32 {
    guard let server = HandleCell.value(handle, tag: HandleTag.exchangeServer, as: ExchangeServer.self, #function) else { return HandleCell.status }
    guard let handler else { return ABIStatus.fail(.invalidArgument("handler is NULL")) }
    return ABIStatus.run { () throws(ShmError) in
        received(try server.pointee.serve(timeoutSeconds: ABIArgument.timeout(timeout)) { request, response in
            // The handler's length is checked by `serve` (at most the buffer's).
            Int(truncatingIfNeeded: handler(context, request.baseAddress, request.count, response.baseAddress, response.count))
        })
    }
}

@_cdecl("shmring_exchange_server_free")
public func shmring_exchange_server_free(_ handle: OpaquePointer?) { HandleCell.free(handle, tag: HandleTag.exchangeServer, as: ExchangeServer.self) }
