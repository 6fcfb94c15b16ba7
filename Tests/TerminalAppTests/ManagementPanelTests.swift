#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import DeviceKit
import PaymentCrypto
import Store
@testable import TerminalApp
import TerminalUI
import TestKit
import Testing
import UpdatePackage
import Updater

/// The Parameters and Update screens on real components (docs/terminal-management.md "On the terminal"): the
/// acquirer simulator's terminal management over mutual TLS (``TerminalManagementTests/Rig``), the real
/// ``ActiveParameterSet``, the real ``Installer`` on a test root with real Ed25519 signatures, the flow driven by
/// the same actions the controller runs; and the `terminal` binary headless on the sim board.
@Suite(.serialized) struct ManagementPanelTests {
    static let cny = Currency(code: "CNY")!

    func flow(merchant: String = "Board Shop", language: Language = .zhCN) -> TerminalFlow {
        var c = TerminalFlow.Configuration(
            merchantName: merchant, currency: Self.cny, maximumAmount: 99_999, methods: [.card], boardName: "sim", version: "1.0.0")
        c.merchantMenu = true
        var f = TerminalFlow(configuration: c, language: language)
        _ = f.handle(.tick(now: 0))
        return f
    }

    func panels(_ rig: TerminalManagementTests.Rig, media: String?) throws -> ManagementPanels {
        ManagementPanels(
            configuration: .init(
                version: "1.0.0", board: "sim", currency: Self.cny, updateRoot: rig.updateRoot, keyringPath: rig.updateRoot + "/keyring.toml",
                mediaPath: media, storePath: rig.directory + "/terminal.sqlite", restarts: false),
            parameters: rig.parameters, management: try rig.service(), time: { $0.map(ManagementPanels.localTime) ?? "now" })
    }

    /// Feeds keys and runs the panel actions as ``TerminalController`` does (reads at once, actions awaited).
    func press(_ f: inout TerminalFlow, _ panels: ManagementPanels, _ keys: Key...) async {
        for key in keys {
            await run(&f, panels, f.handle(.key(key)))
        }
    }

    func run(_ f: inout TerminalFlow, _ panels: ManagementPanels, _ actions: [TerminalFlow.Action]) async {
        var pending = actions
        while !pending.isEmpty {
            let action = pending.removeFirst()
            switch action {
            case .readPanel(let panel): pending += f.handle(.panelLines(panel, panels.lines(panel, language: f.language)))
            case .runPanelAction(let panel): pending += f.handle(.panelFinished(panel, await panels.run(panel, language: f.language)))
            case .verifyMerchantPassword: pending += f.handle(.merchantVerdict(.accepted))
            default: Issue.record("unexpected action \(action)")
            }
        }
    }

    func shown(_ f: TerminalFlow) -> [String] {
        if case .info(let info) = f.screen { return [info.title.resolve(.en)] + info.lines.map { $0.resolve(.en) } }
        return ["\(f.screen)"]
    }

    func write(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    @Test func updateScreenInstallsASignedPackageFromTheMediaPathAndRefusesOthers() async throws {
        let rig = try TerminalManagementTests.Rig()
        let usb = rig.directory + "/usb"
        _ = mkdir(usb, 0o755)
        let media = usb + "/terminal.tpkg"
        let panels = try panels(rig, media: media)
        var f = flow(language: .en)
        await press(&f, panels, .menu, .digit3, .digit1, .enter, .digit7)
        #expect(shown(f) == ["Update", "Running 1.0.0", "Committed -", "ENTER: install from USB"])

        // No stick: said so, nothing written.
        await press(&f, panels, .enter)
        #expect(shown(f) == ["Update", "No package at \(media)"])

        // A package signed by a key the keyring does not list: refused with the installer's reason.
        write(media, try TerminalManagementTests.updatePackage(version: "1.1.0", key: rig.stranger))
        await press(&f, panels, .enter, .enter)
        #expect(shown(f).prefix(2) == ["Update", "Rejected: unknown-key"], "\(shown(f))")
        // A package cut short.
        let good = try TerminalManagementTests.updatePackage(version: "1.1.0", key: rig.release)
        write(media, Array(good.dropLast(5)))
        await press(&f, panels, .enter, .enter)
        #expect(shown(f).prefix(2) == ["Update", "Rejected: truncated"], "\(shown(f))")
        #expect(access(rig.updateRoot + "/slots/a", F_OK) != 0 && access(rig.updateRoot + "/slots/b", F_OK) != 0, "no slot touched")

        // The same preflight as `terminal update install`: not while a transaction is in flight.
        write(media, good)
        _ = rig.parameters.beginTransaction()
        await press(&f, panels, .enter, .enter)
        #expect(shown(f) == ["Update", "Rejected: not-now", "a transaction is in flight"])
        rig.parameters.endTransaction()

        await press(&f, panels, .enter, .enter)
        #expect(shown(f) == ["Update", "Installed 1.1.0: runs after restart"])
        let state = try Installer(root: rig.updateRoot, board: "sim", keyring: rig.keyring).status()
        #expect(state.pendingVersion == (try FirmwareVersion(parsing: "1.1.0")), "\(state.rendered())")
        await press(&f, panels, .enter)
        #expect(shown(f).contains { $0.hasPrefix("Pending 1.1.0") }, "\(shown(f))")
        // A second install while that one waits for its restart is refused.
        await press(&f, panels, .enter)
        #expect(shown(f).prefix(2) == ["Update", "Rejected: update-in-progress"], "\(shown(f))")

        // An update the host offers: waiting for Wi-Fi on a metered link, then downloaded (100%) and held back by a
        // transaction in flight.
        try rig.publish("update-1.2.0.tpkg", try TerminalManagementTests.updatePackage(version: "1.2.0", key: rig.release))
        rig.connectivity.withLock { $0 = .online(via: .cellular, metered: true, interface: "wwan0") }
        _ = await panels.management?.synchronize()
        let waiting = panels.lines(.update, language: .en).map { $0.resolve(.en) }
        #expect(waiting.suffix(2) == ["update-1.2.0.tpkg 0%", "Update waits for Wi-Fi"], "\(waiting)")
        rig.connectivity.withLock { $0 = .online(via: .wifi, interface: "wlan0") }
        _ = rig.parameters.beginTransaction()
        _ = await panels.management?.synchronize()
        rig.parameters.endTransaction()
        let held = panels.lines(.update, language: .en).map { $0.resolve(.en) }
        #expect(held.suffix(2) == ["update-1.2.0.tpkg 100%", "Update pending"], "\(held)")
    }

    @Test func parameterSetAppliedWhileIdleRetitlesTheIdleScreenAndSwitchesTheLanguage() async throws {
        let rig = try TerminalManagementTests.Rig()
        // As the runtime does: each set that comes into force goes to the running flow.
        let inputs = Locked<[TerminalFlow.Input]>([])
        rig.parameters.observeSwitches { set in
            guard let settings = set.settings else { return }
            inputs.withLock { $0.append(.parametersChanged(merchantName: settings.merchantName, language: settings.language)) }
        }
        let panels = try panels(rig, media: nil)
        var f = flow()
        await press(&f, panels, .menu, .digit2, .digit5)
        #expect(shown(f) == ["Parameters", "Parameters: defaults", "Not checked yet", "ENTER: check downloads now"])
        _ = f.handle(.key(.cancel))
        _ = f.handle(.key(.cancel))
        _ = f.handle(.key(.cancel))
        #expect(f.isIdle)

        try rig.publish("parameters-3.tpar", try rig.parameterSet(version: 3, merchant: "Evening Store", floorLimit: 1500))
        _ = await panels.management?.synchronize()
        for input in inputs.withLock({ $0 }) { _ = f.handle(input) }
        guard case .idle(let idle) = f.screen else {
            Issue.record("not idle: \(f.screen)")
            return
        }
        #expect(idle.merchantName == "Evening Store")
        #expect(f.language == .en, "the set's language, the merchant having chosen none")

        await press(&f, panels, .menu, .digit2, .digit5)
        let lines = shown(f)
        #expect(Array(lines.prefix(2)) == ["Parameters", "Parameters v3"])
        #expect(lines.contains("Merchant: Evening Store") && lines.contains("Language: English") && lines.contains("Offline limit CNY 15.00"))
        #expect(lines.contains("Metered downloads: no") && lines.contains { $0.hasPrefix("Applied ") })
        #expect(lines.contains("Result: parameters-3.tpar applied v3"), "\(lines)")

        // "Check for downloads now" runs a round: nothing newer is offered.
        await press(&f, panels, .enter)
        #expect(shown(f).contains("Result: nothing new"), "\(shown(f))")

        // A set that arrives during a transaction reaches the screen when the transaction ends, not before.
        _ = f.handle(.key(.cancel))
        _ = f.handle(.key(.cancel))
        _ = f.handle(.key(.cancel))
        _ = rig.parameters.beginTransaction()
        try rig.publish("parameters-4.tpar", try rig.parameterSet(version: 4, merchant: "Night Store"))
        _ = await panels.management?.synchronize()
        #expect(inputs.withLock { $0.count } == 1, "nothing switched under the transaction")
        rig.parameters.endTransaction()
        for input in inputs.withLock({ $0 }).dropFirst() { _ = f.handle(input) }
        if case .idle(let night) = f.screen { #expect(night.merchantName == "Night Store") } else { Issue.record("not idle: \(f.screen)") }
        #expect(rig.journal.withLock { $0.policy.floorLimitMinor } == 2000, "its offline limit came with it")
    }

    /// The running terminal: the set arrives after the start and the idle screen, the language and the next
    /// receipt change without a restart; the sim board has no update root.
    @Test func simBoardTakesTheSetLiveAndPrintsTheNewName() throws {
        let directory = try makeTemporaryDirectory("panels-sim")
        defer { removeTree(directory) }
        let served = directory + "/served", state = directory + "/state"
        _ = mkdir(served, 0o755)
        _ = mkdir(state, 0o700)
        let release = try Ed25519.PrivateKey()
        try writeTextFile(state + "/keyring.toml", try Keyring(keys: [("release", .ed25519(try release.publicKey()))]).rendered())
        let terminalSettings = Array("merchant-name = \"Evening Store\"\nlanguage = \"en\"\n".utf8)
        let set = try ParameterPackage.build(version: 4, payloads: [("terminal", terminalSettings)]) {
            [try ParameterPackage.ed25519Signature($0, key: release)]
        }
        write(served + "/parameters-4.tpar", set)
        // Idle first, the set applied by the start-up round, a chip sale (method 1, card; PIN 1234), Settings → Parameters, then the
        // merchant menu's Update (the sim board's TEST ONLY password 123456).
        // Paced by the screens (UNTIL), in English once the set has applied.
        let input = "UNTIL Evening Store\n2\n0\n0\n0\nENTER\nUNTIL Payment method\n1\nUNTIL Insert or tap card\nINSERT visa-credit\n"
            + "UNTIL Enter PIN\n1\n2\n3\n4\nENTER\nUNTIL APPROVED\nENTER\nUNTIL Welcome\n"
            + "MENU\n2\n5\nUNTIL Parameters v4\nCANCEL\nCANCEL\nCANCEL\nMENU\n4\n1\n2\n3\n4\n5\n6\nENTER\n7\nUNTIL Not available on this board\n"
            + "CANCEL\nCANCEL\n"
        let result = try runProcess(
            [try builtProduct("terminal"), "run", "--board", repositoryRoot() + "/board/sim/board.toml", "--headless", "--fixed-clock", "09:30",
             "--state-dir", state],
            stdin: Array(input.utf8), environment: ["HOME": state, "TERMINAL_TMS_DIR": served], timeout: .seconds(90))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
        let frames = result.stdout.split(separator: "----\n", omittingEmptySubsequences: false).map(String.init)
        #expect(frames.first?.contains("模拟商户") == true && frames.first?.contains("欢迎光临") == true, "\(frames.first ?? "")")
        #expect(frames.contains { $0.contains("Evening Store") && $0.contains("Welcome") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Parameters v4") && $0.contains("Merchant: Evening Store") }, "\(result.stdout)")
        #expect(frames.contains { $0.contains("Not available on this board") }, "\(result.stdout)")
        let receipts = (try? runProcess(["/bin/sh", "-c", "cat \"$0\"/receipts/* 2>/dev/null", state]))?.stdout ?? ""
        #expect(receipts.contains("Evening Store") && !receipts.contains("Demo Shop"), "\(receipts)")
    }

    /// The sim board with `TERMINAL_UPDATE_ROOT` (a test root) and `TERMINAL_UPDATE_MEDIA`: the merchant menu's
    /// Update installs the signed package through the running terminal (no restart on the simulator).
    @Test func simBoardInstallsFromTheMediaPathIntoATestRoot() throws {
        let directory = try makeTemporaryDirectory("panels-usb")
        defer { removeTree(directory) }
        let root = directory + "/root", state = directory + "/state"
        _ = mkdir(root, 0o755)
        _ = mkdir(state, 0o700)
        let release = try Ed25519.PrivateKey()
        try writeTextFile(root + "/keyring.toml", try Keyring(keys: [("release", .ed25519(try release.publicKey()))]).rendered())
        write(directory + "/terminal.tpkg", try TerminalManagementTests.updatePackage(version: "9.9.9", key: release))
        // Paced by the screens (UNTIL): the install takes seconds natively and more under qemu on a loaded machine.
        let input = "MENU\n4\n1\n2\n3\n4\n5\n6\nENTER\n7\nUNTIL 从U盘安装\nENTER\nUNTIL 60000ms 重启后生效\nENTER\nUNTIL 待确认 9.9.9\nCANCEL\nCANCEL\n"
        let result = try runProcess(
            [try builtProduct("terminal"), "run", "--board", repositoryRoot() + "/board/sim/board.toml", "--headless", "--fixed-clock", "09:30",
             "--state-dir", state],
            stdin: Array(input.utf8),
            environment: ["HOME": state, "TERMINAL_UPDATE_ROOT": root, "TERMINAL_UPDATE_MEDIA": directory + "/terminal.tpkg"],
            timeout: .seconds(90))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        HeadlessTests.expectEveryAwaitedScreenCame(result.stderr)
        #expect(result.stdout.contains("确认键: 从U盘安装"), "\(result.stdout)")
        #expect(result.stdout.contains("已安装 9.9.9，重启后生效"), "\(result.stdout)")
        #expect(result.stdout.contains("待确认 9.9.9"), "\(result.stdout)")
        let updater = try Installer(root: root, board: "sim", keyring: try Installer.readKeyring(root + "/keyring.toml")).status()
        #expect(updater.pendingVersion == (try FirmwareVersion(parsing: "9.9.9")), "\(updater.rendered())")
    }
}
