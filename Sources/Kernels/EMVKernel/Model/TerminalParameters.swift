import Codecs

/// What the terminal knows before a card arrives: its own configuration (Book 4 terminal data), the applications it
/// accepts with their risk-management parameters, the certification authority public keys, the certificate
/// revocation list and the exception file (PANs refused). Loaded from the parameters file (docs/emv-parameters.md).
public struct TerminalParameters: Sendable {
    public var terminal: TerminalConfiguration
    public var applications: [ApplicationParameters]
    public var caKeys: [CAPublicKey]
    public var revocations: CertificateRevocationList
    /// PANs (digits) that must be declined offline (Book 3 clause 10.3 "exception file"); TVR byte 1 bit 5.
    public var exceptionFile: Set<String>
    /// The contactless reader limits per kernel (the `[contactless]` table; ``ContactlessLimitTable/standard`` when
    /// the file has none).
    public var contactlessLimits: ContactlessLimitTable

    public init(
        terminal: TerminalConfiguration, applications: [ApplicationParameters], caKeys: [CAPublicKey],
        revocations: CertificateRevocationList = .init(), exceptionFile: Set<String> = [],
        contactlessLimits: ContactlessLimitTable = .standard
    ) {
        self.contactlessLimits = contactlessLimits
        self.terminal = terminal
        self.applications = applications
        self.caKeys = caKeys
        self.revocations = revocations
        self.exceptionFile = exceptionFile
    }

    /// The CA public key for a RID and index (tag '8F'), if the terminal has it.
    public func caKey(rid: some Collection<UInt8>, index: UInt8) -> CAPublicKey? {
        let r = Array(rid)
        return caKeys.first { $0.rid == r && $0.index == index }
    }
}

/// The terminal's own data objects (EMV Book 4 Annex A and Book 3 Annex A).
public struct TerminalConfiguration: Sendable, Hashable {
    /// Terminal Type, '9F35' (e.g. 0x22: attended, offline with online capability, merchant operated).
    public var terminalType: UInt8
    /// Terminal Capabilities, '9F33', 3 bytes.
    public var capabilities: [UInt8]
    /// Additional Terminal Capabilities, '9F40', 5 bytes.
    public var additionalCapabilities: [UInt8]
    /// Terminal Country Code, '9F1A' (ISO 3166 numeric, 156 = China).
    public var countryCode: UInt16
    /// Transaction Currency Code, '5F2A' (ISO 4217 numeric, 156 = CNY), and its exponent '5F36'.
    public var currencyCode: UInt16
    public var currencyExponent: UInt8
    /// Merchant Category Code '9F15', Terminal Identification '9F1C' (8 characters), Merchant Identifier '9F16'
    /// (15 characters), Merchant Name and Location '9F4E', Interface Device Serial Number '9F1E' (8 characters).
    public var merchantCategoryCode: UInt16
    public var terminalIdentification: String
    public var merchantIdentifier: String
    public var merchantNameAndLocation: String
    public var interfaceDeviceSerialNumber: String

    public init(
        terminalType: UInt8, capabilities: [UInt8], additionalCapabilities: [UInt8], countryCode: UInt16,
        currencyCode: UInt16, currencyExponent: UInt8, merchantCategoryCode: UInt16, terminalIdentification: String,
        merchantIdentifier: String, merchantNameAndLocation: String, interfaceDeviceSerialNumber: String
    ) {
        self.terminalType = terminalType
        self.capabilities = capabilities
        self.additionalCapabilities = additionalCapabilities
        self.countryCode = countryCode
        self.currencyCode = currencyCode
        self.currencyExponent = currencyExponent
        self.merchantCategoryCode = merchantCategoryCode
        self.terminalIdentification = terminalIdentification
        self.merchantIdentifier = merchantIdentifier
        self.merchantNameAndLocation = merchantNameAndLocation
        self.interfaceDeviceSerialNumber = interfaceDeviceSerialNumber
    }
}

/// One application the terminal accepts (EMV Book 3 clause 12.3, Book 4 clause 6) with its risk parameters.
public struct ApplicationParameters: Sendable, Hashable {
    /// The AID as listed ('9F06'), 5 to 16 bytes.
    public var aid: [UInt8]
    /// Whether a card AID that starts with `aid` and is longer also matches (Book 1 clause 12.3.1 "partial selection").
    public var allowsPartialSelection: Bool
    /// A name for screens and logs when the card gives no label.
    public var name: String
    /// Application Version Numbers the terminal supports ('9F09'), 2 bytes each; the first is sent to the card.
    public var applicationVersions: [[UInt8]]
    /// Terminal Action Codes, 5 bytes each (Book 3 clause 10.7).
    public var tacDenial: [UInt8]
    public var tacOnline: [UInt8]
    public var tacDefault: [UInt8]
    /// Terminal Floor Limit in minor units ('9F1B' carries it in the terminal's currency).
    public var floorLimit: Int
    /// Random transaction selection (Book 3 clause 10.4): amounts below `threshold` are selected with
    /// `targetPercentage`, rising linearly to `maximumTargetPercentage` at the floor limit.
    public var randomSelectionThreshold: Int
    public var randomSelectionTargetPercentage: Int
    public var randomSelectionMaximumTargetPercentage: Int
    /// Default DDOL and TDOL used when the card gives none.
    public var defaultDDOL: [UInt8]
    public var defaultTDOL: [UInt8]
    /// Terminal Risk Management Data, Merchant Category and other per-AID data could follow; kept minimal.

    public init(
        aid: [UInt8], allowsPartialSelection: Bool = true, name: String, applicationVersions: [[UInt8]],
        tacDenial: [UInt8], tacOnline: [UInt8], tacDefault: [UInt8], floorLimit: Int, randomSelectionThreshold: Int,
        randomSelectionTargetPercentage: Int, randomSelectionMaximumTargetPercentage: Int, defaultDDOL: [UInt8],
        defaultTDOL: [UInt8]
    ) {
        self.aid = aid
        self.allowsPartialSelection = allowsPartialSelection
        self.name = name
        self.applicationVersions = applicationVersions
        self.tacDenial = tacDenial
        self.tacOnline = tacOnline
        self.tacDefault = tacDefault
        self.floorLimit = floorLimit
        self.randomSelectionThreshold = randomSelectionThreshold
        self.randomSelectionTargetPercentage = randomSelectionTargetPercentage
        self.randomSelectionMaximumTargetPercentage = randomSelectionMaximumTargetPercentage
        self.defaultDDOL = defaultDDOL
        self.defaultTDOL = defaultTDOL
    }
}
