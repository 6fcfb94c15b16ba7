import Codecs
import PaymentCrypto
import TestKit
import Testing
import Uplink

/// Fixtures: one transaction of each kind, with test card data (EMV test PANs, never real cards).
enum HostFixtures {
    /// The MAC key of the examples in docs/host-interface.md (the ISO/IEC 9797-1 Annex B key; a test key).
    static var macKey: SecretBytes { SecretBytes(hexEncoded: "0123456789ABCDEFFEDCBA9876543210")! }  // valid hex
    static func retailMAC(_ data: [UInt8]) throws -> [UInt8] {
        try ISO9797MAC.algorithm3(data, key: macKey, padding: .method2)
    }

    static let icc: [TLVNode] = [
        (0x9F26, "1D0E9AC4A3C5B1F7"), (0x9F27, "80"), (0x9F10, "06010A03A00000"), (0x9F37, "9A1B2C3D"),
        (0x9F36, "0027"), (0x95, "0000008000"), (0x9A, "261127"), (0x9C, "00"), (0x9F02, "000000001250"),
        (0x5F2A, "0156"), (0x82, "3800"), (0x9F1A, "0156"), (0x9F33, "E0F8C8"), (0x9F34, "420300"),
    ].map { TLVNode(tag: TLVTag($0.0), value: Hex.decode($0.1) ?? []) }

    static let chipCard = CardData(
        pan: "4761739001010119", expiry: "2212", panSequenceNumber: 1,
        track2: "4761739001010119=22122011758928889", iccData: icc)

    static func request(_ kind: TransactionKind, stan: Int = 42) -> TransactionRequest {
        var request = TransactionRequest(
            kind: kind, amount: 1250, currencyCode: "156", stan: stan,
            transmission: HostDateTime(month: 11, day: 27, hour: 9, minute: 30, second: 15),
            local: HostDateTime(month: 11, day: 27, hour: 17, minute: 30, second: 15),
            terminalID: "T0001234", merchantID: "104110070110001", batchNumber: 7,
            transactionReference: 0x0000_0000_0001_002A, entryMode: .contactChip, card: chipCard)
        switch kind {
        case .void, .refund:
            request.original = OriginalTransaction(
                batchNumber: 7, stan: 41, localDate: "1127", retrievalReference: "332917000041",
                authorizationCode: "A1B2C3")
        case .qrPayment:
            request.entryMode = .qrCode
            request.card = CardData()
            request.qrCode = "134501234567890123"
        case .qrQuery:
            request.entryMode = .qrCode
            request.card = CardData()
            request.qrOrderReference = "QO20261127000042"
        case .qrOrder:
            request.entryMode = .qrCode
            request.card = CardData()
            request.qrCode = "00020101021226300014CN.COM.EXAMPLE0108SIM000015204581253031565406100.005802CN5904SHOP6008SHANGHAI6304ABCD"
            request.qrOrderReference = "QO20261127000042"
        case .prepaidActivation:
            request.prepaidActivationCode = "ACT-7731"
        case .balanceInquiry, .sale, .preAuthorization, .prepaidTopUp:
            request.pinBlock = [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0]
            request.keySerialNumber = Hex.decode("FFFF9876543210E00001")
        }
        return request
    }

    /// One message of every request MTI and kind the terminal sends.
    static func allRequests() throws -> [(String, ISO8583.Message)] {
        var out: [(String, ISO8583.Message)] = []
        for kind in TransactionKind.allCases {
            out.append(("\(kind) request", try HostMessages.request(request(kind))))
        }
        let sale = request(.sale)
        out.append(("0220", try HostMessages.offlineAdvice(sale, decision: .offlineApproved)))
        out.append(("0221", try HostMessages.offlineAdvice(sale, decision: .unableToGoOnlineApproved, isRepeat: true)))
        out.append(("0400", try HostMessages.reversal(of: sale, reason: .timeout)))
        out.append(("0401", try HostMessages.reversal(of: sale, reason: .timeout, isRepeat: true)))
        out.append(
            (
                "0420",
                try HostMessages.reversal(
                    of: sale, reason: .cardDeclinedAfterApproval, issuerScriptResults: [0x20, 0x00, 0x00, 0x00, 0x00],
                    asAdvice: true)
            ))
        out.append(("0421", try HostMessages.reversal(of: sale, reason: .lateResponse, asAdvice: true, isRepeat: true)))
        out.append(
            (
                "0320",
                try HostMessages.batchUpload(
                    sale, responseCode: .approved, retrievalReference: "332917000042", authorizationCode: "A1B2C3")
            ))
        let totals = SettlementTotals(
            saleCount: 12, saleAmount: 99_900, refundCount: 1, refundAmount: 1250, currencyCode: "156")
        out.append(
            (
                "0500",
                HostMessages.settlement(
                    terminalID: "T0001234", merchantID: "104110070110001", batchNumber: 7, stan: 50,
                    transmission: sale.transmission, local: sale.local, totals: totals)
            ))
        out.append(
            (
                "0500 after upload",
                HostMessages.settlement(
                    terminalID: "T0001234", merchantID: "104110070110001", batchNumber: 7, stan: 51,
                    transmission: sale.transmission, local: sale.local, totals: totals, afterBatchUpload: true)
            ))
        for code in NetworkManagementCode.allCases {
            out.append(
                (
                    "0800 \(code)",
                    HostMessages.networkManagement(
                        code, stan: 60, transmission: sale.transmission, terminalID: "T0001234")
                ))
        }
        return out
    }
}

@Suite struct HostDialectTests {
    @Test func everyRequestPacksWithItsMACAndUnpacksToItself() throws {
        for (name, message) in try HostFixtures.allRequests() {
            let type = try #require(HostMessageType(rawValue: message.mti), "\(name)")
            let packed: [UInt8]
            if type.carriesMAC {
                packed = try HostDialect.pack(message, mac: HostFixtures.retailMAC)
            } else {
                packed = try HostDialect.pack(message)
            }
            var verifier: (([UInt8]) throws -> [UInt8])?
            if type.carriesMAC { verifier = { try HostFixtures.retailMAC($0) } }
            let back = try HostDialect.unpack(packed[...], mac: verifier)
            var expected = message
            if type.carriesMAC {
                let macField = message.fieldNumbers.contains { $0 > 64 } ? 128 : 64
                #expect(back.fieldNumbers.last == macField, "\(name)")
                expected[macField] = back[macField]
            }
            #expect(back == expected, "\(name)")
        }
    }

    @Test func aTamperedMessageFailsMACVerification() throws {
        let packed = try HostDialect.pack(
            try HostMessages.request(HostFixtures.request(.sale)), mac: HostFixtures.retailMAC)
        for index in [0, 5, packed.count / 2, packed.count - 9, packed.count - 1] {
            var tampered = packed
            tampered[index] ^= 0x01
            do {
                _ = try HostDialect.unpack(tampered[...], mac: HostFixtures.retailMAC)
                Issue.record("accepted a change at \(index)")
            } catch let error as ISO8583Error {
                // A change in the MTI, bitmap or a BCD digit may also make the message malformed first.
                #expect(
                    [
                        .macVerificationFailed, .invalidBCDDigit, .unknownField, .invalidMessageTypeIndicator,
                        .truncated, .trailingBytes, .missingField,
                    ].contains(error.code), "\(index): \(error)")
            }
        }
        #expect(throws: ISO8583Error(.macVerificationFailed, reason: "")) {
            var tampered = packed
            tampered[tampered.count - 1] ^= 0x80
            _ = try HostDialect.unpack(tampered[...], mac: HostFixtures.retailMAC)
        }
    }

    @Test func aMessageWithoutMACIsRejectedWhenOneIsRequired() throws {
        let packed = try HostDialect.pack(try HostMessages.request(HostFixtures.request(.sale)))
        #expect(throws: ISO8583Error(.missingField, reason: "")) {
            _ = try HostDialect.unpack(packed[...], mac: HostFixtures.retailMAC)
        }
    }

    @Test func theMACIsTheRetailMACOfEverythingBeforeIt() throws {
        let packed = try HostDialect.pack(
            try HostMessages.request(HostFixtures.request(.sale)), mac: HostFixtures.retailMAC)
        let expected = try ISO9797MAC.algorithm3(Array(packed.dropLast(8)), key: HostFixtures.macKey, padding: .method2)
        #expect(Array(packed.suffix(8)) == expected)
    }

    /// The example of docs/host-interface.md §12, byte for byte (its MAC was also checked with pyemv's
    /// `mac_iso9797_3`).
    static let documentedSaleFrame =
        "00FD0200723C068020C09A151647617390010101190000000000000012501127093015000042173015112722120051000100"
        + "344761739001010119D2212201175892888954303030313233343130343131303037303131303030310156123456789ABCDE"
        + "F010FFFF9876543210E0000100879F26081D0E9AC4A3C5B1F79F2701809F100706010A03A000009F37049A1B2C3D9F360200"
        + "27950500000080009A032611279C01009F02060000000012505F2A020156820238009F1A0201569F3303E0F8C89F34034203"
        + "000000070041494B3033365430303031323334303030303037303030303432303030303030303030303030303032415EADB8"
        + "93416F4193"

    @Test func theDocumentedExampleSale() throws {
        var request = HostFixtures.request(.sale)
        request.transactionReference = 42
        let framed = try HostDialect.frame(
            try HostDialect.pack(try HostMessages.request(request), mac: HostFixtures.retailMAC))
        #expect(Hex.encode(framed) == Self.documentedSaleFrame)
        let bytes = try #require(Hex.decode(Self.documentedSaleFrame))
        #expect(try HostDialect.frameLength(in: bytes[...]) == bytes.count)
        let message = try HostDialect.unpack(bytes.dropFirst(2), mac: { try HostFixtures.retailMAC($0) })
        #expect(message.text(3) == "000000" && message[55]?.tlvNodes == HostFixtures.icc)
    }

    /// Frames of every request, coalesced into one stream, read back through ``HostDialect/frameLength(in:)`` fed
    /// one byte at a time and in random chunks.
    @Test func framedStreamsByteByByteAndCoalesced() throws {
        let messages = try HostFixtures.allRequests().map { try HostDialect.pack($0.1) }
        let stream = try messages.flatMap { try HostDialect.frame($0) }
        var rng = SplitMix(state: 0xF4A3E)
        for chunking in ["byte", "random", "whole"] {
            var buffer: [UInt8] = []
            var received: [[UInt8]] = []
            var position = 0
            while position < stream.count {
                let size =
                    switch chunking {
                    case "byte": 1
                    case "random": Int.random(in: 1...300, using: &rng)
                    default: stream.count
                    }
                buffer += stream[position..<min(stream.count, position + size)]
                position += size
                while let count = try HostDialect.frameLength(in: buffer[...]) {
                    received.append(Array(buffer[2..<count]))
                    buffer.removeFirst(count)
                }
            }
            #expect(received == messages && buffer.isEmpty, "\(chunking)")
        }
    }

    @Test func framing() throws {
        let message = [UInt8](repeating: 0xAB, count: 300)
        let framed = try HostDialect.frame(message)
        #expect(framed.prefix(2) == [0x01, 0x2C])
        for count in 0..<framed.count { #expect(try HostDialect.frameLength(in: framed[..<count]) == nil) }
        #expect(try HostDialect.frameLength(in: (framed + [0x00, 0x05])[...]) == 302)
        #expect(throws: ISO8583Error(.invalidFrame, reason: "")) { try HostDialect.frameLength(in: [0x00, 0x00][...]) }
        #expect(throws: ISO8583Error(.invalidFrame, reason: "")) { try HostDialect.frameLength(in: [0x10, 0x01][...]) }
        #expect(throws: ISO8583Error(.invalidFrame, reason: "")) { try HostDialect.frame([]) }
    }

    @Test func requestFieldsPerKind() throws {
        let sale = try HostMessages.request(HostFixtures.request(.sale))
        #expect(sale.mti == "0200" && sale.text(3) == "000000" && sale.text(4) == "000000001250")
        #expect(sale.text(22) == "051" && sale.text(25) == "00" && sale.text(49) == "156" && sale.text(60) == "000007")
        #expect(sale[35] != nil && sale[52] != nil && sale.bytes(53)?.count == 10 && sale[55] != nil)
        let key = try #require(try PrivateTaggedData(encoded: sale.text(62) ?? "")[.idempotencyKey])
        #expect(key == "T0001234" + "000007" + "000042" + "000000000001002A")

        let preAuth = try HostMessages.request(HostFixtures.request(.preAuthorization))
        #expect(preAuth.mti == "0100" && preAuth.text(25) == "06")
        let balance = try HostMessages.request(HostFixtures.request(.balanceInquiry))
        #expect(balance.text(3) == "310000" && balance[4] == nil && balance[49] == nil)
        let void = try HostMessages.request(HostFixtures.request(.void))
        #expect(void.text(3) == "220000" && void.text(61) == "000007000041" + "1127" + "332917000041" + "A1B2C3")
        let qr = try HostMessages.request(HostFixtures.request(.qrPayment))
        #expect(qr.text(3) == "900000" && qr.text(22) == "031" && qr[2] == nil && qr[35] == nil)
        #expect(try PrivateTaggedData(encoded: qr.text(62) ?? "")[.qrCode] == "134501234567890123")
        let query = try HostMessages.request(HostFixtures.request(.qrQuery))
        #expect(query.text(3) == "910000" && query[4] == nil)
        #expect(try HostMessages.request(HostFixtures.request(.prepaidTopUp)).text(3) == "280000")
        let activation = try HostMessages.request(HostFixtures.request(.prepaidActivation))
        #expect(activation.text(3) == "720000")
        #expect(try PrivateTaggedData(encoded: activation.text(62) ?? "")[.prepaidActivationCode] == "ACT-7731")
        #expect(try HostMessages.request(HostFixtures.request(.refund)).text(3) == "200000")
    }

    @Test func kindsComeBackFromMTIAndProcessingCode() {
        for kind in TransactionKind.allCases {
            #expect(TransactionKind(messageType: kind.requestType, processingCode: kind.processingCode) == kind)
        }
    }

    @Test func missingDataIsReportedByField() {
        var void = HostFixtures.request(.void)
        void.original = nil
        #expect(throws: ISO8583Error(.missingField, reason: "")) { try HostMessages.request(void) }
        var sale = HostFixtures.request(.sale)
        sale.card = CardData()
        do {
            _ = try HostMessages.request(sale)
        } catch let error as ISO8583Error {
            #expect(error.code == .missingField && error.field == 2)
        } catch { Issue.record("\(error)") }
        var qr = HostFixtures.request(.qrPayment)
        qr.qrCode = nil
        #expect(throws: ISO8583Error(.missingField, reason: "")) { try HostMessages.request(qr) }
    }

    @Test func reversalCarriesTheOriginalAndNoSensitiveAuthenticationData() throws {
        let sale = HostFixtures.request(.sale)
        let reversal = try HostMessages.reversal(
            of: sale, reason: .cardDeclinedAfterApproval, issuerScriptResults: [0x20, 0, 0, 0, 0])
        #expect(reversal.mti == "0400")
        #expect(reversal[35] == nil && reversal[52] == nil && reversal[53] == nil)
        #expect(reversal.text(2) == "4761739001010119" && reversal.text(11) == "000042")
        #expect(reversal.text(90) == "0200" + "000042" + "1127093015" + String(repeating: "0", count: 22))
        let tagged = try PrivateTaggedData(encoded: reversal.text(62) ?? "")
        #expect(tagged[.reversalReason] == "4007" && tagged[.idempotencyKey] == sale.idempotencyKey)
        let nodes = try #require(reversal[55]?.tlvNodes)
        #expect(nodes.last?.tag == TLVTag(0x9F5B) && Array(nodes.last?.value ?? []) == [0x20, 0, 0, 0, 0])
        // From track 2 alone, the PAN comes from track 2.
        var swiped = sale
        swiped.card = CardData(track2: "4761739001010119=22122011758928889")
        #expect(try HostMessages.reversal(of: swiped, reason: .timeout).text(2) == "4761739001010119")
    }

    @Test func offlineAdviceAndBatchUpload() throws {
        let sale = HostFixtures.request(.sale)
        let advice = try HostMessages.offlineAdvice(sale, decision: .offlineApproved)
        #expect(advice.mti == "0220" && advice.text(39) == "Y1" && advice[52] == nil && advice[35] == nil)
        let completion = try HostMessages.offlineAdvice(
            sale, decision: .approved, authorizationCode: "A1B2C3", issuerScriptResults: [0x20, 0, 0, 0, 0])
        #expect(completion.text(39) == "00" && completion.text(38) == "A1B2C3")
        #expect(completion[55]?.tlvNodes?.last?.tag == TLVTag(0x9F5B))
        let upload = try HostMessages.batchUpload(
            sale, responseCode: .approved, retrievalReference: "332917000042", authorizationCode: "A1B2C3")
        #expect(upload.mti == "0320" && upload.text(37) == "332917000042" && upload.text(38) == "A1B2C3")
        #expect(upload[52] == nil && upload[35] == nil)
    }

    @Test func responsesAreReadAgainstTheirRequest() throws {
        let request = try HostMessages.request(HostFixtures.request(.sale))
        let issuerData = [
            TLVNode(tag: TLVTag(0x91), value: Hex.decode("3A4B5C6D7E8F90A13030") ?? []),
            TLVNode(tag: TLVTag(0x8A), value: [0x30, 0x30]),
        ]
        let response = try HostMessages.response(
            to: request, responseCode: .approved,
            fields: [
                37: .text("332917000042"), 38: .text("A1B2C3"), 55: .tlv(issuerData),
            ])
        let packed = try HostDialect.pack(response, mac: HostFixtures.retailMAC)
        let read = try HostResponse(
            try HostDialect.unpack(packed[...], mac: HostFixtures.retailMAC), answering: request)
        #expect(read.responseCode == .approved && read.responseCode.outcome == .approved)
        #expect(read.retrievalReference == "332917000042" && read.authorizationCode == "A1B2C3")
        #expect(read.issuerData == issuerData)

        var wrongSTAN = response
        wrongSTAN[11] = .text("000043")
        #expect(throws: ISO8583Error(.invalidFieldContent, reason: "")) {
            try HostResponse(wrongSTAN, answering: request)
        }
        var wrongType = response
        wrongType.mti = "0410"
        #expect(throws: ISO8583Error(.unexpectedMessageType, reason: "")) {
            try HostResponse(wrongType, answering: request)
        }
        var noCode = response
        noCode[39] = nil
        #expect(throws: ISO8583Error(.missingField, reason: "")) { try HostResponse(noCode, answering: request) }
    }

    @Test func balancesSettlementAndKeyExchangeResponses() throws {
        let balance = try HostMessages.request(HostFixtures.request(.balanceInquiry))
        let amounts = [
            AdditionalAmount(accountType: "00", amountType: "02", currencyCode: "156", amount: 123_456),
            AdditionalAmount(accountType: "00", amountType: "01", currencyCode: "156", amount: -500),
        ]
        let answer = try HostMessages.response(
            to: balance, responseCode: .approved,
            fields: [
                54: .text(amounts.map(\.encoded).joined())
            ])
        #expect(try HostResponse(answer, answering: balance).balances == amounts)

        let totals = SettlementTotals(
            saleCount: 12, saleAmount: 99_900, refundCount: 1, refundAmount: 1250, currencyCode: "156")
        let settlement = HostMessages.settlement(
            terminalID: "T0001234", merchantID: "104110070110001", batchNumber: 7, stan: 50,
            transmission: HostDateTime(month: 11, day: 27, hour: 20, minute: 0, second: 0),
            local: HostDateTime(month: 11, day: 27, hour: 23, minute: 0, second: 0), totals: totals)
        #expect(settlement.text(63) == "0012000000099900000100000000125015" + "6")
        let settled = try HostMessages.response(
            to: settlement, responseCode: .reconciliationError,
            fields: [
                15: .text("1128"), 63: .text(totals.encoded),
            ])
        let read = try HostResponse(settled, answering: settlement)
        #expect(read.settlementTotals == totals && read.responseCode.outcome == .declined && read.hostDate == "1128")

        let keyExchange = HostMessages.networkManagement(
            .keyExchange, stan: 60, transmission: HostDateTime(month: 1, day: 2, hour: 3, minute: 4, second: 5),
            terminalID: "T0001234")
        let keyAnswer = try HostMessages.response(
            to: keyExchange, responseCode: .approved,
            fields: [
                63: .text("B0096M0TB00N0000" + String(repeating: "0", count: 80))
            ])
        #expect(try HostResponse(keyAnswer, answering: keyExchange).keyBlock?.hasPrefix("B0096M0TB00N") == true)
    }

    @Test func responseCodeTable() {
        #expect(HostResponseCode.requestInProgress.outcome == .inProgress)
        #expect(HostResponseCode.issuerUnavailable.outcome == .unavailable)
        #expect(HostResponseCode.offlineApproved.outcome == .offline)
        #expect(HostResponseCode.insufficientFunds.outcome == .declined)
        #expect(HostResponseCode(rawValue: "ZZ")?.outcome == .declined)
        #expect(HostResponseCode.insufficientFunds.description == "51 Insufficient funds")
        #expect(Set(HostResponseCode.table.map(\.code.rawValue)).count == HostResponseCode.table.count)
    }

    @Test func privateTaggedDataRejectsMalformedText() {
        for text in ["IK0", "IK01", "IKX01A", "IK005ABC"] {
            #expect(throws: ISO8583Error(.invalidFieldContent, reason: "")) { try PrivateTaggedData(encoded: text) }
        }
    }

    @Test func descriptionsMaskCardData() throws {
        let message = try HostMessages.request(HostFixtures.request(.sale))
        let text = message.description + HostFixtures.chipCard.description
        #expect(text.contains("476173******0119"))
        #expect(!text.contains("4761739001010119") && !text.contains("2212201175892888"))
        #expect(!text.contains("123456789ABCDEF0"))
    }
}
