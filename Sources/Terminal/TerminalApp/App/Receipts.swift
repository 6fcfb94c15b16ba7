import Codecs
public import DeviceKit
import PaymentCrypto
public import Store
public import TerminalUI
import Uplink

/// Receipts and reports as printer documents (docs/merchant-operations.md): the same ``PrintDocument`` goes to the
/// ESC/POS printer of a board and to the sim board's text (and PNG) files. Headers are bilingual (zh-CN and en)
/// whatever the language; the labels follow the receipt language. Card numbers are masked to the first six and the
/// last four digits at most; nothing of track 2, the PIN or keys is ever printed.
public enum Receipts {
    /// Who a receipt copy is for.
    public enum Copy: Sendable, Equatable, CaseIterable { case merchant, customer }

    /// The merchant and terminal lines at the top of every document.
    public struct Header: Sendable, Equatable {
        public var merchantName: String
        public var terminalID: String
        public var merchantID: String
        public init(merchantName: String, terminalID: String, merchantID: String) {
            self.merchantName = merchantName
            self.terminalID = terminalID
            self.merchantID = merchantID
        }
    }

    /// What a chip (or contactless chip) receipt shows of the EMV data.
    public struct ChipData: Sendable, Equatable {
        /// Terminal verification results (TVR, tag '95'), hex.
        public var tvr: String?
        /// Transaction status information (TSI, tag '9B'), hex.
        public var tsi: String?
        /// "ARQC", "TC" or "AAC", from the cryptogram information data (tag '9F27').
        public var cryptogramType: String?
        /// The application cryptogram (tag '9F26'), hex.
        public var cryptogram: String?
        public init(tvr: String? = nil, tsi: String? = nil, cryptogramType: String? = nil, cryptogram: String? = nil) {
            self.tvr = tvr
            self.tsi = tsi
            self.cryptogramType = cryptogramType
            self.cryptogram = cryptogram
        }

        /// Reads the tags a receipt shows from field 55 (the card's final data: after an online approval, the TC).
        public init?(field55 bytes: [UInt8]) {
            guard let nodes = try? TLVNode.sequence(tlvEncoded: bytes), !nodes.isEmpty else { return nil }
            func value(_ tag: UInt32) -> [UInt8]? { nodes.first { $0.tag.rawValue == tag }.map { Array($0.value) } }
            let cid = value(0x9F27)?.first
            let type: String? = cid.map { cid in
                switch cid & 0xC0 {
                case 0x40: "TC"
                case 0x80: "ARQC"
                default: "AAC"
                }
            }
            self.init(tvr: value(0x95).map { Hex.encode($0) }, tsi: value(0x9B).map { Hex.encode($0) }, cryptogramType: type,
                      cryptogram: value(0x9F26).map { Hex.encode($0) })
        }
    }

    /// One transaction as its receipt shows it.
    public struct Transaction: Sendable, Equatable {
        public var kind: Store.TransactionKind
        public var rail: Rail
        public var amountMinor: Int
        public var currency: Currency
        /// First six and last four digits at most.
        public var maskedPAN: String?
        public var aid: String?
        public var applicationLabel: String?
        public var chip: ChipData?
        /// The QR wallet ("微信支付"/"WeChat Pay").
        public var wallet: String?
        /// A QR payment's order id, masked.
        public var maskedOrderID: String?
        /// A prepaid card's balance after the transaction, in minor units.
        public var balanceAfterMinor: Int?
        public var stan: Int
        public var batch: Int
        public var retrievalReference: String?
        public var authorizationCode: String?
        public var offline: Bool
        public var approved: Bool
        public var signatureRequired: Bool
        /// Local date and time as printed ("2026-11-27 09:30:15").
        public var localTime: String
        /// A copy printed again from the journal.
        public var reprint: Bool
        /// A refund's or void's original sale: its retrieval reference number (the reference on the sale's receipt).
        public var originalReference: String? = nil

        public init(
            kind: Store.TransactionKind, rail: Rail, amountMinor: Int, currency: Currency, stan: Int, batch: Int, localTime: String,
            approved: Bool = true, offline: Bool = false, maskedPAN: String? = nil, aid: String? = nil, applicationLabel: String? = nil,
            chip: ChipData? = nil, wallet: String? = nil, maskedOrderID: String? = nil, balanceAfterMinor: Int? = nil,
            retrievalReference: String? = nil, authorizationCode: String? = nil, signatureRequired: Bool = false, reprint: Bool = false
        ) {
            self.kind = kind
            self.rail = rail
            self.amountMinor = amountMinor
            self.currency = currency
            self.stan = stan
            self.batch = batch
            self.localTime = localTime
            self.approved = approved
            self.offline = offline
            self.maskedPAN = maskedPAN
            self.aid = aid
            self.applicationLabel = applicationLabel
            self.chip = chip
            self.wallet = wallet
            self.maskedOrderID = maskedOrderID
            self.balanceAfterMinor = balanceAfterMinor
            self.retrievalReference = retrievalReference
            self.authorizationCode = authorizationCode
            self.signatureRequired = signatureRequired
            self.reprint = reprint
        }

        /// A journal record as a receipt (a reprint): the masked PAN, AID and label of the record, the chip data
        /// from its (unsealed) field 55, the QR order id masked.
        public init(record: TransactionRecord, card: Store.CardData?, currency: Currency, localTime: String, reprint: Bool = true) {
            let chip = card?.field55.flatMap { sealed in sealed.withUnsafeBytes { ChipData(field55: Array($0)) } }
            self.init(
                kind: record.kind, rail: record.rail, amountMinor: Int(record.amountMinor), currency: currency, stan: record.id.stan,
                batch: record.id.batch, localTime: localTime, approved: [.approved, .offlineApproved].contains(record.status),
                offline: record.offline, maskedPAN: record.maskedPAN, aid: record.aid, applicationLabel: record.applicationLabel,
                chip: chip, maskedOrderID: record.rail == .qr ? Receipts.maskedReference(record.id.txnRef) : nil,
                retrievalReference: record.retrievalReferenceNumber, authorizationCode: record.authorizationCode,
                signatureRequired: record.signatureRequired, reprint: reprint)
        }
    }

    // MARK: Documents

    /// A receipt copy.
    public static func receipt(_ transaction: Transaction, header: Header, copy: Copy, language: Language) -> PrintDocument {
        let l = Labels(language)
        var elements: [PrintDocument.Element] = [
            .text(header.merchantName, alignment: .center, emphasis: true),
            .text(title(transaction.kind), alignment: .center, emphasis: true),
            .text(copy == .merchant ? "商户存根 MERCHANT COPY" : "持卡人存根 CUSTOMER COPY", alignment: .center),
        ]
        if transaction.reprint { elements.append(.text("重打印 REPRINT", alignment: .center)) }
        elements += [
            line(l.terminal, header.terminalID),
            line(l.merchant, header.merchantID),
            line(l.time, transaction.localTime),
            line(l.batch, six(transaction.batch)),
            line(l.stan, six(transaction.stan)),
        ]
        if let pan = transaction.maskedPAN {
            elements.append(line(l.card, Receipts.masked(pan) + (transaction.rail == .emvContactless ? " (C)" : transaction.chip != nil ? " (I)" : "")))
        }
        if let label = transaction.applicationLabel, !label.isEmpty { elements.append(line(l.application, label)) }
        if let aid = transaction.aid { elements.append(line("AID", aid)) }
        if let chip = transaction.chip {
            if let tvr = chip.tvr { elements.append(line("TVR", tvr)) }
            if let tsi = chip.tsi { elements.append(line("TSI", tsi)) }
            if let type = chip.cryptogramType, let ac = chip.cryptogram { elements.append(.text(type + " " + ac)) }
        }
        if let wallet = transaction.wallet { elements.append(line(l.wallet, wallet)) }
        if let order = transaction.maskedOrderID { elements.append(line(l.order, order)) }
        if let code = transaction.authorizationCode, !code.isEmpty { elements.append(line(l.authorization, code)) }
        if let rrn = transaction.retrievalReference, !rrn.isEmpty { elements.append(line(l.reference, rrn)) }
        if let original = transaction.originalReference, !original.isEmpty { elements.append(line(l.originalReference, original)) }
        let amount = transaction.currency.display(minorUnits: transaction.kind == .sale ? transaction.amountMinor : -transaction.amountMinor, language: language)
        elements += [.text(l.amount + ":"), .text(amount, alignment: .right, emphasis: true, doubleSize: true)]
        if let balance = transaction.balanceAfterMinor {
            elements.append(line(l.balance, transaction.currency.display(minorUnits: balance, language: language)))
        }
        let result = transaction.approved ? (transaction.offline ? "脱机批准 APPROVED OFFLINE" : "交易成功 APPROVED") : "交易失败 DECLINED"
        elements.append(.text(result, alignment: .center, emphasis: true))
        if copy == .merchant, transaction.signatureRequired {
            elements += [.feed(1), .text(l.signature), .feed(2), .text(String(repeating: "_", count: 32))]
        }
        elements.append(.feed(3))
        return PrintDocument(elements)
    }

    /// The X report: the open batch's totals so far, per rail and kind, nothing closed.
    public static func xReport(_ totals: BatchTotals, header: Header, time: String, language: Language) -> PrintDocument {
        report(title: "结算前报表 X REPORT", totals: totals, header: header, time: time, language: language, footer: [])
    }

    /// The Z report: a settled batch, printed after the host's answer.
    public static func zReport(_ settled: SettlementService.Report, header: Header, time: String, language: Language) -> PrintDocument {
        let l = Labels(language)
        var footer: [PrintDocument.Element] = [
            .text(l.settledRails),
        ]
        for total in settled.terminalTotals {
            let currency = Currency.known.first { $0.numericCode == Int(total.currencyCode) }
            func money(_ minor: UInt64) -> String {
                currency?.display(minorUnits: Int(clamping: minor), language: language) ?? "\(minor) (\(total.currencyCode))"
            }
            footer += [
                line(l.sales + " \(total.saleCount)", money(total.saleAmount)),
                line(l.refunds + " \(total.refundCount)", money(total.refundAmount)),
            ]
        }
        footer.append(.text(settled.balanced ? "对账平 BALANCED" : "对账不平 NOT BALANCED", alignment: .center, emphasis: true))
        if settled.uploaded > 0 { footer.append(line(l.uploaded, "\(settled.uploaded)")) }
        footer.append(line(l.nextBatch, six(settled.nextBatch)))
        return report(title: "结算报表 Z REPORT", totals: settled.totals, header: header, time: time, language: language, footer: footer)
    }

    static func report(
        title: String, totals: BatchTotals, header: Header, time: String, language: Language, footer: [PrintDocument.Element]
    ) -> PrintDocument {
        let l = Labels(language)
        var elements: [PrintDocument.Element] = [
            .text(header.merchantName, alignment: .center, emphasis: true),
            .text(title, alignment: .center, emphasis: true),
            line(l.terminal, header.terminalID),
            line(l.merchant, header.merchantID),
            line(l.time, time),
            line(l.batch, six(totals.batch)),
            .text(String(repeating: "-", count: 32)),
        ]
        if totals.lines.isEmpty { elements.append(.text(l.empty)) }
        for rail in Rail.allCases {
            let lines = totals.lines.filter { $0.rail == rail }
            guard !lines.isEmpty else { continue }
            elements.append(.text(l.rail(rail), emphasis: true))
            for item in lines {
                let currency = Currency.known.first { $0.numericCode == item.currency }
                let amount = currency?.display(minorUnits: Int(item.amountMinor), language: language) ?? "\(item.amountMinor) (\(item.currency))"
                elements.append(line(" " + l.kind(item.kind) + " \(item.count)", amount))
            }
        }
        elements.append(.text(String(repeating: "-", count: 32)))
        elements += footer
        elements.append(.feed(3))
        return PrintDocument(elements)
    }

    // MARK: Helpers

    /// "label" on the left, "value" on the right of the 32 columns (on one line when both fit).
    static func line(_ label: String, _ value: String) -> PrintDocument.Element {
        let used = CharacterGrid.cellWidth(of: label) + CharacterGrid.cellWidth(of: value)
        return .text(used < 32 ? label + String(repeating: " ", count: 32 - used) + value : label + " " + value)
    }

    static func six(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// A masked PAN kept at six and four at most even when the record's mask shows more.
    static func masked(_ pan: String) -> String {
        let characters = Array(pan)
        guard characters.count > 10 else { return String(repeating: "*", count: characters.count) }
        return characters.enumerated().map { index, c in index < 6 || index >= characters.count - 4 ? String(c) : "*" }.joined()
    }

    /// An order id or reference: first six and last four, the rest `*`.
    static func maskedReference(_ reference: String) -> String { masked(reference) }

    static func title(_ kind: Store.TransactionKind) -> String {
        switch kind {
        case .sale: "签购单 SALE"
        case .refund: "退货 REFUND"
        case .void: "撤销 VOID"
        case .balance: "余额查询 BALANCE"
        case .topup: "充值 TOP-UP"
        case .issue: "开卡 CARD ISSUE"
        case .qrQuery: "查询 QUERY"
        }
    }

    /// The receipt labels in one language.
    struct Labels {
        let language: Language
        init(_ language: Language) { self.language = language }
        func t(_ zh: String, _ en: String) -> String { language == .zhCN ? zh : en }
        var terminal: String { t("终端号", "TERMINAL") }
        var merchant: String { t("商户号", "MERCHANT") }
        var time: String { t("时间", "TIME") }
        var batch: String { t("批次号", "BATCH") }
        var stan: String { t("凭证号", "TRACE") }
        var card: String { t("卡号", "CARD") }
        var application: String { t("应用", "APP") }
        var wallet: String { t("钱包", "WALLET") }
        var order: String { t("订单号", "ORDER") }
        var authorization: String { t("授权码", "AUTH CODE") }
        var reference: String { t("参考号", "REF NO") }
        var originalReference: String { t("原参考号", "ORIG REF NO") }
        var amount: String { t("金额", "AMOUNT") }
        var balance: String { t("余额", "BALANCE") }
        var signature: String { "持卡人签名 CARDHOLDER SIGNATURE:" }
        var empty: String { t("本批次无交易", "NO TRANSACTIONS") }
        var settledRails: String { t("与收单行结算(银行卡):", "SETTLED WITH ACQUIRER (CARDS):") }
        var sales: String { t("消费", "SALES") }
        var refunds: String { t("退货", "REFUNDS") }
        var uploaded: String { t("批上送笔数", "BATCH UPLOADED") }
        var nextBatch: String { t("新批次号", "NEXT BATCH") }
        func rail(_ rail: Rail) -> String {
            switch rail {
            case .emvContact: t("银行卡(接触)", "CARD (CHIP)")
            case .emvContactless: t("银行卡(非接)", "CARD (CONTACTLESS)")
            case .qr: t("扫码支付", "QR PAYMENTS")
            case .prepaid: t("预付卡", "PREPAID")
            }
        }
        func kind(_ kind: Store.TransactionKind) -> String {
            switch kind {
            case .sale: t("消费", "SALE")
            case .refund: t("退货", "REFUND")
            case .void: t("撤销", "VOID")
            case .balance: t("查询", "BALANCE")
            case .topup: t("充值", "TOP-UP")
            case .issue: t("开卡", "ISSUE")
            case .qrQuery: t("查询", "QUERY")
            }
        }
    }
}
