import Foundation

/// One side of a comparison: a results file, or a directory whose `*.json`
/// results are merged (the rounds `bench/ab.sh` writes). Runs of the same
/// scenario are pooled: their repetitions become one sample.
public struct ResultSet: Sendable {
    /// What was loaded, for messages ("base.json" or "dir/ (6 files)").
    public var label: String
    public var documents: [ResultDocument]
    /// Runs pooled by scenario key, in first-seen order.
    public var runs: [PooledRun]

    public var machine: MachineInfo { documents[0].machine }
    public var commits: [String] { Array(Set(documents.map(\.tool.commit))).sorted() }

    /// One scenario's runs from every document of the set.
    public struct PooledRun: Sendable {
        public var key: ScenarioKey
        public var runs: [RunRecord]
        /// The probes of the document each run came from (nil without probes).
        public var probes: [ProbeResults?]
        /// The round each run belongs to: the name of the file it came from
        /// in a directory of rounds (`round-3.json`), nil for a lone file.
        /// Runs of two sides with the same round name ran side by side
        /// (`bench/ab.sh`), which `PairedRounds` uses.
        public var rounds: [String?]
    }

    /// `rounds`: each document's round name (see `PooledRun.rounds`); none by default.
    public init(label: String, documents: [ResultDocument], scenarioKeys: [[ScenarioKey]], rounds: [String?]? = nil) {
        self.label = label
        self.documents = documents
        var pooled: [PooledRun] = []
        var index: [ScenarioKey: Int] = [:]
        let roundNames = rounds ?? Array(repeating: nil, count: documents.count)
        for ((document, keys), round) in zip(zip(documents, scenarioKeys), roundNames) {
            for (run, key) in zip(document.runs, keys) {
                if let i = index[key] {
                    pooled[i].runs.append(run)
                    pooled[i].probes.append(document.probes)
                    pooled[i].rounds.append(round)
                } else {
                    index[key] = pooled.count
                    pooled.append(PooledRun(key: key, runs: [run], probes: [document.probes], rounds: [round]))
                }
            }
        }
        runs = pooled
    }

    /// Loads a file or a directory of files; every failure is one line.
    public static func load(_ path: String) throws(ResultFileError) -> ResultSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ResultFileError("\(path): no such file or directory")
        }
        guard isDirectory.boolValue else {
            let (document, keys) = try loadDocument(path)
            return ResultSet(label: path, documents: [document], scenarioKeys: [keys])
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else { throw ResultFileError("\(path): directory holds no *.json results") }
        var documents: [ResultDocument] = [], keys: [[ScenarioKey]] = []
        for name in names {
            let (document, k) = try loadDocument((path as NSString).appendingPathComponent(name))
            if let first = documents.first, let difference = MachineIdentity.differences(first.machine, document.machine).first {
                throw ResultFileError("\(path): \(name) was measured on another machine than \(names[0]) (\(difference))")
            }
            documents.append(document)
            keys.append(k)
        }
        return ResultSet(label: "\(path) (\(names.count) files)", documents: documents, scenarioKeys: keys, rounds: names)
    }

    /// Decodes one results file, and the scenario key of each run from the raw
    /// JSON (so fields this version does not know still tell scenarios apart).
    public static func loadDocument(_ path: String) throws(ResultFileError) -> (ResultDocument, [ScenarioKey]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ResultFileError("cannot read \(path): \(error.localizedDescription)")
        }
        return try decode(data, name: path)
    }

    public static func decode(_ data: Data, name: String) throws(ResultFileError) -> (ResultDocument, [ScenarioKey]) {
        guard let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw ResultFileError("\(name) is not a ringbench results file (not JSON; expected \(ResultDocument.schemaName))")
        }
        guard let schema = root["schema"] as? String else {
            throw ResultFileError("\(name) is not a ringbench results file: no \"schema\" field")
        }
        guard schema == ResultDocument.schemaName else {
            throw ResultFileError("\(name) has schema '\(schema)'; this ringbench reads \(ResultDocument.schemaName)")
        }
        let document: ResultDocument
        do { document = try JSONDecoder().decode(ResultDocument.self, from: data) } catch {
            throw ResultFileError("\(name) is not a valid \(ResultDocument.schemaName) document: \(describe(error))")
        }
        let rawRuns = (root["runs"] as? [[String: Any]]) ?? []
        let keys = zip(document.runs, rawRuns).map { ScenarioKey(raw: $1["scenario"] as? [String: Any] ?? [:], typed: $0.scenario) }
        return (document, keys)
    }

    /// "missing field runs[3].summary" rather than Foundation's paragraph.
    static func describe(_ error: Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .replacingOccurrences(of: ".[", with: "[").drop { $0 == "." }.description
        }
        switch error as? DecodingError {
        case let .keyNotFound(key, context)?:
            let at = path(context)
            return "missing field \(at.isEmpty ? "" : at + ".")\(key.stringValue)"
        case let .typeMismatch(_, context)?: return "wrong type at \(path(context))"
        case let .valueNotFound(_, context)?: return "null at \(path(context))"
        case let .dataCorrupted(context)?: return "bad value at \(path(context))"
        default: return "\(error)"
        }
    }
}

/// Which runs are the same experiment: every scenario field except the
/// message count or duration (a longer run of the same scenario is still that
/// scenario), with the placement reduced to its CPU list. Fields added by
/// later versions (a rate, a NUMA policy) take part automatically.
public struct ScenarioKey: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// "spsc sysv throughput 64 B cap 4096 batch 1 cpus 0,1".
    public var description: String
    public var transport: String
    public var mode: String
    public var messageSize: Int

    static let ignored: Set<String> = ["messages", "duration", "placement", "transport", "backing", "mode", "producers",
                                       "consumers", "messageSize", "capacity", "batch"]

    public init(raw: [String: Any], typed s: Scenario) {
        transport = s.transport
        mode = s.mode.rawValue
        messageSize = s.messageSize
        var parts = [s.transport]
        if let backing = s.backing { parts.append(backing) }
        parts.append(s.mode.rawValue)
        if s.producers != 1 || s.consumers != 1 { parts.append("\(s.producers)P/\(s.consumers)C") }
        parts.append(ResultRenderer.bytes(Double(s.messageSize)).replacingOccurrences(of: " ", with: ""))
        parts.append("cap \(s.capacity)")
        parts.append("batch \(s.batch)")
        let cpus = s.placement.map { $0.cpu.map(String.init) ?? "-" }
        if !cpus.isEmpty { parts.append("cpus " + cpus.joined(separator: ",")) }
        for name in raw.keys.sorted() where !Self.ignored.contains(name) {
            parts.append("\(name)=\(Self.text(raw[name]!))")
        }
        description = parts.joined(separator: " ")
    }

    static func text(_ value: Any) -> String {
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(value)"
    }

    public static func < (a: ScenarioKey, b: ScenarioKey) -> Bool { a.description < b.description }
}

/// A results file that cannot be used, as one line.
public struct ResultFileError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
