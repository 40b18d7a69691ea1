/// The scenarios of the default suite.
public enum SuitePlan {
    /// Message counts sized so each repetition takes tens of milliseconds here.
    static func throughputMessages(size: Int) -> Int {
        switch size {
        case ...64: 5_000_000
        case ...1024: 1_000_000
        default: 20_000
        }
    }

    public static func defaultSuite() -> [Scenario] {
        var plan: [Scenario] = []
        for backing in ["sysv", "mmap"] {
            for size in [8, 64, 1024, 65536] {
                plan.append(Scenario(transport: "spsc", backing: backing, messageSize: size,
                                     messages: throughputMessages(size: size), capacity: size >= 65536 ? 64 : 4096,
                                     batch: 1, mode: .throughput))
            }
            plan.append(Scenario(transport: "spsc", backing: backing, messageSize: 8, messages: 100_000,
                                 capacity: 4096, batch: 1, mode: .roundtrip))
        }
        return plan
    }
}
