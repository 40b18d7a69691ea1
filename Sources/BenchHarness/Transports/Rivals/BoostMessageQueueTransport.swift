import Rivals
import ShmRing

/// Boost.Interprocess `message_queue`: a mutex and two condition variables
/// in a named /dev/shm segment, blocking send and receive; the closest
/// rival of `mpmc-sem`. Any message size (each slot holds up to
/// --message-size bytes) and any number of producers and consumers.
///
/// The parent creates the queues (mode 0600) and registers their removal;
/// each child opens them by name, as unrelated processes would.
public struct BoostMessageQueueTransport: Transport {
    public static let name = "boost-mq"
    public static let capabilities = TransportCapabilities(multiProcess: true, usesCapacity: true)

    public final class Queue: RecordQueue {
        @usableFromInline let handle: UnsafeMutableRawPointer
        @usableFromInline let size: Int
        @usableFromInline let error = UnsafeMutablePointer<CChar>.allocate(capacity: 256)

        init(name: String, size: Int) throws(HarnessError) {
            self.size = size
            error.initialize(repeating: 0, count: 256)
            guard let handle = rival_boost_mq_open(name, error, 256) else { throw .library(String(cString: error)) }
            self.handle = handle
        }

        deinit {
            rival_boost_mq_close(handle)
            error.deallocate()
        }

        @inlinable
        public func push(_ record: UnsafeRawPointer) throws(HarnessError) {
            guard rival_boost_mq_send(handle, record, size, error, 256) else { throw .library(String(cString: error)) }
        }

        @inlinable
        public func pop(into record: UnsafeMutableRawPointer) throws(HarnessError) {
            guard rival_boost_mq_receive(handle, record, size, error, 256) else { throw .library(String(cString: error)) }
        }

        @inlinable
        public func tryPop(into record: UnsafeMutableRawPointer) throws(HarnessError) -> Bool {
            let got = rival_boost_mq_try_receive(handle, record, size, error, 256)
            if got < 0 { throw .library(String(cString: error)) }
            return got == 1
        }
    }

    let forwardName: String
    let backwardName: String
    let messageSize: Int

    public init(scenario: Scenario, cleanup: CleanupRegistry) throws(HarnessError) {
        messageSize = scenario.messageSize
        var names: [String] = []
        for purpose in ["fwd", "back"] {
            let name = RegionNames.unique(.mmap, "bmq-\(purpose)")!
            var error = [CChar](repeating: 0, count: 256)
            // The way back carries echoes; a throughput run never uses it.
            let capacity = purpose == "back" && scenario.mode == .throughput ? 1 : scenario.capacity
            guard rival_boost_mq_create(name, capacity, messageSize, &error, 256) else {
                throw .library(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cleanup.register("\(Self.name) \(name)") { _ = rival_boost_mq_remove(name) }
            names.append(name)
        }
        forwardName = names[0]
        backwardName = names[1]
    }

    public func withPort<V: PortVisitor>(role: Role, _ visitor: V) throws(HarnessError) -> V.Output {
        let forward = try Queue(name: forwardName, size: messageSize)
        let backward = try Queue(name: backwardName, size: messageSize)
        return try RecordPort.visit(role, forward: forward, backward: backward, messageSize: messageSize, visitor)
    }
}
