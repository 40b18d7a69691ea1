import CShim

/// Request/response between two processes in a `SharedRegion`: a client
/// sends a request and waits for its response, a server takes requests and
/// answers them, one at a time.
///
/// # Design (docs/design.md, "Exchange")
/// * A message of at most `inlineCapacity` (56) bytes travels in the same
///   cache line as the word that signals it: the writer stores the bytes,
///   then release-stores the signal word (`length << 32 | turn`); the reader
///   acquire-loads the word and reads the bytes from the line it already
///   holds. A round trip moves one line each way, where two rings move two
///   (data line and a position line the other way).
/// * `Lines.separate` gives each direction its own line (the request line is
///   written by the client only, the response line by the server only);
///   `Lines.shared` has both directions take turns in one line. The turn
///   numbers (2k - 1 for the k-th request, 2k for its response) tell whose
///   message a line holds either way.
/// * A longer message goes through its direction's slot (`slotSize` bytes);
///   the hand-off is the same one-line signal, its length saying where the
///   bytes are.
///
/// # Untrusted peer
/// A signal whose turn is neither the one awaited nor the one before, a
/// length above `maximumMessageSize`, or lines that disagree when an end is
/// claimed, is `ShmError.corruptRing`; every byte read is inside the line or
/// the slot, whatever the peer wrote.
///
/// # Lifecycle (shared with the rings: `Endpoint`, `RingLifecycle`)
/// Named or anonymous, SysV or mmap, owner-checked; `client(wait:)` and
/// `server(wait:)` claim one role each (the endpoint area's producer and
/// consumer sides, held through the region's liveness witness). Blocking
/// calls take a timeout and a `WaitStrategy`; a peer that dies is
/// `peerDied`; `Client.close()` ends the stream and the server then gets
/// `.endOfStream` (and removes the name). A new holder of a role after a
/// death resumes: a server answers a request left unanswered, a client
/// discards the response to a request it did not send.
public struct Exchange: Sendable {
    /// How the two directions share cache lines.
    public enum Lines: Int, Sendable, CaseIterable, CustomStringConvertible {
        /// One line, written in turn by the client (request) and the server (response).
        case shared = 1
        /// One line per direction, each written by one side only.
        case separate = 2

        public var description: String { self == .shared ? "shared" : "separate" }
    }

    public let region: SharedRegion
    /// The largest request or response, in bytes.
    public let maximumMessageSize: Int
    public let lines: Lines
    /// How the exchange was named (nil: anonymous), for the server's removal at the end.
    let naming: RegionOptions?

    /// Bytes of a message that travel in the signal's own cache line.
    public static let inlineCapacity = ExchangeLayout.inlineCapacity

    /// Creates an exchange exclusively (`name` nil: IPC_PRIVATE or anonymous,
    /// for processes related by fork). `reclaimStale` as `SPSCRing.create`.
    public static func create(backing: RegionBacking, name: String?, maximumMessageSize: Int, lines: Lines = .separate,
                              options: RegionOptions = RegionOptions(), reclaimStale: Bool = false) throws(ShmError) -> Exchange {
        try RingLifecycle.creating(backing: backing, name: name, options: options, reclaimStale: reclaimStale) { () throws(ShmError) in
            let region = try SlotShape.createRegion(backing: backing, name: name, capacity: ExchangeLayout.supportedChannels,
                                                    messageSize: maximumMessageSize, maximumCapacity: ExchangeLayout.supportedChannels,
                                                    options: options, regionSize: ExchangeLayout.regionSize)
            // Zero-filled: both signal words read turn 0 (idle), both roles unclaimed.
            RegionHeader(kind: .exchange, totalSize: region.size, capacity: ExchangeLayout.supportedChannels, slotSize: maximumMessageSize,
                         parameters: [UInt64(lines.rawValue)]).write(to: region)
            try Endpoint.recordCreator(region)
            RegionHeader.publishReady(region)
            return Exchange(region: region, maximumMessageSize: maximumMessageSize, lines: lines, naming: name == nil ? nil : options)
        }
    }

    /// Opens an exchange another process created (see `SPSCRing.open`).
    public static func open(backing: RegionBacking, name: String, options: RegionOptions = RegionOptions(),
                            waitForCreationSeconds: Double = 0) throws(ShmError) -> Exchange {
        try RingLifecycle.open(backing: backing, name: name, options: options, waitSeconds: waitForCreationSeconds) { region throws(ShmError) in
            try attach(region, timeoutSeconds: options.openTimeoutSeconds, naming: options)
        }
    }

    /// Validates a mapped region as an exchange.
    public static func attach(_ region: SharedRegion, timeoutSeconds: Double = 5) throws(ShmError) -> Exchange {
        try attach(region, timeoutSeconds: timeoutSeconds, naming: nil)
    }

    static func attach(_ region: SharedRegion, timeoutSeconds: Double, naming: RegionOptions?) throws(ShmError) -> Exchange {
        let shape = try SlotShape.attach(region, kind: .exchange, maximumCapacity: RegionLayout.maximumCapacity,
                                         timeoutSeconds: timeoutSeconds, regionSize: ExchangeLayout.regionSize)
        guard shape.capacity == ExchangeLayout.supportedChannels else {
            throw .corruptedHeader(name: region.name, reason: "exchange of \(shape.capacity) channels; this version supports \(ExchangeLayout.supportedChannels)")
        }
        let rawLines = shape.header.parameters[ExchangeLayout.linesParameter]
        guard rawLines <= 2, let lines = Lines(rawValue: Int(rawLines)) else {
            throw .corruptedHeader(name: region.name, reason: "exchange lines parameter is \(rawLines), expected 1 or 2")
        }
        return Exchange(region: region, maximumMessageSize: shape.messageSize, lines: lines, naming: naming)
    }

    /// Claims the client role for this process (`endpointTaken` while another
    /// live holder has it; `invalidArgument` once a client closed the stream).
    public func client(wait strategy: WaitStrategy = .park) throws(ShmError) -> Client {
        try Client(exchange: self, strategy: strategy)
    }

    /// Claims the server role for this process.
    public func server(wait strategy: WaitStrategy = .park) throws(ShmError) -> Server {
        try Server(exchange: self, strategy: strategy)
    }

    /// Requests waiting for their response (0 or 1), for monitoring: two
    /// loads that may straddle a turn, never an error.
    public func pendingRequests() -> Int {
        let wires = Wires(self)
        // Relaxed: a monitor's glance; nothing is read on the strength of it.
        let request = UInt32(truncatingIfNeeded: cshim_load_relaxed(Wires.signalWord(wires.requestLine)))
        if wires.shared { return Int(request & 1) }
        let response = UInt32(truncatingIfNeeded: cshim_load_relaxed(Wires.signalWord(wires.responseLine)))
        return request == response &+ 1 ? 1 : 0
    }

    // MARK: - Wires

    /// Where each direction's line and slot are, shared by both roles.
    @usableFromInline
    struct Wires {
        @usableFromInline let regionBase: UnsafeMutableRawPointer
        @usableFromInline let requestLine: UnsafeMutableRawPointer
        @usableFromInline let responseLine: UnsafeMutableRawPointer
        @usableFromInline let requestSlot: UnsafeMutableRawPointer
        @usableFromInline let responseSlot: UnsafeMutableRawPointer
        @usableFromInline let maximumMessageSize: Int
        @usableFromInline let shared: Bool

        init(_ exchange: Exchange) {
            let base = exchange.region.base
            regionBase = base
            shared = exchange.lines == .shared
            let channel = base + ExchangeLayout.channelsOffset
            requestLine = channel + ExchangeLayout.requestLineOffset
            responseLine = shared ? requestLine : channel + ExchangeLayout.responseLineOffset
            requestSlot = channel + ExchangeLayout.slotsOffset
            responseSlot = requestSlot + ExchangeLayout.slotStride(messageSize: exchange.maximumMessageSize)
            maximumMessageSize = exchange.maximumMessageSize
        }

        @inlinable
        static func signalWord(_ line: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UInt64> {
            line.assumingMemoryBound(to: UInt64.self)
        }

        /// The length of the message for `turn` if `line` holds it, nil if the
        /// line still holds what was there before. Acquire pairs with the
        /// writer's release in `post`: the message bytes are visible.
        @inlinable @inline(__always)
        func arrived(in line: UnsafeMutableRawPointer, turn: UInt32) throws(ShmError) -> Int? {
            let signal = cshim_load_acquire(Self.signalWord(line))
            let found = UInt32(truncatingIfNeeded: signal)
            if _fastPath(found == turn) {
                let length = Int(truncatingIfNeeded: signal >> 32)
                guard length <= maximumMessageSize else { throw Self.tooLong(length, regionBase: regionBase, maximum: maximumMessageSize) }
                return length
            }
            // Before the message: the turn before it (one line: our own
            // message; two lines: the initial 0) or, with two lines, the
            // peer's previous message.
            if found == turn &- 1 || (!shared && found == turn &- 2) { return nil }
            throw Self.unexpectedTurn(found, awaiting: turn, regionBase: regionBase)
        }

        /// The bytes of a message of `length` (already bounded) in `line` or `slot`.
        @inlinable @inline(__always)
        static func payload(length: Int, line: UnsafeMutableRawPointer, slot: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: length <= ExchangeLayout.inlineCapacity ? line + ExchangeLayout.signalWordSize : slot,
                                   count: length)
        }

        /// Where a message of `length` (at most the maximum) is written: in
        /// the line after the signal word, or in the slot.
        @inlinable @inline(__always)
        static func place(length: Int, line: UnsafeMutableRawPointer, slot: UnsafeMutableRawPointer) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(start: length <= ExchangeLayout.inlineCapacity ? line + ExchangeLayout.signalWordSize : slot,
                                          count: length)
        }

        /// Signals the message of `length` bytes written at `place`. Release:
        /// the bytes are visible to a reader whose acquire load sees `turn`.
        @inlinable @inline(__always)
        static func signal(length: Int, turn: UInt32, line: UnsafeMutableRawPointer) {
            cshim_store_release(signalWord(line), UInt64(truncatingIfNeeded: length) << 32 | UInt64(turn))
        }

        /// Copies `length` bytes from `bytes` (nil when empty) where the
        /// reader will look, then signals them.
        @inlinable @inline(__always)
        static func post(_ bytes: UnsafeRawPointer?, length: Int, turn: UInt32,
                         line: UnsafeMutableRawPointer, slot: UnsafeMutableRawPointer) {
            if let bytes, length > 0 {
                let target = place(length: length, line: line, slot: slot).baseAddress!
                if target != UnsafeMutableRawPointer(mutating: bytes) { target.copyMemory(from: bytes, byteCount: length) }
            }
            signal(length: length, turn: turn, line: line)
        }

        @usableFromInline @inline(never)
        static func tooLong(_ length: Int, regionBase: UnsafeMutableRawPointer, maximum: Int) -> ShmError {
            Endpoint.corrupt(regionBase: regionBase, "exchange message of \(length) bytes exceeds its \(maximum)-byte maximum")
        }

        @usableFromInline @inline(never)
        static func unexpectedTurn(_ found: UInt32, awaiting turn: UInt32, regionBase: UnsafeMutableRawPointer) -> ShmError {
            Endpoint.corrupt(regionBase: regionBase, "exchange line holds turn \(found) while turn \(turn) is awaited")
        }

        /// Where the exchange stands, from both lines (a role being claimed
        /// resumes from it): the last response's turn, and whether a request
        /// is waiting for its response. Inconsistent lines are `corruptRing`.
        /// Consistent under a live peer: the claimant's own line is still
        /// (nobody holds its role), and the request line is read first, so a
        /// server reads an older request with the response it answered.
        func standing() throws(ShmError) -> (lastResponse: UInt32, pending: Bool) {
            // Acquire: pairs with the writers' release in `post` (and with the
            // previous holder's release of its role, through the claim).
            let request = UInt32(truncatingIfNeeded: cshim_load_acquire(Self.signalWord(requestLine)))
            if shared { return request & 1 == 1 ? (request &- 1, true) : (request, false) }
            // Acquire: as above.
            let response = UInt32(truncatingIfNeeded: cshim_load_acquire(Self.signalWord(responseLine)))
            if response & 1 == 0 {
                if request == response &+ 1 { return (response, true) }
                if response == request &+ 1 || (request == 0 && response == 0) { return (response, false) }
            }
            throw Endpoint.corrupt(regionBase: regionBase, "exchange lines disagree: request turn \(request), response turn \(response)")
        }
    }

    // MARK: - Client

    /// The client role: at most one per exchange at a time, across processes.
    /// Dropping it releases the role (a new client may continue); `close()`
    /// ends the stream. It may move to another thread; it cannot be copied.
    public struct Client: ~Copyable, @unchecked Sendable {
        // @unchecked: pointers into the region `exchange` keeps mapped; only
        // this unique handle writes the request line and slot.
        public let exchange: Exchange
        @usableFromInline let wires: Wires
        @usableFromInline let endpoint: Endpoint
        /// The turn of the last response received (even).
        @usableFromInline var lastTurn: UInt32
        /// A request (turn lastTurn + 1) awaits its response: a timed-out
        /// call's, or a dead predecessor's. The next call discards it first.
        @usableFromInline var outstanding: Bool

        init(exchange: Exchange, strategy: WaitStrategy) throws(ShmError) {
            let endWord = (exchange.region.base + EndpointLayout.endOfStreamOffset).assumingMemoryBound(to: UInt64.self)
            // Acquire: pairs with the release store in `close`.
            if cshim_load_acquire(endWord) != 0 { throw Self.closed(exchange) }
            let endpoint = try Endpoint.claim(exchange.region, side: .producer, strategy: strategy)
            // Again after the claim, as `SPSCRing.Producer`; acquire as above.
            if cshim_load_acquire(endWord) != 0 {
                endpoint.release()
                throw Self.closed(exchange)
            }
            let wires = Wires(exchange)
            let standing: (lastResponse: UInt32, pending: Bool)
            do throws(ShmError) { standing = try wires.standing() } catch {
                endpoint.release()
                throw error
            }
            self.exchange = exchange
            self.wires = wires
            self.endpoint = endpoint
            lastTurn = standing.lastResponse
            outstanding = standing.pending
        }

        static func closed(_ exchange: Exchange) -> ShmError {
            .invalidArgument("exchange '\(exchange.region.name)' was closed by its client (end of stream); a new stream needs a new exchange")
        }

        deinit { endpoint.release() }

        /// Ends the stream: the server answers what was asked, then gets
        /// `.endOfStream`. Releases the role. In a forked child it does nothing.
        public consuming func close() {
            guard !endpoint.isForkedCopy else { return }
            let end = lastTurn &+ (outstanding ? 2 : 0)
            // Release: the requests sent before are visible to a server that
            // acquires this word.
            cshim_store_release(endpoint.word(EndpointLayout.endOfStreamOffset), UInt64(end) &+ 1)
            endpoint.wakePeerIfSleeping()
        }

        /// Sends `request` (at most `maximumMessageSize` bytes) and waits for
        /// the response; `body` reads it in place (valid during the call).
        /// Throws `timedOut` after `timeoutSeconds` for each wait (nil or
        /// infinity: never; the late response is discarded by the next call),
        /// `peerDied`, `corruptRing`.
        @inlinable
        public mutating func call(request: UnsafeRawBufferPointer, timeoutSeconds: Double?,
                                  _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            try send(length: request.count, timeoutSeconds: timeoutSeconds) { bytes in
                if let source = request.baseAddress, bytes.count > 0 { bytes.baseAddress!.copyMemory(from: source, byteCount: bytes.count) }
            }
            try receive(timeoutSeconds: timeoutSeconds, body)
        }

        /// The first half of `call`: `fill` writes the request of `length`
        /// bytes in place (in the signal's line up to 56 bytes), then it
        /// goes out; the response is then taken with `receive` or
        /// `tryReceive`. A response still outstanding (a timed-out call's) is
        /// awaited and discarded first.
        @inlinable
        public mutating func send(length: Int, timeoutSeconds: Double?,
                                  _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            try endpoint.checkNotForked()
            guard length >= 0, length <= wires.maximumMessageSize else {
                throw .invalidArgument("request of \(length) bytes exceeds the exchange's \(wires.maximumMessageSize)-byte maximum")
            }
            if let seconds = timeoutSeconds, seconds.isNaN || seconds < 0 { // before the request goes out
                throw .invalidArgument("timeout must be a non-negative number of seconds (or infinity), got \(seconds)")
            }
            if _slowPath(outstanding) { try receive(timeoutSeconds: timeoutSeconds) { _ throws(ShmError) in } }
            try fill(Wires.place(length: length, line: wires.requestLine, slot: wires.requestSlot))
            Wires.signal(length: length, turn: lastTurn &+ 1, line: wires.requestLine)
            outstanding = true
            endpoint.counters.countMessage(published: true, bytes: length)
            endpoint.wakePeerIfParked()
        }

        /// Takes the response to the request sent if it has arrived: `body`
        /// reads it in place. False while it has not; `invalidArgument` when
        /// no request is outstanding.
        @inlinable
        public mutating func tryReceive(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool {
            try endpoint.checkNotForked()
            guard outstanding else { throw .invalidArgument("no request of exchange '\(exchange.region.name)' awaits a response") }
            return try tryTakeResponse(body)
        }

        /// Waits for the response to the request sent (see `call`).
        @inlinable
        public mutating func receive(timeoutSeconds: Double?, _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            guard outstanding else { throw .invalidArgument("no request of exchange '\(exchange.region.name)' awaits a response") }
            try awaitResponse(timeoutSeconds: timeoutSeconds, body)
        }

        /// `call` copying the response into `response` (at least
        /// `maximumMessageSize` bytes); returns its length.
        @inlinable
        public mutating func call(request: UnsafeRawBufferPointer, response: UnsafeMutableRawBufferPointer,
                                  timeoutSeconds: Double?) throws(ShmError) -> Int {
            guard response.count >= wires.maximumMessageSize else {
                throw .invalidArgument("response buffer of \(response.count) bytes is smaller than the exchange's \(wires.maximumMessageSize)-byte maximum")
            }
            var length = 0
            try call(request: request, timeoutSeconds: timeoutSeconds) { bytes in
                length = bytes.count
                if let source = bytes.baseAddress, length > 0 { response.baseAddress!.copyMemory(from: source, byteCount: length) }
            }
            return length
        }

        /// Takes the response to the outstanding request if it has arrived.
        @inlinable
        mutating func tryTakeResponse(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool {
            let turn = lastTurn &+ 2
            guard let length = try wires.arrived(in: wires.responseLine, turn: turn) else { return false }
            // The response is ours whatever `body` does with it.
            lastTurn = turn
            outstanding = false
            endpoint.counters.countMessage(published: false, bytes: length)
            try body(Wires.payload(length: length, line: wires.responseLine, slot: wires.responseSlot))
            return true
        }

        @inlinable
        mutating func awaitResponse(timeoutSeconds: Double?, _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            let endpoint = endpoint, wires = wires, turn = lastTurn &+ 2
            _ = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "exchange call", position: UInt64(turn),
                                  { () throws(ShmError) in try tryTakeResponse(body) }, settled: { false },
                                  ready: { () throws(ShmError) in try wires.arrived(in: wires.responseLine, turn: turn) != nil })
        }
    }

    // MARK: - Server

    /// The server role: at most one per exchange at a time, across processes.
    /// A server that takes over from a dead one answers the request it left.
    public struct Server: ~Copyable, @unchecked Sendable {
        // @unchecked: as `Client`; only this handle writes the response line and slot.
        public let exchange: Exchange
        @usableFromInline let wires: Wires
        @usableFromInline let endpoint: Endpoint
        /// The turn of the last response sent (even).
        @usableFromInline var lastTurn: UInt32
        @usableFromInline var reachedEndOfStream = false

        init(exchange: Exchange, strategy: WaitStrategy) throws(ShmError) {
            let endpoint = try Endpoint.claim(exchange.region, side: .consumer, strategy: strategy)
            let wires = Wires(exchange)
            let standing: (lastResponse: UInt32, pending: Bool)
            do throws(ShmError) { standing = try wires.standing() } catch {
                endpoint.release()
                throw error
            }
            self.exchange = exchange
            self.wires = wires
            self.endpoint = endpoint
            lastTurn = standing.lastResponse
        }

        deinit { endpoint.release() }

        /// Answers one request if one is waiting: `handler` reads the request
        /// in place and writes the response into the buffer it gets
        /// (`maximumMessageSize` bytes), returning its length. If `handler`
        /// throws, the request stays unanswered. Returns false when none waits.
        @inlinable
        public mutating func tryServe(_ handler: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) throws(ShmError) -> Int) throws(ShmError) -> Bool {
            try endpoint.checkNotForked()
            let turn = lastTurn &+ 1
            guard let length = try wires.arrived(in: wires.requestLine, turn: turn) else { return false }
            let response = UnsafeMutableRawBufferPointer(start: wires.responseSlot, count: wires.maximumMessageSize)
            let answer = try handler(Wires.payload(length: length, line: wires.requestLine, slot: wires.requestSlot), response)
            guard answer >= 0, answer <= wires.maximumMessageSize else {
                throw .invalidArgument("response of \(answer) bytes exceeds the exchange's \(wires.maximumMessageSize)-byte maximum")
            }
            lastTurn = turn &+ 1
            Wires.post(UnsafeRawPointer(wires.responseSlot), length: answer, turn: lastTurn, line: wires.responseLine, slot: wires.responseSlot)
            endpoint.counters.countMessage(published: false, bytes: length)
            endpoint.counters.countMessage(published: true, bytes: answer)
            endpoint.wakePeerIfParked()
            return true
        }

        /// The first half of `tryServe`, for a server that answers later:
        /// `body` reads the waiting request in place; then `respond` answers
        /// it (until then, the request stays the one to answer: a second
        /// `tryReceive` shows it again). False when none waits.
        @inlinable
        public mutating func tryReceive(_ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Bool {
            try endpoint.checkNotForked()
            guard let length = try wires.arrived(in: wires.requestLine, turn: lastTurn &+ 1) else { return false }
            try body(Wires.payload(length: length, line: wires.requestLine, slot: wires.requestSlot))
            return true
        }

        /// Blocking `tryReceive`: `.message` after `body` read a request,
        /// `.endOfStream` as `serve`.
        @inlinable
        public mutating func receive(timeoutSeconds: Double?, _ body: (UnsafeRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) -> Received {
            let endpoint = endpoint, wires = wires, turn = lastTurn &+ 1
            let got = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "exchange receive", position: UInt64(turn),
                                        { () throws(ShmError) in try tryReceive(body) },
                                        settled: { () throws(ShmError) in try reachedEnd() },
                                        ready: { () throws(ShmError) in
                                            if try wires.arrived(in: wires.requestLine, turn: turn) != nil { return true }
                                            return try reachedEnd()
                                        })
            return got ? .message : endOfStream()
        }

        /// Answers the request `tryReceive` or `receive` read: `fill` writes
        /// the response of `length` bytes in place (in the signal's line up to
        /// 56 bytes; with one shared line, over the request). Never blocks;
        /// `invalidArgument` when no request waits.
        @inlinable
        public mutating func respond(length: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(ShmError) -> Void) throws(ShmError) {
            try endpoint.checkNotForked()
            guard length >= 0, length <= wires.maximumMessageSize else {
                throw .invalidArgument("response of \(length) bytes exceeds the exchange's \(wires.maximumMessageSize)-byte maximum")
            }
            let turn = lastTurn &+ 1
            guard let requestLength = try wires.arrived(in: wires.requestLine, turn: turn) else {
                throw .invalidArgument("no request of exchange '\(exchange.region.name)' awaits a response")
            }
            try fill(Wires.place(length: length, line: wires.responseLine, slot: wires.responseSlot))
            lastTurn = turn &+ 1
            Wires.signal(length: length, turn: lastTurn, line: wires.responseLine)
            // The request counts as taken once answered (`tryReceive` only shows it).
            endpoint.counters.countMessage(published: false, bytes: requestLength)
            endpoint.counters.countMessage(published: true, bytes: length)
            endpoint.wakePeerIfParked()
        }

        /// Blocking `tryServe`: `.message` after answering one request,
        /// `.endOfStream` once the client closed and every request was
        /// answered (the first time, the name is removed). Throws `timedOut`,
        /// `peerDied` (the client died without closing), `corruptRing`.
        @inlinable
        public mutating func serve(timeoutSeconds: Double?,
                                   _ handler: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) throws(ShmError) -> Int) throws(ShmError) -> Received {
            let endpoint = endpoint, wires = wires, turn = lastTurn &+ 1
            let served = try endpoint.wait(timeoutSeconds: timeoutSeconds, operation: "exchange serve", position: UInt64(turn),
                                           { () throws(ShmError) in try tryServe(handler) },
                                           settled: { () throws(ShmError) in try reachedEnd() },
                                           ready: { () throws(ShmError) in
                                               if try wires.arrived(in: wires.requestLine, turn: turn) != nil { return true }
                                               return try reachedEnd()
                                           })
            return served ? .message : endOfStream()
        }

        /// Called once the stream has ended: the first time, removes the name.
        @usableFromInline
        mutating func endOfStream() -> Received {
            if !reachedEndOfStream {
                reachedEndOfStream = true
                RingLifecycle.removeNameAtEnd(exchange.region, naming: exchange.naming)
            }
            return .endOfStream
        }

        /// Whether the client closed the stream with every request answered.
        /// An end that disagrees with the lines is `corruptRing`.
        @usableFromInline
        func reachedEnd() throws(ShmError) -> Bool {
            // Acquire: pairs with the release in `Client.close`.
            let end = cshim_load_acquire(endpoint.word(EndpointLayout.endOfStreamOffset))
            guard end != 0 else { return false }
            if try wires.arrived(in: wires.requestLine, turn: lastTurn &+ 1) != nil { return false }
            guard end &- 1 == UInt64(lastTurn) else {
                throw endpoint.corrupt("exchange '\(exchange.region.name)' ended at turn \(end &- 1), but its server stands at turn \(lastTurn)")
            }
            return true
        }
    }
}
