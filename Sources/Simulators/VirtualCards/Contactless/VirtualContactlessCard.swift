import Codecs
public import DeviceKit
public import PaymentCrypto

/// The ISO/IEC 14443 transfer time and the card's processing time of APDUs (a model: reported, never slept).
///
/// Transfer: every byte is 9 bits (8 + parity, ISO 14443-3 Type A) at 106 or 424 kbit/s (fc/128, fc/32), and each
/// I-block adds PCB and CRC (3 bytes) plus the two frame delay times (about 86 µs each). Processing: constants per
/// command for a contemporary card, plus RSA signing time for fDDA / CDA that grows with the cube of the modulus
/// (40 ms at 1024 bits) and 2 ms for the TDES application cryptogram.
public struct ContactlessLatencyModel: Sendable, Hashable {
    /// The ISO 14443 bit rate.
    public enum BitRate: Int, Sendable, Hashable, CaseIterable {
        case kbps106 = 106
        case kbps424 = 424
    }

    /// Microseconds to carry `bytes` (one I-block) at `rate`.
    public static func transferMicroseconds(bytes: Int, at rate: BitRate) -> Int {
        let bitNanoseconds = rate == .kbps106 ? 9_440 : 2_360
        return (bytes + 3) * 9 * bitNanoseconds / 1000 + 86
    }

    /// RSA signing time of the modelled card, microseconds.
    public static func rsaSigningMicroseconds(modulusBits: Int) -> Int {
        let r = Double(modulusBits) / 1024
        return Int(40_000 * r * r * r)
    }
}

/// One APDU exchange as the latency model sees it.
public struct ContactlessExchangeTiming: Sendable, Hashable {
    /// Bytes of the command APDU.
    public var commandBytes: Int
    /// Bytes of the response APDU (SW included).
    public var responseBytes: Int
    /// The card's processing time, microseconds.
    public var processingMicroseconds: Int

    /// Command, processing and response at `rate`, microseconds.
    public func microseconds(at rate: ContactlessLatencyModel.BitRate) -> Int {
        ContactlessLatencyModel.transferMicroseconds(bytes: commandBytes, at: rate) + processingMicroseconds
            + ContactlessLatencyModel.transferMicroseconds(bytes: responseBytes, at: rate)
    }
}

/// TEST ONLY: a virtual contactless card or phone: PPSE, SELECT, GET PROCESSING OPTIONS (qVSDC / qPBOC cryptogram
/// in the answer, or M/Chip AIP and AFL), READ RECORD, EXCHANGE RELAY RESISTANCE DATA, GENERATE AC with CDA, RECOVER
/// AC. Pure and deterministic given its ``RandomSource``; it logs the ``ContactlessExchangeTiming`` of every APDU of
/// the current tap in ``exchanges``.
public final class VirtualContactlessCard {
    /// The card's profile.
    public let profile: ContactlessCardProfile
    let app: PersonalizedApplication
    let random: any RandomSource
    var atc: UInt16 = 0
    var selected = false
    var ppseSelected = false
    var pdolData: [UInt8] = []
    var cdol1Data: [UInt8] = []
    var unlocked = false
    var unlockOnNextTap = false
    var torn = false
    var lastGenerateAC: (unpredictableNumber: [UInt8], response: [UInt8])?

    /// The card left the field during the last command (``ContactlessCardProfile/tearsAtFirstGenerateAC``).
    public private(set) var isRemoved = false
    /// The exchanges of the current tap, for card-in-field time.
    public private(set) var exchanges: [ContactlessExchangeTiming] = []
    /// The bit rate the reader uses (for ``lastExchangeMicroseconds``).
    public var bitRate: ContactlessLatencyModel.BitRate = .kbps106

    /// Personalises the card (certificates signed with the TEST ONLY keys).
    /// - Throws: ``VirtualCardError`` ``VirtualCardError/Code/personalizationFailed``.
    public init(profile: ContactlessCardProfile, random: any RandomSource) throws {
        self.profile = profile
        self.random = random
        app = try PersonalizedApplication(profile.application, fault: .none)
    }

    /// A new tap (the field comes on): forgets the selection; a phone unlocked since the last tap is now unlocked.
    public func reset() {
        selected = false
        ppseSelected = false
        isRemoved = false
        exchanges = []
        if unlockOnNextTap {
            unlocked = true
            unlockOnNextTap = false
        }
    }

    /// The Application Transaction Counter.
    public var applicationTransactionCounter: UInt16 { atc }

    /// The modelled duration of the last exchange at ``bitRate``, microseconds.
    public var lastExchangeMicroseconds: Int { exchanges.last?.microseconds(at: bitRate) ?? 0 }

    /// The modelled card-in-field time of this tap so far at `rate`, microseconds.
    public func cardInFieldMicroseconds(at rate: ContactlessLatencyModel.BitRate) -> Int {
        exchanges.reduce(0) { $0 + $1.microseconds(at: rate) }
    }

    /// One command APDU in, response data and SW1 SW2 out.
    public func process(_ command: [UInt8]) -> [UInt8] {
        var processing = 1_000
        let response = answer(command, processing: &processing)
        exchanges.append(
            ContactlessExchangeTiming(
                commandBytes: command.count, responseBytes: response.count, processingMicroseconds: processing))
        return response
    }

    func answer(_ command: [UInt8], processing: inout Int) -> [UInt8] {
        guard let apdu = try? CommandAPDU(apduEncoded: command) else { return sw(0x6700) }
        switch (apdu.cla, apdu.ins) {
        case (0x00, 0xA4): return select(apdu)
        case (0x00, 0xB2):
            processing = 1_500
            return readRecord(apdu)
        case (0x80, 0xA8): return getProcessingOptions(apdu, processing: &processing)
        case (0x80, 0xEA): return exchangeRelayResistanceData(apdu, processing: &processing)
        case (0x80, 0xAE): return generateAC(apdu, processing: &processing)
        case (0x80, 0xD0): return recoverAC(apdu)
        default: return sw(0x6D00)
        }
    }

    // MARK: SELECT

    func select(_ apdu: CommandAPDU) -> [UInt8] {
        guard apdu.p1 == 0x04 else { return sw(0x6A86) }
        let a = app.profile
        if apdu.data == Array("2PAY.SYS.DDF01".utf8) {
            ppseSelected = true
            selected = false
            var entry = TLVBuilder()
            entry.add(0x4F, a.aid)
            entry.add(0x50, Array(a.label.utf8))
            entry.add(0x87, [0x01])
            entry.add(0x9F2A, [profile.kernelIdentifier])
            var directory = TLVBuilder()
            directory.addTemplate(0x61, entry.bytes)
            var proprietary = TLVBuilder()
            proprietary.addTemplate(0xBF0C, directory.bytes)
            var fci = TLVBuilder()
            fci.add(0x84, Array("2PAY.SYS.DDF01".utf8))
            fci.addTemplate(0xA5, proprietary.bytes)
            return TLVBuilder.template(0x6F, fci.bytes) + sw(0x9000)
        }
        guard apdu.data == a.aid else { return sw(0x6A82) }
        selected = true
        var proprietary = TLVBuilder()
        proprietary.add(0x50, Array(a.label.utf8))
        proprietary.add(0x87, [0x01])
        if let pdol = a.pdol { proprietary.add(0x9F38, pdol) }
        var fci = TLVBuilder()
        fci.add(0x84, a.aid)
        fci.addTemplate(0xA5, proprietary.bytes)
        return TLVBuilder.template(0x6F, fci.bytes) + sw(0x9000)
    }

    func readRecord(_ apdu: CommandAPDU) -> [UInt8] {
        guard selected, apdu.p2 & 0x07 == 0x04 else { return sw(0x6985) }
        guard let record = app.record(sfi: apdu.p2 >> 3, number: apdu.p1) else { return sw(0x6A83) }
        return record.bytes + sw(0x9000)
    }

    // MARK: GET PROCESSING OPTIONS

    func getProcessingOptions(_ apdu: CommandAPDU, processing: inout Int) -> [UInt8] {
        guard selected else { return sw(0x6985) }
        let data = apdu.data
        let expected = app.profile.pdol.flatMap { try? DataObjectList(dolEncoded: $0).relatedDataLength } ?? 0
        guard data.count >= 2, data[0] == 0x83, Int(data[1]) == data.count - 2, data.count - 2 == expected else {
            return sw(0x6700)
        }
        pdolData = Array(data.dropFirst(2))
        if let status = profile.gpoStatus { return sw(status) }
        guard atc < 0xFFFF else { return sw(0x6985) }
        atc += 1
        processing = 3_000
        switch profile.scheme {
        case .mastercard:
            var body = TLVBuilder()
            body.add(0x82, app.profile.aip)
            body.add(0x94, app.applicationFileLocator)
            return TLVBuilder.template(0x77, body.bytes) + sw(0x9000)
        case .visa, .unionPay:
            return quickGPO(processing: &processing)
        }
    }

    /// qVSDC / qPBOC: the cryptogram in the GPO answer (Book C-3 5.2, card side).
    func quickGPO(processing: inout Int) -> [UInt8] {
        let values = VirtualCard.values(of: app.profile.pdol ?? [], in: pdolData)
        let ttq = values[TLVTag(0x9F66)].map { Array($0) } ?? [0, 0, 0, 0]
        if profile.wallet == .needsUnlocking, !unlocked {
            unlockOnNextTap = true
            return sw(0x6986)
        }
        let onlineRequired = ttq.count == 4 && ttq[1] & 0x80 != 0
        let cvmRequired = ttq.count == 4 && ttq[1] & 0x40 != 0
        var type: UInt8
        switch profile.wallet {
        case .declines: type = 0x00
        case .approvesAtOnce, .needsUnlocking: type = 0x80
        case .none: type = onlineRequired || (ttq.count == 4 && ttq[0] & 0x08 == 0 && cvmRequired) ? 0x80 : 0x40
        }
        // CTQ: a card asks online PIN (or signature) when the reader requires a CVM; a phone did CDCVM.
        var ctq: [UInt8] = [0x20, 0x00]
        if profile.isPhone {
            ctq = [0x00, 0x80]
        } else if cvmRequired {
            if type == 0x80, ttq[0] & 0x04 != 0 {
                ctq[0] |= 0x80
            } else if ttq[0] & 0x02 != 0 {
                ctq[0] |= 0x40
            }
        }
        var cvr = CardVerificationResults()
        cvr.insert(type == 0x80 ? .firstGenerateACARQC : type == 0x40 ? .firstGenerateACTC : [])
        cvr.insert(.secondGenerateACNotRequested)
        guard let (cryptogram, iad) = applicationCryptogram(values: values, cvr: cvr) else { return sw(0x6F00) }
        processing += 2_000
        var body = TLVBuilder()
        body.add(0x82, app.profile.aip)
        body.add(0x94, app.applicationFileLocator)
        body.add(0x57, trackTwo)
        body.add(0x5F34, [app.profile.panSequenceNumber])
        body.add(0x9F10, iad)
        body.add(0x9F26, cryptogram)
        body.add(0x9F27, [type])
        body.add(0x9F36, be16(atc))
        body.add(0x9F6C, ctq)
        if type == 0x40, let key = app.iccPrivateKey {
            // fDDA version 01 (Book C-3 Annex C): signed over UN || amount || currency || card authentication data.
            guard let cardNumber = try? random.bytes(4), cardNumber.count == 4,
                let dynamic = try? random.bytes(8), dynamic.count == 8
            else { return sw(0x6F00) }
            let cardAuthentication: [UInt8] = [0x01] + cardNumber + ctq
            let unpredictable: [UInt8] = values[TLVTag(0x9F37)].map { Array($0) } ?? [0, 0, 0, 0]
            let amount: [UInt8] = values[TLVTag(0x9F02)].map { Array($0) } ?? [UInt8](repeating: 0, count: 6)
            let currency: [UInt8] = values[TLVTag(0x5F2A)].map { Array($0) } ?? [0, 0]
            var terminalData = unpredictable
            terminalData += amount
            terminalData += currency
            terminalData += cardAuthentication
            guard
                let sdad = try? Certificates.signedDynamicApplicationData(
                    iccKey: key, iccDynamicData: [0x08] + dynamic, terminalData: terminalData)
            else { return sw(0x6F00) }
            processing += ContactlessLatencyModel.rsaSigningMicroseconds(
                modulusBits: key.publicKey.modulusByteCount * 8)
            body.add(0x9F69, cardAuthentication)
            body.add(0x9F4B, sdad)
        }
        if profile.isPhone { body.add(0x9F6E, [0x20, 0x70, 0x00, 0x00]) }
        return TLVBuilder.template(0x77, body.bytes) + sw(0x9000)
    }

    var trackTwo: [UInt8] {
        let a = app.profile
        var track2 =
            Nibbles.digits(a.pan) + [0xD] + Nibbles.digits(Hex.encode(a.expiry.prefix(2)))
            + Nibbles.digits(a.serviceCode) + Nibbles.digits("00000000")
        if track2.count % 2 == 1 { track2.append(0xF) }
        return Nibbles.pack(track2)
    }

    /// The AC and IAD with the contact cards' rule (docs/virtual-cards.md): the IssuerHost checks it the same way.
    func applicationCryptogram(values: [TLVTag: ArraySlice<UInt8>], cvr: CardVerificationResults) -> ([UInt8], [UInt8])?
    {
        let iad: [UInt8] = [0x06, 0x01, 0x0A, 0x03] + VirtualCard.cvrBytes(cvr, scripts: 0)
        var input: [UInt8] = []
        for (tag, length) in VirtualCard.cryptogramTags {
            input +=
                values[tag].map { DataObjectList.fit($0, toLength: length, format: .b) }
                ?? [UInt8](repeating: 0, count: length)
        }
        input += app.profile.aip + be16(atc) + Array(iad[3...6])
        guard let key = try? EMV.commonSessionKey(iccMasterKey: app.masterKeyAC, atc: atc),
            let ac = try? EMV.applicationCryptogram(sessionKey: key, data: input, padding: app.cryptogramPadding)
        else { return nil }
        return (ac, iad)
    }

    // MARK: Kernel 2 commands

    func exchangeRelayResistanceData(_ apdu: CommandAPDU, processing: inout Int) -> [UInt8] {
        guard selected, apdu.data.count == 4, profile.scheme == .mastercard else { return sw(0x6985) }
        guard let entropy = try? random.bytes(4), entropy.count == 4 else { return sw(0x6F00) }
        processing = 500 + profile.relayDelayMicroseconds
        // Min 3 (300 µs), max 20 (2 ms), estimated R-APDU transmission time at the reader's rate (100 µs units).
        let estimated = (ContactlessLatencyModel.transferMicroseconds(bytes: 14, at: bitRate) + 99) / 100
        let times: [UInt8] = [0x00, 0x03, 0x00, 0x14]
        var body = entropy
        body += times
        body += be16(UInt16(estimated))
        return TLVBuilder.template(0x80, body) + sw(0x9000)
    }

    func generateAC(_ apdu: CommandAPDU, processing: inout Int) -> [UInt8] {
        guard selected, profile.scheme == .mastercard, apdu.p2 == 0x00 else { return sw(0x6985) }
        let requested = apdu.p1 & 0xC0
        guard let dol = try? DataObjectList(dolEncoded: app.profile.cdol1), apdu.data.count == dol.relatedDataLength
        else {
            return sw(0x6700)
        }
        cdol1Data = apdu.data
        let values = VirtualCard.values(of: app.profile.cdol1, in: apdu.data)
        var poscii: [UInt8]?
        var type: UInt8
        if profile.wallet == .needsUnlocking, !unlocked {
            unlockOnNextTap = true
            type = 0x00
            poscii = [0x00, 0x03, 0x00]  // OD-CVM and acknowledgement required: see the phone
        } else if profile.wallet == .declines || requested == 0x00 || requested == 0xC0 {
            type = 0x00
        } else if requested == 0x80 || profile.isPhone {
            type = 0x80
        } else {
            type = 0x40
        }
        var cvr = CardVerificationResults()
        cvr.insert(type == 0x80 ? .firstGenerateACARQC : type == 0x40 ? .firstGenerateACTC : [])
        cvr.insert(.secondGenerateACNotRequested)
        guard let (cryptogram, iad) = applicationCryptogram(values: values, cvr: cvr) else { return sw(0x6F00) }
        processing = 4_000
        var body = TLVBuilder()
        body.add(0x9F27, [type])
        body.add(0x9F36, be16(atc))
        if apdu.p1 & 0x10 != 0, type != 0x00, let key = app.iccPrivateKey {
            var objects = TLVBuilder()
            objects.add(0x9F27, [type])
            objects.add(0x9F36, be16(atc))
            objects.add(0x9F10, iad)
            let unpredictable = values[TLVTag(0x9F37)].map { Array($0) } ?? [0, 0, 0, 0]
            guard let number = try? random.bytes(8), number.count == 8,
                let hash = try? Insecure.SHA1.hash(pdolData + cdol1Data + objects.bytes),
                let sdad = try? Certificates.signedDynamicApplicationData(
                    iccKey: key, iccDynamicData: [0x08] + number + [type] + cryptogram + hash,
                    terminalData: unpredictable)
            else { return sw(0x6F00) }
            processing += ContactlessLatencyModel.rsaSigningMicroseconds(
                modulusBits: key.publicKey.modulusByteCount * 8)
            body.add(0x9F4B, sdad)
        } else {
            body.add(0x9F26, cryptogram)
        }
        body.add(0x9F10, iad)
        if let poscii { body.add(0xDF4B, poscii) }
        let response = TLVBuilder.template(0x77, body.bytes) + sw(0x9000)
        lastGenerateAC = (values[TLVTag(0x9F37)].map { Array($0) } ?? [], response)
        if profile.tearsAtFirstGenerateAC, !torn {
            torn = true
            isRemoved = true
        }
        return response
    }

    /// RECOVER AC (Book C-2, torn transaction recovery): the last GENERATE AC answer, when the DRDOL data (the
    /// torn transaction's Unpredictable Number) matches.
    func recoverAC(_ apdu: CommandAPDU) -> [UInt8] {
        guard selected, let last = lastGenerateAC, last.unpredictableNumber == apdu.data else { return sw(0x6A88) }
        lastGenerateAC = nil
        return last.response
    }

    func sw(_ word: UInt16) -> [UInt8] { [UInt8(word >> 8), UInt8(word & 0xFF)] }
    func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}

@available(*, unavailable)
extension VirtualContactlessCard: Sendable {}

/// What is in the field when something is tapped.
public enum ContactlessPresence {
    /// One card or phone.
    case card(VirtualContactlessConnection)
    /// More than one card (ISO 14443-3 anticollision found two UIDs).
    case collision
}

/// A session with a ``VirtualContactlessCard`` through DeviceKit's ``CardConnection`` (slot `.contactless`).
/// `transmit` throws ``VirtualCardError`` ``VirtualCardError/Code/cardRemoved`` once the card has left the field.
public final class VirtualContactlessConnection: CardConnection {
    /// The card in the field.
    public let card: VirtualContactlessCard

    /// A session: the card is reset (a new tap).
    public init(card: VirtualContactlessCard) {
        self.card = card
        card.reset()
    }

    /// Always the contactless field.
    public var slot: CardSlot { .contactless }
    /// A contactless ATR as PC/SC builds it (PC/SC part 3): here without historical bytes.
    public var answerToReset: [UInt8] { card.answerToReset }

    /// One command APDU; throws ``VirtualCardError`` ``VirtualCardError/Code/cardRemoved`` once the card left.
    public func transmit(_ command: [UInt8]) throws -> [UInt8] {
        guard !card.isRemoved else { throw VirtualCardError(.cardRemoved, "the card left the field") }
        let response = card.process(command)
        guard !card.isRemoved else {
            throw VirtualCardError(.cardRemoved, "the card left the field during the command")
        }
        return response
    }

    /// Ends the session (the card keeps its state).
    public func disconnect() {}
}

@available(*, unavailable)
extension VirtualContactlessConnection: Sendable {}
