import ArgumentParser
import PaymentCrypto
import PrepaidPurse

/// `termtool prepaid`: the PBOC electronic purse MACs (docs/prepaid.md) from master keys and transaction data, for
/// worked examples and the cross-check script.
struct PrepaidCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepaid",
        abstract: "Compute the electronic purse MAC1, MAC2 and TAC of a load and of a purchase (docs/prepaid.md).",
        discussion: """
            The card keys are diversified from the master keys by the rightmost 8 bytes of --serial; the session \
            keys come from --random and the counters. Prints load MAC1/MAC2/TAC (online counter, --balance before) \
            and purchase MAC1/MAC2/TAC (offline counter, --sequence). Keys are never printed.

            Example (TEST ONLY master keys):
              $ termtool prepaid --mpk 11111111111111112222222222222222 --mlk 33333333333333334444444444444444 \\
                  --mtk 55555555555555556666666666666666 --serial 10000000000000000017 --random 01020304 \\
                  --counter 5 --sequence 9 --amount 1000 --balance 5000 --terminal 000000000001 \\
                  --datetime 20261127120000
            """
    )

    @Option(help: "Purchase master key MPK, 16 bytes hex.") var mpk: String
    @Option(help: "Load master key MLK, 16 bytes hex.") var mlk: String
    @Option(help: "TAC master key MTK, 16 bytes hex.") var mtk: String
    @Option(help: "Application serial number, 10 bytes hex.") var serial: String
    @Option(help: "The card's pseudo-random number, 4 bytes hex.") var random: String
    @Option(help: "The card's online (load) and offline (purchase) counter before the transaction.") var counter: UInt16
    @Option(help: "Terminal transaction sequence number (purchase).") var sequence: UInt32
    @Option(help: "Amount in fen.") var amount: UInt32
    @Option(help: "Balance before the transaction in fen.") var balance: UInt32
    @Option(help: "Terminal number, 6 bytes hex.") var terminal: String
    @Option(help: "Date and time YYYYMMDDhhmmss (BCD, 7 bytes hex).") var datetime: String

    @OptionGroup var output: CryptoOutputOptions

    func run() throws {
        try CryptoTool.run {
            let masters = try PurseMasterKeys(
                purchase: try CryptoInput.secret(mpk, option: "--mpk", lengths: [16]),
                load: try CryptoInput.secret(mlk, option: "--mlk", lengths: [16]),
                transaction: try CryptoInput.secret(mtk, option: "--mtk", lengths: [16]))
            let serialNumber = try CryptoInput.bytes(serial, option: "--serial", lengths: [10])
            let cardRandom = try CryptoInput.bytes(random, option: "--random", lengths: [4])
            let terminalID = try PurseTerminalID(try CryptoInput.bytes(terminal, option: "--terminal", lengths: [6]))
            let dateTime = try PurseDateTime(bytes: try CryptoInput.bytes(datetime, option: "--datetime", lengths: [7]))
            let keys = try PurseCardKeys(masterKeys: masters, diversificationData: Array(serialNumber.suffix(8)))
            let tacKey = try PurseCrypto.tacKey(transactionKey: keys.transaction)

            let loadSession = try PurseCrypto.loadSessionKey(loadKey: keys.load, random: cardRandom,
                                                             onlineCounter: counter)
            let loadMAC1 = try PurseCrypto.mac(
                PurseCrypto.loadMAC1Input(balance: balance, amount: amount, type: .purseLoad, terminalID: terminalID),
                key: loadSession)
            let loadMAC2 = try PurseCrypto.mac(
                PurseCrypto.loadMAC2Input(amount: amount, type: .purseLoad, terminalID: terminalID, dateTime: dateTime),
                key: loadSession)
            let loadTAC = try PurseCrypto.mac(
                PurseCrypto.loadTACInput(newBalance: balance &+ amount, onlineCounter: counter, amount: amount,
                                         type: .purseLoad, terminalID: terminalID, dateTime: dateTime),
                key: tacKey)

            let purchaseSession = try PurseCrypto.purchaseSessionKey(
                purchaseKey: keys.purchase, random: cardRandom, offlineCounter: counter,
                terminalSequenceNumber: sequence)
            let purchaseMAC1 = try PurseCrypto.mac(
                PurseCrypto.purchaseMAC1Input(amount: amount, type: .pursePurchase, terminalID: terminalID,
                                              dateTime: dateTime),
                key: purchaseSession)
            let purchaseMAC2 = try PurseCrypto.mac(PurseCrypto.purchaseMAC2Input(amount: amount), key: purchaseSession)
            let purchaseTAC = try PurseCrypto.mac(
                PurseCrypto.purchaseTACInput(amount: amount, type: .pursePurchase, terminalID: terminalID,
                                             terminalSequenceNumber: sequence, dateTime: dateTime),
                key: tacKey)

            var report = CryptoReport()
            report.add("load_mac1", "load MAC1", hex: loadMAC1)
            report.add("load_mac2", "load MAC2", hex: loadMAC2)
            report.add("load_tac", "load TAC", hex: loadTAC)
            report.add("purchase_mac1", "purchase MAC1", hex: purchaseMAC1)
            report.add("purchase_mac2", "purchase MAC2", hex: purchaseMAC2)
            report.add("purchase_tac", "purchase TAC", hex: purchaseTAC)
            report.print(json: output.json)
        }
    }
}
