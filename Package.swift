// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "dz",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dz", targets: ["dz"]),
        .library(name: "DZSpool", targets: ["DZSpool"]),
        .library(name: "DZAgent", targets: ["DZAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // C declarations Glibc hides (renameat2 needs _GNU_SOURCE).
        .target(name: "CDZShims"),
        // SQLite's C API (libsqlite3-dev).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libarchive (bundle tarballs), libcurl (S3 over SigV4), OpenSSL's libcrypto (SHA-256).
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // JSON values exactly as written, their strict parser and their canonical bytes (task files, results, zoomdb).
        .target(name: "DZJSON"),
        // Task contracts: each task's arguments and output as one type that job kinds (which plan the task) and
        // handlers (which run it) both use.
        .target(name: "DZTasks", dependencies: ["DZJSON", "DZSpool"]),
        // The zoomdb: job state, projects, bundles, deployments in SQLite.
        // (DZSpool for `Hostname` and `Redaction`.)
        .target(name: "DZStore", dependencies: ["CSQLite", "DZJSON", "DZSpool", "DZSystem", "DZTasks"]),
        // System calls, wrapped once, with typed errors.
        .target(
            name: "DZSystem",
            dependencies: [
                "CDZShims",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The spool protocol: task files, drop, claim, lease, results, audit log, watcher.
        .target(
            name: "DZSpool",
            dependencies: [
                "DZJSON", "DZSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What a daemon tells the outside: systemd's notifications, Prometheus metrics (a textfile-collector file).
        .target(name: "DZTelemetry", dependencies: ["DZSystem"]),
        // The host agent: serves queues with task handlers.
        .target(
            name: "DZAgent",
            dependencies: [
                "DZSpool", "DZTelemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // Jobs: job graphs, the planner, the coordinator (result intake, dispatch, retries, cancel).
        .target(
            name: "DZJobs",
            dependencies: [
                "DZSpool", "DZStore", "DZTasks", "DZTelemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A project's source: its checkout (git, hg), its zoombuild.cfg, and what the Django inspector finds in it.
        .target(
            name: "DZSource",
            dependencies: ["DZSpool", "DZSystem", "DZTasks"],
            // The Django inspector, a Python program, compiled into the binary as bytes (no resource bundle).
            resources: [.embedInCode("Inspection/django_inspector.py")]
        ),
        // Bundles and where they are kept: the archive format (libarchive), manifests, digests, the directory and S3
        // stores (libcurl, SigV4).
        .target(
            name: "DZBundle",
            dependencies: [
                "DZSpool", "DZSystem", "CArchive", "CCurl", "CCrypto",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The build: a project's sandboxed build (virtualenv, pip, collectstatic) into a bundle, on a host's data
        // directory (`Workspace`).
        .target(
            name: "DZBuild",
            dependencies: [
                "DZBundle", "DZSource", "DZSpool", "DZSystem",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Running apps: databases, placement, installing and supervising instances on an appserver, the proxy
        // (nginx sites, static files, certificates) and apps' logs.
        .target(
            name: "DZDeploy",
            dependencies: [
                "DZAgent", "DZBuild", "DZBundle", "DZSource", "DZSpool", "DZSystem", "DZTasks", "CCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Work: the task handlers, one per task, that read a task's contract and do its work with the targets above.
        .target(
            name: "DZWork",
            dependencies: [
                "DZAgent", "DZBuild", "DZBundle", "DZDeploy", "DZSource", "DZSpool", "DZSystem", "DZTasks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The client: what a user's command does from any host that sees the spool. Requests go into the spool;
        // jobs, projects and the summary are read from what the coordinator publishes there, never from the zoomdb.
        .target(
            name: "DZClient",
            dependencies: [
                "DZJobs", "DZSpool", "DZStore", "DZSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Synced spools: the owner's receiver, which takes other hosts' pushes into its queues once each.
        .target(
            name: "DZSync",
            dependencies: [
                "DZSpool", "DZSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `dz doctor`: a host's setup for a spool shared with or synced to other hosts, checked.
        .target(name: "DZDoctor", dependencies: ["DZSpool", "DZSystem"]),
        // `dz bench`: throughput and pickup latency of real agent processes on a spool.
        .target(name: "DZBench", dependencies: ["DZSpool", "DZStore", "DZJobs"]),
        // The command: argument parsing and wiring only.
        .executableTarget(
            name: "dz",
            dependencies: [
                "DZAgent",
                "DZBench",
                "DZBuild",
                "DZBundle",
                "DZClient",
                "DZDeploy",
                "DZDoctor",
                "DZJobs",
                "DZSource",
                "DZSpool",
                "DZStore",
                "DZSync",
                "DZTasks",
                "DZTelemetry",
                "DZWork",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The readers of outside bytes under libFuzzer (scripts/fuzz), else a replayer of the seed corpus
        // Tests/Fuzz/corpus that the tests run.
        .executableTarget(name: "DZFuzz", dependencies: ["DZJobs", "DZSpool", "DZSystem"]),
        // Real servers for the tests (PostgreSQL, nginx), shared by the unit and integration test targets.
        .target(name: "DZTestSupport", dependencies: ["DZDeploy", "DZSpool", "DZSystem"], path: "Tests/DZTestSupport"),
        .testTarget(name: "DZSystemTests", dependencies: ["DZSystem"]),
        .testTarget(name: "DZTelemetryTests", dependencies: ["DZTelemetry", "DZSystem"]),
        .testTarget(name: "DZJSONTests", dependencies: ["DZJSON"]),
        .testTarget(name: "DZSpoolTests", dependencies: ["DZSpool"]),
        .testTarget(name: "DZAgentTests", dependencies: ["DZAgent", "DZSpool"]),
        .testTarget(name: "DZStoreTests", dependencies: ["DZStore"]),
        .testTarget(name: "DZDoctorTests", dependencies: ["DZDoctor", "DZSpool", "DZSystem"]),
        .testTarget(name: "DZTasksTests", dependencies: ["DZTasks", "DZJSON", "DZSpool"]),
        .testTarget(name: "DZJobsTests", dependencies: ["DZJobs", "DZStore", "DZSpool", "DZTasks"]),
        .testTarget(name: "DZClientTests", dependencies: ["DZClient", "DZJobs", "DZStore", "DZSpool", "DZSystem"]),
        .testTarget(
            name: "DZWorkTests",
            dependencies: [
                "DZWork", "DZDeploy", "DZBuild", "DZBundle", "DZSource", "DZAgent", "DZSpool", "DZSystem",
                "DZTestSupport",
            ],
            exclude: ["Fixtures", "Python"]
        ),
        .testTarget(name: "DZIntegrationTests", dependencies: ["DZSpool", "DZStore", "DZTestSupport"]),
        // Several hosts on one machine: network namespaces on a bridge, each with its own view of the spool.
        .testTarget(name: "DZClusterTests", dependencies: ["DZSpool", "DZSystem", "DZTestSupport"]),
    ]
)
