/// A throw-away PKI for tests and the acquirer simulator: **test use only**, never on a board.
///
/// One CA, a server certificate for the host names and addresses given (by default `localhost` and `127.0.0.1`)
/// and a client (terminal) certificate, all EC P-256 with SHA-256 signatures, made with OpenSSL's X509 API. Every
/// call makes new keys, so two PKIs never trust each other (which is how the tests build a server from a wrong CA).
public struct TLSTestCertificates: Sendable {
    /// The CA certificate (PEM): the one both sides pin.
    public let caCertificatePEM: [UInt8]
    /// The CA's private key (PEM), for issuing more certificates later.
    public let caPrivateKeyPEM: SecretBytes
    /// The server certificate (PEM).
    public let serverCertificatePEM: [UInt8]
    /// The server's private key (PKCS#8 PEM).
    public let serverPrivateKeyPEM: SecretBytes
    /// The client (terminal) certificate (PEM).
    public let clientCertificatePEM: [UInt8]
    /// The client's private key (PKCS#8 PEM).
    public let clientPrivateKeyPEM: SecretBytes

    /// The server's certificate and key as a ``TLSIdentity``.
    public var serverIdentity: TLSIdentity {
        TLSIdentity(certificateChainPEM: serverCertificatePEM, privateKeyPEM: serverPrivateKeyPEM)
    }

    /// The client's certificate and key as a ``TLSIdentity``.
    public var clientIdentity: TLSIdentity {
        TLSIdentity(certificateChainPEM: clientCertificatePEM, privateKeyPEM: clientPrivateKeyPEM)
    }

    /// Generates a new CA, server and client certificate.
    ///
    /// - Parameters:
    ///   - caName: the CA's commonName.
    ///   - serverNames: the server certificate's subjectAltNames: IP literals become iPAddress entries, the rest
    ///     dNSName entries; the first is also its commonName.
    ///   - clientName: the client certificate's commonName (a terminal id).
    ///   - validityDays: how long the certificates stay valid (they start an hour in the past).
    /// - Throws: ``CryptoError`` with ``CryptoError/Code/openSSL`` when OpenSSL fails.
    public static func generate(
        caName: String = "Test Acquirer CA", serverNames: [String] = ["localhost", "127.0.0.1"],
        clientName: String = "test-terminal", validityDays: Int = 30
    ) throws -> TLSTestCertificates {
        let caKey = try X509Builder.generateP256Key()
        let ca = try X509Builder.issue(
            commonName: caName, subjectKey: caKey, profile: .authority, issuer: nil, issuerKey: caKey, validityDays: validityDays)
        let serverKey = try X509Builder.generateP256Key()
        let server = try X509Builder.issue(
            commonName: serverNames.first ?? "server", subjectKey: serverKey, profile: .server(names: serverNames),
            issuer: ca, issuerKey: caKey, validityDays: validityDays)
        let clientKey = try X509Builder.generateP256Key()
        let client = try X509Builder.issue(
            commonName: clientName, subjectKey: clientKey, profile: .client, issuer: ca, issuerKey: caKey,
            validityDays: validityDays)
        return TLSTestCertificates(
            caCertificatePEM: try X509Builder.pem(ca), caPrivateKeyPEM: try X509Builder.privateKeyPEM(caKey),
            serverCertificatePEM: try X509Builder.pem(server), serverPrivateKeyPEM: try X509Builder.privateKeyPEM(serverKey),
            clientCertificatePEM: try X509Builder.pem(client), clientPrivateKeyPEM: try X509Builder.privateKeyPEM(clientKey))
    }
}
