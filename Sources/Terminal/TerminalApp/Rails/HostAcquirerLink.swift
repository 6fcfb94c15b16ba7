#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import Codecs
public import Logging
public import PaymentCrypto
import Synchronization
public import Uplink

/// ``AcquirerLink`` over our host protocol (docs/host-interface.md): ISO 8583 0200 with field 55, framed, over
/// mutual TLS (``HostConnection``), one request in flight. The connection is kept between transactions and made
/// again after any failure. Blocking I/O runs on a thread of its own, never on the cooperative pool.
///
/// Every message but network management carries a MAC (field 64/128, docs/host-interface.md §11) under the MAC
/// working key of the session: before the first MACed message, and again after an answer whose MAC fails or that
/// says `A0`, the link exchanges keys (0800 `101`; the 0810's field 63 is a TR-31 block under the terminal's KBPK,
/// ``HostMACKey/unwrap(keyBlock:kbpk:)``). The key is kept in memory only (``SecretBytes``): a restart exchanges keys
/// again. A terminal without a KBPK sends no financial message at all: each attempt logs an error and ends as when
/// the host is unreachable (sales decide offline, advices and reversals stay queued).
///
/// - Connection refused or link down before anything was sent, no MAC key to be had: ``AuthorizationReply/unreachable(_:)``.
/// - The request went out and no complete answer came within the response timeout (a late answer, a dropped
///   connection): ``AuthorizationReply/timedOut`` — the rail reverses (`4021`).
/// - An answer whose MAC does not verify, or that does not match the request (garbage too):
///   ``AuthorizationReply/unusableResponse(_:)`` — the rail reverses (`4020`).
public final class HostAcquirerLink: AcquirerLink {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var tls: TLSContext
        public var terminalID: String
        public var merchantID: String
        public var connectTimeout: Duration
        public var responseTimeout: Duration
        /// The name the host's certificate must carry; `nil`: ``host``.
        public var peerName: String?
        /// The journal's open batch (field 60 and the idempotency key); batch 1 when not given.
        public var batchNumber: @Sendable () -> Int
        /// The key block protection key (KBPK) of the key store, which MAC working keys arrive under; `nil` (a board
        /// provisioned before the KBPK existed): no MACed message — no financial message — is ever sent.
        public var keyBlockProtectionKey: SecretBytes?
        public init(
            host: String, port: Int, tls: TLSContext, terminalID: String, merchantID: String,
            connectTimeout: Duration = .seconds(5), responseTimeout: Duration = .seconds(15), peerName: String? = nil,
            batchNumber: (@Sendable () -> Int)? = nil, keyBlockProtectionKey: SecretBytes? = nil
        ) {
            self.keyBlockProtectionKey = keyBlockProtectionKey
            self.batchNumber = batchNumber ?? { 1 }
            self.peerName = peerName
            self.host = host
            self.port = port
            self.tls = tls
            self.terminalID = terminalID
            self.merchantID = merchantID
            self.connectTimeout = connectTimeout
            self.responseTimeout = responseTimeout
        }
    }

    let configuration: Configuration
    let logger: Logger
    private let connection = Mutex<HostConnection?>(nil)
    /// Held for a whole exchange (connect, send, answer): the rails' requests and the store-and-forward uploader's
    /// messages share the one connection, one request in flight. Only ever taken on a thread of its own.
    private let gate = Mutex(())
    /// Authorisations waiting for or holding ``gate``: the uploader lets them go first.
    private let paymentsWaiting = Atomic<Int>(0)
    /// Runs before each authorisation leaves (the uploader's due reversals, §10 item 5).
    private let beforeAuthorization = Mutex<(@Sendable () async -> Void)?>(nil)
    /// The MAC working key (docs/host-interface.md §11), in memory only; `nil`: exchange keys before the next
    /// MACed message. Read and changed only while holding ``gate``.
    private let macKey = Mutex<HostMACKey?>(nil)
    /// Field 11 of the key exchange 0800s (the host matches its 0810 by it).
    private let keyExchangeCount = Atomic<Int>(0)

    /// Sets what runs before each authorisation's request leaves: the store-and-forward uploader sends the due
    /// reversals there.
    public func setBeforeAuthorization(_ work: @escaping @Sendable () async -> Void) {
        beforeAuthorization.withLock { $0 = work }
    }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func authorize(_ request: AuthorizationRequest) async -> AuthorizationReply {
        let message: ISO8583.Message
        do {
            message = try HostMessages.request(transactionRequest(request))
        } catch {
            logger.error("cannot build the authorisation request", metadata: ["error": "\(error)"])
            return .unreachable("request not built")
        }
        paymentsWaiting.add(1, ordering: .relaxed)
        defer { paymentsWaiting.subtract(1, ordering: .relaxed) }
        if let first = beforeAuthorization.withLock({ $0 }) { await first() }
        return await Self.offThread { [self] in gate.withLock { _ in exchange(message) } }
    }

    /// Whether a payment's authorisation is waiting for, or using, the connection.
    public var isPaymentInFlight: Bool { paymentsWaiting.load(ordering: .relaxed) > 0 }

    /// How a store-and-forward message fared.
    public enum Delivery: Sendable {
        /// The host answered; the response matches the message (MTI, fields 3, 4, 11, 41) and its MAC verifies.
        case answered(HostResponse)
        /// Nothing was sent: no connection, no MAC key (no KBPK, a failed key exchange), or `willSend` refused.
        case notSent(String)
        /// The message went out and no usable answer came (none, a MAC that does not verify, no match, `A0`): it may
        /// have been applied, send it again as a repeat.
        case unanswered(String)
    }

    /// Sends one store-and-forward message (an advice, a reversal) on the shared connection, after any
    /// authorisation in flight, and waits for its answer.
    ///
    /// - Parameters:
    ///   - message: the request, without MAC (the link adds it under the session's MAC key).
    ///   - willSend: called once the connection is open and the MAC key is there, right before the bytes leave: the
    ///     journal's "sent" mark. When it throws, nothing is sent.
    public func deliver(_ message: ISO8583.Message, willSend: @escaping @Sendable () throws -> Void) async -> Delivery {
        await Self.offThread { [self] in
            gate.withLock { _ in
                let (link, key): (HostConnection, HostMACKey)
                switch connectionWithMACKey() {
                case .success(let ready): (link, key) = ready
                case .failure(let why): return .notSent(why.reason)
                }
                let packed: [UInt8]
                do {
                    packed = try HostDialect.pack(message, mac: key.authenticationCode)
                } catch {
                    return .notSent("message not built: \(error)")
                }
                do {
                    try willSend()
                } catch {
                    return .notSent("not marked as sent: \(error)")
                }
                let answer: [UInt8]
                do {
                    answer = try link.exchange(packed, responseTimeout: configuration.responseTimeout)
                } catch {
                    connection.withLock { $0 = nil }
                    return .unanswered("\(error)")
                }
                do {
                    let response = try verifiedAnswer(answer, key: key, request: message)
                    if response.responseCode == .macVerificationFailed {
                        return .unanswered("the host answered A0 (MAC verification failed)")
                    }
                    return .answered(response)
                } catch {
                    logger.warning("unusable answer from the acquirer", metadata: ["mti": "\(message.mti)", "error": "\(error)"])
                    link.close()
                    connection.withLock { $0 = nil }
                    return .unanswered("unusable answer: \(error)")
                }
            }
        }
    }

    /// Sends a payment's own message (a QR payment, query, cancellation or refund, ``HostQRGatewayLink``) on the
    /// shared connection and waits for its answer. The uploader steps aside while it waits; with `sendDueReversalsFirst`
    /// (a request that can move money) the due reversals go first, as before an authorisation (§10 item 5).
    public func exchangeForPayment(_ message: ISO8583.Message, sendDueReversalsFirst: Bool) async -> Delivery {
        paymentsWaiting.add(1, ordering: .relaxed)
        defer { paymentsWaiting.subtract(1, ordering: .relaxed) }
        if sendDueReversalsFirst, let first = beforeAuthorization.withLock({ $0 }) { await first() }
        return await deliver(message, willSend: {})
    }

    /// Sends one 0800 (terminal management, docs/host-interface.md §13) on the shared connection, between payments,
    /// and returns the host's 0810 as read (no MAC: network management carries none). A chunk at a time, so a payment
    /// waits at most one exchange.
    /// - Throws: ``UplinkError`` when the link fails or the answer is not a message of the protocol;
    ///   ``UplinkError/Code-swift.enum/protocolViolation`` for a message that needs a MAC (only 0800s leave without one).
    public func networkManagement(_ message: ISO8583.Message) async throws -> ISO8583.Message {
        guard !HostMACKey.isRequired(for: message) else {
            throw UplinkError(.protocolViolation, "an \(message.mti) carries a MAC: send it with deliver(_:willSend:)")
        }
        let packed = try HostDialect.pack(message)
        let result: Result<[UInt8], UplinkError> = await Self.offThread { [self] in
            gate.withLock { _ in
                let link: HostConnection
                switch openConnection() {
                case .success(let open): link = open
                case .failure(let error): return .failure(error)
                }
                do {
                    return .success(try link.exchange(packed, responseTimeout: configuration.responseTimeout))
                } catch {
                    link.close()
                    connection.withLock { $0 = nil }
                    return .failure(error as? UplinkError ?? UplinkError(.system, "\(error)"))
                }
            }
        }
        let answer = try result.get()
        do {
            return try HostDialect.unpack(answer[...], mac: nil)
        } catch {
            close()
            throw UplinkError(.protocolViolation, "unreadable network management answer: \(error)")
        }
    }

    /// Closes the kept connection (after the exchange in flight); the next request opens a new one.
    public func close() {
        gate.withLock { _ in
            connection.withLock { open in
                open?.close()
                open = nil
            }
        }
    }

    /// The kept connection when it is still usable (the host may have closed it while idle), or a new one.
    private func openConnection() -> Result<HostConnection, UplinkError> {
        if let open = connection.withLock({ $0 }) {
            if open.isUsable { return .success(open) }
            logger.debug("the acquirer closed the kept connection: opening a new one")
        }
        do {
            let link = try HostConnection.connect(
                host: configuration.host, port: configuration.port, tls: configuration.tls, peerName: configuration.peerName,
                connectTimeout: configuration.connectTimeout, handshakeTimeout: configuration.connectTimeout)
            connection.withLock { $0 = link }
            return .success(link)
        } catch let error as UplinkError {
            return .failure(error)
        } catch {
            return .failure(UplinkError(.system, "\(error)"))
        }
    }

    func transactionRequest(_ request: AuthorizationRequest) -> TransactionRequest {
        let now = request.localDateTime
        let time = HostDateTime(month: now.month, day: now.day, hour: now.hour, minute: now.minute, second: now.second)
        let nodes = (try? TLVNode.sequence(tlvEncoded: request.iccData)) ?? []
        let currency = String(request.currencyCode)
        return TransactionRequest(
            kind: .sale, amount: UInt64(request.amount), currencyCode: String(repeating: "0", count: max(0, 3 - currency.count)) + currency,
            stan: request.stan, transmission: time, local: time, terminalID: configuration.terminalID,
            merchantID: configuration.merchantID, batchNumber: request.batchNumber ?? configuration.batchNumber(),
            transactionReference: UInt64(request.transactionReference, radix: 16) ?? 0,
            entryMode: POSEntryMode(rawValue: request.entryMode) ?? .contactChip,
            card: CardData(
                pan: request.pan, expiry: request.expiry, panSequenceNumber: request.panSequenceNumber,
                track2: Self.track2Text(request.track2Equivalent), iccData: nodes),
            pinBlock: request.pinBlock, keySerialNumber: request.keySerialNumber)
    }

    /// Tag '57' (PAN, 'D', expiry, service code, discretionary data, 'F' padding) as ISO 8583 track 2 text with '='.
    static func track2Text(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty else { return nil }
        var text = ""
        for byte in bytes {
            for nibble in [byte >> 4, byte & 0x0F] {
                switch nibble {
                case 0...9: text.append(Character(Unicode.Scalar(0x30 + nibble)))
                case 0x0D: text.append("=")
                default: break
                }
            }
        }
        return text
    }

    func exchange(_ request: ISO8583.Message) -> AuthorizationReply {
        let (link, key): (HostConnection, HostMACKey)
        switch connectionWithMACKey() {
        case .success(let ready): (link, key) = ready
        case .failure(let why): return .unreachable(why.reason)
        }
        let packed: [UInt8]
        do {
            packed = try HostDialect.pack(request, mac: key.authenticationCode)
        } catch {
            logger.error("cannot build the authorisation request", metadata: ["error": "\(error)"])
            return .unreachable("request not built")
        }
        let answer: [UInt8]
        do {
            answer = try link.exchange(packed, responseTimeout: configuration.responseTimeout)
        } catch let error as UplinkError {
            connection.withLock { $0 = nil }
            if case .closed = error.code { return .unreachable("connection closed before sending") }
            logger.warning("no answer from the acquirer", metadata: ["error": "\(error)"])
            return .timedOut
        } catch {
            connection.withLock { $0 = nil }
            return .timedOut
        }
        do {
            let response = try verifiedAnswer(answer, key: key, request: request)
            return .answered(AuthorizationResponse(
                responseCode: response.responseCode.rawValue, authorizationCode: response.authorizationCode,
                retrievalReference: response.retrievalReference, iccData: TLVNode.serialize(response.issuerData)))
        } catch {
            // An answer that cannot be used (a MAC that does not verify, garbage, a mismatched STAN): the host's
            // state is unknown — reverse, reason 4020.
            logger.warning("unusable answer from the acquirer: the request will be reversed", metadata: ["error": "\(error)"])
            link.close()
            connection.withLock { $0 = nil }
            return .unusableResponse("\(error)")
        }
    }

    // MARK: MAC (docs/host-interface.md §11)

    /// Why no MAC key is to be had; nothing financial may leave.
    struct MACKeyUnavailable: Error {
        let reason: String
        /// The connection failed (rather than the key exchange being refused).
        var linkFailed = false
    }

    /// Whether the link holds a MAC working key (tests, diagnostics).
    public var hasMACKey: Bool { macKey.withLock { $0 != nil } }

    /// Forgets the MAC working key: the next MACed message is preceded by a key exchange.
    public func dropMACKey() {
        macKey.withLock { $0 = nil }
    }

    /// An open connection and the session's MAC key (by key exchange on it when there is none). A key exchange whose
    /// link fails on a kept connection (the host closed it while idle) is tried once more on a new one. Called
    /// holding ``gate``.
    private func connectionWithMACKey() -> Result<(HostConnection, HostMACKey), MACKeyUnavailable> {
        var attempts = 0
        while true {
            attempts += 1
            let kept = connection.withLock { $0 }
            let link: HostConnection
            switch openConnection() {
            case .success(let open): link = open
            case .failure(let error): return .failure(MACKeyUnavailable(reason: "\(error)", linkFailed: true))
            }
            let reused = link === kept
            switch sessionMACKey(link) {
            case .success(let key): return .success((link, key))
            case .failure(let why) where why.linkFailed && reused && attempts == 1: continue
            case .failure(let why): return .failure(why)
            }
        }
    }

    /// The session's MAC key, or a new one by key exchange on `link`. Called holding ``gate``.
    private func sessionMACKey(_ link: HostConnection) -> Result<HostMACKey, MACKeyUnavailable> {
        if let key = macKey.withLock({ $0 }) { return .success(key) }
        guard let kbpk = configuration.keyBlockProtectionKey else {
            logger.error(
                "no key block protection key (KBPK) in the key store: no MAC working key can be loaded, so no financial message is sent to the acquirer; inject a KBPK")
            return .failure(MACKeyUnavailable(reason: "no KBPK: no MAC key"))
        }
        let stan = keyExchangeCount.wrappingAdd(1, ordering: .relaxed).newValue % 999_999 + 1
        let request = HostMessages.networkManagement(
            .keyExchange, stan: stan, transmission: Self.transmissionNow(), terminalID: configuration.terminalID,
            merchantID: configuration.merchantID)
        let answer: ISO8583.Message
        do {
            let bytes = try link.exchange(try HostDialect.pack(request), responseTimeout: configuration.responseTimeout)
            answer = try HostDialect.unpack(bytes[...], mac: nil)
        } catch {
            link.close()
            connection.withLock { $0 = nil }
            logger.warning("key exchange failed", metadata: ["error": "\(error)"])
            return .failure(MACKeyUnavailable(reason: "key exchange failed: \(error)", linkFailed: true))
        }
        guard answer.mti == HostMessageType.networkManagementResponse.rawValue, answer[11] == request[11],
            answer[70] == request[70], answer.text(39) == HostResponseCode.approved.rawValue, let block = answer.text(63)
        else {
            logger.error("key exchange refused by the acquirer", metadata: ["mti": "\(answer.mti)", "code": "\(answer.text(39) ?? "-")"])
            return .failure(MACKeyUnavailable(reason: "key exchange refused (\(answer.text(39) ?? "no code"))"))
        }
        switch HostMACKey.unwrap(keyBlock: block, kbpk: kbpk) {
        case .success(let key):
            macKey.withLock { $0 = key }
            logger.info("MAC working key loaded by key exchange", metadata: ["usage": "\(key.algorithm.keyUsage)"])
            return .success(key)
        case .failure(let refused):
            // The block never reaches the log: only why it was refused.
            logger.error("key exchange: the key block is refused", metadata: ["reason": "\(refused)"])
            return .failure(MACKeyUnavailable(reason: "\(refused)"))
        }
    }

    /// The host's answer, its MAC verified under `key` and matched to `request`. An answer whose MAC fails, or that
    /// says `A0`, drops the key: a key exchange comes before the next MACed message. Called holding ``gate``.
    private func verifiedAnswer(_ answer: [UInt8], key: HostMACKey, request: ISO8583.Message) throws -> HostResponse {
        let message: ISO8583.Message
        do {
            message = try HostDialect.unpack(answer[...], mac: key.authenticationCode)
        } catch let error as ISO8583Error where error.code == .macVerificationFailed || error.code == .missingField {
            macKey.withLock { $0 = nil }
            logger.warning("the acquirer's answer fails MAC verification: keys are exchanged before the next request")
            throw error
        }
        let response = try HostResponse(message, answering: request)
        if response.responseCode == .macVerificationFailed {
            macKey.withLock { $0 = nil }
            logger.warning("the acquirer answered A0 (MAC verification failed): keys are exchanged before the next request")
        }
        return response
    }

    /// Field 7 now (UTC, MMDDhhmmss).
    static func transmissionNow() -> HostDateTime {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return HostDateTime(
            month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday), hour: Int(parts.tm_hour), minute: Int(parts.tm_min),
            second: Int(parts.tm_sec))
    }

    /// Runs blocking `work` on a thread of its own and resumes with its result.
    static func offThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let job = Unmanaged.passRetained(ThreadJob { continuation.resume(returning: work()) })
            var thread = pthread_t()
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
            let status = pthread_create(&thread, &attributes, { raw in
                Unmanaged<ThreadJob>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, job.toOpaque())
            pthread_attr_destroy(&attributes)
            if status != 0 {
                job.takeRetainedValue().run()  // no thread to be had: run it here rather than never
            }
        }
    }
}

/// A closure handed to a new thread.
private final class ThreadJob: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
