import Codecs
import EMVKernel

/// Kernel 2 (EMV Book C-2, Mastercard M/Chip), the core path: GET PROCESSING OPTIONS, EXCHANGE RELAY RESISTANCE
/// DATA with its timing checks, READ RECORD, RECOVER AC of a torn transaction, processing restrictions (expiry),
/// CVM selection (on-device CVM or the CVM list), terminal action analysis, GENERATE AC with CDA, and the "See Phone"
/// restart from the POS Cardholder Interaction Information 'DF4B'.
extension ContactlessEntryPoint {
    /// AIP byte 1 bit 2: on-device cardholder verification supported.
    static let aipOnDeviceCVM: UInt8 = 0x02
    /// AIP byte 1 bit 1: CDA supported.
    static let aipCDA: UInt8 = 0x01
    /// AIP byte 2 bit 1: relay resistance protocol supported (Book C-2 Annex A).
    static let aipRelayResistance: UInt8 = 0x01

    mutating func k2Start() -> [ContactlessAction] {
        state = .k2GettingProcessingOptions
        return [transmit(getProcessingOptions())]
    }

    mutating func k2ProcessingOptionsReceived(_ r: ResponseAPDU) -> [ContactlessAction] {
        switch r.statusWord.rawValue {
        case 0x9000: break
        case 0x6985: return selectNextCandidate()
        case 0x6984: return tryAnotherInterface()
        default: return endApplication(.insertSwipeOrTryAnotherCard)
        }
        guard let template = try? TLVNode(tlvEncoded: r.data) else {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        switch template.tag {
        case .responseMessageTemplateFormat2:
            Self.collectPrimitives(of: template.children, into: &cardData)
        case .responseMessageTemplateFormat1 where template.value.count >= 2:
            let v = Array(template.value)
            cardData[.applicationInterchangeProfile] = Array(v[0..<2])
            cardData[.applicationFileLocator] = Array(v.dropFirst(2))
        default:
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        guard let aipBytes = cardData[.applicationInterchangeProfile], aipBytes.count == 2,
            let afl = cardData[.applicationFileLocator], let pending = Self.records(fromAFL: afl), !pending.isEmpty
        else { return endApplication(.insertSwipeOrTryAnotherCard) }
        aip = aipBytes
        // Book C-2: a card without on-device CVM is held to the (lower) transaction limit without on-device CVM.
        if let candidate = selected, aip[0] & Self.aipOnDeviceCVM == 0,
            let limit = candidate.combination.limits.transactionLimit,
            transaction.amountAuthorised >= limit
        {
            return tryAnotherInterface()
        }
        if aip[1] & Self.aipRelayResistance != 0, selected?.combination.relayResistance != nil {
            return k2ExchangeRelayResistanceData(attempt: 1, pending: pending)
        }
        tvr.insert(.relayResistanceNotPerformed)
        return k2ReadNext(pending)
    }

    // MARK: Relay resistance (Book C-2 5.3)

    mutating func k2ExchangeRelayResistanceData(attempt: Int, pending: [RecordReference]) -> [ContactlessAction] {
        // Terminal Relay Resistance Entropy: the Unpredictable Number (a fresh one for each retry).
        let entropy: [UInt8]
        if attempt == 1 {
            entropy = unpredictableNumber
        } else {
            guard let fresh = try? random.bytes(4), fresh.count == 4 else { return endApplication(.processingError) }
            unpredictableNumber = fresh
            entropy = fresh
        }
        pendingRecords = pending
        state = .k2ExchangingRelayResistanceData(attempt: attempt, entropy: entropy)
        return [
            transmit(try? CommandAPDU(cla: 0x80, ins: 0xEA, p1: 0x00, p2: 0x00, data: entropy, expectedLength: 256))
        ]
    }

    mutating func k2RelayResistanceAnswered(
        _ r: ResponseAPDU, elapsedMicroseconds: Int, attempt: Int, entropy: [UInt8]
    ) -> [ContactlessAction] {
        guard let rrp = selected?.combination.relayResistance else {
            preconditionFailure("relay resistance without parameters")
        }
        // Response '80' { Device Relay Resistance Entropy (4), Min Time (2), Max Time (2), Device Estimated
        // Transmission Time (2) }, times in 100 µs.
        guard r.statusWord.isNormalProcessing, let template = try? TLVNode(tlvEncoded: r.data),
            template.tag == .responseMessageTemplateFormat1, template.value.count == 10
        else { return endApplication(.insertSwipeOrTryAnotherCard) }
        let v = Array(template.value)
        cardData[TLVTag(0xDF8302)] = Array(v[0..<4])
        let minimum = Self.uint16(v[4..<6]), maximum = Self.uint16(v[6..<8]), estimated = Self.uint16(v[8..<10])
        let measured = max(
            0,
            elapsedMicroseconds / 100 - rrp.expectedCommandTransmissionTime
                - min(estimated, rrp.expectedResponseTransmissionTime))
        relayResistanceTime = measured
        let pending = pendingRecords
        // Too fast: the answer cannot be genuine (Book C-2 S3 — ends the transaction).
        if measured < max(0, minimum - rrp.minimumGracePeriod) {
            tvr.insert(.relayResistanceTimeLimitsExceeded)
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        // Too slow: up to two retries, then the TVR bit for the action codes.
        if measured > maximum + rrp.maximumGracePeriod {
            if attempt < 3 { return k2ExchangeRelayResistanceData(attempt: attempt + 1, pending: pending) }
            tvr.insert(.relayResistanceTimeLimitsExceeded)
        }
        // Accuracy: far above the card's minimum while the transmission time estimates disagree.
        if measured - minimum > rrp.accuracyThreshold, rrp.expectedResponseTransmissionTime > 0, estimated > 0 {
            let ratio = estimated * 100 / rrp.expectedResponseTransmissionTime
            if ratio < rrp.transmissionTimeMismatchThreshold
                || ratio > 10_000 / max(1, rrp.transmissionTimeMismatchThreshold)
            {
                tvr.insert(.relayResistanceThresholdExceeded)
            }
        }
        tvr.insert(.relayResistancePerformed)
        return k2ReadNext(pending)
    }

    // MARK: Records

    mutating func k2ReadNext(_ pending: [RecordReference]) -> [ContactlessAction] {
        guard let next = pending.first else { return k2RecordsRead() }
        state = .k2ReadingRecords(pending: pending)
        return [transmit(try? CommandAPDU.readRecord(next.record, shortFileIdentifier: next.sfi))]
    }

    mutating func k2RecordRead(_ r: ResponseAPDU, pending: [RecordReference]) -> [ContactlessAction] {
        guard let reference = pending.first, storeRecord(r, reference: reference) else {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        return k2ReadNext(Array(pending.dropFirst()))
    }

    mutating func k2RecordsRead() -> [ContactlessAction] {
        guard pan != nil, cardData[.applicationExpirationDate] != nil,
            cardData[.cardRiskManagementDataObjectList1] != nil
        else { return endApplication(.insertSwipeOrTryAnotherCard) }
        // Torn transaction log (Book C-2 3.9): the same card tapped again recovers its answer.
        if let record = tornLog.first(where: { $0.pan == pan && $0.panSequenceNumber == panSequenceNumber }) {
            state = .k2RecoveringAC(record)
            return [
                transmit(
                    try? CommandAPDU(
                        cla: 0x80, ins: 0xD0, p1: 0x00, p2: 0x00, data: record.unpredictableNumber, expectedLength: 256)
                )
            ]
        }
        return k2GenerateAC()
    }

    mutating func k2RecoverACAnswered(_ r: ResponseAPDU, record: TornTransactionRecord) -> [ContactlessAction] {
        clearedTorn = record
        guard r.statusWord.isNormalProcessing else { return k2GenerateAC() }
        // The card finished the torn GENERATE AC: its answer stands, with the torn transaction's data.
        recoveredFrom = record
        pdolData = record.pdolData
        cdol1Data = record.cdol1Data
        unpredictableNumber = record.unpredictableNumber
        return k2GenerateACAnswered(r, referenceControl: 0x90)
    }

    // MARK: Restrictions, CVM, action analysis, GENERATE AC

    mutating func k2GenerateAC() -> [ContactlessAction] {
        guard let candidate = selected else { preconditionFailure("Kernel 2 without a candidate") }
        let amount = transaction.amountAuthorised
        // Processing restrictions (Book C-2 S7 / Book 3 10.4): dates and the exception file.
        if let expiry, expiry < transaction.date { tvr.insert(.expiredApplication) }
        if let effective = cardData[.applicationEffectiveDate].flatMap({ EMVDate(yymmdd: $0) }),
            transaction.date < effective
        {
            tvr.insert(.applicationNotYetEffective)
        }
        if let pan, parameters.terminal.exceptionFile.contains(pan) { tvr.insert(.cardOnExceptionFile) }
        if candidate.indicators.floorLimitExceeded { tvr.insert(.transactionExceedsFloorLimit) }
        // A refund (Transaction Type '20') takes no cardholder verification and asks for an AAC below: the card
        // declines offline, and what it returned goes to the host with the refund (as the contact kernel does).
        let refund = transaction.transactionType == .refund
        if refund {
            cvm = .noCVM
            cvmResults = [0x3F, 0x00, 0x00]
        } else {
            k2CardholderVerification(candidate)
        }
        // ODA: CDA when both sides support it; the ICC key is recovered now, the signature checked on the answer.
        var cda = false
        if aip[0] & Self.aipCDA != 0 {
            if staticDataInvalid || recoverICCKeyForCDA() == false {
                tvr.insert(.cdaFailed)
            } else {
                cda = true
            }
        } else {
            tvr.insert(.offlineDataAuthenticationNotPerformed)
        }
        // Terminal action analysis (Book 3 10.7) with the card's IACs.
        let iacDenial = cardData[.issuerActionCodeDenial] ?? [0, 0, 0, 0, 0]
        let iacOnline = cardData[.issuerActionCodeOnline] ?? [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        let tvrBytes = tvr.bytes
        func hits(_ codes: [UInt8]...) -> Bool {
            (0..<5).contains { i in codes.contains { $0.count == 5 && tvrBytes[i] & $0[i] != 0 } }
        }
        let type: UInt8
        if refund || hits(candidate.combination.tacDenial, iacDenial) {
            type = 0x00
        } else if hits(candidate.combination.tacOnline, iacOnline)
            || amount > 0 && candidate.indicators.floorLimitExceeded
        {
            type = 0x80
        } else {
            type = 0x40
        }
        let p1 = type | (cda && type != 0x00 ? 0x10 : 0x00)
        guard let cdol = cardData[.cardRiskManagementDataObjectList1], let list = try? DataObjectList(dolEncoded: cdol)
        else {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        cdol1Data = list.relatedData(formats: Self.format(of:), values: { value(for: $0) })
        state = .k2GeneratingAC(referenceControl: p1)
        return [
            transmit(try? CommandAPDU.generateApplicationCryptogram(referenceControl: p1, cdolRelatedData: cdol1Data))
        ]
    }

    mutating func recoverICCKeyForCDA() -> Bool {
        iccKeyForCDA = recoverICCKey()
        return iccKeyForCDA != nil
    }

    /// Book C-2 S7 CVM selection: on-device CVM when card and reader support it, else the CVM list '8E'.
    mutating func k2CardholderVerification(_ candidate: Candidate) {
        let required = candidate.indicators.cvmRequiredLimitExceeded
        if aip[0] & Self.aipOnDeviceCVM != 0, candidate.combination.onDeviceCVMSupported {
            cvm = required ? .confirmationCodeVerified : .noCVM
            cvmResults = required ? [0x01, 0x00, 0x02] : [0x3F, 0x00, 0x02]
            return
        }
        guard required else {
            cvm = .noCVM
            cvmResults = [0x3F, 0x00, 0x02]
            return
        }
        guard let list = cardData[.cardholderVerificationMethodList].flatMap({ CVMList(bytes: $0) }) else {
            tvr.insert(.iccDataMissing)
            cvm = .noCVM
            cvmResults = [0x3F, 0x00, 0x01]
            return
        }
        let amount = transaction.amountAuthorised
        for rule in list.rules {
            let applies: Bool
            switch rule.condition {
            case 0x00, 0x03: applies = true
            case 0x06: applies = amount < Int(list.amountX)
            case 0x07: applies = amount > Int(list.amountX)
            case 0x08: applies = amount < Int(list.amountY)
            case 0x09: applies = amount > Int(list.amountY)
            default: applies = false
            }
            guard applies else { continue }
            switch rule.methodByte & 0x3F {
            case 0x02:
                cvm = .onlinePIN
                cvmResults = [rule.methodByte, rule.condition, 0x00]
                tvr.insert(.onlinePINEntered)
                return
            case 0x1E:
                cvm = .signature
                cvmResults = [rule.methodByte, rule.condition, 0x00]
                return
            case 0x1F:
                cvm = .noCVM
                cvmResults = [rule.methodByte, rule.condition, 0x02]
                return
            default:
                // Not supported here: the next rule when the method byte says so, else verification failed.
                if rule.methodByte & 0x40 != 0 { continue }
            }
            break
        }
        tvr.insert(.cardholderVerificationNotSuccessful)
        cvm = .noCVM
        cvmResults = [0x3F, 0x00, 0x01]
    }

    mutating func k2GenerateACAnswered(_ r: ResponseAPDU, referenceControl p1: UInt8) -> [ContactlessAction] {
        guard r.statusWord.isNormalProcessing, let template = try? TLVNode(tlvEncoded: r.data),
            template.tag == .responseMessageTemplateFormat2,
            let cidNode = template.child(TLVTag(0x9F27)), let cid = cidNode.value.first,
            let atc = template.child(TLVTag(0x9F36)), atc.value.count == 2
        else { return endApplication(.insertSwipeOrTryAnotherCard) }
        var tail: [UInt8] = []
        for child in template.children where child.tag != TLVTag(0x9F4B) { tail += child.encodedBytes }
        cardData[TLVTag(0x9F27)] = [cid]
        cardData[TLVTag(0x9F36)] = Array(atc.value)
        if let iad = template.child(.issuerApplicationData) { cardData[.issuerApplicationData] = Array(iad.value) }
        let poscii = template.child(TLVTag(0xDF4B)).map { Array($0.value) }
        let type = cid & 0xC0
        let recovered = recoveredFrom
        if let ac = template.child(TLVTag(0x9F26)), ac.value.count == 8 {
            cardData[TLVTag(0x9F26)] = Array(ac.value)
        } else if let sdad = template.child(TLVTag(0x9F4B)), type != 0x00 {
            // CDA (Book 2 6.6.2): the cryptogram is inside the signature.
            if iccKeyForCDA == nil, recovered != nil { _ = recoverICCKeyForCDA() }
            guard let key = iccKeyForCDA else {
                tvr.insert(.cdaFailed)
                return k2Outcome(.declined)
            }
            switch OfflineDataAuthentication.verifyCombinedDynamicSignature(
                Array(sdad.value), iccKey: key, unpredictableNumber: unpredictableNumber,
                cryptogramInformationData: cid,
                transactionDataHashInput: pdolData + cdol1Data + tail)
            {
            case .success(let contents):
                cardData[.iccDynamicNumber] = contents.iccDynamicNumber
                cardData[TLVTag(0x9F26)] = contents.applicationCryptogram
            case .failure:
                tvr.insert(.cdaFailed)
                return k2Outcome(.declined)
            }
        } else if type != 0x00 || p1 & 0x10 == 0 {
            return endApplication(.insertSwipeOrTryAnotherCard)
        }
        // "See Phone" (Book C-2 S11: POS Cardholder Interaction Information): the phone asks for its owner first.
        if type == 0x00, let poscii, poscii.count == 3, poscii[1] & 0x03 != 0 {
            return seePhone()
        }
        switch type {
        case 0x40: return k2Outcome(.approved)
        case 0x80: return k2Outcome(.onlineRequest)
        default: return k2Outcome(.declined)
        }
    }

    mutating func k2Outcome(_ status: ContactlessOutcomeStatus) -> [ContactlessAction] {
        var actions: [ContactlessAction] = [cardReadComplete()]
        let outcome: ContactlessOutcome
        switch status {
        case .approved:
            outcome = ContactlessOutcome(
                status: .approved, cvm: cvm, kernel: .mastercard,
                uiRequestOnOutcome: UserInterfaceRequest(
                    message: cvm == .signature ? .approvedPleaseSign : .approved, status: .cardReadSuccessfully),
                cardData: transactionCardData(), tvr: tvr, cvmResults: cvmResults)
        case .onlineRequest:
            outcome = ContactlessOutcome(
                status: .onlineRequest, cvm: cvm, kernel: .mastercard,
                uiRequestOnOutcome: UserInterfaceRequest(
                    message: .authorisingPleaseWait, status: .cardReadSuccessfully),
                onlineRequest: onlineRequest(), cardData: transactionCardData(), tvr: tvr, cvmResults: cvmResults)
        default:
            outcome = ContactlessOutcome(
                status: .declined, cvm: cvm, kernel: .mastercard,
                uiRequestOnOutcome: UserInterfaceRequest(
                    message: .notAuthorised, status: .cardReadSuccessfully, beep: .alert),
                cardData: transactionCardData(), tvr: tvr, cvmResults: cvmResults)
        }
        actions += finish(outcome)
        return actions
    }
}
