// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tokenize-corpus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tokenize-corpus", targets: ["tokenize-corpus"]),
        .library(name: "Codec", targets: ["Codec"]),
        .library(name: "Corpus", targets: ["Corpus"]),
        .library(name: "Store", targets: ["Store"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f",
            providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(
            name: "CSndFile", path: "Sources/CSndFile", pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(
            name: "CArchive", path: "Sources/CArchive", pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CSoxr", path: "Sources/CSoxr", pkgConfig: "soxr",
            providers: [.apt(["libsoxr-dev"])]),
        // Plain -O: the checkpoint and config parsers read untrusted files, so overflow and precondition checks stay
        // on (the hot loops run on raw pointers and in OpenBLAS, where -Ounchecked gained nothing measurable).
        // Elementwise kernels in C, built for several x86-64 levels and picked at load time (target_clones).
        .target(name: "CKernels"),
        // Threads for both: fork-join, worker threads, the bounded queue, the stop signal.
        .target(name: "Concurrency"),
        .target(name: "Codec", dependencies: ["CBLAS", "CFFTW", "CKernels", "Concurrency"]),
        // The text tokenizer depends on nothing else in the package.
        .target(name: "Tokenizer"),
        // The one owner of the store's SQL: schema, migrations, lock, merge and every query, as named methods.
        .target(
            name: "Store", dependencies: [.product(name: "GRDB", package: "GRDB.swift")],
            resources: [.embedInCode("Migrations/v1.sql"), .embedInCode("Migrations/v3.sql")]),
        .target(
            name: "Corpus",
            dependencies: ["Codec", "Concurrency", "Store", "Tokenizer", "CArchive", "CSndFile", "CSoxr", "CZstd"]),
        .executableTarget(
            name: "tokenize-corpus",
            dependencies: [
                "Codec", "Concurrency", "Corpus", "Store", "Tokenizer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "CodecTests", dependencies: ["CBLAS", "Codec", "Corpus", "CKernels"],
            resources: [.copy("Fixtures")]),
        // Depends on the executable so that `swift test` builds it for the subprocess tests.
        .testTarget(
            name: "CorpusTests",
            dependencies: [
                "Codec", "Corpus", "Store", "Tokenizer", "tokenize-corpus", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["fake_hub.py", "Fixtures"]),
    ]
)
