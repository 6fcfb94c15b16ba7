import Codecs
import ContactlessKernel
import EMVKernel
import PaymentCrypto
import TestKit
import Testing
import VirtualCards

func h(_ hex: String) -> [UInt8] { Hex.decode(hex) ?? [] }

/// The test reader: terminal data, the TEST ONLY CA keys, limits 1000.00 / floor 50.00 / CVM 300.00.
enum Reader {
    static let date = EMVDate(year: 2026, month: 11, day: 27)!
    static let limits = ContactlessReaderLimits(
        transactionLimit: 100_000, onDeviceCVMTransactionLimit: 500_000, floorLimit: 5_000, cvmRequiredLimit: 30_000)

    static func terminal() throws -> TerminalParameters {
        let caKeys = try TestPKI.testOnlyCertificationAuthorities.map { ca in
            try CAPublicKey(
                rid: ca.rid, index: ca.index, modulus: ca.modulus, exponent: ca.exponent,
                expiry: EMVDate(yymmdd: ca.expiry)!, checksum: ca.checksum)
        }
        let configuration = TerminalConfiguration(
            terminalType: 0x22, capabilities: h("E0F8C8"), additionalCapabilities: h("6000F0A001"), countryCode: 156,
            currencyCode: 156, currencyExponent: 2, merchantCategoryCode: 5411, terminalIdentification: "SIM00001",
            merchantIdentifier: "898310048990001", merchantNameAndLocation: "TEST SHOP",
            interfaceDeviceSerialNumber: "IFD00001")
        return TerminalParameters(terminal: configuration, applications: [], caKeys: caKeys)
    }

    static func parameters(limits: ContactlessReaderLimits = limits) throws -> ContactlessParameters {
        ContactlessParameters(terminal: try terminal(), combinations: ContactlessCombination.standard(limits: limits))
    }

    static func transaction(_ amount: Int, type: EMVTransaction.TransactionType = .purchase) -> EMVTransaction {
        EMVTransaction(amountAuthorised: amount, transactionType: type, date: date, hour: 12, minute: 0, second: 0, sequenceCounter: 1)
    }

    struct Tap {
        var outcome: ContactlessOutcome
        var commands: [UInt8]  // INS bytes in order
        var generateACReferenceControls: [UInt8] = []  // P1 of each GENERATE AC
        var ui: [UserInterfaceRequest]
        var cardInField106: Int
        var cardInField424: Int
    }

    /// One tap of `card` (in process, the latency model reporting elapsed time).
    static func tap(
        _ card: VirtualContactlessCard, amount: Int, limits: ContactlessReaderLimits = limits, collision: Bool = false,
        tornLog: [TornTransactionRecord] = [], restart: Bool = false, random: any RandomSource = SystemRandom(),
        type: EMVTransaction.TransactionType = .purchase
    ) throws -> Tap {
        let connection = VirtualContactlessConnection(card: card)
        var entryPoint = ContactlessEntryPoint(
            parameters: try parameters(limits: limits), transaction: transaction(amount, type: type), random: random,
            tornLog: tornLog, restart: restart)
        var commands: [UInt8] = []
        var referenceControls: [UInt8] = []
        var ui: [UserInterfaceRequest] = []
        let outcome = entryPoint.run(
            collision: collision,
            transmit: { command in
                commands.append(command.ins)
                if command.ins == 0xAE { referenceControls.append(command.p1) }
                guard let bytes = try? connection.transmit(command.encoded),
                    let response = try? ResponseAPDU(apduEncoded: bytes)
                else {
                    return .cardRemoved
                }
                return .response(response, elapsedMicroseconds: card.lastExchangeMicroseconds)
            }, userInterface: { ui.append($0) })
        return Tap(
            outcome: outcome, commands: commands, generateACReferenceControls: referenceControls, ui: ui, cardInField106: card.cardInFieldMicroseconds(at: .kbps106),
            cardInField424: card.cardInFieldMicroseconds(at: .kbps424))
    }

    static func card(_ name: String) throws -> VirtualContactlessCard {
        try VirtualContactlessCard(profile: try #require(ContactlessCardProfile.named(name)), random: SystemRandom())
    }

    /// Recomputes the ARQC of an online request as the acquirer simulator's issuer does (docs/virtual-cards.md).
    static func arqcVerifies(_ request: OnlineRequest) throws -> Bool {
        let issuer = try #require(TestIssuers.builtIn.issuer(forPAN: request.pan))
        var objects: [UInt32: [UInt8]] = [:]
        for node in try TLVNode.sequence(tlvEncoded: request.iccData) where objects[node.tag.rawValue] == nil {
            objects[node.tag.rawValue] = Array(node.value)
        }
        let arqc = try #require(objects[0x9F26]), atc = try #require(objects[0x9F36])
        let aip = try #require(objects[0x82]), iad = try #require(objects[0x9F10])
        var input: [UInt8] = []
        for (tag, length) in [
            (0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2), (0x9A, 3), (0x9C, 1), (0x9F37, 4),
        ] {
            let v = objects[UInt32(tag)] ?? []
            input += v.count >= length ? Array(v.suffix(length)) : [UInt8](repeating: 0, count: length - v.count) + v
        }
        input += aip + atc + Array(iad[3...6])
        let psn = request.panSequenceNumber.map { UInt8(($0 / 10) << 4 | ($0 % 10)) }
        let master = try EMV.iccMasterKeyOptionA(
            issuerMasterKey: issuer.masterKeyAC, pan: request.pan, panSequenceNumber: psn)
        let session = try EMV.commonSessionKey(iccMasterKey: master, atc: UInt16(atc[0]) << 8 | UInt16(atc[1]))
        return try EMV.isValidApplicationCryptogram(
            arqc, sessionKey: session, data: input, padding: issuer.cryptogramPadding)
    }
}
