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
        // The C ABI (include/shmring.h): libshmring.so and libshmring-static.a.
        // `make cabi` builds them with the Swift runtime linked in statically.
        .library(name: "shmring", type: .dynamic, targets: ["ShmRingC"]),
        .library(name: "shmring-static", type: .static, targets: ["ShmRingC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        // Atomics, futex, SysV IPC, clocks: what ShmRing needs. No libnuma.
        .target(name: "CShim", path: "CShim"),
        // The C ABI's thread-local last error (C has thread-locals; Swift has not).
        .target(name: "CShmRingABI", path: "Sources/CShmRingABI"),
        // The C ABI: @_cdecl entry points over ShmRing (include/shmring.h).
        .target(name: "ShmRingC", dependencies: ["ShmRing", "CShim", "CShmRingABI"]),
        // CPU pinning and NUMA placement for the harness; the only target that links libnuma.
        .target(
            name: "CPlacement",
            path: "CPlacement",
            linkerSettings: [.linkedLibrary("numa")]
        ),
        .target(
            name: "ShmRing",
            dependencies: ["CShim", .product(name: "SystemPackage", package: "swift-system")]
        ),
        // The ring's rivals (Boost.Lockfree, Boost.Interprocess, Concurrency
        // Kit), from Debian's libboost-dev and libck-dev: the harness only.
        .target(
            name: "Rivals",
            path: "Rivals",
            linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("rt")]
        ),
        .target(
            name: "BenchHarness",
            dependencies: [
                "ShmRing", "CShim", "CPlacement", "Rivals",
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
        // Opens an mpmc-sem queue and dies (or stops) at a named point of its
        // critical section; ShmRingTests launch it (tests never fork).
        .executableTarget(name: "MPMCDeathHelper", dependencies: ["ShmRing"], path: "Tests/MPMCDeathHelper"),
        .testTarget(name: "ShmRingTests", dependencies: ["ShmRing", "CShim", "TestSupport", "MPMCDeathHelper"]),
        .testTarget(name: "BenchHarnessTests", dependencies: ["BenchHarness", "ShmRing", "TestSupport"]),
        .testTarget(name: "RingbenchCLITests", dependencies: ["ringbench", "ShmRing", "TestSupport"]),
        // One end of a ring in its own process, for the cross-process ring tests.
        .executableTarget(name: "ring-peer", dependencies: ["ShmRing"], path: "Tests/RingPeer"),
        .testTarget(name: "RingLifecycleTests", dependencies: ["ring-peer", "ShmRing", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
