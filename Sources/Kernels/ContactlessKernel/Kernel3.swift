import Codecs
import EMVKernel

/// Kernel 3 (EMV Book C-3, Visa qVSDC) and UnionPay qPBOC on the same path: GET PROCESSING OPTIONS with the PDOL (TTQ
/// '9F66' included), the cryptogram in the GPO response, READ RECORD of the AFL, "card read" (remove card), then
/// without the card: CTQ '9F6C' cardholder verification (online PIN, signature, CDCVM) and fDDA of '9F4B' for an
/// offline approval.
extension ContactlessEntryPoint {
    mutating func k3Start() -> [ContactlessAction] {
        state = .k3GettingProcessingOptions
        return [transmit(getProcessingOptions())]
    }

    mutating func k3ProcessingOptionsReceived(_ r: ResponseAPDU) -> [ContactlessAction] {
        switch r.statusWord.rawValue {
        case 0x9000: break
        // Book C-3 5.2.2 (and qPBOC): '6984' try another interface, '6985' select next, '6986' see phone.
        case 0x6984: return tryAnotherInterface()
        case 0x6985: return selectNextCandidate()
        case 0x6986: return seePhone()
        default: return endApplication(.insertSwipeOrTryAnotherCard)
        }
        guard let template = try? TLVNode(tlvEncoded: r.data), template.tag == .responseMessageTemplateFormat2 else {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        Self.collectPrimitives(of: template.children, into: &cardData)
        guard let aipBytes = cardData[.applicationInterchangeProfile], aipBytes.count == 2 else {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        aip = aipBytes
        if let afl = cardData[.applicationFileLocator], !afl.isEmpty {
            guard let pending = Self.records(fromAFL: afl) else { return endApplication(.insertSwipeOrTryAnotherCard) }
            return k3ReadNext(pending)
        }
        return [cardReadComplete()] + k3Complete()
    }

    mutating func k3ReadNext(_ pending: [RecordReference]) -> [ContactlessAction] {
        guard let next = pending.first else { return [cardReadComplete()] + k3Complete() }
        state = .k3ReadingRecords(pending: pending)
        return [transmit(try? CommandAPDU.readRecord(next.record, shortFileIdentifier: next.sfi))]
    }

    mutating func k3RecordRead(_ r: ResponseAPDU, pending: [RecordReference]) -> [ContactlessAction] {
        guard let reference = pending.first, storeRecord(r, reference: reference) else {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        return k3ReadNext(Array(pending.dropFirst()))
    }

    /// Everything after the card left: the cryptogram type, CVM and fDDA (Book C-3 5.3 – 5.5).
    mutating func k3Complete() -> [ContactlessAction] {
        guard let candidate = selected else { preconditionFailure("Kernel 3 without a candidate") }
        let ttq = candidate.indicators.ttq
        guard cardData[.track2EquivalentData] != nil, let atc = cardData[TLVTag(0x9F36)], atc.count == 2,
            let ac = cardData[TLVTag(0x9F26)], ac.count == 8, let iad = cardData[.issuerApplicationData]
        else { return endApplication(.insertSwipeOrTryAnotherCard) }
        // The CID: '9F27' when present, else the cryptogram type in the Visa IAD (byte 5 bits 6-5: CVR byte 2).
        let cid: UInt8
        if let given = cardData[TLVTag(0x9F27)]?.first {
            cid = given & 0xC0
        } else if iad.count >= 5 {
            switch (iad[4] >> 4) & 0x03 {
            case 0x01: cid = 0x40
            case 0x02: cid = 0x80
            default: cid = 0x00
            }
            cardData[TLVTag(0x9F27)] = [cid]
        } else {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        var status: ContactlessOutcomeStatus
        switch cid {
        case 0x80: status = .onlineRequest
        case 0x40: status = .approved
        default: status = .declined
        }
        // Expired card: an offline approval is refused (Book C-3 5.4.3); online, the issuer decides.
        if status == .approved, let expiry, expiry < transaction.date {
            status = ttq.offlineOnly ? .declined : .onlineRequest
        }
        // fDDA (Book C-3 5.4, Annex C): only an offline approval needs it.
        if status == .approved {
            if !k3VerifyFDDA() {
                let ctq = cardData[TLVTag(0x9F6C)].flatMap { CardTransactionQualifiers(bytes: $0) }
                status = (ctq?.goOnlineIfODAFails ?? false) && !ttq.offlineOnly ? .onlineRequest : .declined
            }
        }
        // CVM (Book C-3 5.5): the card's CTQ against the reader's TTQ.
        if status != .declined {
            switch k3CardholderVerification(ttq: ttq, online: status == .onlineRequest) {
            case .some(let method): cvm = method
            case .none: status = .declined
            }
        }
        return k3Outcome(status)
    }

    /// The CVM, or `nil` when the reader requires one and no method both sides support applies (a decline).
    mutating func k3CardholderVerification(ttq: TerminalTransactionQualifiers, online: Bool) -> ContactlessCVM? {
        let ctq = cardData[TLVTag(0x9F6C)].flatMap { CardTransactionQualifiers(bytes: $0) }
        if let ctq {
            if ctq.onlinePINRequired, ttq.onlinePINSupported, online {
                cvmResults = [0x02, 0x00, 0x00]
                return .onlinePIN
            }
            if ctq.consumerDeviceCVMPerformed, ttq.consumerDeviceCVMSupported {
                cvmResults = [0x01, 0x00, 0x02]
                return .confirmationCodeVerified
            }
            if ctq.signatureRequired, ttq.signatureSupported {
                cvmResults = [0x1E, 0x00, 0x00]
                return .signature
            }
        }
        guard ttq.cvmRequired else {
            cvmResults = [0x3F, 0x00, 0x02]
            return .noCVM
        }
        // CVM required and the card named none the reader supports: online PIN when online, else signature.
        if ctq == nil, online, ttq.onlinePINSupported {
            cvmResults = [0x02, 0x00, 0x00]
            return .onlinePIN
        }
        if ctq == nil, ttq.signatureSupported {
            cvmResults = [0x1E, 0x00, 0x00]
            return .signature
        }
        return nil
    }

    /// fDDA version '01' (Book C-3 Annex C): the SDAD '9F4B' over 9F37 || 9F02 || 5F2A || 9F69.
    mutating func k3VerifyFDDA() -> Bool {
        guard aip[0] & 0x20 != 0, let sdad = cardData[TLVTag(0x9F4B)], let cardAuth = cardData[TLVTag(0x9F69)],
            let key = recoverICCKey()
        else { return false }
        var terminalData = unpredictableNumber
        terminalData += EMVNumeric.bcd(transaction.amountAuthorised, bytes: 6)
        terminalData += EMVNumeric.bcd(Int(parameters.terminal.terminal.currencyCode), bytes: 2)
        terminalData += cardAuth
        switch OfflineDataAuthentication.verifySignedDynamicApplicationData(
            sdad, iccKey: key, terminalDynamicData: terminalData)
        {
        case .success(let number):
            cardData[.iccDynamicNumber] = number
            return true
        case .failure:
            return false
        }
    }

    mutating func k3Outcome(_ status: ContactlessOutcomeStatus) -> [ContactlessAction] {
        let kernel = selected?.combination.kernel
        switch status {
        case .approved:
            return finish(
                ContactlessOutcome(
                    status: .approved, cvm: cvm, kernel: kernel,
                    uiRequestOnOutcome: UserInterfaceRequest(
                        message: cvm == .signature ? .approvedPleaseSign : .approved, status: .cardReadSuccessfully),
                    cardData: transactionCardData(), cvmResults: cvmResults))
        case .onlineRequest:
            return finish(
                ContactlessOutcome(
                    status: .onlineRequest, cvm: cvm, kernel: kernel,
                    uiRequestOnOutcome: UserInterfaceRequest(
                        message: .authorisingPleaseWait, status: .cardReadSuccessfully),
                    onlineRequest: onlineRequest(), cardData: transactionCardData(), cvmResults: cvmResults))
        default:
            return finish(
                ContactlessOutcome(
                    status: .declined, cvm: cvm, kernel: kernel,
                    uiRequestOnOutcome: UserInterfaceRequest(
                        message: .notAuthorised, status: .cardReadSuccessfully, beep: .alert),
                    cardData: transactionCardData(), cvmResults: cvmResults))
        }
    }
}
