import Codecs
import PaymentCrypto
import PrepaidPurse
import Store
import TerminalApp
import VirtualCards

/// The prepaid part of `termtool store stress` (docs/prepaid.md §4.3): offline purchases on a virtual purse card
/// whose memory is a file, written durably after every command that changes it (the card's EEPROM commit), so a
/// SIGKILL can land between the card's debit and the journal's record. At start it recovers the torn purchases as
/// the terminal does. Prints "APPROVED <txn_ref> offline" and "PREPAID <txn_ref> <amount>" after the commits.
final class PrepaidStress {
    /// The card's balance when its memory file is first made (10 000.00).
    static let initialBalance: UInt32 = 1_000_000

    let card: VirtualPurseCard
    let channel: Channel
    let journal: TransactionJournal
    let sam: SoftwareSAM
    let info: () throws -> PurseCardInfo?

    final class Channel: PurseCardChannel {
        let card: VirtualPurseCard
        let file: String
        init(card: VirtualPurseCard, file: String) {
            self.card = card
            self.file = file
        }
        func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
            let answer = card.process(command.encoded)
            // DEBIT and CREDIT change the card's memory: committed before the answer leaves the card.
            if command.cla == 0x80, command.ins == 0x54 || command.ins == 0x52, answer.suffix(2) == [0x90, 0x00] {
                try DurableFile.store(file, card.persistentState)
            }
            return try ResponseAPDU(apduEncoded: answer)
        }
    }

    init(cardFile: String, journal: TransactionJournal, seed: UInt64) throws {
        guard let profile = VirtualPurseProfile.named("prepaid-good") else { throw StoreError(.invalid, "no purse profile") }
        card = VirtualPurseCard(profile: profile, random: SystemRandom())
        let fresh = card
        let restored = (try? DurableFile.readAll(cardFile)).map { fresh.restore(persistentState: $0) } ?? false
        if !restored {
            var state = card.persistentState
            state.replaceSubrange(1..<5, with: [UInt8(Self.initialBalance >> 24), UInt8(Self.initialBalance >> 16 & 0xFF),
                                                UInt8(Self.initialBalance >> 8 & 0xFF), UInt8(Self.initialBalance & 0xFF)])
            card.restore(persistentState: state)
            try DurableFile.store(cardFile, card.persistentState)
        }
        channel = Channel(card: card, file: cardFile)
        self.journal = journal
        sam = SoftwareSAM(masterKeys: .testOnly(), terminalID: try PurseTerminalID([0, 0, 0, 0, 0, 1]),
                          firstSequenceNumber: UInt32(truncatingIfNeeded: seed &* 10_007))
        let channel = self.channel
        info = {
            guard case .success(let info) = try PurseTerminal.read(channel) else { return nil }
            return info
        }
    }

    static func dateTime() -> PurseDateTime {
        (try? PurseDateTime(year: 2026, month: 11, day: 27, hour: 12, minute: 0, second: 0)) ?? .fallback
    }

    func draft(amount: UInt32, blob: [UInt8], info: PurseCardInfo) -> TransactionDraft {
        TransactionDraft(
            rail: .prepaid, kind: .sale, amountMinor: Int64(amount), currency: 156, entryMode: .prepaidCard,
            card: CardData(field55: SecretBytes(blob),
                           prepaidCardID: SecretBytes(Array(info.applicationData.cardNumber.suffix(16).utf8))))
    }

    /// One purchase: prepared, sealed in the journal, debited, completed.
    func purchase(amount: UInt32) throws {
        card.reset()
        guard let info = try info(), info.balance >= amount else { return }
        guard case .prepared(let prepared, let session) = try PurseTerminal.preparePurchase(
            card: info, amount: amount, dateTime: Self.dateTime(), sam: sam, channel: channel),
            let blob = prepared.persisted
        else { return }
        let id = try journal.begin(draft(amount: amount, blob: blob, info: info))
        guard case .completed(let completed) = try PurseTerminal.debit(prepared, session: session, sam: sam, channel: channel) else {
            try journal.recordOutcome(id, .failed)
            return
        }
        try journal.recordCompletionICCData(id, field55: SecretBytes(completed.persisted ?? []))
        try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
        StoreCommand.emit("APPROVED \(id.txnRef) offline")
        StoreCommand.emit("PREPAID \(id.txnRef) \(amount)")
    }

    /// The terminal's recovery of torn purchases (PrepaidService), for every prepaid sale still pending or failed
    /// whose sealed data is a prepared purchase.
    func recoverTornPurchases() throws {
        card.reset()
        guard let info = try info() else { return }
        for record in try journal.records(limit: 100_000) where record.rail == .prepaid && record.kind == .sale
            && (record.status == .pending || record.status == .failed) && !record.id.txnRef.hasPrefix("r")
        {
            guard let blob = try journal.cardData(record.id).field55?.withUnsafeBytes({ Array($0) }),
                let prepared = try? PreparedPurchase(persisted: blob)
            else { continue }
            guard case .debited(let completed) = try PurseTerminal.recoverPurchase(prepared, sam: sam, channel: channel)
            else { continue }
            if record.status == .pending {
                try journal.recordCompletionICCData(record.id, field55: SecretBytes(completed.persisted ?? []))
                try journal.recordOutcome(record.id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
            } else {
                try PrepaidService.recordRecovered(
                    journal: journal, torn: record.id.txnRef,
                    draft: draft(amount: prepared.amount, blob: completed.persisted ?? [], info: info))
            }
            StoreCommand.emit("RECOVERED-PREPAID \(record.id.txnRef) \(prepared.amount)")
        }
    }
}
