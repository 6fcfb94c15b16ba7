public import PaymentCrypto

/// The host link's framing: each message is preceded by its length as a 2-byte big-endian header (0 to 65 535
/// bytes), over a TLS session.
///
/// Used by ``HostConnection`` on the terminal side and by the acquirer simulator on the host side. Errors are
/// ``UplinkError``s; a TLS failure keeps the `CryptoError` as ``UplinkError/cause``.
public struct HostFrameChannel {
    /// The largest message the 2-byte header can describe.
    public static let maximumMessageLength = 65_535

    /// The TLS session the frames travel on; owned by the channel.
    public let session: TLSSession

    /// A channel over an established (handshaken) session.
    public init(session: TLSSession) { self.session = session }

    /// The header and message as one buffer (so they go out in one TLS record).
    ///
    /// - Throws: ``UplinkError`` with ``UplinkError/Code/messageTooLong`` above ``maximumMessageLength``.
    public static func frame(_ message: [UInt8]) throws -> [UInt8] {
        guard message.count <= maximumMessageLength else {
            throw UplinkError(.messageTooLong, "a message of \(message.count) bytes does not fit a 2-byte length header")
        }
        var framed: [UInt8] = [UInt8(message.count >> 8), UInt8(message.count & 0xFF)]
        framed.reserveCapacity(message.count + 2)
        framed += message
        return framed
    }

    /// Sends one message before `deadline`.
    ///
    /// - Throws: ``UplinkError``: ``UplinkError/Code/messageTooLong``, ``UplinkError/Code/timeout(_:)`` with phase
    ///   `.request`, ``UplinkError/Code/peerClosed``, or another TLS failure.
    public func send(_ message: [UInt8], deadline: ContinuousClock.Instant) throws {
        let framed = try Self.frame(message)
        try mapTLSErrors(timeoutPhase: .request, context: "sending a message") {
            try session.write(framed, deadline: deadline)
        }
    }

    /// Receives one whole message before `deadline`.
    ///
    /// - Throws: ``UplinkError``: ``UplinkError/Code/timeout(_:)`` with `timeoutPhase`,
    ///   ``UplinkError/Code/peerClosed`` when the peer closes before the whole message arrived (the reason says
    ///   whether any of it had), ``UplinkError/Code/protocolViolation`` for bytes that are not TLS, or another TLS
    ///   failure (``UplinkError/Code/certificateRejected`` when a TLS 1.3 server refuses our certificate after the
    ///   handshake).
    public func receive(deadline: ContinuousClock.Instant, timeoutPhase: UplinkError.Phase = .response) throws -> [UInt8] {
        let header = try mapTLSErrors(timeoutPhase: timeoutPhase, context: "waiting for a message") {
            try session.read(exactly: 2, deadline: deadline)
        }
        let length = Int(header[header.startIndex]) << 8 | Int(header[header.startIndex + 1])
        guard length > 0 else { return [] }
        return try mapTLSErrors(timeoutPhase: timeoutPhase, context: "mid-message (header said \(length) bytes)") {
            try session.read(exactly: length, deadline: deadline)
        }
    }
}

@available(*, unavailable)
extension HostFrameChannel: Sendable {}

/// Runs `body`, turning the TLS wrapper's `CryptoError`s into ``UplinkError``s (the original kept as the cause).
func mapTLSErrors<R>(timeoutPhase: UplinkError.Phase, context: String, _ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as CryptoError {
        throw UplinkError(uplinkCode(error.code, timeoutPhase: timeoutPhase), "TLS failure \(context)", cause: error)
    }
}

/// The Uplink code for a TLS wrapper code.
func uplinkCode(_ code: CryptoError.Code, timeoutPhase: UplinkError.Phase) -> UplinkError.Code {
    switch code {
    case .tlsTimeout: return .timeout(timeoutPhase)
    case .tlsHandshakeFailure: return .handshakeFailure
    case .tlsCertificateRejected: return .certificateRejected
    case .tlsPeerClosed: return .peerClosed
    case .tlsProtocolViolation: return .protocolViolation
    default: return .system
    }
}
