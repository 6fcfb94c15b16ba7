/// The one error of the PaymentCrypto module.
///
/// Its ``code`` is what callers and tests match on; ``reason`` is a human sentence for logs. Neither ever holds key
/// bytes, PIN digits, PIN blocks, card numbers or cryptograms: reasons name lengths, formats and OpenSSL function
/// names only. Every MAC or signature mismatch is the single opaque code ``Code/authenticationFailure``, which says
/// nothing about where the check failed (STYLE.md B3).
///
/// Two errors are equal when their codes are equal.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable, Hashable {
        /// A libcrypto call failed; ``CryptoError/reason`` holds the function name and OpenSSL's error queue.
        case openSSL
        /// A key has a length the algorithm does not accept.
        case invalidKeyLength
        /// Input data has a length the operation does not accept (not a whole number of blocks, a nonce, IV or
        /// tag of the wrong size, data longer than an RSA modulus, ...).
        case invalidInputLength
        /// A parameter is outside what the standard allows (a MAC length, a key type, an exponent, ...).
        case invalidParameter
        /// A PIN is not 4 to 12 decimal digits (ISO 9564-1:2017 clause 8.1).
        case invalidPIN
        /// A primary account number is not decimal digits, or too short for the PIN block format.
        case invalidPAN
        /// A clear PIN block breaks the rules of its format (control field, length, fill digits).
        case invalidPINBlock
        /// A key serial number is malformed or names a counter value the DUKPT scheme never uses.
        case invalidKeySerialNumber
        /// The DUKPT transaction counter is used up: the device must get a new initial key.
        case dukptExhausted
        /// A TR-31 key block is malformed: header, length, optional blocks, hex, or a decrypted payload that does
        /// not parse.
        case malformedKeyBlock
        /// A MAC, tag, cryptogram or signature did not verify. Deliberately one opaque case.
        case authenticationFailure
        /// The input names a variant this module does not implement (for instance TR-31 version A or C).
        case unsupported
        /// A certificate or private key (PEM) does not parse, or the key does not match the certificate.
        case invalidCertificate
        /// A TLS operation did not finish before its deadline; ``CryptoError/reason`` names the phase (handshake,
        /// read, write).
        case tlsTimeout
        /// The TLS handshake failed for a reason other than certificates: no common protocol version, cipher or
        /// group, or an alert from the peer.
        case tlsHandshakeFailure
        /// A certificate was refused: the peer's chain does not lead to the pinned CA, names another host, has
        /// expired, or is missing (a client without a certificate); or the peer refused ours (a certificate alert).
        case tlsCertificateRejected
        /// The peer closed the connection (close_notify, end of stream or reset) before the operation finished.
        case tlsPeerClosed
        /// The peer sent bytes that are not TLS records (garbage, plain text, another protocol) or a record that
        /// does not decrypt.
        case tlsProtocolViolation
        /// The socket failed with an error other than a closed peer (``CryptoError/reason`` names the errno).
        case tlsSocket
    }

    /// What went wrong; compare this, never ``reason``.
    public let code: Code
    /// A sentence for humans. Never contains secrets or card data.
    public let reason: String
    /// Where the error was made (`#fileID`).
    public let file: String
    /// Where the error was made (`#line`).
    public let line: Int

    /// Makes an error; `reason` must not contain key bytes, PIN digits, PANs or cryptograms.
    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { "crypto error (\(code)): \(reason)" }

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool { lhs.code == rhs.code }

    /// The MAC, tag, cryptogram or signature check failed. One opaque error for all of them.
    static func authenticationFailure(file: String = #fileID, line: Int = #line) -> CryptoError {
        CryptoError(.authenticationFailure, "authentication failed", file: file, line: line)
    }

    /// A key of `count` bytes where one of `allowed` was expected.
    static func keyLength(_ count: Int, allowed: [Int], for algorithm: String, file: String = #fileID, line: Int = #line)
        -> CryptoError
    {
        CryptoError(
            .invalidKeyLength,
            "\(algorithm) takes a key of \(allowed.map(String.init).joined(separator: ", ")) bytes, not \(count)",
            file: file, line: line)
    }
}
