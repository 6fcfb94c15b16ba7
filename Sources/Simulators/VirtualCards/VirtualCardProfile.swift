import PaymentCrypto

/// What a virtual card holds: its applications, their data and keys, its PIN, and the fault it plays.
///
/// Profiles are looked up by name (``named(_:)``, ``allNames``); docs/virtual-cards.md lists each with its purpose
/// and the outcome a correct terminal reaches. Every PAN is Luhn-valid and belongs to one profile only (prefix
/// 476173 Visa, 541333 Mastercard, 623012 UnionPay, then two digits per profile), so the acquirer simulator can
/// route and answer per profile. The offline PIN of every profile is `1234` (TEST ONLY).
public struct VirtualCardProfile: Sendable {
    /// Offline data authentication the application supports (EMV Book 2 clauses 5, 6, 6.6).
    public enum OfflineDataAuthentication: Sendable, Equatable {
        /// None: no certificates on the card.
        case none
        /// Static data authentication: issuer certificate and Signed Static Application Data ('93').
        case sda
        /// Dynamic data authentication: ICC certificate and INTERNAL AUTHENTICATE.
        case dda
        /// Combined DDA / application cryptogram generation: the signature in GENERATE AC.
        case cda
    }

    /// The misbehaviour a profile plays, for the terminal's error paths.
    public enum Fault: Sendable, Equatable {
        /// A well-behaved card.
        case none
        /// SELECT of the application answers this status word (`6283` blocked application with its FCI; `6A81`
        /// for every SELECT, PSE included, without data: card blocked or SELECT not supported).
        case selectStatus(UInt16)
        /// The card leaves the reader while the first GENERATE AC is processed: the connection throws
        /// ``VirtualCardError/Code/cardRemoved``, the vpcd client drops its link.
        case removedAtFirstGenerateAC
        /// READ RECORD of SFI 1 record 1 returns a '70' template whose length runs past its end.
        case malformedRecord
        /// Signed static data altered after signing (the effective date '5F25' changed): ODA fails.
        case tamperedStaticData
        /// The issuer public key certificate expired (December 2020).
        case expiredIssuerCertificate
        /// The issuer public key certificate's serial number is on ``TestPKI/testOnlyRevocationList``.
        case revokedIssuerCertificate
    }

    /// One EMV application on the card.
    public struct Application: Sendable {
        /// The AID (tag '4F' / '84').
        public var aid: [UInt8]
        /// Application label (tag '50'), ASCII.
        public var label: String
        /// Application preferred name (tag '9F12') as bytes, with the issuer code table index ('9F11') if any.
        public var preferredName: [UInt8]?
        /// Issuer code table index ('9F11'), when the preferred name uses an ISO/IEC 8859 part.
        public var issuerCodeTableIndex: UInt8?
        /// Application priority indicator (tag '87'): bit 8 cardholder confirmation required, bits 4-1 priority.
        public var priority: UInt8
        /// TEST ONLY PAN digits.
        public var pan: String
        /// PAN sequence number ('5F34'), one BCD byte.
        public var panSequenceNumber: UInt8
        /// Expiry date YYMMDD ('5F24').
        public var expiry: [UInt8]
        /// Effective date YYMMDD ('5F25').
        public var effective: [UInt8]
        /// Cardholder name ('5F20').
        public var cardholderName: String
        /// The issuer in ``TestIssuers/builtIn`` whose master keys the card's keys derive from.
        public var issuerID: String
        /// Offline data authentication.
        public var oda: OfflineDataAuthentication
        /// Application interchange profile ('82'), 2 bytes.
        public var aip: [UInt8]
        /// GET PROCESSING OPTIONS and GENERATE AC answer in format 2 ('77') rather than format 1 ('80').
        public var usesFormat2: Bool
        /// PDOL ('9F38') encoding, if the application asks for terminal data in GPO.
        public var pdol: [UInt8]?
        /// CDOL1 ('8C') encoding.
        public var cdol1: [UInt8]
        /// CDOL2 ('8D') encoding.
        public var cdol2: [UInt8]
        /// CVM list ('8E').
        public var cvmList: [UInt8]
        /// Issuer action codes default, denial, online ('9F0D', '9F0E', '9F0F').
        public var issuerActionCodes: (default: [UInt8], denial: [UInt8], online: [UInt8])
        /// Application usage control ('9F07').
        public var applicationUsageControl: [UInt8]
        /// Issuer country code ('5F28') and application currency code ('9F42'), numeric, 2 bytes each.
        public var issuerCountry: [UInt8]
        /// Application currency code ('9F42').
        public var currency: [UInt8]
        /// Lower and upper consecutive offline limits ('9F14', '9F23').
        public var lowerConsecutiveOfflineLimit: UInt8
        /// Upper consecutive offline limit ('9F23').
        public var upperConsecutiveOfflineLimit: UInt8
        /// Track 2 service code, 3 digits.
        public var serviceCode: String
        /// Card risk management asks for ARQC whenever the terminal asks TC.
        public var alwaysOnline: Bool
        /// Card action analysis declines everything offline (AAC whatever the terminal asks).
        public var declinesOffline: Bool
        /// A new card (no online transaction yet, '9F13' = 0) goes online.
        public var newCardGoesOnline: Bool
        /// The card answers AAC in the second GENERATE AC when issuer authentication failed or was not done.
        public var issuerAuthenticationMandatory: Bool
        /// The card accepts VERIFY with a plaintext PIN (P2 '80').
        public var offlinePlaintextPIN: Bool
        /// The card accepts VERIFY with an enciphered PIN (P2 '88').
        public var offlineEncipheredPIN: Bool

        /// TEST ONLY keys of the application: CA, issuer, ICC and PIN encipherment key.
        var keys: (ca: TestPKI.TestOnlyKey, issuer: TestPKI.TestOnlyKey, icc: TestPKI.TestOnlyKey?, pin: TestPKI.TestOnlyKey?)
        /// The CA public key index ('8F').
        var caIndex: UInt8

        /// Whether the AIP says the card supports issuer authentication (byte 1 bit 3): then the ARPC comes in
        /// EXTERNAL AUTHENTICATE, else in CDOL2 (tag '91').
        public var supportsIssuerAuthentication: Bool { aip.first.map { $0 & 0x04 != 0 } ?? false }
    }

    /// The profile's name, e.g. `visa-credit`.
    public let name: String
    /// What the profile is for and what a correct terminal does with it.
    public let summary: String
    /// Whether the card has a Payment System Environment ('1PAY.SYS.DDF01').
    public var hasPSE: Bool
    /// Language preference ('5F2D'), e.g. `enzh`.
    public var languagePreference: String
    /// The applications, in PSE directory order.
    public var applications: [Application]
    /// PIN try limit, and the PIN try counter the card starts with ('9F17').
    public var pinTryLimit: UInt8
    /// The PIN try counter at personalization.
    public var initialPINTryCounter: UInt8
    /// The fault the card plays.
    public var fault: Fault

    /// TEST ONLY offline PIN of every profile.
    public static let testOnlyPIN = "1234"

    /// The profile called `name`, or `nil`.
    public static func named(_ name: String) -> VirtualCardProfile? { catalogue.first { $0.name == name } }

    /// Every profile name, in documentation order.
    public static var allNames: [String] { catalogue.map(\.name) }

    // MARK: - Catalogue

    static let catalogue: [VirtualCardProfile] = [
        visa(
            "visa-credit", code: "10",
            "Visa credit, DDA, offline plaintext PIN then signature, PSE, language enzh; approves offline (TC) when "
                + "the terminal asks TC, goes online on ARQC with issuer authentication by EXTERNAL AUTHENTICATE."),
        mastercardDebit(),
        unionPayDebit(),
        visaSDA(),
        multiApp(),
        visa(
            "visa-expired-cert", code: "13",
            "Visa DDA whose issuer certificate expired in 12/2020: ODA fails (TVR 'DDA failed'), the terminal "
                + "declines offline or goes online by its action codes.", fault: .expiredIssuerCertificate),
        visa(
            "visa-revoked", code: "14",
            "Visa DDA whose issuer certificate serial 5E0BAD is on TestPKI.testOnlyRevocationList: ODA fails "
                + "(TVR 'DDA failed') when the terminal loads the revocation list.", fault: .revokedIssuerCertificate),
        mastercardDebit(
            name: "mastercard-tampered", code: "11",
            summary: "Mastercard CDA whose signed record was altered after signing: CDA fails at the first "
                + "GENERATE AC (TVR 'CDA failed'), the terminal declines.", fault: .tamperedStaticData),
        visa(
            "blocked-app", code: "19",
            "SELECT of the application answers 6283 (application blocked) with its FCI: the terminal leaves it out "
                + "of the candidate list and, with no other, ends with 'not accepted'.", fault: .selectStatus(0x6283)),
        visa(
            "blocked-app-6a81", code: "20",
            "Every SELECT (PSE included) answers 6A81 (card blocked / function not supported): the terminal ends "
                + "the transaction.", fault: .selectStatus(0x6A81)),
        visa(
            "pin-blocked", code: "18",
            "Visa with PIN try counter 0: GET DATA 9F17 gives 00, VERIFY answers 6983; the terminal sets 'PIN try "
                + "limit exceeded' and goes on to signature.", pinTryCounter: 0),
        visa(
            "pulled", code: "21",
            "Card removed during the first GENERATE AC: the connection throws VirtualCardError.cardRemoved; the "
                + "terminal ends the transaction (no approval).", fault: .removedAtFirstGenerateAC),
        visa(
            "malformed-tlv", code: "22",
            "READ RECORD SFI 1 record 1 returns a '70' template longer than its data: the terminal ends the "
                + "transaction (card data format error).", fault: .malformedRecord),
        visa(
            "decline-card", code: "15",
            "IAC-denial all ones and card action analysis that declines offline: AAC whatever the terminal asks; "
                + "the transaction is declined offline.", declines: true),
        visa(
            "online-only", code: "16",
            "Card risk management always goes online: ARQC even when the terminal asks TC; approved online with a "
                + "valid ARPC (TC in the second GENERATE AC), AAC when the ARPC is wrong.", online: true),
        visa(
            "issuer-script", code: "17",
            "Online card for issuer scripts with secure messaging (APPLICATION BLOCK/UNBLOCK, PIN CHANGE/UNBLOCK, "
                + "PUT DATA of LCOL/UCOL); a wrong MAC answers 6988.", online: true),
    ]

    /// A Luhn-completed TEST ONLY PAN from its first 15 digits.
    static func luhnCompleted(_ body: String) -> String {
        var sum = 0
        for (offset, char) in body.utf8.reversed().enumerated() {
            var digit = Int(char) - 0x30
            if offset % 2 == 0 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return body + String((10 - sum % 10) % 10)
    }

    static let standardCDOL1: [UInt8] = [
        0x9F, 0x02, 0x06, 0x9F, 0x03, 0x06, 0x9F, 0x1A, 0x02, 0x95, 0x05, 0x5F, 0x2A, 0x02, 0x9A, 0x03, 0x9C, 0x01,
        0x9F, 0x37, 0x04, 0x9F, 0x35, 0x01, 0x9F, 0x34, 0x03,
    ]
    static let standardCDOL2: [UInt8] = [0x8A, 0x02, 0x95, 0x05, 0x9F, 0x37, 0x04]
    static let cdol2WithARPC: [UInt8] = [0x8A, 0x02, 0x91, 0x0A, 0x95, 0x05, 0x9F, 0x37, 0x04]

    static func visaApplication(code: String, serial: String = "0000001") -> Application {
        Application(
            aid: [0xA0, 0, 0, 0, 0x03, 0x10, 0x10], label: "VISA CREDIT", preferredName: nil, issuerCodeTableIndex: nil,
            priority: 0x01, pan: luhnCompleted("476173" + code + serial), panSequenceNumber: 0x01,
            expiry: [0x30, 0x12, 0x31], effective: [0x24, 0x01, 0x01], cardholderName: "TEST/VISA CARD",
            issuerID: "visa-test", oda: .dda, aip: [0x3C, 0x00], usesFormat2: false, pdol: nil,
            cdol1: standardCDOL1, cdol2: standardCDOL2,
            // 41 03 plaintext PIN if supported (next if it fails), 5E 03 signature if supported, 1F 03 no CVM
            cvmList: [0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0x03, 0x5E, 0x03, 0x1F, 0x03],
            issuerActionCodes: ([0xDC, 0x40, 0x00, 0xA8, 0x00], [0x00, 0x10, 0x00, 0x00, 0x00], [0xDC, 0x40, 0x04, 0xF8, 0x00]),
            applicationUsageControl: [0xFF, 0x00], issuerCountry: [0x08, 0x40], currency: [0x08, 0x40],
            lowerConsecutiveOfflineLimit: 3, upperConsecutiveOfflineLimit: 5, serviceCode: "201",
            alwaysOnline: false, declinesOffline: false, newCardGoesOnline: false, issuerAuthenticationMandatory: true,
            offlinePlaintextPIN: true, offlineEncipheredPIN: true,
            keys: (.visaCA, .visaIssuer, .visaICC, nil), caIndex: 0xFB)
    }

    static func visa(
        _ name: String, code: String, _ summary: String, fault: Fault = .none, pinTryCounter: UInt8 = 3,
        declines: Bool = false, online: Bool = false
    ) -> VirtualCardProfile {
        var app = visaApplication(code: code)
        if declines {
            app.declinesOffline = true
            app.issuerActionCodes.denial = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        }
        if online {
            app.alwaysOnline = true
            app.issuerActionCodes.online = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
            app.issuerActionCodes.default = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        }
        return VirtualCardProfile(
            name: name, summary: summary, hasPSE: true, languagePreference: "enzh", applications: [app],
            pinTryLimit: 3, initialPINTryCounter: pinTryCounter, fault: fault)
    }

    static func visaSDA() -> VirtualCardProfile {
        var app = visaApplication(code: "11")
        app.oda = .sda
        app.aip = [0x5C, 0x00]
        app.keys.icc = nil
        app.offlineEncipheredPIN = false
        app.cvmList = [0, 0, 0, 0, 0, 0, 0, 0, 0x5E, 0x03, 0x1F, 0x03]
        return VirtualCardProfile(
            name: "visa-sda", summary: "Visa with SDA only (Signed Static Application Data '93'), signature CVM; "
                + "ODA by SDA succeeds, TC offline when the terminal asks TC.",
            hasPSE: true, languagePreference: "en", applications: [app], pinTryLimit: 3, initialPINTryCounter: 3,
            fault: .none)
    }

    static func multiApp() -> VirtualCardProfile {
        var credit = visaApplication(code: "12", serial: "0000001")
        credit.priority = 0x82
        var debit = visaApplication(code: "12", serial: "0000002")
        debit.aid = [0xA0, 0, 0, 0, 0x03, 0x20, 0x10]
        debit.label = "VISA DEBIT"
        debit.priority = 0x81
        return VirtualCardProfile(
            name: "multi-app", summary: "Two Visa applications in the PSE (A0000000032010 'VISA DEBIT' priority 1, "
                + "A0000000031010 'VISA CREDIT' priority 2), both needing cardholder confirmation (bit 8 of '87'): "
                + "the terminal offers the choice; SELECT A0000000 with P2=02 walks both.",
            hasPSE: true, languagePreference: "en", applications: [credit, debit], pinTryLimit: 3,
            initialPINTryCounter: 3, fault: .none)
    }

    static func mastercardDebit(
        name: String = "mastercard-debit", code: String = "10",
        summary: String = "Mastercard debit, CDA, offline enciphered PIN then online PIN, GPO format 2, no "
            + "issuer-authentication bit in the AIP: the ARPC travels in CDOL2 ('91'); TC offline on request with a "
            + "valid CDA signature, ARQC online.",
        fault: Fault = .none
    ) -> VirtualCardProfile {
        let app = Application(
            aid: [0xA0, 0, 0, 0, 0x04, 0x10, 0x10], label: "DEBIT MASTERCARD", preferredName: nil,
            issuerCodeTableIndex: nil, priority: 0x01, pan: luhnCompleted("541333" + code + "0000001"),
            panSequenceNumber: 0x00, expiry: [0x31, 0x06, 0x30], effective: [0x25, 0x01, 0x01],
            cardholderName: "TEST/MASTERCARD", issuerID: "mastercard-test", oda: .cda, aip: [0x39, 0x00],
            usesFormat2: true, pdol: nil, cdol1: standardCDOL1, cdol2: cdol2WithARPC,
            // 44 03 enciphered PIN if supported (next if it fails), 42 03 online PIN if supported, 1F 03 no CVM
            cvmList: [0, 0, 0, 0, 0, 0, 0, 0, 0x44, 0x03, 0x42, 0x03, 0x1F, 0x03],
            issuerActionCodes: ([0xF4, 0x50, 0x84, 0x80, 0x0C], [0x00, 0x00, 0x00, 0x00, 0x00], [0xF4, 0x70, 0x84, 0x98, 0x0C]),
            applicationUsageControl: [0xFF, 0x00], issuerCountry: [0x08, 0x26], currency: [0x08, 0x26],
            lowerConsecutiveOfflineLimit: 3, upperConsecutiveOfflineLimit: 5, serviceCode: "201",
            alwaysOnline: false, declinesOffline: false, newCardGoesOnline: false, issuerAuthenticationMandatory: true,
            offlinePlaintextPIN: false, offlineEncipheredPIN: true,
            keys: (.mastercardCA, .mastercardIssuer, .mastercardICC, .mastercardPIN), caIndex: 0xFC)
        return VirtualCardProfile(
            name: name, summary: summary, hasPSE: true, languagePreference: "en", applications: [app],
            pinTryLimit: 3, initialPINTryCounter: 3, fault: fault)
    }

    static func unionPayDebit() -> VirtualCardProfile {
        let app = Application(
            aid: [0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01], label: "UnionPay Debit",
            preferredName: Array("银联借记".utf8), issuerCodeTableIndex: nil, priority: 0x01,
            pan: luhnCompleted("623012" + "10" + "0000001"), panSequenceNumber: 0x01, expiry: [0x32, 0x12, 0x31],
            effective: [0x25, 0x03, 0x01], cardholderName: "TEST/UNIONPAY", issuerID: "unionpay-test", oda: .dda,
            aip: [0x3C, 0x00], usesFormat2: true,
            // PDOL: terminal country code, transaction currency code, amount authorised
            pdol: [0x9F, 0x1A, 0x02, 0x5F, 0x2A, 0x02, 0x9F, 0x02, 0x06],
            cdol1: standardCDOL1, cdol2: standardCDOL2,
            // 42 03 online PIN if supported, 1E 03 signature if supported, 1F 03 no CVM
            cvmList: [0, 0, 0, 0, 0, 0, 0, 0, 0x42, 0x03, 0x1E, 0x03, 0x1F, 0x03],
            issuerActionCodes: ([0xD8, 0x40, 0x00, 0xA8, 0x00], [0x00, 0x10, 0x00, 0x00, 0x00], [0xD8, 0x40, 0x04, 0xF8, 0x00]),
            applicationUsageControl: [0xFF, 0x00], issuerCountry: [0x01, 0x56], currency: [0x01, 0x56],
            lowerConsecutiveOfflineLimit: 3, upperConsecutiveOfflineLimit: 5, serviceCode: "220",
            alwaysOnline: false, declinesOffline: false, newCardGoesOnline: true, issuerAuthenticationMandatory: true,
            offlinePlaintextPIN: false, offlineEncipheredPIN: false,
            keys: (.unionPayCA, .unionPayIssuer, .unionPayICC, nil), caIndex: 0xFD)
        return VirtualCardProfile(
            name: "unionpay-debit", summary: "UnionPay debit (A000000333010101, 'UnionPay Debit' / '银联借记' in "
                + "'9F12' as UTF-8), language zh, DDA, PDOL (9F1A 5F2A 9F02), online PIN; a new card goes online "
                + "(ARQC) on its first transaction.",
            hasPSE: true, languagePreference: "zh", applications: [app], pinTryLimit: 3, initialPINTryCounter: 3,
            fault: .none)
    }
}
