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
        .executable(name: "gantry-chaos", targets: ["gantry-chaos"]),
    ],
    targets: [
        // Core: the consensus state machine. No I/O, no clock, no threads, no global randomness.
        .target(name: "Raft", swiftSettings: strictSettings),
        // Core: binary codecs (varints, CRC-32C, Raft messages and entries).
        .target(name: "Wire", dependencies: ["Raft"], swiftSettings: strictSettings),
        // Shell: the write-ahead log, snapshots and crash recovery, over a file-system protocol.
        .target(name: "RaftStorage", dependencies: ["Raft", "Wire"], swiftSettings: strictSettings),
        // Core + shell: the HTTP/1.1 parser and serializer (pure, fuzzed) and the epoll server and blocking client.
        .target(name: "HTTP", swiftSettings: strictSettings),
        // Core: the replicated state machine (commands, apply, snapshot/restore). Time and ids arrive in commands.
        .target(name: "ClusterState", dependencies: ["Wire"], swiftSettings: strictSettings),
        // Core: placement — resource fit, constraints (the cluster query language), strategies, with reasons.
        .target(name: "Scheduler", dependencies: ["ClusterState"], swiftSettings: strictSettings),
        // Core: the leader's brain — liveness verdicts, service reconciliation, rollouts, the circuit breaker.
        .target(name: "Orchestration", dependencies: ["ClusterState", "Scheduler"], swiftSettings: strictSettings),
        // Core + shell: the agent — its decisions (pure) and the runtimes (exec, sim) that run the tasks.
        .target(name: "Agent", dependencies: ["ClusterState", "HTTP"], swiftSettings: strictSettings),
        // The system libcrypto (OpenSSL), for SHA-256 and HMAC-SHA256; `apt-get install libssl-dev`.
        .systemLibrary(
            name: "CCrypto",
            path: "Sources/CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // Core: AWS Signature Version 4 verification (canonical request, signing key, checks), crypto via CCrypto.
        .target(name: "AWSAuth", dependencies: ["CCrypto", "HTTP"], swiftSettings: strictSettings),
        // Core: the admin API's routes, request validation, auth and response rendering.
        .target(
            name: "API",
            dependencies: ["ClusterState", "HTTP", "Orchestration", "AWSAuth"],
            swiftSettings: strictSettings
        ),
        // Shell: the controller node (node loop, storage, peer transport, HTTP API).
        .target(
            name: "Controller",
            dependencies: ["Raft", "RaftStorage", "Wire", "HTTP", "ClusterState", "API", "Scheduler", "Orchestration"],
            swiftSettings: strictSettings
        ),
        // Core: history checkers (linearizability) shared by the simulation and chaos/.
        .target(name: "ChaosCheck", swiftSettings: strictSettings),
        // Test support: deterministic multi-node simulation under virtual time.
        .target(
            name: "Simulation",
            dependencies: ["Raft", "RaftStorage", "ChaosCheck", "ClusterState", "Scheduler", "Orchestration"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "gantry",
            dependencies: ["Controller", "API", "HTTP", "ClusterState", "Agent"],
            swiftSettings: strictSettings
        ),
        // The chaos harness: real controllers, seeded faults, the ChaosCheck verdict (chaos/run drives it).
        .executableTarget(
            name: "gantry-chaos",
            dependencies: ["ChaosCheck", "HTTP", "Raft"],
            path: "chaos/harness",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "gantry-bench",
            dependencies: ["Raft", "RaftStorage", "HTTP", "ClusterState", "Orchestration"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "RaftTests", dependencies: ["Raft"], swiftSettings: strictSettings),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Raft"], swiftSettings: strictSettings),
        .testTarget(
            name: "RaftStorageTests",
            dependencies: ["RaftStorage", "Raft", "Wire"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"], swiftSettings: strictSettings),
        .testTarget(name: "ClusterStateTests", dependencies: ["ClusterState", "Wire"], swiftSettings: strictSettings),
        .testTarget(
            name: "SchedulerTests",
            dependencies: ["Scheduler", "ClusterState"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "ClusterState"], swiftSettings: strictSettings),
        .testTarget(
            name: "OrchestrationTests",
            dependencies: ["Orchestration", "Scheduler", "ClusterState"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AWSAuthTests",
            dependencies: ["AWSAuth", "HTTP"],
            exclude: ["make-vectors.py"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "APITests",
            dependencies: ["API", "ClusterState", "HTTP", "AWSAuth"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ControllerTests",
            dependencies: ["Controller", "Raft", "Wire", "HTTP", "ClusterState", "API"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "ChaosCheckTests", dependencies: ["ChaosCheck"], swiftSettings: strictSettings),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Raft", "ChaosCheck", "ClusterState"],
            swiftSettings: strictSettings
        ),
    ]
)
