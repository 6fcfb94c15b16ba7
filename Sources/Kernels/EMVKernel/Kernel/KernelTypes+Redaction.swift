import Codecs

// Descriptions that never show the PAN in full, track 2, the cryptogram or the ICC data (STYLE B8, PCI DSS 3.4): the
// kernel's values end up in logs and test failure messages.

extension OnlineRequest: CustomStringConvertible, CustomDebugStringConvertible {
    /// The masked PAN, the AID and the sizes of the sensitive fields.
    public var description: String {
        "OnlineRequest(pan: \(EMVDataDictionary.maskedPAN(pan)), aid: \(Hex.encode(aid)), "
            + "track2: \(track2Equivalent.count) bytes, iccData: \(iccData.count) bytes, "
            + "onlinePIN: \(onlinePINRequested))"
    }
    public var debugDescription: String { description }
}

extension TransactionCardData: CustomStringConvertible, CustomDebugStringConvertible {
    /// The masked PAN, the AID and label, the CID.
    public var description: String {
        "TransactionCardData(pan: \(EMVDataDictionary.maskedPAN(pan)), aid: \(Hex.encode(aid)), label: \(label), "
            + "cid: \(cid.map { Hex.encode([$0]) } ?? "none"), iccData: \(iccData.count) bytes)"
    }
    public var debugDescription: String { description }
}

extension KernelAction: CustomStringConvertible, CustomDebugStringConvertible {
    /// The action with the PAN masked and the request and outcome redacted.
    public var description: String {
        switch self {
        case .transmit(let command): "transmit(\(command))"
        case .show(let message): "show(\(message))"
        case .chooseApplication(let candidates): "chooseApplication(\(candidates.count) candidates)"
        case .selectedLanguage(let language): "selectedLanguage(\(language))"
        case .enterOnlinePIN(let pan): "enterOnlinePIN(pan: \(EMVDataDictionary.maskedPAN(pan)))"
        case .verifyOfflinePIN(.plaintext): "verifyOfflinePIN(plaintext)"
        case .verifyOfflinePIN(.enciphered): "verifyOfflinePIN(enciphered)"
        case .lookupTransactionLog(let pan): "lookupTransactionLog(pan: \(EMVDataDictionary.maskedPAN(pan)))"
        case .goOnline(let request): "goOnline(\(request))"
        case .complete(let outcome): "complete(\(outcome))"
        }
    }
    public var debugDescription: String { description }
}

extension KernelOutcome: CustomStringConvertible, CustomDebugStringConvertible {
    /// The decision, flags, TVR, TSI and CVM results; card data redacted.
    public var description: String {
        "KernelOutcome(\(decision), reversal: \(needsReversal), advice: \(needsAdvice), "
            + "unableToGoOnline: \(unableToGoOnline), tvr: \(tvr), tsi: \(Hex.encode(tsi.bytes)), "
            + "cvm: \(Hex.encode(cvmResults)), card: \(cardData.map { "\($0)" } ?? "none"))"
    }
    public var debugDescription: String { description }
}
