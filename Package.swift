// swift-tools-version:6.2
//
// The payment-terminal firmware. Folders under Sources/ are the layers of docs/ARCHITECTURE.md:
//   System/    C libraries (sqlite3, OpenSSL, libgpiod, Linux headers) behind module maps and small shims
//   Codecs/    pure byte formats                 Crypto/   the one wrapper over libcrypto
//   Kernels/   payment kernels (pure state machines: EMV contact, ...)
//   Store/     encrypted SQLite store            Uplink/   host link and link awareness
//   Devices/   protocols (DeviceKit) and their Linux drivers (LinuxDevices)
//   Terminal/  screens (TerminalUI), the application (TerminalApp) and the `terminal` executable
//   Simulators/ the card and issuer side (virtual cards, acquirer simulator) for the sim board and tests
//   Tools/     `termtool`, developer-only
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "payment-terminal",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "terminal", targets: ["terminal"]),
        .executable(name: "termtool", targets: ["termtool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // MARK: System libraries
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/System/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/System/COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "CGPIOD",
            path: "Sources/System/CGPIOD",
            linkerSettings: [.linkedLibrary("gpiod")]
        ),
        .target(name: "CLinux", path: "Sources/System/CLinux"),
        .systemLibrary(
            name: "CPCSCLite",
            path: "Sources/System/CPCSCLite",
            pkgConfig: "libpcsclite",
            providers: [.apt(["libpcsclite-dev"])]
        ),

        .systemLibrary(
            name: "CQREncode",
            path: "Sources/System/CQREncode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),

        // MARK: Codecs and crypto (bottom layer; pure codecs do no I/O)
        .target(name: "Codecs", path: "Sources/Codecs", swiftSettings: swiftSettings),
        .target(
            name: "PaymentCrypto",
            dependencies: ["COpenSSL", "Codecs"],
            path: "Sources/Crypto",
            swiftSettings: swiftSettings
        ),

        // MARK: Store and uplink
        .target(
            name: "Store",
            dependencies: ["CSQLite", "PaymentCrypto", "Codecs"],
            path: "Sources/Store",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Uplink",
            dependencies: ["Codecs", "PaymentCrypto", "CLinux", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Uplink",
            swiftSettings: swiftSettings
        ),

        // MARK: Field updates: the package codec (pure) and the A/B installer (docs/update-package.md)
        .target(name: "UpdatePackage", dependencies: ["Codecs", "PaymentCrypto"], path: "Sources/Update/UpdatePackage", swiftSettings: swiftSettings),
        .target(
            name: "Updater",
            dependencies: ["UpdatePackage", "PaymentCrypto", "Store", "Codecs"],
            path: "Sources/Update/Updater",
            swiftSettings: swiftSettings
        ),

        // MARK: Payment kernels (pure: driven through actions and events, no I/O of their own)
        .target(
            name: "EMVKernel",
            dependencies: ["Codecs", "PaymentCrypto"],
            path: "Sources/Kernels/EMVKernel",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ContactlessKernel",
            dependencies: ["Codecs", "PaymentCrypto", "EMVKernel"],
            path: "Sources/Kernels/ContactlessKernel",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PrepaidPurse",
            dependencies: ["Codecs", "PaymentCrypto"],
            path: "Sources/Kernels/PrepaidPurse",
            swiftSettings: swiftSettings
        ),

        // MARK: Simulators: the card and issuer side of a payment, for the sim board and the tests
        .target(
            name: "QRGatewaySimulator",
            dependencies: ["Codecs"],
            path: "Sources/Simulators/QRGateway",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "VirtualCards",
            dependencies: ["Codecs", "PaymentCrypto", "DeviceKit", "PrepaidPurse"],
            path: "Sources/Simulators/VirtualCards",
            swiftSettings: swiftSettings
        ),

        .target(
            name: "AcquirerSimulator",
            dependencies: ["Codecs", "PaymentCrypto", "VirtualCards", "Store", "Uplink", "PrepaidPurse", "QRGatewaySimulator"],
            path: "Sources/Simulators/AcquirerSimulator",
            swiftSettings: swiftSettings
        ),

        // MARK: Devices: protocols (pure) and Linux drivers
        .target(name: "DeviceKit", dependencies: ["Codecs"], path: "Sources/Devices/DeviceKit", swiftSettings: swiftSettings),
        .target(
            name: "LinuxDevices",
            dependencies: [
                "DeviceKit", "Codecs", "CGPIOD", "CLinux", "CPCSCLite", "CQREncode",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Sources/Devices/LinuxDevices",
            swiftSettings: swiftSettings
        ),

        // MARK: Terminal application
        .target(name: "TerminalUI", dependencies: ["DeviceKit"], path: "Sources/Terminal/TerminalUI", swiftSettings: swiftSettings),
        .target(
            name: "TerminalApp",
            dependencies: [
                "TerminalUI", "DeviceKit", "LinuxDevices", "Store", "Uplink", "PaymentCrypto", "Codecs", "CLinux",
                "EMVKernel", "ContactlessKernel", "PrepaidPurse", "VirtualCards", "AcquirerSimulator", "QRGatewaySimulator",
                "UpdatePackage", "Updater",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Sources/Terminal/TerminalApp",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "terminal",
            dependencies: [
                "TerminalApp", "Updater", "UpdatePackage",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Terminal/terminal",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "termtool",
            dependencies: [
                "TerminalApp", "TerminalUI", "DeviceKit", "Codecs", "PaymentCrypto", "Store", "VirtualCards", "Uplink", "LinuxDevices", "UpdatePackage",
                "EMVKernel", "ContactlessKernel", "PrepaidPurse", "AcquirerSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Tools/termtool",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        // Shared test helpers (process runner, temporary directories); never linked into the firmware.
        .target(name: "TestKit", path: "Tests/TestKit", swiftSettings: swiftSettings),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs", "TestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "DeviceKitTests", dependencies: ["DeviceKit", "Codecs", "LinuxDevices"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LinuxDevicesTests",
            dependencies: [
                "LinuxDevices", "DeviceKit", "Codecs", "CLinux", "TestKit",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI", "DeviceKit"], swiftSettings: swiftSettings),
        .testTarget(name: "PaymentCryptoTests", dependencies: ["PaymentCrypto", "Codecs", "TestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "EMVKernelTests", dependencies: ["EMVKernel", "Codecs", "PaymentCrypto", "TestKit", "VirtualCards"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ContactlessKernelTests",
            dependencies: ["ContactlessKernel", "EMVKernel", "Codecs", "PaymentCrypto", "TestKit", "VirtualCards"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PrepaidTests",
            dependencies: ["PrepaidPurse", "Codecs", "PaymentCrypto", "TestKit", "VirtualCards"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VirtualCardsTests",
            dependencies: ["VirtualCards", "Codecs", "PaymentCrypto", "DeviceKit", "LinuxDevices", "TestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "UplinkTests", dependencies: ["Uplink", "Codecs", "PaymentCrypto", "CLinux", "TestKit"], swiftSettings: swiftSettings),
        .testTarget(
            name: "QRTests",
            dependencies: [
                "Codecs", "DeviceKit", "LinuxDevices", "TerminalUI", "TerminalApp", "QRGatewaySimulator", "TestKit",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "UpdaterTests", dependencies: ["Updater", "UpdatePackage", "PaymentCrypto", "Codecs", "Store", "TestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "StoreTests", dependencies: ["Store", "PaymentCrypto", "Codecs", "TestKit"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TerminalAppTests",
            dependencies: [
                "UpdatePackage", "Updater",
                "TerminalApp", "TerminalUI", "DeviceKit", "LinuxDevices", "Store", "Uplink", "TestKit", "PaymentCrypto",
                "AcquirerSimulator", "VirtualCards", "Codecs", "EMVKernel", "ContactlessKernel", "PrepaidPurse", "QRGatewaySimulator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
