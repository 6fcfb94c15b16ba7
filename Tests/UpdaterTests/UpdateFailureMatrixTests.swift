import Testing
import TestKit
import UpdatePackage
import Updater

/// Mender's matrix: for every state of the updater, an error in that state and a SIGKILL in that state, each
/// through the real `terminal update` command on a test root (faults injected with TERMINAL_UPDATE_FAULT; `kill`
/// is a real SIGKILL the process sends itself at the fault point). Each case asserts the phase the crash left,
/// the exact recovery path (`terminal update boot`, as systemd's ExecStartPre runs it on the next start), that the
/// device ends on a working version, that keys and store outside the slots are untouched, and that a further
/// update still installs and commits.
@Suite("Update failure matrix")
struct UpdateFailureMatrixTests {
    struct Step: Sendable, CustomStringConvertible {
        var command: String
        var faulty: Bool
        var status: Int32
        var description: String { "\(command)\(faulty ? "!" : "") -> \(status)" }
    }

    struct Case: Sendable, CustomStringConvertible {
        var phase: UpdatePhase
        var kind: UpdateFaults.Kind
        /// Commands up to and including the faulty one.
        var steps: [Step]
        /// The phase the fault leaves in update-state.
        var leftPhase: UpdatePhase
        /// The recovery: what the next start's `boot` does, then an optional commit.
        var recovery: [Step]
        /// What update-state's last-result says at the end.
        var lastResult: String
        /// The version the device runs at the end.
        var endVersion: String
        var description: String { "\(phase.rawValue):\(kind.rawValue)" }
    }

    static func s(_ command: String, _ status: Int32 = 0, faulty: Bool = false) -> Step { Step(command: command, faulty: faulty, status: status) }
    static func f(_ command: String, _ status: Int32) -> Step { Step(command: command, faulty: true, status: status) }

    static let cases: [Case] = [
        Case(phase: .verifying, kind: .error, steps: [f("install", 74)], leftPhase: .idle, recovery: [s("boot")],
             lastResult: "verification failed", endVersion: "1.0.0"),
        Case(phase: .verifying, kind: .kill, steps: [f("install", 137)], leftPhase: .verifying, recovery: [s("boot")],
             lastResult: "interrupted while verifying", endVersion: "1.0.0"),
        Case(phase: .writing, kind: .error, steps: [f("install", 74)], leftPhase: .idle, recovery: [s("boot")],
             lastResult: "writing slot b failed, slot cleared", endVersion: "1.0.0"),
        Case(phase: .writing, kind: .kill, steps: [f("install", 137)], leftPhase: .writing, recovery: [s("boot")],
             lastResult: "interrupted while writing slot b; the slot was cleared", endVersion: "1.0.0"),
        Case(phase: .switching, kind: .error, steps: [f("install", 74)], leftPhase: .idle, recovery: [s("boot")],
             lastResult: "rolled back from 2.0.0 to 1.0.0: switching failed", endVersion: "1.0.0"),
        Case(phase: .switching, kind: .kill, steps: [f("install", 137)], leftPhase: .switching, recovery: [s("boot")],
             lastResult: "rolled back from 2.0.0 to 1.0.0: interrupted while switching", endVersion: "1.0.0"),
        Case(phase: .restarting, kind: .error, steps: [f("install", 74)], leftPhase: .idle, recovery: [s("boot")],
             lastResult: "rolled back from 2.0.0 to 1.0.0: restarting failed", endVersion: "1.0.0"),
        Case(phase: .restarting, kind: .kill, steps: [f("install", 137)], leftPhase: .restarting, recovery: [s("boot"), s("commit")],
             lastResult: "committed 2.0.0", endVersion: "2.0.0"),
        Case(phase: .healthCheck, kind: .error, steps: [s("install"), s("boot"), f("commit", 1)], leftPhase: .idle, recovery: [s("boot")],
             lastResult: "rolled back from 2.0.0 to 1.0.0: 2.0.0 health check failed", endVersion: "1.0.0"),
        Case(phase: .healthCheck, kind: .kill, steps: [s("install"), s("boot"), f("commit", 137)], leftPhase: .healthCheck, recovery: [s("boot")],
             lastResult: "rolled back from 2.0.0 to 1.0.0: 2.0.0 restarted before it reported healthy", endVersion: "1.0.0"),
        Case(phase: .committing, kind: .error, steps: [s("install"), s("boot"), f("commit", 1)], leftPhase: .idle, recovery: [s("boot")],
             lastResult: "rolled back from 2.0.0 to 1.0.0: committing 2.0.0 failed", endVersion: "1.0.0"),
        Case(phase: .committing, kind: .kill, steps: [s("install"), s("boot"), f("commit", 137)], leftPhase: .committing, recovery: [s("boot")],
             lastResult: "committed 2.0.0", endVersion: "2.0.0"),
        // A rollback is triggered by a restart during the health check (the new version crashed).
        Case(phase: .rollingBack, kind: .error, steps: [s("install"), s("boot"), f("boot", 74)], leftPhase: .rollingBack, recovery: [s("boot")],
             lastResult: "rolled back from 2.0.0 to 1.0.0: 2.0.0 restarted before it reported healthy", endVersion: "1.0.0"),
        Case(phase: .rollingBack, kind: .kill, steps: [s("install"), s("boot"), f("boot", 137)], leftPhase: .rollingBack, recovery: [s("boot")],
             lastResult: "rolled back from 2.0.0 to 1.0.0: 2.0.0 restarted before it reported healthy", endVersion: "1.0.0"),
    ]

    @Test("error and SIGKILL in every state", arguments: cases)
    func matrix(_ c: Case) throws {
        let terminal = try builtProduct("terminal")
        let fixture = try UpdateFixture()
        try fixture.provision("1.0.0", counter: 1)
        try writeTextFile(fixture.directory + "/store.db", "journal and keys live outside the install root\n")
        let keyringBefore = try readTextFile(fixture.root + "/keyring.toml")
        let package = try fixture.write(try fixture.package(version: "2.0.0", counter: 2), name: "v2.tpkg")

        func run(_ step: Step) throws {
            var argv = [terminal, "update", step.command]
            if step.command == "install" { argv += [package, "--no-restart", "--state-dir", fixture.directory] }
            argv += ["--root", fixture.root, "--board", "sim"]
            let environment = step.faulty ? ["TERMINAL_UPDATE_FAULT": "\(c.phase.rawValue):\(c.kind.rawValue)"] : [:]
            let result = try runProcess(argv, environment: environment, timeout: .seconds(60))
            #expect(result.status == step.status, "\(c) \(step): \(result.stdout) \(result.stderr)")
        }

        for step in c.steps { try run(step) }
        #expect(try fixture.installer().status().phase == c.leftPhase, "\(c): phase after the fault")
        for step in c.recovery { try run(step) }
        let state = try fixture.installer().status()
        #expect(state.phase == .idle, "\(c)")
        #expect(state.lastResult.hasPrefix(c.lastResult), "\(c): \(state.lastResult)")
        #expect(try fixture.runningVersion() == "terminal \(c.endVersion)", "\(c)")
        #expect(fixture.currentSlot() == (c.endVersion == "1.0.0" ? "slots/a" : "slots/b"), "\(c)")
        #expect(state.committedVersion?.description == c.endVersion, "\(c)")
        if c.phase == .verifying || c.phase == .writing {
            #expect(!fixture.exists("slots/b"), "\(c): an interrupted install leaves no half-written slot")
        }
        #expect(try readTextFile(fixture.root + "/keyring.toml") == keyringBefore)
        #expect(try readTextFile(fixture.directory + "/store.db") == "journal and keys live outside the install root\n")

        // The device is not stuck: the next update installs and commits.
        let next = try fixture.write(try fixture.package(version: "3.0.0", counter: 3), name: "v3.tpkg")
        for command in [["install", next, "--no-restart", "--state-dir", fixture.directory], ["boot"], ["commit"]] {
            let result = try runProcess([terminal, "update"] + command + ["--root", fixture.root, "--board", "sim"], timeout: .seconds(60))
            #expect(result.status == 0, "\(c) then 3.0.0 \(command[0]): \(result.stderr)")
        }
        #expect(try fixture.runningVersion() == "terminal 3.0.0", "\(c)")
    }
}
