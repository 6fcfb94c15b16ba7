import Codecs
public import PaymentCrypto

/// A virtual EMV contact card: the card side of EMV 4.4 Books 1-3, with real cryptography and TEST ONLY keys.
///
/// ``process(_:)`` takes one command APDU and returns the response with SW1 SW2, as a T=1 card does (the whole
/// answer in one exchange, no `61xx`). It is deterministic given its ``RandomSource`` (GET CHALLENGE and the ICC
/// dynamic numbers are its only random values) and does no I/O. The card keeps its persistent data (ATC, last
/// online ATC, PIN try counter, consecutive offline count, blocked flag, LCOL/UCOL) across ``reset()``; a reset
/// (power off, warm reset) forgets the selection and the transaction in progress.
///
/// Commands: SELECT (PSE '1PAY.SYS.DDF01' and applications, P2 '00' first / '02' next), READ RECORD, GET
/// PROCESSING OPTIONS, GET DATA ('9F36', '9F13', '9F17'), GET CHALLENGE, INTERNAL AUTHENTICATE (DDA), VERIFY
/// (P2 '80' plaintext ISO 9564 format 2 PIN block, '88' enciphered), GENERATE AC (first and second, CDA on P1 bit
/// 5), EXTERNAL AUTHENTICATE (ARPC method 1), and issuer script commands with secure messaging: APPLICATION BLOCK
/// `84 1E`, APPLICATION UNBLOCK `84 18`, PIN CHANGE/UNBLOCK `84 24`, PUT DATA `04 DA`. docs/virtual-cards.md gives
/// the cryptogram input, the CVR and the secure messaging format.
public final class VirtualCard {
    /// The profile the card was personalised from.
    public let profile: VirtualCardProfile
    let applications: [PersonalizedApplication]
    let random: any RandomSource

    /// Persistent data of one application.
    struct ApplicationState {
        var atc: UInt16 = 0
        var lastOnlineATC: UInt16 = 0
        var consecutiveOffline: Int = 0
        var blocked = false
        var lowerConsecutiveOfflineLimit: UInt8
        var upperConsecutiveOfflineLimit: UInt8
        var issuerAuthenticationFailedLastOnline = false
    }

    /// What is selected.
    enum Selection: Equatable {
        case none
        case pse
        case application(Int)
    }

    /// The issuer authentication of the transaction.
    enum IssuerAuthentication: Equatable {
        case notPerformed
        case succeeded
        case failed
    }

    /// The transaction in progress (from GET PROCESSING OPTIONS to the second GENERATE AC).
    struct Transaction {
        enum Phase: Equatable {
            case processing
            case awaitingSecondAC
            case completed
        }

        var phase = Phase.processing
        var pdolData: [UInt8]
        var cdol1Data: [UInt8] = []
        var cvr = CardVerificationResults()
        var scriptCommands = 0
        var cryptogram: [UInt8]?
        var issuerAuthentication = IssuerAuthentication.notPerformed
        var externalAuthenticateDone = false
    }

    var states: [ApplicationState]
    var pinTryCounter: UInt8
    /// TEST ONLY: the offline PIN, ASCII digits.
    var pin: SecretBytes
    var selection = Selection.none
    var transaction: Transaction?
    var challenge: [UInt8]?
    var lastSelectedAID: [UInt8]?

    /// Whether the card has left the reader (the "pulled" profile after its first GENERATE AC). Once set, the
    /// connection and the vpcd client stop exchanging.
    public private(set) var isRemoved = false

    /// Personalises a card from `profile`: builds its records and signs its certificates with the TEST ONLY keys of
    /// ``TestPKI`` (a few RSA signatures: no key is generated).
    /// - Parameters:
    ///   - profile: the card's profile.
    ///   - random: the source of GET CHALLENGE and ICC dynamic numbers.
    /// - Throws: ``VirtualCardError`` ``VirtualCardError/Code/personalizationFailed``.
    public init(profile: VirtualCardProfile, random: any RandomSource) throws {
        self.profile = profile
        self.random = random
        applications = try profile.applications.map { try PersonalizedApplication($0, fault: profile.fault) }
        states = profile.applications.map {
            ApplicationState(
                lowerConsecutiveOfflineLimit: $0.lowerConsecutiveOfflineLimit,
                upperConsecutiveOfflineLimit: $0.upperConsecutiveOfflineLimit)
        }
        pinTryCounter = profile.initialPINTryCounter
        pin = SecretBytes(Array(VirtualCardProfile.testOnlyPIN.utf8))
    }

    /// The card's answer to reset: T=1, historical bytes "VCARD" (ISO/IEC 7816-3 §8).
    public var answerToReset: [UInt8] {
        let historical = Array("VCARD".utf8)
        let body: [UInt8] = [0x80 | UInt8(historical.count), 0x01] + historical
        return [0x3B] + body + [body.reduce(0, ^)]
    }

    /// A reset or power cycle: forgets the selection, the transaction and the challenge; keeps the persistent data.
    public func reset() {
        selection = .none
        transaction = nil
        challenge = nil
        lastSelectedAID = nil
    }

    /// The application transaction counter ('9F36') of application `index`.
    public func applicationTransactionCounter(application index: Int = 0) -> UInt16 { states[index].atc }

    /// The last online ATC register ('9F13') of application `index`.
    public func lastOnlineATC(application index: Int = 0) -> UInt16 { states[index].lastOnlineATC }

    /// The PIN try counter ('9F17').
    public var pinTryCounterValue: UInt8 { pinTryCounter }

    /// Whether application `index` is blocked (APPLICATION BLOCK script).
    public func isApplicationBlocked(application index: Int = 0) -> Bool { states[index].blocked }

    /// The lower and upper consecutive offline limits of application `index` (PUT DATA may change them).
    public func consecutiveOfflineLimits(application index: Int = 0) -> (lower: UInt8, upper: UInt8) {
        (states[index].lowerConsecutiveOfflineLimit, states[index].upperConsecutiveOfflineLimit)
    }

    /// Processes one command APDU and returns the response data followed by SW1 SW2.
    public func process(_ command: [UInt8]) -> [UInt8] {
        guard let apdu = try? CommandAPDU(apduEncoded: command) else { return sw(0x6700) }
        switch (apdu.cla, apdu.ins) {
        case (0x00, 0xA4): return select(apdu)
        case (0x00, 0xB2): return readRecord(apdu)
        case (0x80, 0xA8): return getProcessingOptions(apdu)
        case (0x80, 0xCA): return getData(apdu)
        case (0x00, 0x84): return getChallenge()
        case (0x00, 0x88): return internalAuthenticate(apdu)
        case (0x00, 0x20): return verify(apdu)
        case (0x80, 0xAE): return generateAC(apdu)
        case (0x00, 0x82): return externalAuthenticate(apdu)
        case (0x84, 0x1E), (0x84, 0x18), (0x84, 0x24), (0x04, 0xDA): return issuerScriptCommand(apdu)
        case (0x00, _), (0x80, _), (0x84, _), (0x04, _): return sw(0x6D00)
        default: return sw(0x6E00)
        }
    }

    // MARK: - Selection (EMV Book 1 clause 11.3, 12)

    static let pseName = Array("1PAY.SYS.DDF01".utf8)

    func select(_ apdu: CommandAPDU) -> [UInt8] {
        if case .selectStatus(0x6A81) = profile.fault { return sw(0x6A81) }
        guard apdu.p1 == 0x04, apdu.p2 == 0x00 || apdu.p2 == 0x02 else { return sw(0x6A86) }
        transaction = nil
        challenge = nil
        if apdu.data == Self.pseName {
            guard profile.hasPSE, apdu.p2 == 0x00 else {
                selection = .none
                return sw(0x6A82)
            }
            selection = .pse
            var proprietary = TLVBuilder()
            proprietary.add(0x88, [0x01])
            proprietary.add(0x5F2D, Array(profile.languagePreference.utf8))
            var fci = TLVBuilder()
            fci.add(0x84, Self.pseName)
            fci.addTemplate(0xA5, proprietary.bytes)
            return TLVBuilder.template(0x6F, fci.bytes) + sw(0x9000)
        }
        // Book 1 12.3.3: partial name; P2 '02' gives the next application matching the same name.
        guard (5...16).contains(apdu.data.count) else { return sw(0x6A82) }
        let candidates = applications.indices.filter { applications[$0].profile.aid.starts(with: apdu.data) }
        var chosen: Int?
        if apdu.p2 == 0x00 {
            chosen = candidates.first
        } else if let last = lastSelectedAID,
            let position = candidates.firstIndex(where: { applications[$0].profile.aid == last })
        {
            chosen = position + 1 < candidates.count ? candidates[position + 1] : nil
        } else {
            chosen = candidates.first
        }
        guard let index = chosen else {
            selection = .none
            return sw(0x6A82)
        }
        let app = applications[index].profile
        lastSelectedAID = app.aid
        selection = .application(index)
        var proprietary = TLVBuilder()
        proprietary.add(0x50, Array(app.label.utf8))
        proprietary.add(0x87, [app.priority])
        proprietary.add(0x5F2D, Array(profile.languagePreference.utf8))
        if let table = app.issuerCodeTableIndex { proprietary.add(0x9F11, [table]) }
        if let name = app.preferredName { proprietary.add(0x9F12, name) }
        if let pdol = app.pdol { proprietary.add(0x9F38, pdol) }
        var discretionary = TLVBuilder()
        discretionary.add(0x5F55, Self.alpha2(app.issuerCountry))
        proprietary.addTemplate(0xBF0C, discretionary.bytes)
        var fci = TLVBuilder()
        fci.add(0x84, app.aid)
        fci.addTemplate(0xA5, proprietary.bytes)
        let blocked = states[index].blocked || profile.fault == .selectStatus(0x6283)
        return TLVBuilder.template(0x6F, fci.bytes) + sw(blocked ? 0x6283 : 0x9000)
    }

    static func alpha2(_ numeric: [UInt8]) -> [UInt8] {
        switch numeric {
        case [0x08, 0x40]: Array("US".utf8)
        case [0x08, 0x26]: Array("GB".utf8)
        case [0x01, 0x56]: Array("CN".utf8)
        default: Array("ZZ".utf8)
        }
    }

    // MARK: - Reading data (Book 3 6.5.11, 6.5.7)

    func readRecord(_ apdu: CommandAPDU) -> [UInt8] {
        guard apdu.p2 & 0x07 == 0x04, apdu.p1 != 0 else { return sw(0x6A86) }
        let sfi = apdu.p2 >> 3
        switch selection {
        case .none:
            return sw(0x6985)
        case .pse:
            guard sfi == 1, apdu.p1 == 1 else { return sw(0x6A83) }
            var directory = TLVBuilder()
            for app in applications.map(\.profile) {
                var entry = TLVBuilder()
                entry.add(0x4F, app.aid)
                entry.add(0x50, Array(app.label.utf8))
                if let name = app.preferredName { entry.add(0x9F12, name) }
                entry.add(0x87, [app.priority])
                directory.addTemplate(0x61, entry.bytes)
            }
            return TLVBuilder.template(0x70, directory.bytes) + sw(0x9000)
        case .application(let index):
            guard let record = applications[index].record(sfi: sfi, number: apdu.p1) else { return sw(0x6A83) }
            return record.bytes + sw(0x9000)
        }
    }

    func getData(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .application(let index) = selection else { return sw(0x6985) }
        let tag = UInt32(apdu.p1) << 8 | UInt32(apdu.p2)
        var out = TLVBuilder()
        switch tag {
        case 0x9F36: out.add(tag, Self.be16(states[index].atc))
        case 0x9F13: out.add(tag, Self.be16(states[index].lastOnlineATC))
        case 0x9F17: out.add(tag, [pinTryCounter])
        default: return sw(0x6A88)
        }
        return out.bytes + sw(0x9000)
    }

    func getChallenge() -> [UInt8] {
        guard let bytes = try? random.bytes(8), bytes.count == 8 else { return sw(0x6F00) }
        challenge = bytes
        return bytes + sw(0x9000)
    }

    // MARK: - GET PROCESSING OPTIONS (Book 3 6.5.8)

    func getProcessingOptions(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .application(let index) = selection, apdu.p1 == 0, apdu.p2 == 0 else { return sw(0x6985) }
        let app = applications[index]
        guard !states[index].blocked, profile.fault != .selectStatus(0x6283), transaction == nil else {
            return sw(0x6985)
        }
        let data = apdu.data
        let expected = app.profile.pdol.flatMap { try? DataObjectList(dolEncoded: $0).relatedDataLength } ?? 0
        guard data.count >= 2, data[0] == 0x83, Int(data[1]) == data.count - 2, data.count - 2 == expected else {
            return sw(0x6700)
        }
        guard states[index].atc < 0xFFFF else { return sw(0x6985) }
        states[index].atc += 1
        transaction = Transaction(pdolData: Array(data.dropFirst(2)))
        if app.profile.usesFormat2 {
            var body = TLVBuilder()
            body.add(0x82, app.profile.aip)
            body.add(0x94, app.applicationFileLocator)
            return TLVBuilder.template(0x77, body.bytes) + sw(0x9000)
        }
        return TLVBuilder.template(0x80, app.profile.aip + app.applicationFileLocator) + sw(0x9000)
    }

    // MARK: - Offline data authentication (Book 2 6.5, 6.6)

    func internalAuthenticate(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .application(let index) = selection, transaction != nil else { return sw(0x6985) }
        let app = applications[index]
        guard let key = app.iccPrivateKey, app.profile.oda == .dda || app.profile.oda == .cda else { return sw(0x6A81) }
        guard !apdu.data.isEmpty else { return sw(0x6700) }
        guard let number = try? random.bytes(8), number.count == 8,
            let sdad = try? Certificates.signedDynamicApplicationData(
                iccKey: key, iccDynamicData: [0x08] + number, terminalData: apdu.data)
        else { return sw(0x6F00) }
        transaction?.cvr.insert(.dynamicDataAuthenticationPerformed)
        if app.profile.usesFormat2 {
            var body = TLVBuilder()
            body.add(0x9F4B, sdad)
            return TLVBuilder.template(0x77, body.bytes) + sw(0x9000)
        }
        return TLVBuilder.template(0x80, sdad) + sw(0x9000)
    }

    // MARK: - VERIFY (Book 3 6.5.12; Book 2 7.2)

    func verify(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .application(let index) = selection, apdu.p1 == 0x00 else { return sw(0x6985) }
        let app = applications[index]
        let block: SecretBytes
        switch apdu.p2 {
        case 0x80:
            guard app.profile.offlinePlaintextPIN else { return sw(0x6A81) }
            guard pinTryCounter > 0 else { return sw(0x6983) }
            guard apdu.data.count == 8 else { return sw(0x6700) }
            block = SecretBytes(apdu.data)
        case 0x88:
            guard app.profile.offlineEncipheredPIN, let key = app.pinPrivateKey ?? app.iccPrivateKey else {
                return sw(0x6A81)
            }
            guard pinTryCounter > 0 else { return sw(0x6983) }
            guard apdu.data.count == key.publicKey.modulusByteCount else { return sw(0x6700) }
            // Book 2 7.2: the terminal enciphered '7F' || PIN block || ICC unpredictable number || random pad.
            guard var recovered = try? key.rawPrivateOperation(apdu.data) else { return sw(0x6A80) }
            defer { for i in recovered.indices { recovered[i] = 0 } }
            let expected = challenge
            challenge = nil
            guard recovered[0] == 0x7F, let expected, Array(recovered[9..<17]) == expected else { return sw(0x6A80) }
            block = SecretBytes(Array(recovered[1..<9]))
        default:
            return sw(0x6A86)
        }
        guard let entered = Self.pinFromFormat2Block(block) else { return sw(0x6A80) }
        transaction?.cvr.insert(.offlinePINVerificationPerformed)
        if entered == pin {
            pinTryCounter = profile.pinTryLimit
            transaction?.cvr.remove(.offlinePINVerificationFailed)
            return sw(0x9000)
        }
        pinTryCounter -= 1
        transaction?.cvr.insert(.offlinePINVerificationFailed)
        if pinTryCounter == 0 { transaction?.cvr.insert(.pinTryLimitExceeded) }
        return sw(0x63C0 | UInt16(pinTryCounter))
    }

    /// The PIN digits of an ISO 9564 format 2 PIN block (`2N` + N digits + `F` fill), or `nil` if malformed.
    static func pinFromFormat2Block(_ block: SecretBytes) -> SecretBytes? {
        block.withUnsafeBytes { b -> SecretBytes? in
            guard b.count == 8, b[0] >> 4 == 0x2 else { return nil }
            let length = Int(b[0] & 0x0F)
            guard (4...12).contains(length) else { return nil }
            var valid = true
            let pin = SecretBytes(count: length) { out in
                for i in 0..<14 {
                    let byte = b[1 + i / 2]
                    let nibble = i % 2 == 0 ? byte >> 4 : byte & 0x0F
                    if i < length {
                        if nibble > 9 { valid = false }
                        out[i] = 0x30 + nibble
                    } else if nibble != 0xF {
                        valid = false
                    }
                }
            }
            return valid ? pin : nil
        }
    }

    // MARK: - GENERATE AC (Book 3 6.5.5, 10.8; Book 2 8.1, 6.6)

    enum CryptogramType: UInt8 {
        case aac = 0x00
        case tc = 0x40
        case arqc = 0x80
    }

    func generateAC(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .application(let index) = selection, var tx = transaction else { return sw(0x6985) }
        guard apdu.p2 == 0x00, let requested = CryptogramType(rawValue: apdu.p1 & 0xC0), apdu.p1 & 0x2F == 0 else {
            return sw(0x6A86)
        }
        let app = applications[index]
        let first = tx.phase == .processing
        guard tx.phase != .completed else { return sw(0x6985) }
        let dolBytes = first ? app.profile.cdol1 : app.profile.cdol2
        guard let dol = try? DataObjectList(dolEncoded: dolBytes), apdu.data.count == dol.relatedDataLength else {
            return sw(0x6700)
        }
        var values = first ? [:] : Self.values(of: app.profile.cdol1, in: tx.cdol1Data)
        for (tag, value) in Self.values(of: dolBytes, in: apdu.data) { values[tag] = value }
        var state = states[index]
        var type: CryptogramType
        if first {
            tx.cdol1Data = apdu.data
            type = cardRiskManagement(requested: requested, app: app.profile, state: state, cvr: &tx.cvr)
            tx.cvr.insert(type == .arqc ? .firstGenerateACARQC : type == .tc ? .firstGenerateACTC : [])
            tx.cvr.insert(.secondGenerateACNotRequested)
            if type == .tc { state.consecutiveOffline += 1 }
        } else {
            type = secondGenerateAC(requested: requested, app: app, values: values, state: &state, tx: &tx)
            tx.cvr.remove(.secondGenerateACNotRequested)
            if type == .tc { tx.cvr.insert(.secondGenerateACTC) }
        }
        states[index] = state
        let atc = Self.be16(state.atc)
        let iad: [UInt8] = [0x06, 0x01, 0x0A, 0x03] + Self.cvrBytes(tx.cvr, scripts: tx.scriptCommands)
        // The AC input (docs/virtual-cards.md): amounts, country, TVR, currency, date, type, UN (from CDOL1, TVR and
        // UN updated by CDOL2), AIP, ATC, CVR (IAD bytes 4-7).
        var input: [UInt8] = []
        for (tag, length) in Self.cryptogramTags {
            input += values[tag].map { DataObjectList.fit($0, toLength: length, format: .b) }
                ?? [UInt8](repeating: 0, count: length)
        }
        input += app.profile.aip + atc + Array(iad[3...6])
        guard let sessionKey = try? EMV.commonSessionKey(iccMasterKey: app.masterKeyAC, atc: state.atc),
            let cryptogram = try? EMV.applicationCryptogram(
                sessionKey: sessionKey, data: input, padding: app.cryptogramPadding)
        else { return sw(0x6F00) }
        let cid = type.rawValue
        if first {
            tx.cryptogram = cryptogram
            tx.phase = type == .arqc ? .awaitingSecondAC : .completed
        } else {
            tx.phase = .completed
        }
        transaction = tx
        if profile.fault == .removedAtFirstGenerateAC { isRemoved = true }

        let cdaRequested = apdu.p1 & 0x10 != 0 && app.profile.oda == .cda && type != .aac
        if cdaRequested, let key = app.iccPrivateKey {
            // Book 2 6.6.1: the transaction data hash code covers the PDOL data, CDOL1 (and CDOL2) data and the
            // response objects but the SDAD, in order.
            var objects = TLVBuilder()
            objects.add(0x9F27, [cid])
            objects.add(0x9F36, atc)
            objects.add(0x9F10, iad)
            let hashed = tx.pdolData + tx.cdol1Data + (first ? [] : apdu.data) + objects.bytes
            let unpredictable = values[TLVTag(0x9F37)].map { Array($0) } ?? [0, 0, 0, 0]
            guard let number = try? random.bytes(8), number.count == 8, let hash = try? Insecure.SHA1.hash(hashed),
                let sdad = try? Certificates.signedDynamicApplicationData(
                    iccKey: key, iccDynamicData: [0x08] + number + [cid] + cryptogram + hash,
                    terminalData: unpredictable)
            else { return sw(0x6F00) }
            var body = TLVBuilder()
            body.add(0x9F27, [cid])
            body.add(0x9F36, atc)
            body.add(0x9F4B, sdad)
            body.add(0x9F10, iad)
            return TLVBuilder.template(0x77, body.bytes) + sw(0x9000)
        }
        if app.profile.usesFormat2 {
            var body = TLVBuilder()
            body.add(0x9F27, [cid])
            body.add(0x9F36, atc)
            body.add(0x9F26, cryptogram)
            body.add(0x9F10, iad)
            return TLVBuilder.template(0x77, body.bytes) + sw(0x9000)
        }
        return TLVBuilder.template(0x80, [cid] + atc + cryptogram + iad) + sw(0x9000)
    }

    /// The terminal data objects of the AC input, in order, with their lengths.
    static let cryptogramTags: [(TLVTag, Int)] = [
        (TLVTag(0x9F02), 6), (TLVTag(0x9F03), 6), (TLVTag(0x9F1A), 2), (TLVTag(0x95), 5), (TLVTag(0x5F2A), 2),
        (TLVTag(0x9A), 3), (TLVTag(0x9C), 1), (TLVTag(0x9F37), 4),
    ]

    /// Card risk management and card action analysis for the first GENERATE AC.
    func cardRiskManagement(
        requested: CryptogramType, app: VirtualCardProfile.Application, state: ApplicationState,
        cvr: inout CardVerificationResults
    ) -> CryptogramType {
        if state.lastOnlineATC == 0 { cvr.insert(.newCard) }
        if state.issuerAuthenticationFailedLastOnline { cvr.insert(.issuerAuthenticationFailureOnLastOnline) }
        if pinTryCounter == 0 { cvr.insert(.pinTryLimitExceeded) }
        if state.blocked || requested == .aac || app.declinesOffline { return .aac }
        var online = app.alwaysOnline || state.issuerAuthenticationFailedLastOnline
        if app.newCardGoesOnline && state.lastOnlineATC == 0 { online = true }
        if state.consecutiveOffline >= Int(state.lowerConsecutiveOfflineLimit) {
            cvr.insert(.exceededVelocityCheckingCounters)
            online = true
        }
        if requested == .arqc || online { return .arqc }
        return .tc
    }

    /// The second GENERATE AC: the terminal's decision after the online request (ARC '8A') or its failure.
    func secondGenerateAC(
        requested: CryptogramType, app: PersonalizedApplication, values: [TLVTag: ArraySlice<UInt8>],
        state: inout ApplicationState, tx: inout Transaction
    ) -> CryptogramType {
        let arc = values[TLVTag(0x8A)].map { Array($0) } ?? []
        if state.blocked || requested != .tc { return .aac }
        // Y3 / Z3: unable to go online (Book 4 A6): offline approval within the upper consecutive offline limit.
        if arc == Array("Y3".utf8) || arc == Array("Z3".utf8) {
            tx.cvr.insert(.unableToGoOnline)
            guard state.consecutiveOffline < Int(state.upperConsecutiveOfflineLimit), arc == Array("Y3".utf8) else {
                return .aac
            }
            state.consecutiveOffline += 1
            return .tc
        }
        // Issuer authentication: EXTERNAL AUTHENTICATE when the AIP says so, else the ARPC in CDOL2 ('91').
        if !app.profile.supportsIssuerAuthentication, let data = values[TLVTag(0x91)], data.count == 10,
            data.contains(where: { $0 != 0 })
        {
            tx.issuerAuthentication = checkARPC(Array(data), app: app, tx: tx) ? .succeeded : .failed
        }
        switch tx.issuerAuthentication {
        case .succeeded:
            state.issuerAuthenticationFailedLastOnline = false
        case .failed:
            tx.cvr.insert(.issuerAuthenticationFailed)
            state.issuerAuthenticationFailedLastOnline = true
            if app.profile.issuerAuthenticationMandatory { return .aac }
        case .notPerformed:
            tx.cvr.insert(.issuerAuthenticationNotPerformedAfterOnline)
            if app.profile.issuerAuthenticationMandatory {
                state.issuerAuthenticationFailedLastOnline = true
                return .aac
            }
        }
        let approvals = [Array("00".utf8), Array("08".utf8), Array("10".utf8), Array("11".utf8)]
        guard approvals.contains(arc) else { return .aac }
        state.lastOnlineATC = state.atc
        state.consecutiveOffline = 0
        return .tc
    }

    /// ARPC method 1 check (Book 2 8.2.1): issuer authentication data = ARPC (8) || ARC (2).
    func checkARPC(_ data: [UInt8], app: PersonalizedApplication, tx: Transaction) -> Bool {
        guard data.count == 10, let arqc = tx.cryptogram, let atc = currentATC,
            let key = try? EMV.commonSessionKey(iccMasterKey: app.masterKeyAC, atc: atc),
            let expected = try? EMV.arpcMethod1(
                sessionKey: key, arqc: arqc, authorisationResponseCode: Array(data[8..<10]))
        else { return false }
        return constantTimeEquals(expected, data[0..<8])
    }

    var currentATC: UInt16? {
        guard case .application(let index) = selection else { return nil }
        return states[index].atc
    }

    // MARK: - EXTERNAL AUTHENTICATE (Book 3 6.5.4)

    func externalAuthenticate(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .application(let index) = selection, var tx = transaction, tx.phase == .awaitingSecondAC,
            !tx.externalAuthenticateDone
        else { return sw(0x6985) }
        guard apdu.data.count == 10 else { return sw(0x6700) }
        tx.externalAuthenticateDone = true
        let ok = checkARPC(apdu.data, app: applications[index], tx: tx)
        tx.issuerAuthentication = ok ? .succeeded : .failed
        if !ok { tx.cvr.insert(.issuerAuthenticationFailed) }
        transaction = tx
        return sw(ok ? 0x9000 : 0x6300)
    }

    // MARK: - Issuer scripts with secure messaging (Book 2 clause 9, Book 3 6.5.1-6.5.3, 6.5.10)

    /// MAC length of the secure messaging format 2 commands.
    static let scriptMACLength = 8

    func issuerScriptCommand(_ apdu: CommandAPDU) -> [UInt8] {
        guard case .application(let index) = selection, var tx = transaction, let ac = tx.cryptogram else {
            return sw(0x6985)
        }
        let app = applications[index]
        defer { transaction = tx }
        tx.scriptCommands = min(tx.scriptCommands + 1, 15)
        guard apdu.data.count >= Self.scriptMACLength else {
            tx.cvr.insert(.issuerScriptProcessingFailed)
            return sw(0x6988)
        }
        let body = Array(apdu.data.dropLast(Self.scriptMACLength))
        let mac = Array(apdu.data.suffix(Self.scriptMACLength))
        let atc = Self.be16(states[index].atc)
        let header = [apdu.cla, apdu.ins, apdu.p1, apdu.p2, UInt8(apdu.data.count)]
        guard let smi = try? EMV.commonSessionKey(iccMasterKey: app.masterKeySMI, diversification: ac),
            let expected = try? ISO9797MAC.algorithm3(header + atc + ac + body, key: smi, padding: .method2),
            constantTimeEquals(expected, mac)
        else {
            tx.cvr.insert(.issuerScriptProcessingFailed)
            return sw(0x6988)
        }
        switch apdu.ins {
        case 0x1E:
            states[index].blocked = true
        case 0x18:
            states[index].blocked = false
        case 0x24:
            switch apdu.p2 {
            case 0x00:
                break
            case 0x01, 0x02:
                // The new PIN: an ISO 9564 format 2 block enciphered under SK_SMC (R = the ARQC), TDES-CBC zero IV.
                guard body.count == 8,
                    let smc = try? EMV.commonSessionKey(iccMasterKey: app.masterKeySMC, diversification: ac),
                    let clear = try? Insecure.TDES.ECB.decrypt(body, key: smc),
                    let newPIN = Self.pinFromFormat2Block(clear)
                else {
                    tx.cvr.insert(.issuerScriptProcessingFailed)
                    return sw(0x6A80)
                }
                pin = newPIN
            default:
                return sw(0x6A86)
            }
            pinTryCounter = profile.pinTryLimit
        case 0xDA:
            let tag = UInt32(apdu.p1) << 8 | UInt32(apdu.p2)
            guard body.count == 1 else { return sw(0x6700) }
            switch tag {
            case 0x9F14: states[index].lowerConsecutiveOfflineLimit = body[0]
            case 0x9F23: states[index].upperConsecutiveOfflineLimit = body[0]
            default:
                tx.cvr.insert(.issuerScriptProcessingFailed)
                return sw(0x6A88)
            }
        default:
            return sw(0x6D00)
        }
        return sw(0x9000)
    }

    // MARK: - Helpers

    func sw(_ word: UInt16) -> [UInt8] { [UInt8(word >> 8), UInt8(word & 0xFF)] }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    static func cvrBytes(_ cvr: CardVerificationResults, scripts: Int) -> [UInt8] {
        [
            UInt8(truncatingIfNeeded: cvr.rawValue >> 16), UInt8(truncatingIfNeeded: cvr.rawValue >> 8),
            UInt8(truncatingIfNeeded: cvr.rawValue) | UInt8(min(scripts, 15)) << 4,
        ]
    }

    /// The values of a DOL's entries in its related data.
    static func values(of dolBytes: [UInt8], in data: [UInt8]) -> [TLVTag: ArraySlice<UInt8>] {
        guard let dol = try? DataObjectList(dolEncoded: dolBytes), dol.relatedDataLength == data.count else { return [:] }
        var out: [TLVTag: ArraySlice<UInt8>] = [:]
        var offset = data.startIndex
        for entry in dol.entries {
            out[entry.tag] = data[offset..<(offset + entry.length)]
            offset += entry.length
        }
        return out
    }
}

@available(*, unavailable)
extension VirtualCard: Sendable {}

extension TLVBuilder {
    /// A constructed object around already-encoded `content`.
    mutating func addTemplate(_ tag: UInt32, _ content: [UInt8]) {
        add(tag, content)
    }
}
