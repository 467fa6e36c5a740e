// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "kmsindex",
    // Linux only (Debian 12 and its packages): the reader and the lock call Glibc directly.
    products: [
        .executable(name: "kmsindex", targets: ["kmsindex"]),
        .executable(name: "kmsindex-synth", targets: ["kmsindex-synth"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // zlib from Debian's zlib1g-dev, with a shim for the inflateInit2/deflateInit2 macros:
        // the export's and the generator's compression.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // ISA-L's igzip from Debian's libisal-dev: the ingest's inflate, faster than zlib's.
        .systemLibrary(name: "CISAL", providers: [.apt(["libisal-dev"])]),
        // SQLite's global configuration (sqlite3_config is variadic), from libsqlite3-dev.
        .systemLibrary(name: "CSQLiteConfig", providers: [.apt(["libsqlite3-dev"])]),
        // libcrypto from Debian's libssl-dev: SHA-256, MD5 and RSA signatures, for the tool and
        // the generator alike (KMSCrypto), without building a copy of BoringSSL. Linked from its
        // static archive, only the parts used: loading libcrypto.so.3 cost every command,
        // who-read above all, a measurable part of its start-up (BENCHMARKS.md).
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "KMSCrypto", dependencies: ["COpenSSL"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libcrypto.a"], .when(platforms: [.linux]))]),

        // Skipping nested JSON 64 bytes at a time with AVX2 where the CPU has it (checked at
        // run time): vector compares and bit extraction Swift cannot express on Linux.
        .target(name: "CByteScan"),
        // Whether a file's first page is in the page cache (preadv2 with RWF_NOWAIT, which
        // Glibc's module map does not show Swift): the ingest's read-ahead.
        .target(name: "CPageCache"),

        // Everything the tool does: reading, parsing, normalizing, storing, querying.
        .target(
            name: "KMSIndex",
            dependencies: [
                "CZlib",
                "CISAL",
                "CByteScan",
                "CPageCache",
                "CSQLiteConfig",
                // Content hashes, and the RSA signatures of CloudTrail digest files.
                "KMSCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            plugins: ["EmbedMigrations"]
        ),

        // Thin command line over KMSIndex.
        .executableTarget(
            name: "kmsindex",
            dependencies: [
                "KMSIndex",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Start-up is most of a who-read. A position-dependent executable needs none of the
            // relative relocations (and their copy-on-write page faults) the loader applies to a
            // PIE this size (BENCHMARKS.md); lld, unlike gold, links it against a dynamic Swift runtime
            // (builds without --static-swift-stdlib) without canonical PLT entries for its
            // protected functions, which glibc warns about. Nothing looks our own symbols up at
            // run time, so they need not be exported either.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "-no-pie", "-Xlinker", "--no-export-dynamic"], .when(platforms: [.linux]))
            ],
            plugins: ["EmbedGitState"]
        ),

        // Deterministic generator of realistic CloudTrail trees with ground truth.
        // Signs digest files with a test key when asked (`--sign-digests`).
        .target(
            name: "KMSIndexSynth",
            dependencies: ["CZlib", "KMSCrypto"]
        ),
        .executableTarget(
            name: "kmsindex-synth",
            dependencies: [
                "KMSIndexSynth",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Fuzz target for reading and parsing (scripts/fuzz); without the fuzzer, a replayer.
        .executableTarget(name: "kmsindex-fuzz", dependencies: ["KMSIndex"]),

        // Build-time tool: turns Migrations/*.sql into a Swift array compiled into KMSIndex.
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),
        // Build-time: the git commit and tags of the source tree, for `kmsindex --version`.
        .plugin(name: "EmbedGitState", capability: .buildTool()),

        // AddressSanitizer defaults of the test binary (see the C file).
        .target(name: "SanitizerDefaults", path: "Tests/SanitizerDefaults"),
        .testTarget(name: "KMSIndexSynthTests", dependencies: ["KMSIndexSynth", "KMSCrypto"]),
        .testTarget(
            name: "KMSIndexTests",
            dependencies: ["KMSIndex", "KMSIndexSynth", "KMSCrypto", "CZlib", "CByteScan", "SanitizerDefaults"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
