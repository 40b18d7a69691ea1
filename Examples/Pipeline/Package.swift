// swift-tools-version: 6.0
// An example pipeline that embeds ShmRing and nothing else: a producer of
// synthetic market-data ticks and a consumer that aggregates them, two
// unrelated processes on one named record ring. See README.md, "Embedding".
import PackageDescription

let package = Package(
    name: "Pipeline",
    dependencies: [.package(name: "ringbench", path: "../..")],
    targets: [
        .executableTarget(name: "tick-producer", dependencies: [.product(name: "ShmRing", package: "ringbench")]),
        .executableTarget(name: "tick-aggregator", dependencies: [.product(name: "ShmRing", package: "ringbench")]),
    ],
    swiftLanguageModes: [.v6]
)
