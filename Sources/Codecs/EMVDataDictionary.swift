/// How a data element's value is written: the format codes of EMV Book 3 §4.3.
public enum EMVDataFormat: Sendable, Equatable {
    /// `a`: alphabetic (`a`–`z`, `A`–`Z`), one character a byte.
    case a
    /// `an`: alphanumeric, one character a byte.
    case an
    /// `ans`: alphanumeric and special characters (ISO/IEC 8859 common character set), one character a byte.
    case ans
    /// `b`: binary.
    case b
    /// `cn`: compressed numeric: BCD digits, left justified, padded on the right with `F` nibbles.
    case cn
    /// `n`: numeric: BCD digits, right justified, padded on the left with zero nibbles.
    case n
    /// `var.`: a template (a constructed object) whose content is other data objects.
    case template
}

/// Where a data element comes from (the "Source" column of EMV Book 3 Annex A).
public enum EMVDataSource: Sendable, Equatable {
    /// The card.
    case icc
    /// The terminal.
    case terminal
    /// The issuer (in the authorisation response).
    case issuer
}

/// How a data element may appear in logs, traces and printed TLV trees.
///
/// Our classification, not EMV's: PCI DSS forbids showing more of a PAN than its first six and last four digits,
/// and treats track data and PIN data as sensitive authentication data that must never be kept.
public enum EMVDataSensitivity: Sendable, Equatable {
    /// Shown as is.
    case none
    /// A PAN: only the first six and last four digits shown; all masked below 13 digits, where fewer than three
    /// digits would stay hidden.
    case pan
    /// The value is replaced by its length: track data, cardholder name, expiry date, IBAN.
    case masked
    /// Nothing of the value is shown, not even its length: PIN data.
    case dropped
}

/// One entry of the EMV data dictionary.
public struct EMVDataElement: Sendable, Equatable {
    /// The tag.
    public let tag: TLVTag
    /// The name EMV gives it (Book 3 Annex A).
    public let name: String
    /// How the value is written.
    public let format: EMVDataFormat
    /// Who provides it.
    public let source: EMVDataSource
    /// The lengths the value may have, in bytes.
    public let length: ClosedRange<Int>
    /// How it may appear in logs.
    public let sensitivity: EMVDataSensitivity

    /// Creates an entry.
    public init(
        _ tag: TLVTag, _ name: String, _ format: EMVDataFormat, _ source: EMVDataSource, _ length: ClosedRange<Int>,
        _ sensitivity: EMVDataSensitivity
    ) {
        self.tag = tag
        self.name = name
        self.format = format
        self.source = source
        self.length = length
        self.sensitivity = sensitivity
    }

    /// Whether a value of `count` bytes has an allowed length.
    public func accepts(length count: Int) -> Bool { length.contains(count) }
}

/// The EMV data elements the kernel knows: name, format, source, length range and sensitivity of each tag.
///
/// Sources: EMV 4.3 Book 3 Annex A (A1, the data element dictionary) for names, formats, sources and lengths; the
/// lengths of certificates and remainders depend on key sizes (NI, NIC, NCA ≤ 248 bytes, Book 2), so their ranges are
/// the widest. `56` is from EMV Book C-2 and `9F5B` from the payment systems' specifications.
public enum EMVDataDictionary {
    /// Every known element, in tag order as EMV lists them.
    public static let elements: [EMVDataElement] = [
        EMVDataElement(.issuerIdentificationNumber, "Issuer Identification Number (IIN)", .n, .icc, 3...3, .none),
        EMVDataElement(.applicationIdentifier, "Application Identifier (AID) – card", .b, .icc, 5...16, .none),
        EMVDataElement(.applicationLabel, "Application Label", .ans, .icc, 1...16, .none),
        EMVDataElement(.track1Data, "Track 1 Data", .ans, .icc, 0...76, .masked),
        EMVDataElement(.track2EquivalentData, "Track 2 Equivalent Data", .b, .icc, 1...19, .masked),
        EMVDataElement(
            .applicationPrimaryAccountNumber, "Application Primary Account Number (PAN)", .cn, .icc, 1...10, .pan),
        EMVDataElement(.cardholderName, "Cardholder Name", .ans, .icc, 2...26, .masked),
        EMVDataElement(.applicationExpirationDate, "Application Expiration Date", .n, .icc, 3...3, .masked),
        EMVDataElement(.applicationEffectiveDate, "Application Effective Date", .n, .icc, 3...3, .none),
        EMVDataElement(.issuerCountryCode, "Issuer Country Code", .n, .icc, 2...2, .none),
        EMVDataElement(.transactionCurrencyCode, "Transaction Currency Code", .n, .terminal, 2...2, .none),
        EMVDataElement(.languagePreference, "Language Preference", .an, .icc, 2...8, .none),
        EMVDataElement(.serviceCode, "Service Code", .n, .icc, 2...2, .none),
        EMVDataElement(
            .applicationPANSequenceNumber, "Application Primary Account Number (PAN) Sequence Number", .n, .icc, 1...1,
            .none),
        EMVDataElement(.transactionCurrencyExponent, "Transaction Currency Exponent", .n, .terminal, 1...1, .none),
        EMVDataElement(.issuerURL, "Issuer URL", .ans, .icc, 0...255, .none),
        EMVDataElement(
            .internationalBankAccountNumber, "International Bank Account Number (IBAN)", .b, .icc, 0...34, .masked),
        EMVDataElement(.bankIdentifierCode, "Bank Identifier Code (BIC)", .an, .icc, 8...11, .none),
        EMVDataElement(.issuerCountryCodeAlpha2, "Issuer Country Code (alpha2 format)", .a, .icc, 2...2, .none),
        EMVDataElement(.issuerCountryCodeAlpha3, "Issuer Country Code (alpha3 format)", .a, .icc, 3...3, .none),
        EMVDataElement(.accountType, "Account Type", .n, .terminal, 1...1, .none),
        EMVDataElement(.applicationTemplate, "Application Template", .template, .icc, 0...252, .none),
        EMVDataElement(
            .fileControlInformationTemplate, "File Control Information (FCI) Template", .template, .icc, 0...252,
            .none),
        EMVDataElement(
            .readRecordResponseMessageTemplate, "READ RECORD Response Message Template", .template, .icc, 0...252, .none
        ),
        EMVDataElement(.issuerScriptTemplate1, "Issuer Script Template 1", .template, .issuer, 0...255, .none),
        EMVDataElement(.issuerScriptTemplate2, "Issuer Script Template 2", .template, .issuer, 0...255, .none),
        EMVDataElement(
            .directoryDiscretionaryTemplate, "Directory Discretionary Template", .template, .icc, 0...252, .none),
        EMVDataElement(
            .responseMessageTemplateFormat2, "Response Message Template Format 2", .template, .icc, 0...253, .none),
        EMVDataElement(.responseMessageTemplateFormat1, "Response Message Template Format 1", .b, .icc, 0...253, .none),
        EMVDataElement(.amountAuthorisedBinary, "Amount, Authorised (Binary)", .b, .terminal, 4...4, .none),
        EMVDataElement(.applicationInterchangeProfile, "Application Interchange Profile (AIP)", .b, .icc, 2...2, .none),
        EMVDataElement(.commandTemplate, "Command Template", .b, .terminal, 0...255, .none),
        EMVDataElement(.dedicatedFileName, "Dedicated File (DF) Name", .b, .icc, 5...16, .none),
        EMVDataElement(.issuerScriptCommand, "Issuer Script Command", .b, .issuer, 0...261, .none),
        EMVDataElement(.applicationPriorityIndicator, "Application Priority Indicator", .b, .icc, 1...1, .none),
        EMVDataElement(.shortFileIdentifier, "Short File Identifier (SFI)", .b, .icc, 1...1, .none),
        EMVDataElement(.authorisationCode, "Authorisation Code", .an, .issuer, 6...6, .none),
        EMVDataElement(.authorisationResponseCode, "Authorisation Response Code", .an, .issuer, 2...2, .none),
        EMVDataElement(
            .cardRiskManagementDataObjectList1, "Card Risk Management Data Object List 1 (CDOL1)", .b, .icc, 0...252,
            .none),
        EMVDataElement(
            .cardRiskManagementDataObjectList2, "Card Risk Management Data Object List 2 (CDOL2)", .b, .icc, 0...252,
            .none),
        EMVDataElement(
            .cardholderVerificationMethodList, "Cardholder Verification Method (CVM) List", .b, .icc, 10...252, .none),
        EMVDataElement(
            .certificationAuthorityPublicKeyIndexICC, "Certification Authority Public Key Index (ICC)", .b, .icc, 1...1,
            .none),
        EMVDataElement(.issuerPublicKeyCertificate, "Issuer Public Key Certificate", .b, .icc, 1...248, .none),
        EMVDataElement(.issuerAuthenticationData, "Issuer Authentication Data", .b, .issuer, 8...16, .none),
        EMVDataElement(.issuerPublicKeyRemainder, "Issuer Public Key Remainder", .b, .icc, 0...248, .none),
        EMVDataElement(.signedStaticApplicationData, "Signed Static Application Data", .b, .icc, 1...248, .none),
        EMVDataElement(.applicationFileLocator, "Application File Locator (AFL)", .b, .icc, 0...252, .none),
        EMVDataElement(
            .terminalVerificationResults, "Terminal Verification Results (TVR)", .b, .terminal, 5...5, .none),
        EMVDataElement(
            .transactionCertificateDataObjectList, "Transaction Certificate Data Object List (TDOL)", .b, .icc, 0...252,
            .none),
        EMVDataElement(
            .transactionCertificateHashValue, "Transaction Certificate (TC) Hash Value", .b, .terminal, 20...20, .none),
        EMVDataElement(
            .transactionPINData, "Transaction Personal Identification Number (PIN) Data", .b, .terminal, 0...255,
            .dropped),
        EMVDataElement(.transactionDate, "Transaction Date", .n, .terminal, 3...3, .none),
        EMVDataElement(
            .transactionStatusInformation, "Transaction Status Information (TSI)", .b, .terminal, 2...2, .none),
        EMVDataElement(.transactionType, "Transaction Type", .n, .terminal, 1...1, .none),
        EMVDataElement(.directoryDefinitionFileName, "Directory Definition File (DDF) Name", .b, .icc, 5...16, .none),
        EMVDataElement(.acquirerIdentifier, "Acquirer Identifier", .n, .terminal, 6...6, .none),
        EMVDataElement(.amountAuthorisedNumeric, "Amount, Authorised (Numeric)", .n, .terminal, 6...6, .none),
        EMVDataElement(.amountOtherNumeric, "Amount, Other (Numeric)", .n, .terminal, 6...6, .none),
        EMVDataElement(.amountOtherBinary, "Amount, Other (Binary)", .b, .terminal, 4...4, .none),
        EMVDataElement(.applicationDiscretionaryData, "Application Discretionary Data", .b, .icc, 1...32, .none),
        EMVDataElement(
            .applicationIdentifierTerminal, "Application Identifier (AID) – terminal", .b, .terminal, 5...16, .none),
        EMVDataElement(.applicationUsageControl, "Application Usage Control", .b, .icc, 2...2, .none),
        EMVDataElement(.applicationVersionNumberICC, "Application Version Number (ICC)", .b, .icc, 2...2, .none),
        EMVDataElement(
            .applicationVersionNumberTerminal, "Application Version Number (terminal)", .b, .terminal, 2...2, .none),
        EMVDataElement(.cardholderNameExtended, "Cardholder Name Extended", .ans, .icc, 27...45, .masked),
        EMVDataElement(.issuerActionCodeDefault, "Issuer Action Code – Default", .b, .icc, 5...5, .none),
        EMVDataElement(.issuerActionCodeDenial, "Issuer Action Code – Denial", .b, .icc, 5...5, .none),
        EMVDataElement(.issuerActionCodeOnline, "Issuer Action Code – Online", .b, .icc, 5...5, .none),
        EMVDataElement(.issuerApplicationData, "Issuer Application Data", .b, .icc, 0...32, .none),
        EMVDataElement(.issuerCodeTableIndex, "Issuer Code Table Index", .n, .icc, 1...1, .none),
        EMVDataElement(.applicationPreferredName, "Application Preferred Name", .ans, .icc, 1...16, .none),
        EMVDataElement(
            .lastOnlineATCRegister, "Last Online Application Transaction Counter (ATC) Register", .b, .icc, 2...2, .none
        ),
        EMVDataElement(.lowerConsecutiveOfflineLimit, "Lower Consecutive Offline Limit", .b, .icc, 1...1, .none),
        EMVDataElement(.merchantCategoryCode, "Merchant Category Code", .n, .terminal, 2...2, .none),
        EMVDataElement(.merchantIdentifier, "Merchant Identifier", .ans, .terminal, 15...15, .none),
        EMVDataElement(.pinTryCounter, "Personal Identification Number (PIN) Try Counter", .b, .icc, 1...1, .none),
        EMVDataElement(.issuerScriptIdentifier, "Issuer Script Identifier", .b, .issuer, 4...4, .none),
        EMVDataElement(.terminalCountryCode, "Terminal Country Code", .n, .terminal, 2...2, .none),
        EMVDataElement(.terminalFloorLimit, "Terminal Floor Limit", .b, .terminal, 4...4, .none),
        EMVDataElement(.terminalIdentification, "Terminal Identification", .an, .terminal, 8...8, .none),
        EMVDataElement(.terminalRiskManagementData, "Terminal Risk Management Data", .b, .terminal, 1...8, .none),
        EMVDataElement(
            .interfaceDeviceSerialNumber, "Interface Device (IFD) Serial Number", .an, .terminal, 8...8, .none),
        EMVDataElement(.track1DiscretionaryData, "Track 1 Discretionary Data", .ans, .icc, 0...54, .masked),
        EMVDataElement(.track2DiscretionaryData, "Track 2 Discretionary Data", .cn, .icc, 0...16, .masked),
        EMVDataElement(.transactionTime, "Transaction Time", .n, .terminal, 3...3, .none),
        EMVDataElement(
            .certificationAuthorityPublicKeyIndexTerminal, "Certification Authority Public Key Index (terminal)", .b,
            .terminal, 1...1, .none),
        EMVDataElement(.upperConsecutiveOfflineLimit, "Upper Consecutive Offline Limit", .b, .icc, 1...1, .none),
        EMVDataElement(.applicationCryptogram, "Application Cryptogram", .b, .icc, 8...8, .none),
        EMVDataElement(.cryptogramInformationData, "Cryptogram Information Data", .b, .icc, 1...1, .none),
        EMVDataElement(
            .iccPINEnciphermentPublicKeyCertificate, "ICC PIN Encipherment Public Key Certificate", .b, .icc, 1...248,
            .none),
        EMVDataElement(
            .iccPINEnciphermentPublicKeyExponent, "ICC PIN Encipherment Public Key Exponent", .b, .icc, 1...3, .none),
        EMVDataElement(
            .iccPINEnciphermentPublicKeyRemainder, "ICC PIN Encipherment Public Key Remainder", .b, .icc, 0...248, .none
        ),
        EMVDataElement(.issuerPublicKeyExponent, "Issuer Public Key Exponent", .b, .icc, 1...3, .none),
        EMVDataElement(.terminalCapabilities, "Terminal Capabilities", .b, .terminal, 3...3, .none),
        EMVDataElement(
            .cardholderVerificationMethodResults, "Cardholder Verification Method (CVM) Results", .b, .terminal, 3...3,
            .none),
        EMVDataElement(.terminalType, "Terminal Type", .n, .terminal, 1...1, .none),
        EMVDataElement(.applicationTransactionCounter, "Application Transaction Counter (ATC)", .b, .icc, 2...2, .none),
        EMVDataElement(.unpredictableNumber, "Unpredictable Number", .b, .terminal, 4...4, .none),
        EMVDataElement(
            .processingOptionsDataObjectList, "Processing Options Data Object List (PDOL)", .b, .icc, 0...252, .none),
        EMVDataElement(.pointOfServiceEntryMode, "Point-of-Service (POS) Entry Mode", .n, .terminal, 1...1, .none),
        EMVDataElement(.amountReferenceCurrency, "Amount, Reference Currency", .b, .terminal, 4...4, .none),
        EMVDataElement(.applicationReferenceCurrency, "Application Reference Currency", .n, .icc, 2...8, .none),
        EMVDataElement(
            .transactionReferenceCurrencyCode, "Transaction Reference Currency Code", .n, .terminal, 2...2, .none),
        EMVDataElement(
            .transactionReferenceCurrencyExponent, "Transaction Reference Currency Exponent", .n, .terminal, 1...1,
            .none),
        EMVDataElement(
            .additionalTerminalCapabilities, "Additional Terminal Capabilities", .b, .terminal, 5...5, .none),
        EMVDataElement(.transactionSequenceCounter, "Transaction Sequence Counter", .n, .terminal, 2...4, .none),
        EMVDataElement(.applicationCurrencyCode, "Application Currency Code", .n, .icc, 2...2, .none),
        EMVDataElement(
            .applicationReferenceCurrencyExponent, "Application Reference Currency Exponent", .n, .icc, 1...4, .none),
        EMVDataElement(.applicationCurrencyExponent, "Application Currency Exponent", .n, .icc, 1...1, .none),
        EMVDataElement(.dataAuthenticationCode, "Data Authentication Code", .b, .icc, 2...2, .none),
        EMVDataElement(.iccPublicKeyCertificate, "ICC Public Key Certificate", .b, .icc, 1...248, .none),
        EMVDataElement(.iccPublicKeyExponent, "ICC Public Key Exponent", .b, .icc, 1...3, .none),
        EMVDataElement(.iccPublicKeyRemainder, "ICC Public Key Remainder", .b, .icc, 0...248, .none),
        EMVDataElement(
            .dynamicDataAuthenticationDataObjectList, "Dynamic Data Authentication Data Object List (DDOL)", .b, .icc,
            0...252, .none),
        EMVDataElement(
            .staticDataAuthenticationTagList, "Static Data Authentication TLVTag List", .b, .icc, 0...252, .none),
        EMVDataElement(.signedDynamicApplicationData, "Signed Dynamic Application Data", .b, .icc, 1...248, .none),
        EMVDataElement(.iccDynamicNumber, "ICC Dynamic Number", .b, .icc, 2...8, .none),
        EMVDataElement(.logEntry, "Log Entry", .b, .icc, 2...2, .none),
        EMVDataElement(.merchantNameAndLocation, "Merchant Name and Location", .ans, .terminal, 0...255, .none),
        EMVDataElement(.logFormat, "Log Format", .b, .icc, 0...252, .none),
        EMVDataElement(.issuerScriptResults, "Issuer Script Results", .b, .terminal, 0...255, .none),
        EMVDataElement(
            .fileControlInformationProprietaryTemplate, "File Control Information (FCI) Proprietary Template",
            .template, .icc, 0...252, .none),
        EMVDataElement(
            .fileControlInformationIssuerDiscretionaryData, "File Control Information (FCI) Issuer Discretionary Data",
            .template, .icc, 0...222, .none),
    ]

    private static let byTag: [TLVTag: EMVDataElement] = {
        var map: [TLVTag: EMVDataElement] = [:]
        for element in elements { map[element.tag] = element }
        return map
    }()

    /// The element with `tag`, or `nil` when the kernel does not know it.
    public static func element(for tag: TLVTag) -> EMVDataElement? { byTag[tag] }

    /// How `tag`'s value may appear in logs. Unknown tags count as ``EMVDataSensitivity/masked``: a proprietary tag
    /// may carry anything, track data included.
    public static func sensitivity(of tag: TLVTag) -> EMVDataSensitivity { byTag[tag]?.sensitivity ?? .masked }
}
