import Testing
import UpdatePackage
import Updater

/// What a starting terminal reads from the updater to decide whether breaking store migrations must wait
/// (docs/update-package.md, "Store migrations and rollback"), against a real test root driven by the real installer.
@Suite struct HealthCheckGateTests {
    /// Provisions 1.0.0, installs 2.0.0 into slot b and starts its health check, as `terminal update boot` does.
    func inHealthCheck(_ fixture: UpdateFixture) throws -> Installer {
        try fixture.provision("1.0.0")
        let installer = fixture.installer()
        guard case .switched = try installer.install(packagePath: try fixture.write(fixture.package(version: "2.0.0"))) else {
            throw UpdaterError(.io, "install did not switch")
        }
        guard case .healthCheckStarted = try installer.boot() else { throw UpdaterError(.io, "boot did not arm the health check") }
        return installer
    }

    @Test("no state, or a committed version: nothing pending")
    func nothingPending() throws {
        let fixture = try UpdateFixture()
        let gate = HealthCheckGate(root: fixture.root)
        #expect(gate.pendingHealthCheck() == nil)
        try fixture.provision("1.0.0")
        #expect(gate.pendingHealthCheck() == nil)
        #expect(gate.verdict(slot: "a") == .committed)
    }

    @Test("the health check's slot and deadline; the commit is seen while waiting")
    func commitIsSeen() async throws {
        let fixture = try UpdateFixture()
        let installer = try inHealthCheck(fixture)
        let gate = HealthCheckGate(root: fixture.root)
        let pending = try #require(gate.pendingHealthCheck())
        #expect(pending.slot == "b")
        #expect(gate.verdict(slot: "b") == .undecided)
        let waiting = Task { await gate.waitForVerdict(slot: pending.slot, deadline: pending.deadline, interval: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(100))
        guard case .committed = try installer.commit() else { Issue.record("commit refused"); return }
        #expect(await waiting.value == .committed)
    }

    @Test("a rollback is seen with its reason")
    func rollbackIsSeen() async throws {
        let fixture = try UpdateFixture()
        _ = try inHealthCheck(fixture)
        let gate = HealthCheckGate(root: fixture.root)
        let pending = try #require(gate.pendingHealthCheck())
        // The new version restarted before it reported healthy: the next boot rolls back.
        guard case .rolledBack = try fixture.installer().boot() else { Issue.record("boot did not roll back"); return }
        let verdict = await gate.waitForVerdict(slot: pending.slot, deadline: pending.deadline, interval: .milliseconds(20))
        guard case .rolledBack(let reason) = verdict else { Issue.record("verdict \(verdict)"); return }
        #expect(reason.contains("restarted before it reported healthy"))
        #expect(try fixture.runningVersion() == "terminal 1.0.0")
    }

    @Test("no verdict by the deadline: undecided, and the wait ends")
    func deadlinePasses() async throws {
        let fixture = try UpdateFixture()
        _ = try inHealthCheck(fixture)
        let gate = HealthCheckGate(root: fixture.root)
        let pending = try #require(gate.pendingHealthCheck())
        var beats = 0
        let verdict = await gate.waitForVerdict(
            slot: pending.slot, deadline: pending.deadline, graceSeconds: 0, interval: .milliseconds(5),
            now: { pending.deadline + 1 }, beat: { beats += 1 })
        #expect(verdict == .undecided)
        #expect(beats == 1)
    }
}
