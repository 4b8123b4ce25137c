// swift-tools-version:6.0
// kenpo — nightly batch for a personal-health-record service of Japanese health insurance unions.
// No Swift package dependencies: system libraries only (libxml2, zlib, OpenSSL's libcrypto).
import PackageDescription

let package = Package(
    name: "kenpo",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kenpo", targets: ["kenpo"]),
        .executable(name: "kenpo-bench", targets: ["kenpo-bench"]),
        .library(name: "KenpoCore", targets: ["KenpoCore"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLibXML2", pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        .target(
            name: "KenpoCore",
            dependencies: ["CLibXML2", "CZlib", "CCrypto"],
            swiftSettings: [
                .swiftLanguageMode(.v5),
                // Dynamic exclusivity checks cost ~15% of roster ingest (profiled: swift_beginAccess in
                // the CSV writer's inner loop). Debug builds, which the tests use, keep them.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]),
        .executableTarget(
            name: "kenpo",
            dependencies: ["KenpoCore"],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(
            name: "kenpo-bench",
            dependencies: ["KenpoCore"],
            exclude: ["anchors"],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(
            name: "KenpoCoreTests",
            dependencies: ["KenpoCore"],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(
            name: "KenpoEndToEndTests",
            dependencies: ["KenpoCore", "kenpo"],
            swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
