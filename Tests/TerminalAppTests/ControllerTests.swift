import DeviceKit
import Logging
import TerminalApp
import TerminalUI
import Testing

/// A rail for tests: asks for the PIN and approves 1234, like a card whose PIN is 1234. What it saw of the digits
/// is only the verdict: the digits stay inside `enterPIN`'s closure.
private struct PinCheckingRail: PaymentRail {
    let name = "test-pin"
    func accepts(_ presentation: Presentation, method: PaymentMethod?) -> Bool {
        if case .inserted = presentation { return true }
        return false
    }
    func pay(amount: Int, presentation: Presentation, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        let outcome = await session.enterPIN(amount: amount, currency: Currency(code: "CNY")!) { digits in
            Array(digits) == [1, 2, 3, 4]
        }
        switch outcome {
        case .entered(true): return .approved(lines: [.ui(.removeCard)])
        case .entered(false): return .declined(lines: [.raw("WRONG PIN")])
        case .cancelled: return .cancelled
        case .timedOut: return .declined(lines: [.ui(.timedOut)])
        case .cardRemoved: return .declined(lines: [.raw("CARD REMOVED")])
        }
    }
}

@Suite struct ControllerTests {
    final class Harness: Sendable {
        let bus = EventBus()
        let frames = Locked<[String]>([])
        let controller: TerminalController

        init() {
            var configuration = TerminalFlow.Configuration(
                merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 100_000, methods: [.card],
                boardName: "test", version: "0")
            configuration.inputTimeout = 60_000
            let frames = self.frames
            controller = TerminalController(
                flow: TerminalFlow(configuration: configuration, language: .en), bus: bus,
                dependencies: .init(
                    display: { grid in frames.withLock { $0.append(grid.plainText) } }, gridSize: (40, 15),
                    rails: RailRegistry([PinCheckingRail()]), saveLanguage: { _ in }, beat: {}, clock: SystemClock()),
                logger: Logger(label: "test"))
        }

        func send(_ keys: Key...) { for k in keys { bus.send(.flow(.key(k))) } }

        /// Waits (up to 5 s) for a frame containing `text`.
        func waitFor(_ text: String) async -> Bool {
            for _ in 0..<500 {
                if frames.withLock({ $0.contains { $0.contains(text) } }) { return true }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return false
        }

        var last: String { frames.withLock { $0.last ?? "" } }
    }

    func run(_ body: (Harness) async -> Void) async {
        let h = Harness()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await h.controller.run() }
            await body(h)
            h.bus.send(.quit)
        }
    }

    @Test func pinEntryIsMaskedAndApproves() async {
        await run { h in
            h.send(.digit5, .enter)
            h.bus.send(.flow(.presentation(.inserted(name: "card"))))
            #expect(await h.waitFor("Enter PIN"))
            h.send(.digit1, .digit2, .digit9)
            #expect(await h.waitFor("***"))
            h.send(.clear)  // erases all digits
            h.send(.digit1, .digit2, .digit3, .digit4)
            #expect(await h.waitFor("****"))
            h.send(.enter)
            #expect(await h.waitFor("APPROVED"))
            #expect(h.last.contains("CNY 0.05") && h.last.contains("Remove card"))
            #expect(!h.frames.withLock { $0.joined() }.contains("1234"), "no frame shows the digits")
            h.send(.enter)
            #expect(await h.waitFor("Welcome"))
        }
    }

    @Test func wrongPinDeclines() async {
        await run { h in
            h.send(.digit5, .enter)
            h.bus.send(.flow(.presentation(.inserted(name: "card"))))
            #expect(await h.waitFor("Enter PIN"))
            h.send(.digit4, .digit3, .digit2, .digit1, .enter)
            #expect(await h.waitFor("WRONG PIN"))
        }
    }

    @Test func cancelAndTimeoutAndRemoval() async {
        await run { h in
            h.send(.digit5, .enter)
            h.bus.send(.flow(.presentation(.inserted(name: "card"))))
            #expect(await h.waitFor("Enter PIN"))
            h.send(.cancel)
            #expect(await h.waitFor("Cancelled"))
            h.send(.enter)

            h.send(.digit6, .enter)
            h.bus.send(.flow(.presentation(.inserted(name: "card"))))
            #expect(await h.waitFor("CNY 0.06"))
            h.bus.send(.flow(.tick(now: 1_000)))
            h.send(.digit1)
            h.bus.send(.flow(.tick(now: 2_000)))
            h.bus.send(.flow(.tick(now: 31_999)))
            h.bus.send(.flow(.tick(now: 32_001)))
            #expect(await h.waitFor("Timed out"))
            h.send(.enter)

            h.send(.digit7, .enter)
            h.bus.send(.flow(.presentation(.inserted(name: "card"))))
            #expect(await h.waitFor("CNY 0.07"))
            h.bus.send(.flow(.presentation(.removed)))
            #expect(await h.waitFor("CARD REMOVED"))
        }
    }

    @Test func presentationNoRailTakesIsNotAvailable() async {
        await run { h in
            h.send(.digit5, .enter)
            h.bus.send(.flow(.presentation(.scanned(code: "x"))))
            #expect(await h.waitFor("Not available"))
        }
    }
}
