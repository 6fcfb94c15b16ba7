import PaymentCrypto
import Synchronization
import VirtualCards

/// The sim board's contactless field: the virtual contactless cards and phones by name (each keeps its state —
/// ATC, a phone's lock, a torn GENERATE AC — for the life of the run), and `two-cards` for a collision. A contact
/// card's name tapped here is not in the field's catalogue: the tap fails with a card error.
final class VirtualContactlessField: @unchecked Sendable {
    // Guarded by `lock`; a card is used by one payment at a time.
    private var cards: [String: VirtualContactlessCard] = [:]
    private let lock = Mutex(())

    func present(_ name: String) throws -> ContactlessFieldPresence {
        if name == ContactlessCardProfile.collisionName { return .collision }
        var found: VirtualContactlessCard?
        var failure: (any Error)?
        lock.withLock { _ in
            if let card = cards[name] {
                found = card
                return
            }
            guard let profile = ContactlessCardProfile.named(name) else {
                failure = RuntimeError(
                    .device,
                    "no contactless card or phone '\(name)'; the sim knows \(ContactlessCardProfile.allNames.joined(separator: ", ")), \(ContactlessCardProfile.collisionName)"
                )
                return
            }
            do {
                let card = try VirtualContactlessCard(profile: profile, random: SystemRandom())
                cards[name] = card
                found = card
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        guard let card = found else { throw RuntimeError(.device, "contactless card '\(name)' unavailable") }
        return .card(VirtualContactlessConnection(card: card), modelledMicroseconds: { card.lastExchangeMicroseconds })
    }

    /// Whether `pan` is one of the contactless cards' or phones' (TEST ONLY): the issuer simulator knows their PIN.
    static func isVirtualPAN(_ pan: String) -> Bool {
        ContactlessCardProfile.allNames.contains { ContactlessCardProfile.named($0)?.application.pan == pan }
    }
}
