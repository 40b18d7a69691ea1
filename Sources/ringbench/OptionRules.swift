import ArgumentParser
import Foundation
import BenchHarness
import ShmRing

/// Why a value given on the command line was rejected. ArgumentParser prints
/// it after "The value 'X' is invalid for '--flag <NAME>': ", so the one line
/// the user sees names the flag, the value and what is accepted.
struct InvalidValue: Error, CustomStringConvertible {
    let description: String
}

/// The accepted range of one numeric option and how its text is read: the
/// one validation mechanism every command's numbers go through. Each option
/// parses through its rule (`@Option(parsing: .unconditional, transform: rule.parse)`),
/// so a number out of range, non-finite or unreadable is rejected while the
/// arguments are parsed, before anything is created or forked.
/// `.unconditional` makes "--capacity -5" read "-5" as the value (and reject
/// it for its range) instead of as an unknown flag.
struct NumberRule<Value: Comparable & Sendable>: Sendable {
    let range: ClosedRange<Value>
    /// What is expected, for messages: "a whole number", "a number of seconds".
    let kind: String
    let read: @Sendable (String) -> Value?
    let show: @Sendable (Value) -> String
    /// A further condition (power of two...): the complaint, or nil when met.
    var condition: (@Sendable (Value) -> String?)? = nil

    var rangeText: String { "from \(show(range.lowerBound)) to \(show(range.upperBound))" }

    func parse(_ text: String) throws -> Value {
        guard let value = read(text), range.contains(value) else {
            throw InvalidValue(description: "expected \(kind) \(rangeText)")
        }
        if let problem = condition?(value) { throw InvalidValue(description: problem) }
        return value
    }

    /// For `transform:`.
    var transform: @Sendable (String) throws -> Value { { try self.parse($0) } }

    /// The option's help with its range (and default) appended, so --help
    /// documents them (ArgumentParser shows no default for a transform).
    func help(_ text: String, valueName: String, default value: Value? = nil) -> ArgumentHelp {
        let shown = value.map { " Default: \(show($0))." } ?? ""
        return ArgumentHelp("\(text) Range: \(rangeText).\(shown)", valueName: valueName)
    }
}

extension NumberRule where Value == Int {
    /// A whole number, optionally with a k/M/G suffix (`scale` 1000 for
    /// counts, 1024 for byte sizes; nil: no suffix).
    static func integer(_ range: ClosedRange<Int>, scale: Int? = nil, unit: String = "") -> NumberRule {
        let suffix = unit.isEmpty ? "" : " " + unit
        return NumberRule(range: range, kind: scale == nil ? "a whole number" : "a whole number (suffixes k, M, G)",
                          read: { text in scale.map { parseScaled(text, base: $0) } ?? Int(text) },
                          show: { "\($0)\(suffix)" })
    }
}

extension NumberRule where Value == Double {
    /// A finite number of seconds ("inf", "nan" and "1e30" are rejected).
    static func seconds(_ range: ClosedRange<Double>) -> NumberRule {
        NumberRule(range: range, kind: "a finite number of seconds",
                   read: { Double($0).flatMap { $0.isFinite ? $0 : nil } },
                   show: { $0 == $0.rounded() ? "\(Int($0))" : "\($0)" })
    }
}

/// Every numeric option's range, in one place (README "Limits of the options").
enum OptionRules {
    /// A day: the longest any duration, timeout or wait may be.
    static let day = 86_400.0
    /// The largest message any transport carries: the ring's largest slot.
    /// Kernel transports have lower limits of their own (checked per transport).
    static let messageSize = NumberRule<Int>.integer(8...RegionLayout.maximumSlotSize, scale: 1024, unit: "bytes")
    static let messages = NumberRule<Int>.integer(1...Int(MessageCodec.sequenceMask), scale: 1000)
    static let duration = NumberRule<Double>.seconds(0.001...day)
    static let timeout = NumberRule<Double>.seconds(0.001...day)
    static let wait = NumberRule<Double>.seconds(0...day)
    static let killHolderAfter = NumberRule<Double>.seconds(0.001...day)
    static let evictAfter = NumberRule<Double>.seconds(0.001...day)
    static let capacity: NumberRule<Int> = {
        var rule = NumberRule<Int>.integer(1...(1 << 30))
        rule.condition = { $0 & ($0 - 1) == 0 ? nil : "expected a power of two (1, 2, 4, ... 1073741824)" }
        return rule
    }()
    static let batch = NumberRule<Int>.integer(1...(1 << 20))
    static let tripsPerSample = NumberRule<Int>.integer(1...Scenario.maximumTripsPerSample, scale: 1000)
    /// `pub`: bytes in a record ring, its largest record, a generated record's size.
    /// `pub --capacity`: a record ring's bytes, at least `RecordLayout.minimumCapacity`.
    static let ringBytes = NumberRule<Int>.integer(RecordLayout.minimumCapacity...(1 << 34), scale: 1024, unit: "bytes")
    static let recordBytes = NumberRule<Int>.integer(1...(1 << 30), scale: 1024, unit: "bytes")
    /// `--rate`: messages per second per producer (a paced run).
    static let rate = NumberRule<Int>.integer(1...1_000_000_000, scale: 1000)
    static let processesPerSide = NumberRule<Int>.integer(1...(ControlBlock.maxProducers - 1))
    static let lockProcesses = NumberRule<Int>.integer(1...LockRunner.maximumProcesses)
    static let repetitions = NumberRule<Int>.integer(1...1000)
    static let warmup = NumberRule<Int>.integer(0...1000)
    static let criticalNs = NumberRule<Int>.integer(0...1_000_000_000)
    static let latencySample = NumberRule<Int>.integer(1...(1 << 30))

    /// `--sizes 8,64,1K`: each item a message size; duplicates dropped.
    static let sizeList: @Sendable (String) throws -> [Int] = { text in
        var values: [Int] = []
        let list = try items(text)
        for item in list {
            do {
                let size = try messageSize.parse(item)
                if !values.contains(size) { values.append(size) }
            } catch let error as InvalidValue {
                throw list.count == 1 ? error : InvalidValue(description: "'\(item)': \(error.description)")
            }
        }
        return values
    }

    /// A comma-separated list with at least one item.
    static func items(_ text: String) throws -> [String] {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else { throw InvalidValue(description: "expected at least one comma-separated value") }
        return items
    }
}

/// Reads "64", "64K", "10M": an integer with an optional k/M/G suffix of
/// powers of `base`; nil for anything else or on overflow.
func parseScaled(_ text: String, base: Int) -> Int? {
    let lowered = text.lowercased()
    let scale: Int
    var digits = Substring(lowered)
    switch lowered.last {
    case "k": scale = base; digits = digits.dropLast()
    case "m": scale = base * base; digits = digits.dropLast()
    case "g": scale = base * base * base; digits = digits.dropLast()
    default: scale = 1
    }
    guard let n = Int(digits) else { return nil }
    let (r, overflow) = n.multipliedReportingOverflow(by: scale)
    return overflow ? nil : r
}
