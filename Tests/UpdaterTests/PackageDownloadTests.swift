import Testing
import TestKit
import UpdatePackage
import Updater
import Store
import PaymentCrypto

/// A source that serves `bytes` and fails once after `failAfter` bytes, like a link that drops mid-download.
final class FlakySource: PackageSource, @unchecked Sendable {
    let bytes: [UInt8]
    var failAfter: Int?
    var offsets: [Int] = []

    init(_ bytes: [UInt8], failAfter: Int?) {
        self.bytes = bytes
        self.failAfter = failAfter
    }

    func length() throws -> Int { bytes.count }

    func read(offset: Int, count: Int) throws -> [UInt8] {
        offsets.append(offset)
        if let limit = failAfter, offset >= limit {
            failAfter = nil
            throw TestKitError("link lost")
        }
        return Array(bytes[offset..<min(bytes.count, offset + count)])
    }
}

@Suite("Package download")
struct PackageDownloadTests {
    @Test("a dropped download resumes where the part file ends, then installs")
    func resumes() throws {
        let fixture = try UpdateFixture()
        try fixture.provision("1.0.0")
        var big = UpdateFixture.firmware("2.0.0")
        big += [UInt8](repeating: 0x23, count: 300_000)  // a comment line makes it long
        big += Array("\n".utf8)
        let package = try fixture.package(version: "2.0.0", files: [("bin/terminal", .firmware, big)])
        let source = FlakySource(package, failAfter: 100_000)
        let destination = fixture.directory + "/download.tpkg"
        let policy = DownloadPolicy(allowMetered: false, chunkSize: 32 * 1024)
        var seen: [Int] = []
        #expect(throws: TestKitError.self) { try PackageDownload.run(from: source, to: destination, metered: false, policy: policy) { done, _ in seen.append(done) } }
        let resumeFrom = try #require(seen.last)
        #expect(resumeFrom >= 100_000 && resumeFrom < package.count)
        source.offsets.removeAll()
        let outcome = try PackageDownload.run(from: source, to: destination, metered: false, policy: policy) { done, total in
            seen.append(done)
            #expect(total == package.count)
        }
        #expect(outcome == .complete(bytes: package.count))
        #expect(source.offsets.first == resumeFrom, "resumed from the part file, not from 0")
        #expect(seen == seen.sorted() && seen.last == package.count)
        #expect(try fixture.installer().install(packagePath: destination) == .switched(version: try FirmwareVersion(parsing: "2.0.0"), slot: "b"))
    }

    @Test("metered link: nothing is fetched unless the parameters allow it; an oversized announcement is refused")
    func policy() throws {
        let fixture = try UpdateFixture()
        let source = FlakySource(try fixture.package(version: "2.0.0"), failAfter: nil)
        let destination = fixture.directory + "/download.tpkg"
        #expect(try PackageDownload.run(from: source, to: destination, metered: true) == .waitingForUnmeteredLink)
        #expect(source.offsets.isEmpty)
        #expect(try PackageDownload.run(from: source, to: destination, metered: false, policy: DownloadPolicy(maximumLength: 100)) == .tooLarge(source.bytes.count))
        #expect(source.offsets.isEmpty)
        #expect(try PackageDownload.run(from: source, to: destination, metered: true, policy: DownloadPolicy(allowMetered: true)) == .complete(bytes: source.bytes.count))
    }
}

@Suite("Update preflight")
struct UpdatePreflightTests {
    @Test("a pending transaction in the real journal blocks the update; none in flight lets it start")
    func transactionInFlight() throws {
        let fixture = try UpdateFixture()
        let storePath = fixture.directory + "/terminal.sqlite"
        #expect(UpdatePreflight.check(storePath: storePath, root: fixture.root) == nil, "no store yet")
        let journal = try TransactionJournal(store: try TerminalStore(path: storePath), dataKey: SecretBytes(zeros: 32), random: SystemRandom(), clock: { 1_800_000_000 })
        let id = try journal.begin(TransactionDraft(rail: .qr, kind: .sale, amountMinor: 100, currency: 156, entryMode: .qr))
        #expect(UpdatePreflight.check(storePath: storePath, root: fixture.root) == "1 transaction is in flight")
        _ = try journal.recordOutcome(id, .declined(responseCode: "Z1"))
        #expect(UpdatePreflight.check(storePath: storePath, root: fixture.root) == nil)
    }
}
