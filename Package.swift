// swift-tools-version: 6.2
import PackageDescription

/// Settings every target shares: Swift 6 language mode, the upcoming features STYLE.md asks for,
/// and warnings as errors.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "gantry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gantry", targets: ["gantry"]),
        .executable(name: "gantry-bench", targets: ["gantry-bench"]),
    ],
    targets: [
        // Core: the consensus state machine. No I/O, no clock, no threads, no global randomness.
        .target(name: "Raft", swiftSettings: strictSettings),
        // Core: binary codecs (varints, CRC-32C, Raft messages and entries).
        .target(name: "Wire", dependencies: ["Raft"], swiftSettings: strictSettings),
        // Shell: the write-ahead log, snapshots and crash recovery, over a file-system protocol.
        .target(name: "RaftStorage", dependencies: ["Raft", "Wire"], swiftSettings: strictSettings),
        // Core: the HTTP/1.1 request parser and response serializer (pure; the socket server comes with the controller).
        .target(name: "HTTP", swiftSettings: strictSettings),
        // Core: history checkers (linearizability) shared by the simulation and chaos/.
        .target(name: "ChaosCheck", swiftSettings: strictSettings),
        // Test support: deterministic multi-node simulation under virtual time.
        .target(
            name: "Simulation",
            dependencies: ["Raft", "RaftStorage", "ChaosCheck"],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "gantry", dependencies: ["Raft"], swiftSettings: strictSettings),
        .executableTarget(name: "gantry-bench", dependencies: ["Raft", "RaftStorage"], swiftSettings: strictSettings),
        .testTarget(name: "RaftTests", dependencies: ["Raft"], swiftSettings: strictSettings),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Raft"], swiftSettings: strictSettings),
        .testTarget(
            name: "RaftStorageTests",
            dependencies: ["RaftStorage", "Raft", "Wire"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"], swiftSettings: strictSettings),
        .testTarget(name: "ChaosCheckTests", dependencies: ["ChaosCheck"], swiftSettings: strictSettings),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Raft", "ChaosCheck"],
            swiftSettings: strictSettings
        ),
    ]
)
