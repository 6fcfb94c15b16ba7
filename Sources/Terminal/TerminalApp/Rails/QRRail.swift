public import Codecs
public import DeviceKit
internal import LinuxDevices
public import QRGatewaySimulator
public import TerminalUI

/// The QR payment rail: customer-presented codes (the scanner delivers a WeChat Pay, Alipay or UnionPay payment code,
/// or an EMVCo consumer-presented code) and merchant-presented codes (the terminal shows a dynamic EMVCo MPM code
/// the customer scans). There is no offline QR payment: every payment goes to the wallet gateway through a
/// ``QRGatewayLink``.
///
/// A payment runs: classify the code (a refusal ends it with the reason, nothing recorded) → `journal.begin` →
/// `prepareOnline` (the payment code sealed like a PAN, the reversal armed) → pay → while the gateway says "user
/// paying", query at the wallet's rhythm (``Polling``) → on timeout or CANCEL, cancel the order (retrying while the
/// wallet says it is too early, e.g. WeChat's 15 s) → `hostAnswered` / `complete` → receipt.
///
/// The order ID is "QR" and the last 23 letters and digits of the journal's idempotency key: unique, the same on every
/// retry and after a reboot (the journal keeps the key), and short enough for the MPM reference label ("62"/"05", up
/// to 25 characters).
///
/// Scanning ``Configuration/merchantPresentedRequest`` ("MPM" by default; headless `SCAN MPM`) starts a
/// merchant-presented payment instead.
public struct QRRail: PaymentRail {
    /// How often to query an order the customer is still confirming, and for how long before cancelling it.
    public struct Polling: Sendable, Equatable {
        public var intervalMilliseconds: Int64
        public var totalMilliseconds: Int64
        public init(intervalMilliseconds: Int64, totalMilliseconds: Int64) {
            self.intervalMilliseconds = intervalMilliseconds
            self.totalMilliseconds = totalMilliseconds
        }

        /// The wallets' documented rhythms: WeChat Pay queries every 10 s for 30 s (its micropay guide), Alipay every
        /// 5 s for 30 s, UnionPay QR and EMVCo every 5 s for 60 s.
        public static let walletDefaults: [QRWallet: Polling] = [
            .weChatPay: Polling(intervalMilliseconds: 10_000, totalMilliseconds: 30_000),
            .alipay: Polling(intervalMilliseconds: 5_000, totalMilliseconds: 30_000),
            .unionPay: Polling(intervalMilliseconds: 5_000, totalMilliseconds: 60_000),
            .emvco: Polling(intervalMilliseconds: 5_000, totalMilliseconds: 60_000),
        ]
    }

    public struct Configuration: Sendable, Equatable {
        public var currency: Currency
        /// MPM "59", Latin letters, up to 25 characters.
        public var merchantName: String
        /// MPM "60", up to 15 characters.
        public var merchantCity: String
        /// MPM "64": the name and city in Chinese (language "ZH").
        public var merchantNameChinese: String?
        public var merchantCityChinese: String?
        /// MPM "52".
        public var merchantCategoryCode: String = "5812"
        /// MPM "58".
        public var countryCode: String = "CN"
        /// MPM "26"…"51": the acquirer's merchant account template.
        public var merchantAccount: MerchantPresentedQR.MerchantAccount
        /// MPM "62"/"07".
        public var terminalLabel: String
        /// The scanned text that starts a merchant-presented payment (``Presentation/merchantPresentedQRRequest``).
        public var merchantPresentedRequest = "MPM"
        /// Print the merchant-presented code (ESC/POS QR command) as well as showing it.
        public var printMerchantQR = true
        /// Merchant-presented: query rhythm and how long the code stays up.
        public var merchantPresentedPolling = Polling(intervalMilliseconds: 3_000, totalMilliseconds: 120_000)
        public var polling: [QRWallet: Polling] = Polling.walletDefaults
        /// How often a cancel is retried when the gateway cannot be reached, before the reversal is left to the store.
        public var cancelAttempts = 3
        /// How long after an order was made each wallet accepts its cancellation (WeChat Pay's micropay reverse: 15 s);
        /// the rail waits that long before cancelling, and also waits whenever the gateway answers "too early".
        public var cancelNotBeforeMilliseconds: [QRWallet: Int64] = [.weChatPay: 15_000]
        /// Receipts' language.
        public var receiptLanguage: Language = .zhCN

        public init(
            currency: Currency, merchantName: String, merchantCity: String, merchantNameChinese: String? = nil,
            merchantCityChinese: String? = nil, merchantAccount: MerchantPresentedQR.MerchantAccount, terminalLabel: String
        ) {
            self.currency = currency
            self.merchantName = merchantName
            self.merchantCity = merchantCity
            self.merchantNameChinese = merchantNameChinese
            self.merchantCityChinese = merchantCityChinese
            self.merchantAccount = merchantAccount
            self.terminalLabel = terminalLabel
        }
    }

    public let name = "qr"
    public let configuration: Configuration
    private let journal: any RailJournal
    private let gateway: any QRGatewayLink
    private let lookup: (any QRTransactionLookup)?
    private let encodeQR: @Sendable (String) throws -> QRMatrix

    /// - Parameters:
    ///   - lookup: the store's record of earlier QR sales, which refunds and voids are checked against first.
    ///   - encodeQR: payload → symbol; libqrencode (``LinuxDevices/QREncoder``) by default.
    public init(
        configuration: Configuration, journal: any RailJournal, gateway: any QRGatewayLink,
        lookup: (any QRTransactionLookup)? = nil, encodeQR: (@Sendable (String) throws -> QRMatrix)? = nil
    ) {
        self.configuration = configuration
        self.journal = journal
        self.gateway = gateway
        self.lookup = lookup
        self.encodeQR = encodeQR ?? { try QREncoder.encode($0, level: .medium) }
    }

    public func accepts(_ presentation: Presentation, method: PaymentMethod?) -> Bool {
        guard case .scanned = presentation else { return false }
        return method == nil || method == .qr
    }

    public func pay(amount: Int, presentation: Presentation, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        guard case .scanned(let code) = presentation else { return .notAvailable }
        // No parameter snapshot (ActiveParameterSet.beginTransaction): a QR payment reads nothing of the parameter set
        // — no EMV parameters, no offline caps (there is no offline QR payment: every one goes to the gateway) and no
        // PIN key. A set or key that arrives meanwhile changes nothing this payment uses; its pending journal record
        // already keeps an update from being installed under it (UpdatePreflight).
        if code == configuration.merchantPresentedRequest {
            return await payMerchantPresented(amount: amount, session: session)
        }
        switch CustomerPresentedCode.classify(code) {
        case .refused(let refusal):
            return .declined(lines: [.ui(Self.text(for: refusal))])
        case .payment(let customerCode):
            return await payCustomerPresented(amount: amount, code: customerCode, session: session)
        }
    }

    /// The order ID for a journal entry.
    public static func orderID(for ticket: RailTicket) -> String {
        let alphanumerics = ticket.transactionReference.unicodeScalars.filter {
            ("0"..."9").contains($0) || ("A"..."Z").contains($0) || ("a"..."z").contains($0)
        }
        return "QR" + String(String.UnicodeScalarView(alphanumerics.suffix(23)))
    }

    static func text(for refusal: CustomerPresentedCode.Refusal) -> UIString {
        switch refusal {
        case .empty, .notAPaymentCode: .qrNotAPaymentCode
        case .wrongLength: .qrWrongLength
        case .merchantPresented: .qrMerchantCode
        case .malformedConsumerPresented: .qrMalformed
        }
    }

    // MARK: - Customer-presented

    private func payCustomerPresented(amount: Int, code: CustomerPresentedCode, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        let wallet = code.wallet
        var ticket: RailTicket
        do {
            ticket = try journal.begin(RailDraft(rail: name, kind: "sale", amount: amount, currencyCode: configuration.currency.numericCode))
        } catch {
            return .declined(lines: [.ui(.storeUnavailable)])
        }
        let orderID = Self.orderID(for: ticket)
        var iccData: [UInt8] = []
        if case .consumerPresented(let payload, _) = code { iccData = payload.tlvEncoded }
        let card = RailCardData(
            pan: code.credential, panSequenceNumber: nil, expiry: "", track2Equivalent: [], cardholderName: nil,
            applicationLabel: UIString.qrWallet(wallet.rawValue).text(.en), aid: [], entryMode: Self.entryMode,
            iccData: iccData)
        do {
            ticket = try journal.prepareOnline(ticket, card: card)
        } catch {
            try? journal.complete(ticket, outcome: outcome(.failed, card: nil, detail: "store: cannot arm reversal"))
            return .declined(lines: [.ui(.storeUnavailable)])
        }
        session.show(.processing(.init(message: .ui(.qrWallet(wallet.rawValue)))))
        var reply = await gateway.pay(
            QRPaymentRequest(
                orderID: orderID, stan: ticket.stan, amount: amount, currencyCode: configuration.currency.numericCode,
                wallet: wallet, credential: code.credential, transactionReference: ticket.transactionReference))
        if case .unreachable = reply {
            try? journal.complete(ticket, outcome: outcome(.failed, card: nil, detail: "gateway unreachable"))
            return .declined(lines: [.ui(.hostUnavailable)])
        }
        if reply == .timedOut { reply = await gateway.query(orderID: orderID) }
        let polling = configuration.polling[wallet] ?? Polling(intervalMilliseconds: 5_000, totalMilliseconds: 30_000)
        let final = await awaitFinal(orderID: orderID, first: reply, polling: polling, session: session) {
            session.show(.processing(.init(message: .ui(.qrWaitingForCustomer))))
        }
        return await finish(
            final, ticket: ticket, orderID: orderID, wallet: wallet, amount: amount, kind: "sale", session: session)
    }

    /// POS entry mode for QR codes (ISO 8583 field 22, docs/host-interface.md: "031" QR code scanned by the terminal).
    static let entryMode = "031"

    // MARK: - Merchant-presented

    /// The MPM payload for an order.
    public func merchantPresentedPayload(amount: Int, orderID: String) throws -> String {
        var alternate: MerchantPresentedQR.AlternateLanguage?
        if let chineseName = configuration.merchantNameChinese {
            alternate = .init(languagePreference: "ZH", merchantName: chineseName, merchantCity: configuration.merchantCityChinese)
        }
        return try MerchantPresentedQR(
            pointOfInitiation: .dynamicCode, merchantAccounts: [configuration.merchantAccount],
            merchantCategoryCode: configuration.merchantCategoryCode,
            currencyCode: Self.threeDigits(configuration.currency.numericCode),
            amount: MerchantPresentedQR.amountText(minorUnits: amount, exponent: configuration.currency.exponent),
            countryCode: configuration.countryCode, merchantName: configuration.merchantName,
            merchantCity: configuration.merchantCity,
            additionalData: .init(referenceLabel: orderID, terminalLabel: configuration.terminalLabel),
            alternateLanguage: alternate
        ).encoded()
    }

    private func payMerchantPresented(amount: Int, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        var ticket: RailTicket
        do {
            ticket = try journal.begin(RailDraft(rail: name, kind: "sale", amount: amount, currencyCode: configuration.currency.numericCode))
        } catch {
            return .declined(lines: [.ui(.storeUnavailable)])
        }
        let orderID = Self.orderID(for: ticket)
        let payload: String
        let matrix: QRMatrix
        do {
            payload = try merchantPresentedPayload(amount: amount, orderID: orderID)
            matrix = try encodeQR(payload)
        } catch {
            try? journal.complete(ticket, outcome: outcome(.failed, card: nil, detail: "merchant-presented code not built"))
            return .declined(lines: [.ui(.qrMalformed)])
        }
        let masked = CustomerPresentedCode.masked(orderID)
        let screen = Screen.qrCode(.init(amount: amount, currency: configuration.currency, matrix: matrix, reference: masked))
        session.show(screen)
        if configuration.printMerchantQR {
            session.print(
                PrintDocument([
                    .text(configuration.merchantNameChinese ?? configuration.merchantName, alignment: .center, emphasis: true),
                    .text(configuration.currency.display(minorUnits: amount, language: configuration.receiptLanguage), alignment: .center, doubleSize: true),
                    .qrCode(payload),
                    .text(UIString.qrOrder(masked).text(configuration.receiptLanguage), alignment: .center),
                    .feed(3),
                ]))
        }
        let card = RailCardData(
            pan: "", panSequenceNumber: nil, expiry: "", track2Equivalent: [], cardholderName: nil,
            applicationLabel: UIString.qrWallet(QRWallet.emvco.rawValue).text(.en), aid: [], entryMode: Self.entryMode,
            iccData: [])
        do {
            ticket = try journal.prepareOnline(ticket, card: card)
        } catch {
            try? journal.complete(ticket, outcome: outcome(.failed, card: nil, detail: "store: cannot arm reversal"))
            return .declined(lines: [.ui(.storeUnavailable)])
        }
        let reply = await gateway.createOrder(
            QROrderRequest(
                orderID: orderID, stan: ticket.stan, amount: amount, currencyCode: configuration.currency.numericCode,
                payload: payload, transactionReference: ticket.transactionReference))
        if case .unreachable = reply {
            try? journal.complete(ticket, outcome: outcome(.failed, card: nil, detail: "gateway unreachable"))
            return .declined(lines: [.ui(.hostUnavailable)])
        }
        let final = await awaitFinal(
            orderID: orderID, first: reply, polling: configuration.merchantPresentedPolling, session: session
        ) {}
        return await finish(
            final, ticket: ticket, orderID: orderID, wallet: .emvco, amount: amount, kind: "sale", session: session)
    }

    // MARK: - Refund and void

    private enum Reversing {
        case refused(TerminalFlow.PaymentResult)
        case opened(QRSaleRecord?, RailTicket)
    }

    /// What refunds and voids share: the checks against the sale, then a journal entry of `kind` that points at it,
    /// written with its reversal armed before the gateway is asked.
    private func openReversing(kind: String, orderID: String, amount: Int) -> Reversing {
        let sale: QRSaleRecord?
        switch checkAgainstSale(orderID: orderID, amount: amount, void: kind == "void") {
        case .refused(let refusal): return .refused(refusal)
        case .allowed(let record): sale = record
        }
        do {
            var ticket = try journal.begin(RailDraft(
                rail: name, kind: kind, amount: amount, currencyCode: configuration.currency.numericCode,
                originalReference: sale?.transactionReference))
            ticket = try journal.prepareOnline(ticket, card: referenceCard(orderID))
            return .opened(sale, ticket)
        } catch {
            return .refused(.declined(lines: [.ui(.storeUnavailable)]))
        }
    }

    /// Refunds `amount` of a paid QR order online (a new journal entry of kind "refund").
    public func refund(orderID: String, amount: Int, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        let sale: QRSaleRecord?
        let ticket: RailTicket
        switch openReversing(kind: "refund", orderID: orderID, amount: amount) {
        case .refused(let result): return result
        case .opened(let record, let opened): (sale, ticket) = (record, opened)
        }
        session.show(.processing(.init()))
        let refundID = "RF" + String(Self.orderID(for: ticket).dropFirst(2))
        let request = QRRefundRequest(
            orderID: orderID, refundID: refundID, amount: amount, currencyCode: configuration.currency.numericCode,
            stan: ticket.stan, transactionReference: ticket.transactionReference)
        var reply = await gateway.refund(request)
        if reply == .timedOut {
            // The same refund ID again acts once at the gateway.
            reply = await gateway.refund(request)
        }
        return record(reply, ticket: ticket, orderID: orderID, wallet: sale?.wallet, amount: amount, kind: "refund", session: session)
    }

    /// Voids (reverses) a paid QR order online: the gateway refunds it in full and closes it.
    public func void(orderID: String, amount: Int, session: PaymentSession) async -> TerminalFlow.PaymentResult {
        let sale: QRSaleRecord?
        let ticket: RailTicket
        switch openReversing(kind: "void", orderID: orderID, amount: amount) {
        case .refused(let result): return result
        case .opened(let record, let opened): (sale, ticket) = (record, opened)
        }
        session.show(.processing(.init(message: .ui(.qrCancelling))))
        let reply = await cancel(orderID: orderID, session: session)
        let mapped: QRGatewayReply = reply == .closed ? .refunded(refundID: orderID, total: amount) : reply
        return record(mapped, ticket: ticket, orderID: orderID, wallet: sale?.wallet, amount: amount, kind: "void", session: session)
    }

    /// What the store's records say about a refund or void.
    private enum SaleCheck {
        /// Go ahead; the sale as the store has it (`nil` without a ``QRTransactionLookup``).
        case allowed(QRSaleRecord?)
        case refused(TerminalFlow.PaymentResult)
    }

    /// With a ``QRTransactionLookup``: the refusal of a refund or void the store's records rule out (no such sale,
    /// already voided, more than is left; a void must take the whole sale, the same business day), else the sale.
    private func checkAgainstSale(orderID: String, amount: Int, void: Bool) -> SaleCheck {
        guard let lookup else { return .allowed(nil) }
        let masked = CustomerPresentedCode.masked(orderID)
        let sale: QRSaleRecord?
        do {
            sale = try lookup.qrSale(orderID: orderID)
        } catch {
            return .refused(.declined(lines: [.ui(.storeUnavailable)]))
        }
        guard let sale, !sale.voided else { return .refused(.declined(lines: [.ui(.qrOrder(masked))])) }
        let walletLine = Screen.Text.ui(.qrWallet(sale.wallet.rawValue))
        let left = sale.amount - sale.refundedAmount
        if amount <= 0 || amount > left || (void && (amount != sale.amount || sale.refundedAmount > 0)) {
            return .refused(.declined(lines: [walletLine, .ui(.qrOrder(masked)), .ui(.amountLimit)]))
        }
        if void && !sale.sameBusinessDay {
            return .refused(.declined(lines: [walletLine, .ui(.qrOrder(masked)), .ui(.qrVoidSameDayOnly)]))
        }
        return .allowed(sale)
    }

    private func referenceCard(_ orderID: String) -> RailCardData {
        RailCardData(
            pan: "", panSequenceNumber: nil, expiry: "", track2Equivalent: [], cardholderName: nil,
            applicationLabel: orderID, aid: [], entryMode: Self.entryMode, iccData: [])
    }

    private func record(
        _ reply: QRGatewayReply, ticket: RailTicket, orderID: String, wallet: QRWallet?, amount: Int, kind: String,
        session: PaymentSession
    ) -> TerminalFlow.PaymentResult {
        let masked = CustomerPresentedCode.masked(orderID)
        let walletLines = wallet.map { [Screen.Text.ui(.qrWallet($0.rawValue))] } ?? []
        switch reply {
        case .refunded:
            try? journal.hostAnswered(ticket, response: .init(responseCode: "00", authorizationCode: nil, retrievalReference: nil, iccData: []), keepReversal: false)
            try? journal.complete(ticket, outcome: outcome(.approved, card: nil, responseCode: "00", detail: "\(kind) of \(masked)"))
            session.print(receipt(kind: kind, wallet: wallet, amount: amount, orderID: orderID, transactionID: nil, stan: ticket.stan, approved: true))
            return .approved(lines: walletLines + [.ui(.qrOrder(masked))])
        case .unreachable, .timedOut:
            try? journal.complete(ticket, outcome: outcome(.failed, card: nil, detail: "\(kind): gateway unreachable"))
            return .declined(lines: [.ui(.hostUnavailable)])
        case .failed(let code, _), .rejected(let code, _):
            try? journal.hostAnswered(ticket, response: .init(responseCode: "12", authorizationCode: nil, retrievalReference: nil, iccData: []), keepReversal: false)
            try? journal.complete(ticket, outcome: outcome(.declined, card: nil, responseCode: "12", detail: "\(kind) refused: \(code)"))
            return .declined(lines: walletLines + [.ui(.qrOrder(masked)), .raw(code)])
        case .orderNotFound, .paid, .userPaying, .waiting, .closed, .cancelTooEarly:
            try? journal.hostAnswered(ticket, response: .init(responseCode: "25", authorizationCode: nil, retrievalReference: nil, iccData: []), keepReversal: false)
            try? journal.complete(ticket, outcome: outcome(.declined, card: nil, responseCode: "25", detail: "\(kind): order not refundable"))
            return .declined(lines: walletLines + [.ui(.qrOrder(masked))])
        }
    }

    // MARK: - Waiting for the result

    enum Final: Equatable {
        case paid(transactionID: String)
        case failed(code: String, message: String)
        /// Closed by the gateway itself (nothing charged).
        case closed
        /// Still not paid when the time ran out, or CANCEL pressed: the order must be cancelled. `elapsed`: how long
        /// the order has existed, as far as the ticks tell (from the first tick after it was made).
        case mustCancel(byOperator: Bool, elapsed: Int64)
    }

    /// Queries until the order is final, CANCEL is pressed or the polling time runs out. Time comes from the
    /// session's ticks; the first tick starts the clock.
    private func awaitFinal(
        orderID: String, first: QRGatewayReply, polling: Polling, session: PaymentSession, onPending: () -> Void
    ) async -> Final {
        if let final = Self.final(first) { return final }
        onPending()
        var started: Int64?
        var latest: Int64 = 0
        var nextQuery: Int64 = 0
        func elapsed() -> Int64 { started.map { latest - $0 } ?? 0 }
        for await input in session.inputs {
            switch input {
            case .key(.cancel):
                return .mustCancel(byOperator: true, elapsed: elapsed())
            case .key, .presentation:
                continue
            case .tick(let now):
                latest = now
                guard let start = started else {
                    started = now
                    nextQuery = now + polling.intervalMilliseconds
                    continue
                }
                let last = now >= start + polling.totalMilliseconds
                guard now >= nextQuery || last else { continue }
                let reply = await gateway.query(orderID: orderID)
                if let final = Self.final(reply) { return final }
                if last { return .mustCancel(byOperator: false, elapsed: elapsed()) }
                nextQuery = now + polling.intervalMilliseconds
            }
        }
        return .mustCancel(byOperator: true, elapsed: elapsed())  // the terminal is shutting down
    }

    /// A reply that ends the wait, or `nil` (still paying, waiting, no answer).
    static func final(_ reply: QRGatewayReply) -> Final? {
        switch reply {
        case .paid(let id): .paid(transactionID: id)
        case .failed(let code, let message): .failed(code: code, message: message)
        case .rejected(let code, let message): .failed(code: code, message: message)
        case .closed, .refunded: .closed
        case .userPaying, .waiting, .unreachable, .timedOut, .orderNotFound, .cancelTooEarly: nil
        }
    }

    /// Cancels an order, waiting (on the session's ticks) while the wallet says it is too early and retrying an
    /// unreachable gateway ``Configuration/cancelAttempts`` times, 5 s apart. `.closed` when done.
    private func cancel(orderID: String, session: PaymentSession) async -> QRGatewayReply {
        var failures = 0
        while true {
            let reply = await gateway.cancel(orderID: orderID)
            switch reply {
            case .closed, .refunded:
                return .closed
            case .orderNotFound:
                return .orderNotFound
            case .cancelTooEarly(let wait):
                await waitTicks(session, milliseconds: wait)
            case .unreachable, .timedOut:
                failures += 1
                if failures >= configuration.cancelAttempts { return reply }
                await waitTicks(session, milliseconds: 5_000)
            case .paid, .userPaying, .waiting, .failed, .rejected:
                failures += 1
                if failures >= configuration.cancelAttempts { return reply }
                await waitTicks(session, milliseconds: 1_000)
            }
        }
    }

    private func waitTicks(_ session: PaymentSession, milliseconds: Int64) async {
        var until: Int64?
        for await input in session.inputs {
            guard case .tick(let now) = input else { continue }
            guard let end = until else {
                until = now + milliseconds
                continue
            }
            if now >= end { return }
        }
    }

    private func finish(
        _ final: Final, ticket: RailTicket, orderID: String, wallet: QRWallet, amount: Int, kind: String,
        session: PaymentSession
    ) async -> TerminalFlow.PaymentResult {
        let masked = CustomerPresentedCode.masked(orderID)
        let walletLine = Screen.Text.ui(.qrWallet(wallet.rawValue))
        switch final {
        case .paid(let transactionID):
            try? journal.hostAnswered(
                ticket, response: .init(responseCode: "00", authorizationCode: nil, retrievalReference: transactionID, iccData: []),
                keepReversal: false)
            try? journal.complete(
                ticket, outcome: outcome(.approved, card: nil, responseCode: "00", retrievalReference: transactionID, detail: "\(wallet.rawValue) \(masked)"))
            session.print(receipt(kind: kind, wallet: wallet, amount: amount, orderID: orderID, transactionID: transactionID, stan: ticket.stan, approved: true))
            return .approved(lines: [walletLine, .ui(.qrOrder(masked))])
        case .failed(let code, let message):
            let responseCode = Self.responseCode(forWalletCode: code)
            try? journal.hostAnswered(
                ticket, response: .init(responseCode: responseCode, authorizationCode: nil, retrievalReference: nil, iccData: []),
                keepReversal: false)
            try? journal.complete(ticket, outcome: outcome(.declined, card: nil, responseCode: responseCode, detail: "\(wallet.rawValue) \(code)"))
            return .declined(lines: [walletLine, .raw(message)])
        case .closed:
            try? journal.complete(ticket, outcome: outcome(.declined, card: nil, detail: "\(wallet.rawValue) order closed by the gateway"))
            return .declined(lines: [walletLine, .ui(.qrOrder(masked))])
        case .mustCancel(let byOperator, let elapsed):
            session.show(.processing(.init(message: .ui(.qrCancelling))))
            // Wallets that revoke only a while after the order was made (WeChat: 15 s) are not asked earlier.
            let notBefore = configuration.cancelNotBeforeMilliseconds[wallet] ?? 0
            if notBefore > elapsed { await waitTicks(session, milliseconds: notBefore - elapsed) }
            let reply = await cancel(orderID: orderID, session: session)
            // An order the gateway never saw charged nothing: as good as closed.
            if reply == .closed || reply == .orderNotFound {
                try? journal.complete(
                    ticket,
                    outcome: outcome(.reversed, card: nil, detail: "\(wallet.rawValue) \(masked) cancelled" + (byOperator ? " by the operator" : " after timeout")))
                return byOperator ? .cancelled : .declined(lines: [walletLine, .ui(.qrCancelledTimeout)])
            }
            // The gateway could not be reached: the armed reversal stays for the store to send.
            try? journal.complete(
                ticket, outcome: outcome(.failed, card: nil, needsReversal: true, detail: "\(wallet.rawValue) \(masked) cancel not confirmed"))
            return .declined(lines: [walletLine, .ui(.qrReversalPending)])
        }
    }

    /// ISO 8583 field 39 for a wallet's failure code (docs/host-interface.md).
    static func responseCode(forWalletCode code: String) -> String {
        switch code {
        case "NOTENOUGH": "51"
        case "AUTHCODEEXPIRE", "AUTH_CODE_INVALID": "54"
        case "USERCANCELLED", "USERPAYING": "17"
        default: "05"
        }
    }

    private func outcome(
        _ status: RailOutcome.Status, card: RailCardData?, responseCode: String? = nil, retrievalReference: String? = nil,
        needsReversal: Bool = false, detail: String
    ) -> RailOutcome {
        RailOutcome(
            status: status, card: card, responseCode: responseCode, authorizationCode: nil,
            retrievalReference: retrievalReference, needsReversal: needsReversal, needsAdvice: false, signatureRequired: false,
            detail: detail)
    }

    /// The receipt: merchant, kind, wallet, amount, the masked order ID, the wallet's transaction number.
    func receipt(
        kind: String, wallet: QRWallet?, amount: Int, orderID: String, transactionID: String?, stan: Int, approved: Bool
    ) -> PrintDocument {
        let language = configuration.receiptLanguage
        var elements: [PrintDocument.Element] = [
            .text(configuration.merchantNameChinese ?? configuration.merchantName, alignment: .center, emphasis: true),
            .text(Self.kindTitle(kind, language), alignment: .center),
        ]
        if let wallet { elements.append(.text(UIString.qrWallet(wallet.rawValue).text(language))) }
        elements += [
            .text(configuration.currency.display(minorUnits: amount, language: language), doubleSize: true),
            .text(UIString.qrOrder(CustomerPresentedCode.masked(orderID)).text(language)),
        ]
        if let transactionID { elements.append(.text("TXN " + transactionID)) }
        elements += [
            .text("STAN " + Self.sixDigits(stan)),
            .text((approved ? UIString.approved : .declined).text(language), emphasis: true),
            .feed(3),
        ]
        return PrintDocument(elements)
    }

    static func kindTitle(_ kind: String, _ language: Language) -> String {
        switch (kind, language) {
        case ("refund", .zhCN): "扫码退货"
        case ("refund", .en): "QR REFUND"
        case ("void", .zhCN): "扫码撤销"
        case ("void", .en): "QR VOID"
        case (_, .zhCN): "扫码消费"
        case (_, .en): "QR SALE"
        }
    }

    static func threeDigits(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 3 - s.count)) + s
    }

    static func sixDigits(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 6 - s.count)) + s
    }
}

extension QRRail {
    /// A QR rail on an in-process gateway, for the rail's unit tests (boards use ``standard(journal:currency:merchantName:merchantCity:merchantNameChinese:merchantCityChinese:terminalLabel:gateway:lookup:)``
    /// with ``HostQRGatewayLink``): the wallet gateway simulator (ledger entries go to `onLedger`), codes drawn with
    /// libqrencode, refunds and voids checked against `lookup`.
    public static func simulated(
        journal: any RailJournal, currency: Currency, merchantName: String, merchantCity: String,
        merchantNameChinese: String? = nil, merchantCityChinese: String? = nil, terminalLabel: String = "SIM00001",
        gatewayConfiguration: QRGatewaySimulator.Configuration = .init(), now: @escaping @Sendable () -> Int64,
        onLedger: (@Sendable ([QRGatewaySimulator.LedgerEntry]) -> Void)? = nil, lookup: (any QRTransactionLookup)? = nil
    ) -> (rail: QRRail, gateway: SimulatedQRGatewayLink) {
        let gateway = SimulatedQRGatewayLink(configuration: gatewayConfiguration, now: now, onLedger: onLedger)
        let rail = standard(
            journal: journal, currency: currency, merchantName: merchantName, merchantCity: merchantCity,
            merchantNameChinese: merchantNameChinese, merchantCityChinese: merchantCityChinese, terminalLabel: terminalLabel,
            gateway: gateway, lookup: lookup)
        return (rail, gateway)
    }

    /// A board's QR rail on `gateway` (``HostQRGatewayLink`` on the acquirer link): the merchant account template
    /// names the terminal, receipts are in Chinese.
    public static func standard(
        journal: any RailJournal, currency: Currency, merchantName: String, merchantCity: String,
        merchantNameChinese: String? = nil, merchantCityChinese: String? = nil, terminalLabel: String,
        gateway: any QRGatewayLink, lookup: (any QRTransactionLookup)? = nil
    ) -> QRRail {
        var configuration = Configuration(
            currency: currency, merchantName: Self.latinPart(merchantName, limit: 25, fallback: "MERCHANT"),
            merchantCity: Self.latinPart(merchantCity, limit: 15, fallback: "CITY"),
            merchantNameChinese: merchantNameChinese.map { String($0.prefix(25)) },
            merchantCityChinese: merchantCityChinese.map { String($0.prefix(15)) },
            merchantAccount: .init(
                id: 26, globallyUniqueIdentifier: "CN.COM.EXAMPLE.QRSIM",
                details: [MPMDataObject(id: "01", value: terminalLabel)]),
            terminalLabel: terminalLabel)
        configuration.receiptLanguage = .zhCN
        return QRRail(configuration: configuration, journal: journal, gateway: gateway, lookup: lookup)
    }

    /// The printable ASCII of `text` ("模拟商户 Demo Shop" → "Demo Shop"), trimmed and cut to `limit`.
    static func latinPart(_ text: String, limit: Int, fallback: String) -> String {
        let ascii = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }))
        let trimmed = ascii.split(separator: " ").joined(separator: " ")
        return trimmed.isEmpty ? fallback : String(trimmed.prefix(limit))
    }
}
