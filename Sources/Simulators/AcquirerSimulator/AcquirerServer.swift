#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Codecs
public import PaymentCrypto
import Synchronization
import Uplink

/// The acquirer simulator: our host protocol (docs/host-interface.md) over mutual TLS on loopback, the issuer of
/// ``IssuerHost`` behind it, the books in an ``AcquirerLedger``.
///
/// One thread accepts connections and serves each until it closes (a terminal keeps one connection). Every request
/// is looked up by its idempotency key first: a repeat is answered with the first answer and never applied twice.
/// Every message but network management must carry a MAC under the key the terminal got by key exchange, and every
/// answer but an 0810 carries one (AcquirerServer+MAC.swift): a missing or wrong MAC is answered `A0`, booking nothing.
/// ``Fault`` makes it misbehave the way real hosts do, for the terminal's timeout and reversal paths.
public final class AcquirerServer: Sendable {
    /// How the simulator misbehaves.
    public enum Fault: String, Sendable, CaseIterable {
        /// Answers every request.
        case none
        /// Reads requests and never answers (the terminal times out and reverses).
        case noAnswer = "no-answer"
        /// Answers after `lateAnswerDelay` (past the terminal's response timeout).
        case lateAnswer = "late-answer"
        /// Sends half an answer, then closes the connection.
        case dropMidResponse = "drop-mid-response"
        /// Answers with bytes that are not a message of the protocol.
        case garbage
        /// Presents a server certificate from a CA the terminals do not pin (an impostor host): the terminal must
        /// refuse the handshake and send nothing.
        case wrongCertificate = "wrong-certificate"
        /// Answers with one byte of the last field before the MAC flipped: the MAC does not verify, so the terminal
        /// treats the answer as unusable (reversal reason `4020`, docs/host-interface.md §10).
        case corruptAnswer = "corrupt-answer"
    }

    public struct Configuration: Sendable {
        public var identity: TLSIdentity
        /// The CA the terminals' client certificates must chain to.
        public var clientCAPEM: [UInt8]
        public var fault: Fault
        public var lateAnswerDelay: Duration
        /// A delay before every answer in fault mode ``Fault/none`` (a slow host; the benches and kill tests).
        public var answerDelay: Duration
        /// The terminal management service (docs/host-interface.md §13), when `termtool acquirer --tms-dir` gives one.
        public var terminalManagement: TerminalManagementHost?
        /// The KBPK key exchange wraps MAC keys under when ``terminalManagement`` has none: the simulator boards' TEST
        /// KBPK (AcquirerServer+MAC.swift).
        public var keyBlockProtectionKey: SecretBytes? = TerminalManagementHost.testKeyBlockProtectionKey
        /// Closes a connection that has carried no request for this long, as real acquirer hosts do with idle
        /// terminals; `nil` keeps it open until the terminal closes it.
        public var idleTimeout: Duration?
        public init(identity: TLSIdentity, clientCAPEM: [UInt8], fault: Fault = .none, lateAnswerDelay: Duration = .seconds(20), answerDelay: Duration = .zero) {
            self.answerDelay = answerDelay
            self.identity = identity
            self.clientCAPEM = clientCAPEM
            self.fault = fault
            self.lateAnswerDelay = lateAnswerDelay
        }
    }

    public let port: Int
    /// The terminal management service, when configured.
    public let terminalManagement: TerminalManagementHost?
    /// The terminals' MAC working keys, from key exchange (AcquirerServer+MAC.swift).
    public let macKeys = AcquirerMACKeys()
    /// The KBPK MAC keys are wrapped under.
    let keyBlockProtectionKey: SecretBytes?
    private let listener: HostListener
    private let stopping = Atomic<Bool>(false)
    private let thread: Mutex<pthread_t?> = Mutex(nil)
    private let fault: Mutex<Fault>

    /// The wallet gateway behind the QR messages.
    public let qrGateway: QRGatewayHost

    /// Starts listening on `host` (an IPv4 literal; 127.0.0.1 by default), `port` 0: any free port. QR messages go to
    /// `qrGateway` (a ``QRGatewayHost`` with the default rules on the monotonic clock when `nil`).
    public init(
        configuration: Configuration, issuer: IssuerHost, ledger: AcquirerLedger, qrGateway: QRGatewayHost? = nil,
        host: String = "127.0.0.1", port: Int = 0
    ) throws {
        self.qrGateway = qrGateway ?? QRGatewayHost()
        listener = try HostListener(host: host, port: port)
        self.port = listener.port
        terminalManagement = configuration.terminalManagement
        keyBlockProtectionKey = configuration.terminalManagement?.keyBlockProtectionKey ?? configuration.keyBlockProtectionKey
        fault = Mutex(configuration.fault)
        let context = try TLSContext.server(identity: configuration.identity, clientCAPEM: configuration.clientCAPEM)
        // The impostor: a server certificate from a throw-away CA of its own (fault mode wrong-certificate).
        let impostor = try TLSContext.server(identity: TLSTestCertificates.generate(caName: "Impostor CA").serverIdentity, clientCAPEM: configuration.clientCAPEM)
        let worker = Worker(
            listener: listener, context: context, impostorContext: impostor, issuer: issuer, ledger: ledger, qrGateway: self.qrGateway,
            server: self,
            lateAnswerDelay: configuration.lateAnswerDelay, answerDelay: configuration.answerDelay, idleTimeout: configuration.idleTimeout)
        let box = Unmanaged.passRetained(WorkerBox(worker))
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<WorkerBox>.fromOpaque(raw!).takeRetainedValue()
            box.worker.run()
            return nil
        }, box.toOpaque())
        guard status == 0 else {
            box.release()
            throw UplinkError(.system, "cannot start the acquirer simulator's thread")
        }
        thread.withLock { $0 = handle }
    }

    /// Changes the fault mode for the next requests.
    public func setFault(_ mode: Fault) { fault.withLock { $0 = mode } }
    var currentFault: Fault { fault.withLock { $0 } }
    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Stops accepting and waits for the thread (at most one accept poll interval plus the request in progress).
    public func shutdown() {
        stopping.store(true, ordering: .releasing)
        if let handle = thread.withLock({ value -> pthread_t? in defer { value = nil }; return value }) {
            pthread_join(handle, nil)
        }
    }

    deinit { shutdown() }
}

private final class WorkerBox {
    let worker: AcquirerServer.Worker
    init(_ worker: AcquirerServer.Worker) { self.worker = worker }
}

extension AcquirerServer {
    /// The serving thread's state: not shared.
    final class Worker: @unchecked Sendable {
        let listener: HostListener
        let context: TLSContext
        let impostorContext: TLSContext
        let issuer: IssuerHost
        let ledger: AcquirerLedger
        let qrGateway: QRGatewayHost
        unowned let server: AcquirerServer
        let lateAnswerDelay: Duration
        let answerDelay: Duration
        let idleTimeout: Duration?

        init(
            listener: HostListener, context: TLSContext, impostorContext: TLSContext, issuer: IssuerHost, ledger: AcquirerLedger,
            qrGateway: QRGatewayHost, server: AcquirerServer, lateAnswerDelay: Duration, answerDelay: Duration, idleTimeout: Duration?
        ) {
            self.idleTimeout = idleTimeout
            self.qrGateway = qrGateway
            self.answerDelay = answerDelay
            self.impostorContext = impostorContext
            self.listener = listener
            self.context = context
            self.issuer = issuer
            self.ledger = ledger
            self.server = server
            self.lateAnswerDelay = lateAnswerDelay
        }

        func run() {
            while !server.isStopping {
                guard let fd = try? listener.accept(deadline: .now + .milliseconds(200)), fd >= 0 else { continue }
                serve(fd)
            }
        }

        func serve(_ fd: Int32) {
            let context = server.currentFault == .wrongCertificate ? impostorContext : context
            guard let session = try? TLSSession(context: context, takingSocket: fd, peerName: nil) else { return }
            defer { session.close() }
            guard (try? session.handshake(deadline: .now + .seconds(10))) != nil else { return }
            let channel = HostFrameChannel(session: session)
            var lastRequest = ContinuousClock.now
            while !server.isStopping {
                let request: [UInt8]
                do {
                    let nextCheck = ContinuousClock.now + .milliseconds(500)  // for isStopping
                    let deadline = idleTimeout.map { min(nextCheck, lastRequest + $0) } ?? nextCheck
                    request = try channel.receive(deadline: deadline, timeoutPhase: .response)
                } catch let error as UplinkError {
                    guard case .timeout = error.code else { return }
                    if let idleTimeout, ContinuousClock.now - lastRequest >= idleTimeout { return }  // idle: close_notify
                    continue
                } catch {
                    return
                }
                lastRequest = .now
                let answer = respondAuthenticated(to: request)  // MAC checked and added (AcquirerServer+MAC.swift)
                // Key exchange is answered whatever the fault: the faults are those of the financial messages.
                switch Self.isKeyExchange(request) ? .none : server.currentFault {
                case .none, .wrongCertificate:
                    if answerDelay > .zero {
                        let parts = answerDelay.components
                        usleep(UInt32(clamping: parts.seconds * 1_000_000 + parts.attoseconds / 1_000_000_000_000))
                    }
                    guard (try? channel.send(answer, deadline: .now + .seconds(5))) != nil else { return }
                case .noAnswer:
                    continue
                case .lateAnswer:
                    var remaining = lateAnswerDelay
                    while remaining > .zero, !server.isStopping {
                        usleep(50_000)
                        remaining -= .milliseconds(50)
                    }
                    guard (try? channel.send(answer, deadline: .now + .seconds(5))) != nil else { return }
                case .dropMidResponse:
                    if let framed = try? HostFrameChannel.frame(answer) {
                        _ = try? session.write(Array(framed.prefix(framed.count / 2)), deadline: .now + .seconds(2))
                    }
                    return
                case .garbage:
                    _ = try? channel.send([0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01], deadline: .now + .seconds(2))
                case .corruptAnswer:
                    guard (try? channel.send(Self.flippingOneByte(answer), deadline: .now + .seconds(5))) != nil else { return }
                }
            }
        }

        /// The answer to one request: from the books when it is a repeat, else decided and booked. Its MAC has been
        /// checked and removed, and the answer is MACed, by ``respondAuthenticated(to:)``: the books keep answers
        /// without MAC.
        func respond(to bytes: [UInt8]) -> [UInt8] {
            let message: ISO8583.Message
            do {
                message = try HostDialect.unpack(bytes[...], mac: nil)
            } catch {
                return formatError()
            }
            if let qr = qrGateway.respond(to: message, ledger: ledger) { return qr }  // QR payments (§4.10)
            if let settlement = settlementAnswer(to: message) { return settlement }
            if let refund = cardRefundAnswer(to: message) { return refund }  // card refunds (§4.2)
            if let answer = TerminalManagementHost.answer(message, host: server.terminalManagement) { return answer }
            let key = (try? PrivateTaggedData(encoded: message.text(62) ?? ""))?[.idempotencyKey] ?? "stan-\(message.text(11) ?? "")"
            // 0200 and 0201, 0220 and 0221, 0400 and 0401 share a class: the repeat digit is dropped.
            let messageClass = String(message.mti.prefix(3))
            if let earlier = try? ledger.answered(key: key, messageClass: messageClass) { return earlier }
            // A reversal advice (042x) undoes the same transaction as a reversal request (040x): when the other one
            // was booked already, acknowledge this one without booking it again.
            if messageClass == "040" || messageClass == "042",
                (try? ledger.answered(key: key, messageClass: messageClass == "040" ? "042" : "040")) != nil,
                let response = try? HostMessages.response(to: message, responseCode: .approved),
                let packed = try? HostDialect.pack(response)
            {
                try? ledger.recordAnswer(key: key, messageClass: messageClass, response: packed)
                return packed
            }
            if let prepaid = respondPrepaid(to: message, key: key, messageClass: messageClass) { return prepaid }
            let amount = Int(message.text(4) ?? "0") ?? 0
            let currency = message.text(49) ?? ""
            let pan = message.text(2)
            let masked = pan.map { EMVDataDictionary.maskedPAN($0) }
            var kind = "authorization"
            var code = HostResponseCode.approved
            var fields: [Int: ISO8583.FieldValue] = [:]
            var authorizationCode: String?
            var reason = "approved"
            switch message.mti {
            case "0100", "0200", "0201":
                let decision = issuer.authorize(.init(
                    transactionReference: key, pan: pan ?? "", panSequenceNumber: message.text(23).flatMap { Int($0) },
                    amount: amount, iccData: message.bytes(55) ?? [], pinBlock: message.bytes(52),
                    keySerialNumber: server.terminalManagement.map { $0.pinKeySerialNumber(message.bytes(53), terminalID: message.text(41)) } ?? message.bytes(53)))
                code = HostResponseCode(rawValue: decision.responseCode) ?? .doNotHonour
                reason = decision.reason
                authorizationCode = decision.authorizationCode
                if let auth = decision.authorizationCode { fields[38] = .text(auth) }
                fields[37] = .text(Self.retrievalReference(key))
                if !decision.iccData.isEmpty, let nodes = try? TLVNode.sequence(tlvEncoded: decision.iccData) {
                    fields[55] = .tlv(nodes)
                }
            case "0220", "0221":
                kind = "advice"
                // §4.3: the host must accept an advice and answers 00; the books keep the advice's Y1/Y3.
                code = .approved
                reason = "offline advice booked"
            case "0400", "0401", "0420", "0421":
                kind = "reversal"
                reason = "reversal booked"
            case "0500", "0501":
                kind = "settlement"
                reason = "settlement"
            case "0800":
                kind = "network"
                reason = "network management"
            default:
                return formatError()
            }
            guard let response = try? HostMessages.response(to: message, responseCode: code, fields: fields),
                let packed = try? HostDialect.pack(response)
            else { return formatError() }
            try? ledger.record(
                key: key, messageClass: messageClass, response: packed, kind: kind, mti: message.mti, amount: amount,
                currency: currency, maskedPAN: masked, responseCode: kind == "advice" ? (message.text(39) ?? "Y1") : code.rawValue,
                authorizationCode: authorizationCode, reason: reason, processingCode: message.text(3),
                terminalID: message.text(41), batch: message.text(60).flatMap { Int($0) })
            return packed
        }

        func formatError() -> [UInt8] {
            var message = ISO8583.Message(mti: "0810")
            message[39] = .text("30")
            return (try? HostDialect.pack(message)) ?? []
        }

        /// Twelve digits derived from the idempotency key.
        static func retrievalReference(_ key: String) -> String {
            var hash: UInt64 = 14_695_981_039_346_656_037
            for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
            let digits = String(hash % 1_000_000_000_000)
            return String(repeating: "0", count: 12 - digits.count) + digits
        }
    }
}
