// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "ringbench",
    products: [
        // What a data pipeline embeds: regions, rings, queues, errors. No unsafeFlags.
        .library(name: "ShmRing", targets: ["ShmRing"]),
        // Scenarios, process runner, transports, measurement and output.
        .library(name: "BenchHarness", targets: ["BenchHarness"]),
        .executable(name: "ringbench", targets: ["ringbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        .target(
            name: "CShim",
            path: "CShim",
            linkerSettings: [.linkedLibrary("numa")]
        ),
        .target(
            name: "ShmRing",
            dependencies: ["CShim", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "BenchHarness",
            dependencies: [
                "ShmRing", "CShim",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .executableTarget(
            name: "ringbench",
            dependencies: ["BenchHarness", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Helpers every test target shares (IPC snapshots, scratch directories).
        .target(name: "TestSupport", dependencies: ["ShmRing"], path: "Tests/Support"),
        .testTarget(name: "ShmRingTests", dependencies: ["ShmRing", "CShim", "TestSupport"]),
        .testTarget(name: "BenchHarnessTests", dependencies: ["BenchHarness", "ShmRing", "TestSupport"]),
        .testTarget(name: "RingbenchCLITests", dependencies: ["ringbench", "ShmRing", "TestSupport"]),
        // One end of a ring in its own process, for the cross-process ring tests.
        .executableTarget(name: "ring-peer", dependencies: ["ShmRing"], path: "Tests/RingPeer"),
        .testTarget(name: "RingLifecycleTests", dependencies: ["ring-peer", "ShmRing", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
