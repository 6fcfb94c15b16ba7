// The EMV data elements the kernel uses, named as EMV 4.3 Book 3 Annex A (the data element dictionary) names them.
// Written from the same table as EMVDataDictionary.elements: keep the two in step. Two tags are not in Book 3: '56'
// Track 1 Data comes from the contactless kernel books (EMV Book C-2), '9F5B' Issuer Script Results from the payment
// systems' specifications (Visa VIS, UnionPay PBOC 3.0 / JR/T 0025), which report script results in it.

extension TLVTag {
    /// `42` Issuer Identification Number (IIN): n, 3 bytes, from the ICC.
    public static let issuerIdentificationNumber = TLVTag(0x42)
    /// `4F` Application Identifier (AID) – card: b, 5–16 bytes, from the ICC.
    public static let applicationIdentifier = TLVTag(0x4F)
    /// `50` Application Label: ans, 1–16 bytes, from the ICC.
    public static let applicationLabel = TLVTag(0x50)
    /// `56` Track 1 Data: ans, 0–76 bytes, from the ICC.
    public static let track1Data = TLVTag(0x56)
    /// `57` Track 2 Equivalent Data: b, 1–19 bytes, from the ICC.
    public static let track2EquivalentData = TLVTag(0x57)
    /// `5A` Application Primary Account Number (PAN): cn, 1–10 bytes, from the ICC.
    public static let applicationPrimaryAccountNumber = TLVTag(0x5A)
    /// `5F20` Cardholder Name: ans, 2–26 bytes, from the ICC.
    public static let cardholderName = TLVTag(0x5F20)
    /// `5F24` Application Expiration Date: n, 3 bytes, from the ICC.
    public static let applicationExpirationDate = TLVTag(0x5F24)
    /// `5F25` Application Effective Date: n, 3 bytes, from the ICC.
    public static let applicationEffectiveDate = TLVTag(0x5F25)
    /// `5F28` Issuer Country Code: n, 2 bytes, from the ICC.
    public static let issuerCountryCode = TLVTag(0x5F28)
    /// `5F2A` Transaction Currency Code: n, 2 bytes, from the terminal.
    public static let transactionCurrencyCode = TLVTag(0x5F2A)
    /// `5F2D` Language Preference: an, 2–8 bytes, from the ICC.
    public static let languagePreference = TLVTag(0x5F2D)
    /// `5F30` Service Code: n, 2 bytes, from the ICC.
    public static let serviceCode = TLVTag(0x5F30)
    /// `5F34` Application Primary Account Number (PAN) Sequence Number: n, 1 byte, from the ICC.
    public static let applicationPANSequenceNumber = TLVTag(0x5F34)
    /// `5F36` Transaction Currency Exponent: n, 1 byte, from the terminal.
    public static let transactionCurrencyExponent = TLVTag(0x5F36)
    /// `5F50` Issuer URL: ans, 0–255 bytes, from the ICC.
    public static let issuerURL = TLVTag(0x5F50)
    /// `5F53` International Bank Account Number (IBAN): b, 0–34 bytes, from the ICC.
    public static let internationalBankAccountNumber = TLVTag(0x5F53)
    /// `5F54` Bank Identifier Code (BIC): an, 8–11 bytes, from the ICC.
    public static let bankIdentifierCode = TLVTag(0x5F54)
    /// `5F55` Issuer Country Code (alpha2 format): a, 2 bytes, from the ICC.
    public static let issuerCountryCodeAlpha2 = TLVTag(0x5F55)
    /// `5F56` Issuer Country Code (alpha3 format): a, 3 bytes, from the ICC.
    public static let issuerCountryCodeAlpha3 = TLVTag(0x5F56)
    /// `5F57` Account Type: n, 1 byte, from the terminal.
    public static let accountType = TLVTag(0x5F57)
    /// `61` Application Template: var. (template), 0–252 bytes, from the ICC.
    public static let applicationTemplate = TLVTag(0x61)
    /// `6F` File Control Information (FCI) Template: var. (template), 0–252 bytes, from the ICC.
    public static let fileControlInformationTemplate = TLVTag(0x6F)
    /// `70` READ RECORD Response Message Template: var. (template), 0–252 bytes, from the ICC.
    public static let readRecordResponseMessageTemplate = TLVTag(0x70)
    /// `71` Issuer Script Template 1: var. (template), 0–255 bytes, from the issuer.
    public static let issuerScriptTemplate1 = TLVTag(0x71)
    /// `72` Issuer Script Template 2: var. (template), 0–255 bytes, from the issuer.
    public static let issuerScriptTemplate2 = TLVTag(0x72)
    /// `73` Directory Discretionary Template: var. (template), 0–252 bytes, from the ICC.
    public static let directoryDiscretionaryTemplate = TLVTag(0x73)
    /// `77` Response Message Template Format 2: var. (template), 0–253 bytes, from the ICC.
    public static let responseMessageTemplateFormat2 = TLVTag(0x77)
    /// `80` Response Message Template Format 1: b, 0–253 bytes, from the ICC.
    public static let responseMessageTemplateFormat1 = TLVTag(0x80)
    /// `81` Amount, Authorised (Binary): b, 4 bytes, from the terminal.
    public static let amountAuthorisedBinary = TLVTag(0x81)
    /// `82` Application Interchange Profile (AIP): b, 2 bytes, from the ICC.
    public static let applicationInterchangeProfile = TLVTag(0x82)
    /// `83` Command Template: b, 0–255 bytes, from the terminal.
    public static let commandTemplate = TLVTag(0x83)
    /// `84` Dedicated File (DF) Name: b, 5–16 bytes, from the ICC.
    public static let dedicatedFileName = TLVTag(0x84)
    /// `86` Issuer Script Command: b, 0–261 bytes, from the issuer.
    public static let issuerScriptCommand = TLVTag(0x86)
    /// `87` Application Priority Indicator: b, 1 byte, from the ICC.
    public static let applicationPriorityIndicator = TLVTag(0x87)
    /// `88` Short File Identifier (SFI): b, 1 byte, from the ICC.
    public static let shortFileIdentifier = TLVTag(0x88)
    /// `89` Authorisation Code: an, 6 bytes, from the issuer.
    public static let authorisationCode = TLVTag(0x89)
    /// `8A` Authorisation Response Code: an, 2 bytes, from the issuer.
    public static let authorisationResponseCode = TLVTag(0x8A)
    /// `8C` Card Risk Management Data Object List 1 (CDOL1): b, 0–252 bytes, from the ICC.
    public static let cardRiskManagementDataObjectList1 = TLVTag(0x8C)
    /// `8D` Card Risk Management Data Object List 2 (CDOL2): b, 0–252 bytes, from the ICC.
    public static let cardRiskManagementDataObjectList2 = TLVTag(0x8D)
    /// `8E` Cardholder Verification Method (CVM) List: b, 10–252 bytes, from the ICC.
    public static let cardholderVerificationMethodList = TLVTag(0x8E)
    /// `8F` Certification Authority Public Key Index (ICC): b, 1 byte, from the ICC.
    public static let certificationAuthorityPublicKeyIndexICC = TLVTag(0x8F)
    /// `90` Issuer Public Key Certificate: b, 1–248 bytes, from the ICC.
    public static let issuerPublicKeyCertificate = TLVTag(0x90)
    /// `91` Issuer Authentication Data: b, 8–16 bytes, from the issuer.
    public static let issuerAuthenticationData = TLVTag(0x91)
    /// `92` Issuer Public Key Remainder: b, 0–248 bytes, from the ICC.
    public static let issuerPublicKeyRemainder = TLVTag(0x92)
    /// `93` Signed Static Application Data: b, 1–248 bytes, from the ICC.
    public static let signedStaticApplicationData = TLVTag(0x93)
    /// `94` Application File Locator (AFL): b, 0–252 bytes, from the ICC.
    public static let applicationFileLocator = TLVTag(0x94)
    /// `95` Terminal Verification Results (TVR): b, 5 bytes, from the terminal.
    public static let terminalVerificationResults = TLVTag(0x95)
    /// `97` Transaction Certificate Data Object List (TDOL): b, 0–252 bytes, from the ICC.
    public static let transactionCertificateDataObjectList = TLVTag(0x97)
    /// `98` Transaction Certificate (TC) Hash Value: b, 20 bytes, from the terminal.
    public static let transactionCertificateHashValue = TLVTag(0x98)
    /// `99` Transaction Personal Identification Number (PIN) Data: b, 0–255 bytes, from the terminal.
    public static let transactionPINData = TLVTag(0x99)
    /// `9A` Transaction Date: n, 3 bytes, from the terminal.
    public static let transactionDate = TLVTag(0x9A)
    /// `9B` Transaction Status Information (TSI): b, 2 bytes, from the terminal.
    public static let transactionStatusInformation = TLVTag(0x9B)
    /// `9C` Transaction Type: n, 1 byte, from the terminal.
    public static let transactionType = TLVTag(0x9C)
    /// `9D` Directory Definition File (DDF) Name: b, 5–16 bytes, from the ICC.
    public static let directoryDefinitionFileName = TLVTag(0x9D)
    /// `9F01` Acquirer Identifier: n, 6 bytes, from the terminal.
    public static let acquirerIdentifier = TLVTag(0x9F01)
    /// `9F02` Amount, Authorised (Numeric): n, 6 bytes, from the terminal.
    public static let amountAuthorisedNumeric = TLVTag(0x9F02)
    /// `9F03` Amount, Other (Numeric): n, 6 bytes, from the terminal.
    public static let amountOtherNumeric = TLVTag(0x9F03)
    /// `9F04` Amount, Other (Binary): b, 4 bytes, from the terminal.
    public static let amountOtherBinary = TLVTag(0x9F04)
    /// `9F05` Application Discretionary Data: b, 1–32 bytes, from the ICC.
    public static let applicationDiscretionaryData = TLVTag(0x9F05)
    /// `9F06` Application Identifier (AID) – terminal: b, 5–16 bytes, from the terminal.
    public static let applicationIdentifierTerminal = TLVTag(0x9F06)
    /// `9F07` Application Usage Control: b, 2 bytes, from the ICC.
    public static let applicationUsageControl = TLVTag(0x9F07)
    /// `9F08` Application Version Number (ICC): b, 2 bytes, from the ICC.
    public static let applicationVersionNumberICC = TLVTag(0x9F08)
    /// `9F09` Application Version Number (terminal): b, 2 bytes, from the terminal.
    public static let applicationVersionNumberTerminal = TLVTag(0x9F09)
    /// `9F0B` Cardholder Name Extended: ans, 27–45 bytes, from the ICC.
    public static let cardholderNameExtended = TLVTag(0x9F0B)
    /// `9F0D` Issuer Action Code – Default: b, 5 bytes, from the ICC.
    public static let issuerActionCodeDefault = TLVTag(0x9F0D)
    /// `9F0E` Issuer Action Code – Denial: b, 5 bytes, from the ICC.
    public static let issuerActionCodeDenial = TLVTag(0x9F0E)
    /// `9F0F` Issuer Action Code – Online: b, 5 bytes, from the ICC.
    public static let issuerActionCodeOnline = TLVTag(0x9F0F)
    /// `9F10` Issuer Application Data: b, 0–32 bytes, from the ICC.
    public static let issuerApplicationData = TLVTag(0x9F10)
    /// `9F11` Issuer Code Table Index: n, 1 byte, from the ICC.
    public static let issuerCodeTableIndex = TLVTag(0x9F11)
    /// `9F12` Application Preferred Name: ans, 1–16 bytes, from the ICC.
    public static let applicationPreferredName = TLVTag(0x9F12)
    /// `9F13` Last Online Application Transaction Counter (ATC) Register: b, 2 bytes, from the ICC.
    public static let lastOnlineATCRegister = TLVTag(0x9F13)
    /// `9F14` Lower Consecutive Offline Limit: b, 1 byte, from the ICC.
    public static let lowerConsecutiveOfflineLimit = TLVTag(0x9F14)
    /// `9F15` Merchant Category Code: n, 2 bytes, from the terminal.
    public static let merchantCategoryCode = TLVTag(0x9F15)
    /// `9F16` Merchant Identifier: ans, 15 bytes, from the terminal.
    public static let merchantIdentifier = TLVTag(0x9F16)
    /// `9F17` Personal Identification Number (PIN) Try Counter: b, 1 byte, from the ICC.
    public static let pinTryCounter = TLVTag(0x9F17)
    /// `9F18` Issuer Script Identifier: b, 4 bytes, from the issuer.
    public static let issuerScriptIdentifier = TLVTag(0x9F18)
    /// `9F1A` Terminal Country Code: n, 2 bytes, from the terminal.
    public static let terminalCountryCode = TLVTag(0x9F1A)
    /// `9F1B` Terminal Floor Limit: b, 4 bytes, from the terminal.
    public static let terminalFloorLimit = TLVTag(0x9F1B)
    /// `9F1C` Terminal Identification: an, 8 bytes, from the terminal.
    public static let terminalIdentification = TLVTag(0x9F1C)
    /// `9F1D` Terminal Risk Management Data: b, 1–8 bytes, from the terminal.
    public static let terminalRiskManagementData = TLVTag(0x9F1D)
    /// `9F1E` Interface Device (IFD) Serial Number: an, 8 bytes, from the terminal.
    public static let interfaceDeviceSerialNumber = TLVTag(0x9F1E)
    /// `9F1F` Track 1 Discretionary Data: ans, 0–54 bytes, from the ICC.
    public static let track1DiscretionaryData = TLVTag(0x9F1F)
    /// `9F20` Track 2 Discretionary Data: cn, 0–16 bytes, from the ICC.
    public static let track2DiscretionaryData = TLVTag(0x9F20)
    /// `9F21` Transaction Time: n, 3 bytes, from the terminal.
    public static let transactionTime = TLVTag(0x9F21)
    /// `9F22` Certification Authority Public Key Index (terminal): b, 1 byte, from the terminal.
    public static let certificationAuthorityPublicKeyIndexTerminal = TLVTag(0x9F22)
    /// `9F23` Upper Consecutive Offline Limit: b, 1 byte, from the ICC.
    public static let upperConsecutiveOfflineLimit = TLVTag(0x9F23)
    /// `9F26` Application Cryptogram: b, 8 bytes, from the ICC.
    public static let applicationCryptogram = TLVTag(0x9F26)
    /// `9F27` Cryptogram Information Data: b, 1 byte, from the ICC.
    public static let cryptogramInformationData = TLVTag(0x9F27)
    /// `9F2D` ICC PIN Encipherment Public Key Certificate: b, 1–248 bytes, from the ICC.
    public static let iccPINEnciphermentPublicKeyCertificate = TLVTag(0x9F2D)
    /// `9F2E` ICC PIN Encipherment Public Key Exponent: b, 1–3 bytes, from the ICC.
    public static let iccPINEnciphermentPublicKeyExponent = TLVTag(0x9F2E)
    /// `9F2F` ICC PIN Encipherment Public Key Remainder: b, 0–248 bytes, from the ICC.
    public static let iccPINEnciphermentPublicKeyRemainder = TLVTag(0x9F2F)
    /// `9F32` Issuer Public Key Exponent: b, 1–3 bytes, from the ICC.
    public static let issuerPublicKeyExponent = TLVTag(0x9F32)
    /// `9F33` Terminal Capabilities: b, 3 bytes, from the terminal.
    public static let terminalCapabilities = TLVTag(0x9F33)
    /// `9F34` Cardholder Verification Method (CVM) Results: b, 3 bytes, from the terminal.
    public static let cardholderVerificationMethodResults = TLVTag(0x9F34)
    /// `9F35` Terminal Type: n, 1 byte, from the terminal.
    public static let terminalType = TLVTag(0x9F35)
    /// `9F36` Application Transaction Counter (ATC): b, 2 bytes, from the ICC.
    public static let applicationTransactionCounter = TLVTag(0x9F36)
    /// `9F37` Unpredictable Number: b, 4 bytes, from the terminal.
    public static let unpredictableNumber = TLVTag(0x9F37)
    /// `9F38` Processing Options Data Object List (PDOL): b, 0–252 bytes, from the ICC.
    public static let processingOptionsDataObjectList = TLVTag(0x9F38)
    /// `9F39` Point-of-Service (POS) Entry Mode: n, 1 byte, from the terminal.
    public static let pointOfServiceEntryMode = TLVTag(0x9F39)
    /// `9F3A` Amount, Reference Currency: b, 4 bytes, from the terminal.
    public static let amountReferenceCurrency = TLVTag(0x9F3A)
    /// `9F3B` Application Reference Currency: n, 2–8 bytes, from the ICC.
    public static let applicationReferenceCurrency = TLVTag(0x9F3B)
    /// `9F3C` Transaction Reference Currency Code: n, 2 bytes, from the terminal.
    public static let transactionReferenceCurrencyCode = TLVTag(0x9F3C)
    /// `9F3D` Transaction Reference Currency Exponent: n, 1 byte, from the terminal.
    public static let transactionReferenceCurrencyExponent = TLVTag(0x9F3D)
    /// `9F40` Additional Terminal Capabilities: b, 5 bytes, from the terminal.
    public static let additionalTerminalCapabilities = TLVTag(0x9F40)
    /// `9F41` Transaction Sequence Counter: n, 2–4 bytes, from the terminal.
    public static let transactionSequenceCounter = TLVTag(0x9F41)
    /// `9F42` Application Currency Code: n, 2 bytes, from the ICC.
    public static let applicationCurrencyCode = TLVTag(0x9F42)
    /// `9F43` Application Reference Currency Exponent: n, 1–4 bytes, from the ICC.
    public static let applicationReferenceCurrencyExponent = TLVTag(0x9F43)
    /// `9F44` Application Currency Exponent: n, 1 byte, from the ICC.
    public static let applicationCurrencyExponent = TLVTag(0x9F44)
    /// `9F45` Data Authentication Code: b, 2 bytes, from the ICC.
    public static let dataAuthenticationCode = TLVTag(0x9F45)
    /// `9F46` ICC Public Key Certificate: b, 1–248 bytes, from the ICC.
    public static let iccPublicKeyCertificate = TLVTag(0x9F46)
    /// `9F47` ICC Public Key Exponent: b, 1–3 bytes, from the ICC.
    public static let iccPublicKeyExponent = TLVTag(0x9F47)
    /// `9F48` ICC Public Key Remainder: b, 0–248 bytes, from the ICC.
    public static let iccPublicKeyRemainder = TLVTag(0x9F48)
    /// `9F49` Dynamic Data Authentication Data Object List (DDOL): b, 0–252 bytes, from the ICC.
    public static let dynamicDataAuthenticationDataObjectList = TLVTag(0x9F49)
    /// `9F4A` Static Data Authentication TLVTag List: b, 0–252 bytes, from the ICC.
    public static let staticDataAuthenticationTagList = TLVTag(0x9F4A)
    /// `9F4B` Signed Dynamic Application Data: b, 1–248 bytes, from the ICC.
    public static let signedDynamicApplicationData = TLVTag(0x9F4B)
    /// `9F4C` ICC Dynamic Number: b, 2–8 bytes, from the ICC.
    public static let iccDynamicNumber = TLVTag(0x9F4C)
    /// `9F4D` Log Entry: b, 2 bytes, from the ICC.
    public static let logEntry = TLVTag(0x9F4D)
    /// `9F4E` Merchant Name and Location: ans, 0–255 bytes, from the terminal.
    public static let merchantNameAndLocation = TLVTag(0x9F4E)
    /// `9F4F` Log Format: b, 0–252 bytes, from the ICC.
    public static let logFormat = TLVTag(0x9F4F)
    /// `9F5B` Issuer Script Results: b, 0–255 bytes, from the terminal.
    public static let issuerScriptResults = TLVTag(0x9F5B)
    /// `A5` File Control Information (FCI) Proprietary Template: var. (template), 0–252 bytes, from the ICC.
    public static let fileControlInformationProprietaryTemplate = TLVTag(0xA5)
    /// `BF0C` File Control Information (FCI) Issuer Discretionary Data: var. (template), 0–222 bytes, from the ICC.
    public static let fileControlInformationIssuerDiscretionaryData = TLVTag(0xBF0C)
}
