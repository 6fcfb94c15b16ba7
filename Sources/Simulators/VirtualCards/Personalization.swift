import Codecs
import PaymentCrypto

/// An application after personalization: its records, AFL, certificates and TEST ONLY secret keys.
struct PersonalizedApplication {
    /// One record of an application elementary file.
    struct Record {
        var sfi: UInt8
        var number: UInt8
        var bytes: [UInt8]
    }

    let profile: VirtualCardProfile.Application
    let records: [Record]
    let applicationFileLocator: [UInt8]
    /// TEST ONLY: ICC private key for DDA/CDA signatures (and enciphered PIN when no PIN key).
    let iccPrivateKey: RSA.PrivateKey?
    /// TEST ONLY: ICC PIN encipherment private key.
    let pinPrivateKey: RSA.PrivateKey?
    /// ICC master keys for AC, SMI and SMC (option A from the issuer's TEST ONLY IMKs).
    let masterKeyAC: SecretBytes
    let masterKeySMI: SecretBytes
    let masterKeySMC: SecretBytes
    let cryptogramPadding: EMV.CryptogramPadding

    /// The record `number` of file `sfi`.
    func record(sfi: UInt8, number: UInt8) -> Record? {
        records.first { $0.sfi == sfi && $0.number == number }
    }

    init(_ app: VirtualCardProfile.Application, fault: VirtualCardProfile.Fault) throws {
        profile = app
        guard let issuer = TestIssuers.builtIn.issuer(id: app.issuerID) else {
            throw VirtualCardError(.personalizationFailed, "no test issuer '\(app.issuerID)'")
        }
        cryptogramPadding = issuer.cryptogramPadding
        do {
            masterKeyAC = try EMV.iccMasterKeyOptionA(
                issuerMasterKey: issuer.masterKeyAC, pan: app.pan, panSequenceNumber: app.panSequenceNumber)
            masterKeySMI = try EMV.iccMasterKeyOptionA(
                issuerMasterKey: issuer.masterKeySMI, pan: app.pan, panSequenceNumber: app.panSequenceNumber)
            masterKeySMC = try EMV.iccMasterKeyOptionA(
                issuerMasterKey: issuer.masterKeySMC, pan: app.pan, panSequenceNumber: app.panSequenceNumber)
        } catch {
            throw VirtualCardError(.personalizationFailed, "ICC master key derivation failed: \(error)")
        }

        // SFI 1 record 1: track 2 equivalent data and name (not signed).
        var track2 = Nibbles.digits(app.pan) + [0xD] + Nibbles.digits(Hex.encode(app.expiry.prefix(2)))
            + Nibbles.digits(app.serviceCode) + Nibbles.digits("00000000")
        if track2.count % 2 == 1 { track2.append(0xF) }
        var record1 = TLVBuilder()
        record1.add(0x57, Nibbles.pack(track2))
        record1.add(0x5F20, Array(app.cardholderName.utf8))

        // SFI 2 records 1-2: the signed static data (EMV Book 2 5.4 / 6.3: records of SFI 1-10 enter without their
        // '70' tag and length).
        func signedRecord1(effective: [UInt8]) -> [UInt8] {
            var r = TLVBuilder()
            r.add(0x5A, Nibbles.pack(Nibbles.digits(app.pan) + (app.pan.count % 2 == 1 ? [0xF] : [])))
            r.add(0x5F24, app.expiry)
            r.add(0x5F25, effective)
            r.add(0x5F34, [app.panSequenceNumber])
            r.add(0x5F28, app.issuerCountry)
            r.add(0x9F07, app.applicationUsageControl)
            r.add(0x9F08, [0x00, 0x96])
            r.add(0x8E, app.cvmList)
            r.add(0x9F0D, app.issuerActionCodes.default)
            r.add(0x9F0E, app.issuerActionCodes.denial)
            r.add(0x9F0F, app.issuerActionCodes.online)
            r.add(0x9F42, app.currency)
            r.add(0x9F14, [app.lowerConsecutiveOfflineLimit])
            r.add(0x9F23, [app.upperConsecutiveOfflineLimit])
            if app.oda != .none { r.add(0x9F4A, [0x82]) }
            return r.bytes
        }
        var signed2 = TLVBuilder()
        signed2.add(0x8C, app.cdol1)
        signed2.add(0x8D, app.cdol2)
        if app.oda == .dda || app.oda == .cda { signed2.add(0x9F49, [0x9F, 0x37, 0x04]) }
        let signed1 = signedRecord1(effective: app.effective)
        // Static data to be authenticated: the signed records, then the values of the tags in '9F4A' (the AIP).
        let staticData = signed1 + signed2.bytes + app.aip

        var records: [Record] = [
            Record(sfi: 1, number: 1, bytes: TLVBuilder.template(0x70, record1.bytes)),
            Record(sfi: 2, number: 1, bytes: TLVBuilder.template(0x70, signed1)),
            Record(sfi: 2, number: 2, bytes: TLVBuilder.template(0x70, signed2.bytes)),
        ]
        var iccKey: RSA.PrivateKey?
        var pinKey: RSA.PrivateKey?
        if app.oda != .none {
            let ca = try TestPKI.testOnlyPrivateKey(app.keys.ca)
            let issuerKey = try TestPKI.testOnlyPrivateKey(app.keys.issuer)
            let issuerExpiry: [UInt8] = fault == .expiredIssuerCertificate ? [0x12, 0x20] : [0x12, 0x30]
            let issuerSerial: [UInt8] =
                fault == .revokedIssuerCertificate ? TestPKI.testOnlyRevokedCertificateSerial : [0x00, 0x00, 0x01]
            let issuerIdentifier = Nibbles.pack(Array(Nibbles.digits(app.pan).prefix(6)) + [0xF, 0xF])
            let issuerCert = try Certificates.issuerCertificate(
                ca: ca, issuerKey: issuerKey.publicKey, issuerIdentifier: issuerIdentifier, expiry: issuerExpiry,
                serial: issuerSerial)
            var keyRecord = TLVBuilder()
            keyRecord.add(0x8F, [app.caIndex])
            keyRecord.add(0x9F32, issuerCert.exponent)
            if !issuerCert.remainder.isEmpty { keyRecord.add(0x92, issuerCert.remainder) }
            records.append(Record(sfi: 3, number: 1, bytes: TLVBuilder.template(0x70, keyRecord.bytes)))
            var certRecord = TLVBuilder()
            certRecord.add(0x90, issuerCert.certificate)
            records.append(Record(sfi: 3, number: 2, bytes: TLVBuilder.template(0x70, certRecord.bytes)))
            let panField = Nibbles.pack(Nibbles.digits(app.pan) + [UInt8](repeating: 0xF, count: 20 - app.pan.count))
            let certExpiry = [app.expiry[1], app.expiry[0]]
            var iccRecord = TLVBuilder()
            if app.oda == .sda {
                iccRecord.add(
                    0x93, try Certificates.signedStaticApplicationData(
                        issuerKey: issuerKey, dataAuthenticationCode: [0xDA, 0xC1], staticData: staticData))
            } else if let iccName = app.keys.icc {
                let icc = try TestPKI.testOnlyPrivateKey(iccName)
                iccKey = icc
                let cert = try Certificates.iccCertificate(
                    issuerKey: issuerKey, iccKey: icc.publicKey, panField: panField, expiry: certExpiry,
                    serial: [0x00, 0x00, 0x01], staticData: staticData)
                iccRecord.add(0x9F46, cert.certificate)
                iccRecord.add(0x9F47, cert.exponent)
                if !cert.remainder.isEmpty { iccRecord.add(0x9F48, cert.remainder) }
            }
            records.append(Record(sfi: 3, number: 3, bytes: TLVBuilder.template(0x70, iccRecord.bytes)))
            if let pinName = app.keys.pin {
                let pin = try TestPKI.testOnlyPrivateKey(pinName)
                pinKey = pin
                // Book 2 7.1: the PIN key certificate has the ICC certificate's format, without static data.
                let cert = try Certificates.iccCertificate(
                    issuerKey: issuerKey, iccKey: pin.publicKey, panField: panField, expiry: certExpiry,
                    serial: [0x00, 0x00, 0x02], staticData: nil)
                var pinRecord = TLVBuilder()
                pinRecord.add(0x9F2D, cert.certificate)
                pinRecord.add(0x9F2E, cert.exponent)
                if !cert.remainder.isEmpty { pinRecord.add(0x9F2F, cert.remainder) }
                records.append(Record(sfi: 3, number: 4, bytes: TLVBuilder.template(0x70, pinRecord.bytes)))
            }
        }
        if fault == .tamperedStaticData, let index = records.firstIndex(where: { $0.sfi == 2 && $0.number == 1 }) {
            // Altered after signing: the effective date moves a year; the certificate still hashes the original.
            var moved = app.effective
            moved[0] = moved[0] &- 1
            records[index].bytes = TLVBuilder.template(0x70, signedRecord1(effective: moved))
        }
        if fault == .malformedRecord, let index = records.firstIndex(where: { $0.sfi == 1 && $0.number == 1 }) {
            // The '70' template claims 16 bytes more than it holds (short form length kept below 128).
            let content = Array(records[index].bytes.dropFirst(2))
            records[index].bytes = [0x70, UInt8(truncatingIfNeeded: content.count + 16)] + content
        }
        self.records = records
        iccPrivateKey = iccKey
        pinPrivateKey = pinKey

        // AFL (Book 3 10.2): SFI<<3, first record, last record, number of records signed.
        var afl: [UInt8] = [1 << 3, 1, 1, 0, 2 << 3, 1, 2, app.oda == .none ? 0 : 2]
        let sfi3 = records.filter { $0.sfi == 3 }.count
        if sfi3 > 0 { afl += [3 << 3, 1, UInt8(sfi3), 0] }
        applicationFileLocator = afl
    }
}

/// Certificate formatting and signing (EMV Book 2 tables 6, 14, 7 and 17) with TEST ONLY keys.
enum Certificates {
    struct Issued {
        var certificate: [UInt8]
        var remainder: [UInt8]
        var exponent: [UInt8]
    }

    /// Issuer public key certificate (Book 2 table 6), signed by the CA.
    static func issuerCertificate(
        ca: RSA.PrivateKey, issuerKey: RSA.PublicKey, issuerIdentifier: [UInt8], expiry: [UInt8], serial: [UInt8]
    ) throws -> Issued {
        try sign(
            signer: ca, format: 0x02, identifier: issuerIdentifier, expiry: expiry, serial: serial, key: issuerKey,
            reserved: 36, trailingHashData: [])
    }

    /// ICC (or ICC PIN encipherment) public key certificate (Book 2 table 14), signed by the issuer; the hash
    /// covers the static data to be authenticated, except for a PIN key certificate (`staticData` nil).
    static func iccCertificate(
        issuerKey: RSA.PrivateKey, iccKey: RSA.PublicKey, panField: [UInt8], expiry: [UInt8], serial: [UInt8],
        staticData: [UInt8]?
    ) throws -> Issued {
        try sign(
            signer: issuerKey, format: 0x04, identifier: panField, expiry: expiry, serial: serial, key: iccKey,
            reserved: 42, trailingHashData: staticData ?? [])
    }

    private static func sign(
        signer: RSA.PrivateKey, format: UInt8, identifier: [UInt8], expiry: [UInt8], serial: [UInt8],
        key: RSA.PublicKey, reserved: Int, trailingHashData: [UInt8]
    ) throws -> Issued {
        do {
            let n = signer.publicKey.modulusByteCount
            let modulus = try key.modulus()
            let exponent = try key.exponent()
            let room = n - reserved
            let leftmost = Array(modulus.prefix(room)) + [UInt8](repeating: 0xBB, count: max(0, room - modulus.count))
            let remainder = Array(modulus.dropFirst(room))
            let fields: [UInt8] =
                [format] + identifier + expiry + serial + [0x01, 0x01, UInt8(modulus.count), UInt8(exponent.count)]
                + leftmost
            let hash = try Insecure.SHA1.hash(fields + remainder + exponent + trailingHashData)
            let block = [0x6A] + fields + hash + [0xBC]
            return Issued(certificate: try signer.rawPrivateOperation(block), remainder: remainder, exponent: exponent)
        } catch let error as VirtualCardError {
            throw error
        } catch {
            throw VirtualCardError(.personalizationFailed, "certificate signing failed: \(error)")
        }
    }

    /// Signed Static Application Data (Book 2 table 7), signed by the issuer.
    static func signedStaticApplicationData(
        issuerKey: RSA.PrivateKey, dataAuthenticationCode: [UInt8], staticData: [UInt8]
    ) throws -> [UInt8] {
        do {
            let n = issuerKey.publicKey.modulusByteCount
            let fields: [UInt8] = [0x03, 0x01] + dataAuthenticationCode + [UInt8](repeating: 0xBB, count: n - 26)
            let hash = try Insecure.SHA1.hash(fields + staticData)
            return try issuerKey.rawPrivateOperation([0x6A] + fields + hash + [0xBC])
        } catch {
            throw VirtualCardError(.personalizationFailed, "SSAD signing failed: \(error)")
        }
    }

    /// Signed Dynamic Application Data (Book 2 table 17; CDA 6.6.1): format '05', SHA-1, the ICC dynamic data, 'BB'
    /// padding, the hash over all that and `terminalData` (the DDOL data for DDA, the unpredictable number for CDA).
    static func signedDynamicApplicationData(
        iccKey: RSA.PrivateKey, iccDynamicData: [UInt8], terminalData: [UInt8]
    ) throws -> [UInt8] {
        let n = iccKey.publicKey.modulusByteCount
        let fields: [UInt8] =
            [0x05, 0x01, UInt8(iccDynamicData.count)] + iccDynamicData
            + [UInt8](repeating: 0xBB, count: n - iccDynamicData.count - 25)
        let hash = try Insecure.SHA1.hash(fields + terminalData)
        return try iccKey.rawPrivateOperation([0x6A] + fields + hash + [0xBC])
    }
}

/// BER-TLV writing for personalization and responses.
struct TLVBuilder {
    private var serializer = TLVSerializer()

    var bytes: [UInt8] { serializer.serializedBytes }

    mutating func add(_ tag: UInt32, _ value: [UInt8]) {
        serializer.appendPrimitive(tag: TLVTag(tag), value: value)
    }

    mutating func addRaw(_ bytes: [UInt8]) {
        // Already-encoded objects: appended through a parse so the serializer keeps its canonical form.
        if let nodes = try? TLVNode.sequence(tlvEncoded: bytes, rules: .strict) {
            for node in nodes { serializer.append(node) }
        }
    }

    /// `tag` around already-encoded `content`.
    static func template(_ tag: UInt32, _ content: [UInt8]) -> [UInt8] {
        var s = TLVSerializer()
        s.appendPrimitive(tag: TLVTag(tag), value: content)
        return s.serializedBytes
    }
}

/// Digit and nibble helpers for BCD fields.
enum Nibbles {
    /// The decimal digits (or hex digits) of `text` as nibbles.
    static func digits(_ text: String) -> [UInt8] {
        text.utf8.compactMap { c in
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
    }

    /// Packs nibbles two to a byte (an odd count gets a trailing `F`).
    static func pack(_ nibbles: [UInt8]) -> [UInt8] {
        var n = nibbles
        if n.count % 2 == 1 { n.append(0xF) }
        return stride(from: 0, to: n.count, by: 2).map { n[$0] << 4 | n[$0 + 1] }
    }
}
