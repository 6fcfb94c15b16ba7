import DeviceKit
import Synchronization
public import TerminalUI
import PaymentCrypto
import VirtualCards

/// The Prepaid payment method: an offline purchase from a PBOC purse card through ``PrepaidService``
/// (docs/prepaid.md §7). It takes inserted cards when the operator chose "Prepaid card", and, on the simulator, the
/// virtual prepaid cards by name (`prepaid-…`) whatever the method.
public struct PrepaidRail: PaymentRail {
    public let name = "prepaid"
    let service: PrepaidService
    let simulatorNames: Bool

    /// The rail over `service`.
    public init(service: PrepaidService, simulatorNames: Bool = false) {
        self.service = service
        self.simulatorNames = simulatorNames
    }

    public func accepts(_ presentation: Presentation, method: PaymentMethod?) -> Bool {
        guard case .inserted(let name) = presentation else { return false }
        if method == .prepaid { return true }
        return method == nil && simulatorNames && name.hasPrefix("prepaid-")
    }

    public func pay(amount: Int, presentation: Presentation, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        session.show(.processing(.init()))
        // No parameter snapshot (ActiveParameterSet.beginTransaction): a purse purchase reads nothing of the parameter
        // set. Its limits are the card's own (balance, balance limit) and PrepaidService.Configuration's
        // `onlineCheckAbove`, not the journal's offline caps (it never calls `offlineCheck`); its keys are the purse
        // master keys the SAM took at start, which a key download (the DUKPT PIN key only) does not replace.
        let outcome = await service.pay(amount: amount, presentation: presentation)
        return outcome.approved ? .approved(lines: outcome.lines) : .declined(lines: outcome.lines)
    }
}

/// The virtual prepaid cards of a simulator run, by profile name (docs/prepaid.md §5): each keeps its balance,
/// counters and proofs across insertions; a card that left mid-debit is back at its next insertion.
final class VirtualPurseCardSet: @unchecked Sendable {
    // Guarded by `lock`; a card is used by one operation at a time.
    private var cards: [String: VirtualPurseCard] = [:]
    private let lock = Mutex(())

    func connect(_ name: String) throws -> any CardConnection {
        let card: VirtualPurseCard? = lock.withLock { _ in
            if let card = cards[name] {
                card.reinsert()
                return card
            }
            guard let profile = VirtualPurseProfile.named(name) else { return nil }
            let card = VirtualPurseCard(profile: profile, random: SystemRandom())
            cards[name] = card
            return card
        }
        guard let card else {
            throw RuntimeError(.device, "no virtual prepaid card '\(name)'; the sim knows \(VirtualPurseProfile.allNames.joined(separator: ", "))")
        }
        return VirtualPurseCardConnection(card: card)
    }

    /// The card called `name`, if it was inserted (for tests).
    func card(_ name: String) -> VirtualPurseCard? { lock.withLock { _ in cards[name] } }
}
