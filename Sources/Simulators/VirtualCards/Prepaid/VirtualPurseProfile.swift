import PrepaidPurse

/// A virtual prepaid (PBOC electronic purse) card for the simulator board and the tests (docs/prepaid.md §5).
/// Keys are diversified from ``PurseMasterKeys/testOnly()``: TEST ONLY, they protect nothing.
public struct VirtualPurseProfile: Sendable, Hashable {
    /// What the card does wrong, if anything.
    public enum Variant: String, Sendable, Hashable, CaseIterable {
        /// A blank, transport-state card: personalised by the terminal's Issue flow.
        case blank
        /// A genuine card.
        case good
        /// The balance was raised on the card without a load (the MACs stay right; only the host's reconciliation
        /// of the balance before each purchase finds it).
        case tamperedBalance
        /// The card answers DEBIT FOR PURCHASE with a wrong MAC2 (a counterfeit): the terminal refuses the sale.
        case wrongMAC
        /// The card expired on 31 December 2020.
        case expired
        /// The card is on the host's lost-card list.
        case blocked
        /// The card leaves the reader during its first DEBIT FOR PURCHASE after performing the debit (a torn
        /// transaction: the terminal gets no answer).
        case tornDebit
        /// The card leaves the reader during its first CREDIT FOR LOAD after crediting itself.
        case tornLoad
    }

    /// The profile name (`prepaid-good`, …).
    public let name: String
    /// The variant.
    public let variant: Variant
    /// The application serial number (card number), 10 bytes BCD.
    public let serialNumber: [UInt8]
    /// The balance the issuer knows the card was issued with, in fen.
    public let issuedBalance: UInt32
    /// The balance on the card (differs from ``issuedBalance`` only for ``Variant/tamperedBalance``).
    public let cardBalance: UInt32
    /// Expiry YYYYMMDD BCD.
    public let expiryDate: [UInt8]

    /// The card number as 20 digits.
    public var cardNumber: String { serialNumber.map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined() }

    /// The TEST ONLY issuer identifier of the simulator's scheme ("SIMPURSE").
    public static let testIssuerIdentifier: [UInt8] = Array("SIMPURSE".utf8)

    /// Every profile. Card numbers `1000000000000000000N`; pre-issued cards hold 100.00 (10000 fen).
    public static let all: [VirtualPurseProfile] = [
        profile("prepaid-blank", .blank, 1, balance: 0),
        profile("prepaid-good", .good, 2),
        profile("prepaid-tampered", .tamperedBalance, 3, cardBalance: 60_000),
        profile("prepaid-wrong-mac", .wrongMAC, 4),
        profile("prepaid-expired", .expired, 5, expiry: [0x20, 0x20, 0x12, 0x31]),
        profile("prepaid-blocked", .blocked, 6),
        profile("prepaid-torn", .tornDebit, 7),
        profile("prepaid-torn-load", .tornLoad, 8),
    ]

    /// The profile names.
    public static var allNames: [String] { all.map(\.name) }

    /// The profile called `name`.
    public static func named(_ name: String) -> VirtualPurseProfile? { all.first { $0.name == name } }

    /// The card numbers the host's lost-card list holds in the simulator.
    public static var blockedCardNumbers: [String] { all.filter { $0.variant == .blocked }.map(\.cardNumber) }

    /// The pre-issued cards (every profile but the blank one), for seeding the host's prepaid ledger: card number
    /// and the balance the issuer knows.
    public static var preIssued: [(cardNumber: String, balance: UInt32)] {
        all.filter { $0.variant != .blank }.map { ($0.cardNumber, $0.issuedBalance) }
    }

    static func profile(
        _ name: String, _ variant: Variant, _ index: UInt8, balance: UInt32 = 10_000, cardBalance: UInt32? = nil,
        expiry: [UInt8] = [0x20, 0x30, 0x12, 0x31]
    ) -> VirtualPurseProfile {
        VirtualPurseProfile(
            name: name, variant: variant, serialNumber: [0x10, 0, 0, 0, 0, 0, 0, 0, 0, index],
            issuedBalance: balance, cardBalance: cardBalance ?? balance, expiryDate: expiry)
    }
}
