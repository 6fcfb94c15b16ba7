#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
import PaymentCrypto
import Testing
import TestKit
import UpdatePackage
import Updater

/// Every refusal happens before the inactive slot is touched: after each, slot b does not exist, `current` still
/// points at slot a, the device runs 1.0.0 and the state is idle with the reason recorded.
@Suite("Update rejections")
struct UpdateRejectionTests {
    func expectRejected(
        _ expected: RejectionReason, _ fixture: UpdateFixture, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let outcome = try fixture.installer().install(packagePath: try fixture.write(bytes))
        guard case .rejected(let reason, _) = outcome else {
            Issue.record("accepted: \(outcome)", sourceLocation: sourceLocation)
            return
        }
        #expect(reason == expected, sourceLocation: sourceLocation)
        #expect(!fixture.exists("slots/b"), "the inactive slot was touched", sourceLocation: sourceLocation)
        #expect(fixture.currentSlot() == "slots/a", sourceLocation: sourceLocation)
        #expect(try fixture.runningVersion() == "terminal 1.0.0", sourceLocation: sourceLocation)
        let state = try fixture.installer().status()
        #expect(state.phase == .idle && state.lastResult.hasPrefix("rejected \(expected.rawValue)"), sourceLocation: sourceLocation)
    }

    func provisioned() throws -> UpdateFixture {
        let fixture = try UpdateFixture()
        try fixture.provision("1.0.0", counter: 5)
        return fixture
    }

    @Test("bad signature") func badSignature() throws {
        let fixture = try provisioned()
        var bytes = try fixture.package(version: "2.0.0", counter: 5)
        let header = try UnverifiedUpdatePackage(header: bytes[...])
        bytes[header.headerLength - 10] ^= 0x80
        try expectRejected(.badSignature, fixture, bytes)
    }

    @Test("a manifest changed after signing") func manifestTampered() throws {
        let fixture = try provisioned()
        var bytes = try fixture.package(version: "2.0.0", counter: 5)
        let header = try UnverifiedUpdatePackage(header: bytes[...])
        let at = try #require(header.manifestBytes.firstIndex(of: UInt8(ascii: "5")))  // security-counter = 5 -> 6
        bytes[12 + at] = UInt8(ascii: "6")
        try expectRejected(.badSignature, fixture, bytes)
    }

    @Test("unsigned, unknown key, revoked key") func keys() throws {
        let fixture = try provisioned()
        try expectRejected(.unsigned, fixture, try fixture.package(version: "2.0.0", counter: 5, signer: .none))
        try expectRejected(.unknownKey, fixture, try fixture.package(version: "2.0.0", counter: 5, signer: .stranger))
        try expectRejected(.revokedKey, fixture, try fixture.package(version: "2.0.0", counter: 5, signer: .revoked))
    }

    @Test("wrong board, wrong product") func board() throws {
        let fixture = try provisioned()
        try expectRejected(.wrongBoard, fixture, try fixture.package(version: "2.0.0", counter: 5, boards: ["rpi4"]))
        try expectRejected(.wrongProduct, fixture, try fixture.package(version: "2.0.0", counter: 5) { $0.product = "other-device" })
    }

    @Test("older version, same version, below the minimum version") func versions() throws {
        let fixture = try provisioned()
        try expectRejected(.olderVersion, fixture, try fixture.package(version: "0.9.0", counter: 5))
        try expectRejected(.sameVersion, fixture, try fixture.package(version: "1.0.0", counter: 5))
        try expectRejected(.belowMinimumVersion, fixture, try fixture.package(version: "3.0.0", minimum: "2.0.0", counter: 5))
    }

    @Test("lower security counter") func counter() throws {
        let fixture = try provisioned()
        try expectRejected(.lowerSecurityCounter, fixture, try fixture.package(version: "2.0.0", counter: 4))
    }

    @Test("truncated package: inside the header and inside the payload") func truncated() throws {
        let fixture = try provisioned()
        let bytes = try fixture.package(version: "2.0.0", counter: 5)
        try expectRejected(.truncated, fixture, Array(bytes.dropLast()))
        try expectRejected(.truncated, fixture, Array(bytes.prefix(40)))
        try expectRejected(.notAPackage, fixture, Array("not a package at all".utf8))
    }

    @Test("payload hash mismatch") func hashMismatch() throws {
        let fixture = try provisioned()
        var bytes = try fixture.package(version: "2.0.0", counter: 5)
        bytes[bytes.count - 3] ^= 0x01
        try expectRejected(.payloadHashMismatch, fixture, bytes)
    }

    @Test("path traversal in a signed manifest", arguments: ["../escape", "bin/../../escape", "/etc/cron.d/x"])
    func traversal(path: String) throws {
        let fixture = try provisioned()
        let files: [(String, UpdateManifest.Role, [UInt8])] = [("bin/terminal", .firmware, UpdateFixture.firmware("2.0.0")), (path, .unit, [1, 2, 3])]
        try expectRejected(.unsafePath, fixture, try fixture.package(version: "2.0.0", counter: 5, files: files))
        #expect(!fixture.exists("escape") && !fixture.exists("../escape"))
    }

    @Test("a signed manifest that lies about sizes") func lyingSizes() throws {
        let fixture = try provisioned()
        // Larger than the package: believed, it would read past the end.
        try expectRejected(.truncated, fixture, try fixture.package(version: "2.0.0", counter: 5) { $0.payloads[0].size += 1 })
        try expectRejected(.truncated, fixture, try fixture.package(version: "2.0.0", counter: 5) { $0.payloads[0].size = 1 << 40 })
        // Smaller: bytes left after the last file.
        try expectRejected(.sizeMismatch, fixture, try fixture.package(version: "2.0.0", counter: 5) { $0.payloads[2].size -= 1 })
        // Same total, shifted boundary: the hashes catch it.
        try expectRejected(.payloadHashMismatch, fixture, try fixture.package(version: "2.0.0", counter: 5) {
            $0.payloads[0].size += 1
            $0.payloads[1].size -= 1
        })
    }

    @Test("no update while the terminal is busy or another update is pending") func busy() throws {
        let fixture = try provisioned()
        let path = try fixture.write(try fixture.package(version: "2.0.0", counter: 5))
        let outcome = try fixture.installer().install(packagePath: path, preflight: { "a transaction is in flight" })
        #expect(outcome == .rejected(.notNow, "a transaction is in flight"))
        #expect(!fixture.exists("slots/b"))
        #expect(try fixture.installer().install(packagePath: path) == .switched(version: try FirmwareVersion(parsing: "2.0.0"), slot: "b"))
        let again = try fixture.installer().install(packagePath: try fixture.write(try fixture.package(version: "3.0.0", counter: 5), name: "v3"))
        guard case .rejected(.updateInProgress, _) = again else {
            Issue.record("a second update started: \(again)")
            return
        }
    }

    @Test("a P-256 signature by the rotated key installs; the counter is committed and never decreases") func rotatedKey() throws {
        let fixture = try provisioned()
        let installer = fixture.installer()
        #expect(try installer.install(packagePath: try fixture.write(try fixture.package(version: "2.0.0", counter: 7, signer: .rotated))) == .switched(version: try FirmwareVersion(parsing: "2.0.0"), slot: "b"))
        _ = try installer.boot()
        #expect(try installer.commit() == .committed(try FirmwareVersion(parsing: "2.0.0")))
        #expect(try installer.status().securityCounter == 7)
        #expect(try fixture.runningVersion() == "terminal 2.0.0")
        let outcome = try installer.install(packagePath: try fixture.write(try fixture.package(version: "3.0.0", counter: 6)))
        guard case .rejected(.lowerSecurityCounter, _) = outcome else {
            Issue.record("accepted a lower counter: \(outcome)")
            return
        }
        #expect(try fixture.runningVersion() == "terminal 2.0.0")
    }

    @Test("health deadline: a version that does not commit in time is rolled back") func deadline() throws {
        let fixture = try provisioned()
        nonisolated(unsafe) var clock = 1_000
        let installer = fixture.installer(now: { clock })
        _ = try installer.install(packagePath: try fixture.write(try fixture.package(version: "2.0.0", counter: 5)))
        #expect(try installer.boot() == .healthCheckStarted(version: try FirmwareVersion(parsing: "2.0.0"), deadline: 1_120))
        clock = 1_121
        guard case .rolledBack(let why) = try installer.commit() else {
            Issue.record("committed after the deadline")
            return
        }
        #expect(why.contains("within 120 s"))
        #expect(fixture.currentSlot() == "slots/a")
        #expect(try fixture.runningVersion() == "terminal 1.0.0")
    }
}

@Suite("Update root adoption")
struct UpdateAdoptionTests {
    @Test("a root from an image (current -> slots/a, no state file) is adopted: the update goes to slot b, anti-rollback uses the image's manifest")
    func adoptsImageRoot() throws {
        let fixture = try UpdateFixture()
        try fixture.provision("1.0.0", counter: 5)
        #expect(unlink(fixture.root + "/update-state") == 0)
        let adopted = try fixture.installer().status()
        #expect(adopted.committedSlot == "a" && adopted.committedVersion?.description == "1.0.0" && adopted.securityCounter == 5)
        let older = try fixture.installer().install(packagePath: try fixture.write(try fixture.package(version: "0.5.0", counter: 5)))
        guard case .rejected(.olderVersion, _) = older else {
            Issue.record("older version accepted on an adopted root: \(older)")
            return
        }
        let installer = fixture.installer()
        #expect(try installer.install(packagePath: try fixture.write(try fixture.package(version: "2.0.0", counter: 5))) == .switched(version: try FirmwareVersion(parsing: "2.0.0"), slot: "b"))
        #expect(fixture.currentSlot() == "slots/b")
    }
}
