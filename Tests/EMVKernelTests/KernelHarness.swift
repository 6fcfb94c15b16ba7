import Codecs
import EMVKernel
import PaymentCrypto

// A tiny scripted card and driver for the kernel's event→action tables.

/// Hex to bytes for fixtures ("9F02 06" style spaces allowed); traps on bad hex (test fixtures only).
func h(_ text: String) -> [UInt8] {
    guard let bytes = Hex.decode(text.filter { !$0.isWhitespace }) else {
        preconditionFailure("bad hex fixture \(text)")
    }
    return bytes
}

/// One BER-TLV object from a tag and value.
func tlv(_ tag: UInt32, _ value: [UInt8]) -> [UInt8] {
    var s = TLVSerializer()
    s.appendPrimitive(tag: TLVTag(tag), value: value)
    return s.serializedBytes
}

/// A constructed object from its already encoded children.
func tlv(_ tag: UInt32, children: [[UInt8]]) -> [UInt8] {
    let value = children.flatMap { $0 }
    var out = TLVTag(tag).bytes
    if value.count < 0x80 {
        out.append(UInt8(value.count))
    } else if value.count < 0x100 {
        out += [0x81, UInt8(value.count)]
    } else {
        out += [0x82, UInt8(value.count >> 8), UInt8(value.count & 0xFF)]
    }
    return out + value
}

func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Random bytes from a fixed list, repeated: pins the Unpredictable Number (first 4 bytes) and the random
/// selection byte (fifth).
struct PinnedRandom: RandomSource {
    var values: [UInt8]
    func bytes(_ count: Int) throws -> [UInt8] {
        struct Exhausted: Error {}
        guard !values.isEmpty else { throw Exhausted() }
        return (0..<count).map { values[$0 % values.count] }
    }
}

/// A card that answers commands from a table: the key is CLA INS P1 P2 in hex, plus the data for SELECT.
/// Each key holds a queue of answers; the last one repeats. Unknown commands get '6D00'.
struct ScriptedCard {
    var answers: [String: [ResponseAPDU]] = [:]

    static func key(_ command: CommandAPDU) -> String {
        Hex.encode([command.cla, command.ins, command.p1, command.p2] + (command.ins == 0xA4 ? command.data : []))
    }

    static func key(_ header: String, _ data: [UInt8] = []) -> String {
        Hex.encode(h(header) + data)
    }

    mutating func set(_ header: String, _ data: [UInt8] = [], _ responses: ResponseAPDU...) {
        answers[Self.key(header, data)] = responses
    }

    mutating func respond(_ command: CommandAPDU) -> ResponseAPDU {
        let k = Self.key(command)
        guard var queue = answers[k], let first = queue.first else {
            return ResponseAPDU(statusWord: .instructionNotSupported)
        }
        if queue.count > 1 {
            queue.removeFirst()
            answers[k] = queue
        }
        return first
    }
}

func ok(_ data: [UInt8]) -> ResponseAPDU { ResponseAPDU(data: data, statusWord: .normalProcessing) }
func sw(_ value: UInt16) -> ResponseAPDU { ResponseAPDU(statusWord: StatusWord(rawValue: value)) }

let visaAID = h("A0000000031010")
let visaElectronAID = h("A0000000032010")
let testPAN = h("4761739001010010")

/// The terminal of most tests: attended, offline with online capability, every CVM and ODA method.
func terminalParameters(
    terminalType: UInt8 = 0x22, capabilities: [UInt8] = h("E0F8C8"), partial: Bool = true, floorLimit: Int = 10_000,
    randomThreshold: Int = 0, randomTarget: Int = 0, randomMaximum: Int = 0, tacDenial: [UInt8] = h("0000000000"),
    tacOnline: [UInt8] = h("0000000000"), tacDefault: [UInt8] = h("0000000000"), exceptionFile: Set<String> = [],
    applications: [ApplicationParameters]? = nil
) -> TerminalParameters {
    let visa = ApplicationParameters(
        aid: h("A000000003"), allowsPartialSelection: partial, name: "VISA", applicationVersions: [h("008C")],
        tacDenial: tacDenial, tacOnline: tacOnline, tacDefault: tacDefault, floorLimit: floorLimit,
        randomSelectionThreshold: randomThreshold, randomSelectionTargetPercentage: randomTarget,
        randomSelectionMaximumTargetPercentage: randomMaximum, defaultDDOL: h("9F3704"), defaultTDOL: [])
    return TerminalParameters(
        terminal: TerminalConfiguration(
            terminalType: terminalType, capabilities: capabilities, additionalCapabilities: h("6000F0A001"),
            countryCode: 156, currencyCode: 156, currencyExponent: 2, merchantCategoryCode: 5411,
            terminalIdentification: "TERM0001", merchantIdentifier: "MERCHANT0000001",
            merchantNameAndLocation: "SHOP", interfaceDeviceSerialNumber: "SN000001"),
        applications: applications ?? [visa], caKeys: [], exceptionFile: exceptionFile)
}

func transaction(
    amount: Int = 5_000, other: Int = 0, type: EMVTransaction.TransactionType = .purchase, forceOnline: Bool = false
) -> EMVTransaction {
    EMVTransaction(
        amountAuthorised: amount, amountOther: other, transactionType: type,
        date: EMVDate(year: 2026, month: 11, day: 27)!, hour: 17, minute: 30, second: 5, sequenceCounter: 42,
        forceOnline: forceOnline)
}

/// The data a test card carries; tests change fields, then build the card.
struct CardProfile {
    var aid = visaAID
    var label = "VISA CREDIT"
    var priority: UInt8? = 0x01
    var languages = "zhen"
    var pdol: [UInt8]? = h("9F0206 9F3704 9F1A02 9F3303")
    var aip: [UInt8] = h("1800")
    var afl: [UInt8] = h("08010100 10010200")
    var gpoFormat1 = false
    var pan = testPAN
    var expiry = h("301231")
    var effective: [UInt8]? = h("200101")
    var issuerCountry: [UInt8]? = h("0156")
    var auc: [UInt8]? = h("FF00")
    var version: [UInt8]? = h("008C")
    var cvmList: [UInt8]? = h("00000000 00000000 1F00")
    var iacDenial: [UInt8]? = h("0000000000")
    var iacOnline: [UInt8]? = h("0000000000")
    var iacDefault: [UInt8]? = h("0000000000")
    var cdol1 = h("9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704")
    var cdol2 = h("8A02 9505 9F3704 910A")
    var lcol: [UInt8]? = nil
    var ucol: [UInt8]? = nil
    var applicationCurrency: [UInt8]? = h("0156")
    var extraRecordData: [UInt8] = []
    /// The CID the card answers to the first GENERATE AC: by default what was asked for.
    var firstCID: UInt8? = nil
    var secondCID: UInt8? = nil

    var fci: [UInt8] {
        var proprietary = [tlv(0x50, ascii(label))]
        if let priority { proprietary.append(tlv(0x87, [priority])) }
        proprietary.append(tlv(0x5F2D, ascii(languages)))
        if let pdol { proprietary.append(tlv(0x9F38, pdol)) }
        return tlv(0x6F, children: [tlv(0x84, aid), tlv(0xA5, children: proprietary)])
    }

    var gpo: [UInt8] {
        gpoFormat1 ? tlv(0x80, aip + afl) : tlv(0x77, children: [tlv(0x82, aip), tlv(0x94, afl)])
    }

    var record1: [UInt8] {
        tlv(0x70, children: [tlv(0x57, h("4761739001010010D30122011143804400000F")), tlv(0x5F20, ascii("TEST/CARD"))])
    }

    var record2: [UInt8] {
        var items: [[UInt8]] = [
            tlv(0x5A, pan), tlv(0x5F24, expiry), tlv(0x5F34, [0x01]), tlv(0x8C, cdol1), tlv(0x8D, cdol2),
        ]
        if let effective { items.append(tlv(0x5F25, effective)) }
        if let issuerCountry { items.append(tlv(0x5F28, issuerCountry)) }
        if let auc { items.append(tlv(0x9F07, auc)) }
        if let version { items.append(tlv(0x9F08, version)) }
        if let cvmList { items.append(tlv(0x8E, cvmList)) }
        return tlv(0x70, children: items)
    }

    var record3: [UInt8] {
        var items: [[UInt8]] = []
        if let iacDenial { items.append(tlv(0x9F0E, iacDenial)) }
        if let iacOnline { items.append(tlv(0x9F0F, iacOnline)) }
        if let iacDefault { items.append(tlv(0x9F0D, iacDefault)) }
        if let lcol { items.append(tlv(0x9F14, lcol)) }
        if let ucol { items.append(tlv(0x9F23, ucol)) }
        if let applicationCurrency { items.append(tlv(0x9F42, applicationCurrency)) }
        return tlv(0x70, children: items) + []
    }

    /// A card answering SELECT by AID (no PSE), GPO and the three records; GENERATE AC answers the requested type.
    func card(pse: Bool = false) -> ScriptedCard {
        var card = ScriptedCard()
        if pse {
            card.set(
                "00A40400", ascii("1PAY.SYS.DDF01"),
                ok(tlv(0x6F, children: [tlv(0x84, ascii("1PAY.SYS.DDF01")), tlv(0xA5, children: [tlv(0x88, [0x0B])])])))
            var entry = [tlv(0x4F, aid), tlv(0x50, ascii(label))]
            if let priority { entry.append(tlv(0x87, [priority])) }
            card.set("00B2015C", [], ok(tlv(0x70, children: [tlv(0x61, children: entry)])))
            card.set("00B2025C", [], sw(0x6A83))
        } else {
            card.set("00A40400", ascii("1PAY.SYS.DDF01"), sw(0x6A82))
        }
        card.set("00A40400", h("A000000003"), ok(fci))
        card.set("00A40402", h("A000000003"), sw(0x6A82))
        card.set("00A40400", aid, ok(fci))
        card.set("80A80000", [], ok(gpo))
        card.set("00B2010C", [], ok(record1))
        card.set("00B20114", [], ok(record2))
        card.set("00B20214", [], ok(record3 + extraRecordData))
        for p1: UInt8 in [0x00, 0x40, 0x80, 0x10, 0x50, 0x90] {
            let cid = p1 & 0xC0
            card.set(Hex.encode([0x80, 0xAE, p1, 0x00]), [], ok(Self.generateAC(cid: cid)))
        }
        return card
    }

    static func generateAC(cid: UInt8, atc: [UInt8] = h("0001")) -> [UInt8] {
        tlv(
            0x77,
            children: [
                tlv(0x9F27, [cid]), tlv(0x9F36, atc), tlv(0x9F26, h("1122334455667788")),
                tlv(0x9F10, h("06010A03A00000")),
            ])
    }
}

/// Drives a kernel against a scripted card; non-card actions are answered by `respond`.
struct Harness {
    var kernel: EMVContactKernel
    var card: ScriptedCard
    var actions: [KernelAction] = []
    var commands: [CommandAPDU] = []
    var outcome: KernelOutcome?
    var respond: (KernelAction) -> KernelEvent?
    /// Stop before answering the command with this INS (to inject events such as card removal).
    var stopBeforeINS: UInt8?

    init(
        parameters: TerminalParameters = terminalParameters(), transaction: EMVTransaction = transaction(),
        card: ScriptedCard, random: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4, 0x32],
        respond: @escaping (KernelAction) -> KernelEvent? = Harness.defaultResponse
    ) {
        kernel = EMVContactKernel(
            parameters: parameters, transaction: transaction, random: PinnedRandom(values: random))
        self.card = card
        self.respond = respond
    }

    static func defaultResponse(_ action: KernelAction) -> KernelEvent? {
        switch action {
        case .chooseApplication: .applicationChosen(index: 0)
        case .enterOnlinePIN: .onlinePIN(.entered)
        case .verifyOfflinePIN: .offlinePINVerified(.normalProcessing)
        case .lookupTransactionLog: .transactionLogTotal(0)
        case .goOnline: .onlineResponse(OnlineResponse(responseCode: "00", authorizationCode: "123456"))
        default: nil
        }
    }

    /// Runs from `start()` to completion (or to `stopBeforeINS`).
    @discardableResult
    mutating func run() -> KernelOutcome? {
        drive(kernel.start())
        return outcome
    }

    mutating func send(_ event: KernelEvent) {
        drive(kernel.handle(event))
    }

    mutating func drive(_ initial: [KernelAction]) {
        var queue = initial
        var steps = 0
        while !queue.isEmpty {
            steps += 1
            precondition(steps < 500, "runaway kernel")
            let action = queue.removeFirst()
            actions.append(action)
            switch action {
            case .transmit(let command):
                if command.ins == stopBeforeINS { return }
                commands.append(command)
                let answer = card.respond(command)
                queue += kernel.handle(.response(answer))
            case .complete(let result):
                outcome = result
            default:
                if let event = respond(action) { queue += kernel.handle(event) }
            }
        }
    }

    /// The commands sent, as "CLA INS P1 P2" hex (plus the name for SELECT).
    var commandKeys: [String] { commands.map(ScriptedCard.key) }

    var messages: [KernelMessage] {
        actions.compactMap { if case .show(let m) = $0 { m } else { nil } }
    }

    var decision: KernelDecision? { outcome?.decision }
    var tvr: TerminalVerificationResults { outcome?.tvr ?? [] }

    /// The first GENERATE AC's P1.
    var generateACReferenceControls: [UInt8] { commands.filter { $0.ins == 0xAE }.map(\.p1) }
}
