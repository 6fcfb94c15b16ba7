/// TEST ONLY: a virtual contactless card or phone wallet (docs/contactless.md, "Virtual cards and phones").
///
/// Cards and phones are personalised like the contact cards (``VirtualCardProfile/Application``: records, TEST ONLY
/// certificates, master keys from ``TestIssuers``), so the acquirer simulator's issuer verifies their ARQCs with the
/// same rule (CVN '0A' layout, docs/virtual-cards.md "Cryptograms"). Phone wallets carry token PANs inside the test
/// issuers' ranges (4761734…, 5413334…) and do cardholder verification on the device (CDCVM).
public struct ContactlessCardProfile: Sendable {
    /// Which kernel path the card answers.
    public enum Scheme: Sendable, Equatable {
        /// Visa qVSDC (Kernel 3): cryptogram in the GPO response, fDDA.
        case visa
        /// Mastercard M/Chip (Kernel 2): GENERATE AC with CDA, relay resistance.
        case mastercard
        /// UnionPay qPBOC (Kernel 7, on the Kernel 3 path).
        case unionPay
    }

    /// A phone wallet's behaviour.
    public enum Wallet: Sendable, Equatable {
        /// A plastic card.
        case none
        /// CDCVM already done: approves at the first tap.
        case approvesAtOnce
        /// Locked: the first tap answers "See Phone" (Visa: GPO '6986'; Mastercard: AAC with 'DF4B'); after the
        /// cardholder unlocks it, the next tap approves.
        case needsUnlocking
        /// The wallet declines (AAC).
        case declines
    }

    /// The profile's name (`TAP <name>`).
    public let name: String
    /// What it is for and what a correct reader does with it.
    public let summary: String
    /// The kernel path it answers.
    public let scheme: Scheme
    /// Plastic card or phone wallet behaviour.
    public let wallet: Wallet
    /// The EMV application data (AID, TEST ONLY PAN, keys).
    public var application: VirtualCardProfile.Application
    /// Kernel Identifier '9F2A' in the PPSE entry.
    public var kernelIdentifier: UInt8
    /// GET PROCESSING OPTIONS answers this status word instead (e.g. `6984`: "use the contact interface").
    public var gpoStatus: UInt16?
    /// Kernel 2: the card computes its first GENERATE AC answer, then leaves the field before sending it (once).
    public var tearsAtFirstGenerateAC: Bool
    /// Kernel 2: extra delay on EXCHANGE RELAY RESISTANCE DATA, microseconds (a relay between reader and card).
    public var relayDelayMicroseconds: Int

    /// Whether the card is a phone.
    public var isPhone: Bool { wallet != .none }

    /// The profile called `name`, or `nil`.
    public static func named(_ name: String) -> ContactlessCardProfile? { catalogue.first { $0.name == name } }

    /// Every profile name, in documentation order.
    public static var allNames: [String] { catalogue.map(\.name) }

    /// The name that stands for two cards in the field at once (collision).
    public static let collisionName = "two-cards"

    static let visaPDOL: [UInt8] = [
        0x9F, 0x66, 0x04, 0x9F, 0x02, 0x06, 0x9F, 0x03, 0x06, 0x9F, 0x1A, 0x02, 0x95, 0x05, 0x5F, 0x2A, 0x02, 0x9A,
        0x03,
        0x9C, 0x01, 0x9F, 0x37, 0x04,
    ]
    static let mastercardPDOL: [UInt8] = [0x9F, 0x35, 0x01, 0x9F, 0x1A, 0x02]

    static func visa(_ name: String, code: String, wallet: Wallet, _ summary: String, gpoStatus: UInt16? = nil)
        -> ContactlessCardProfile
    {
        var app = VirtualCardProfile.visaApplication(code: code, serial: wallet == .none ? "0000001" : "9000001")
        app.label = wallet == .none ? "VISA CREDIT" : "VISA"
        app.cardholderName = wallet == .none ? "TEST/VISA CONTACTLESS" : ""
        // Token PANs stay in the test issuer's range: 476173 + code + 9…
        app.pan = VirtualCardProfile.luhnCompleted("476173" + code + (wallet == .none ? "0000001" : "9000001"))
        app.aip = [0x20, 0x40]  // DDA (fDDA); byte 2 bit 7: contactless EMV mode
        app.pdol = visaPDOL
        app.usesFormat2 = true
        return ContactlessCardProfile(
            name: name, summary: summary, scheme: .visa, wallet: wallet, application: app, kernelIdentifier: 0x03,
            gpoStatus: gpoStatus, tearsAtFirstGenerateAC: false, relayDelayMicroseconds: 0)
    }

    static func mastercard(
        _ name: String, code: String, wallet: Wallet, _ summary: String, tears: Bool = false, relay: Int = 0
    ) -> ContactlessCardProfile {
        var app = VirtualCardProfile.mastercardDebit().applications[0]
        app.pan = VirtualCardProfile.luhnCompleted("541333" + code + (wallet == .none ? "0000001" : "9000001"))
        app.label = wallet == .none ? "MASTERCARD" : "MASTERCARD TOKEN"
        app.cardholderName = wallet == .none ? "TEST/MC CONTACTLESS" : ""
        // Byte 1: cardholder verification, terminal risk management, CDA (+ on-device CVM for phones);
        // byte 2: EMV mode (bit 8), relay resistance (bit 1).
        app.aip = wallet == .none ? [0x19, 0x81] : [0x1B, 0x81]
        app.pdol = mastercardPDOL
        // 42 03 online PIN if supported, 1E 03 signature if supported, 1F 03 no CVM.
        app.cvmList = [0, 0, 0, 0, 0, 0, 0, 0, 0x42, 0x03, 0x1E, 0x03, 0x1F, 0x03]
        app.keys.pin = nil
        return ContactlessCardProfile(
            name: name, summary: summary, scheme: .mastercard, wallet: wallet, application: app, kernelIdentifier: 0x02,
            gpoStatus: nil, tearsAtFirstGenerateAC: tears, relayDelayMicroseconds: relay)
    }

    static func unionPay(_ name: String, code: String) -> ContactlessCardProfile {
        var app = VirtualCardProfile.unionPayDebit().applications[0]
        app.pan = VirtualCardProfile.luhnCompleted("623012" + code + "0000001")
        app.aip = [0x20, 0x40]
        app.pdol = visaPDOL
        app.newCardGoesOnline = false
        return ContactlessCardProfile(
            name: name,
            summary: "UnionPay QuickPass (qPBOC) card on the Kernel 3 path: TC with fDDA under the floor "
                + "limit, ARQC above it, online PIN above the CVM limit.",
            scheme: .unionPay, wallet: .none, application: app, kernelIdentifier: 0x07, gpoStatus: nil,
            tearsAtFirstGenerateAC: false, relayDelayMicroseconds: 0)
    }

    static let catalogue: [ContactlessCardProfile] = [
        visa(
            "visa-paywave", code: "30", wallet: .none,
            "Visa qVSDC card: TC with fDDA under the floor limit, ARQC above it; CTQ asks online PIN at or above the "
                + "CVM required limit (signature when the reader has no online PIN)."),
        mastercard(
            "mastercard-paypass", code: "30", wallet: .none,
            "Mastercard M/Chip card: relay resistance, CDA on TC and ARQC, CVM list online PIN / signature / "
                + "no CVM."),
        unionPay("unionpay-quickpass", code: "30"),
        visa(
            "visa-contact-only", code: "31", wallet: .none,
            "Visa card whose contactless application refuses the transaction: GPO answers 6984, the reader asks "
                + "to insert the card (Try Another Interface).", gpoStatus: 0x6984),
        mastercard(
            "mastercard-torn", code: "31", wallet: .none,
            "Mastercard card that leaves the field during its first GENERATE AC (once): torn transaction, "
                + "'Present card again', RECOVER AC on the next tap.", tears: true),
        mastercard(
            "mastercard-relayed", code: "32", wallet: .none,
            "Mastercard card behind a 30 ms relay: relay resistance time limits exceeded (TVR), online.",
            relay: 30_000),
        visa(
            "applepay-visa", code: "40", wallet: .approvesAtOnce,
            "Phone wallet, Visa token PAN, CDCVM done: ARQC at once, no PIN at any amount."),
        visa(
            "applepay-visa-locked", code: "41", wallet: .needsUnlocking,
            "Phone wallet, Visa token, locked: the first tap answers GPO 6986 (See Phone), the second approves."),
        mastercard(
            "samsungpay-mastercard", code: "40", wallet: .needsUnlocking,
            "Phone wallet, Mastercard token, on-device CVM: the first tap answers AAC with 'DF4B' (See "
                + "Phone), the second tap approves online."),
        visa(
            "phone-declines", code: "42", wallet: .declines,
            "Phone wallet that declines (AAC in the GPO response)."),
    ]
}
