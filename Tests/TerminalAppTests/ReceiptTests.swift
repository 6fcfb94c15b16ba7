import DeviceKit
import LinuxDevices
@testable import Store
@testable import TerminalApp
import TerminalUI
import Testing
import Uplink

/// Receipts and X/Z reports rendered as the sim board's printer lays them out (32 columns), compared with the
/// expected text in both languages.
@Suite struct ReceiptTests {
    static let header = Receipts.Header(merchantName: "测试商户 TEST SHOP", terminalID: "SIM00001", merchantID: "898310048990001")
    static let cny = Currency(code: "CNY")!

    static let chipSale = Receipts.Transaction(
        kind: .sale, rail: .emvContact, amountMinor: 1250, currency: cny, stan: 42, batch: 7, localTime: "2026-11-27 17:30:15",
        maskedPAN: "476173******0119", aid: "A0000000031010", applicationLabel: "VISA CREDIT",
        chip: Receipts.ChipData(field55: [0x95, 0x05, 0x00, 0x00, 0x00, 0x80, 0x00, 0x9B, 0x02, 0xE8, 0x00,
                                          0x9F, 0x27, 0x01, 0x40, 0x9F, 0x26, 0x08, 0x1D, 0x0E, 0x9A, 0xC4, 0xA3, 0xC5, 0xB1, 0xF7]),
        retrievalReference: "332917000042", authorizationCode: "A1B2C3", signatureRequired: true)

    static let qrSale = Receipts.Transaction(
        kind: .sale, rail: .qr, amountMinor: 880, currency: cny, stan: 43, batch: 7, localTime: "2026-11-27 17:31:00",
        wallet: "微信支付 WeChat Pay", maskedOrderID: Receipts.maskedReference("QRTXN20261127100001"))

    @Test func chipSaleMerchantCopyInChinese() {
        let text = TextFilePrinter.render(Receipts.receipt(Self.chipSale, header: Self.header, copy: .merchant, language: .zhCN))
        #expect(text == """
               测试商户 TEST SHOP
                  签购单 SALE
             商户存根 MERCHANT COPY
        终端号                  SIM00001
        商户号           898310048990001
        时间         2026-11-27 17:30:15
        批次号                    000007
        凭证号                    000042
        卡号        476173******0119 (I)
        应用                 VISA CREDIT
        AID               A0000000031010
        TVR                   0000008000
        TSI                         E800
        TC 1D0E9AC4A3C5B1F7
        授权码                    A1B2C3
        参考号              332917000042
        金额:
                            ¥ 1 2 . 5 0
               交易成功 APPROVED

        持卡人签名 CARDHOLDER SIGNATURE:


        ________________________________



        ---------------------------- cut

        """)
    }

    @Test func chipSaleCustomerCopyInEnglish() {
        let text = TextFilePrinter.render(Receipts.receipt(Self.chipSale, header: Self.header, copy: .customer, language: .en))
        #expect(text == """
               测试商户 TEST SHOP
                  签购单 SALE
            持卡人存根 CUSTOMER COPY
        TERMINAL                SIM00001
        MERCHANT         898310048990001
        TIME         2026-11-27 17:30:15
        BATCH                     000007
        TRACE                     000042
        CARD        476173******0119 (I)
        APP                  VISA CREDIT
        AID               A0000000031010
        TVR                   0000008000
        TSI                         E800
        TC 1D0E9AC4A3C5B1F7
        AUTH CODE                 A1B2C3
        REF NO              332917000042
        AMOUNT:
                      C N Y   1 2 . 5 0
               交易成功 APPROVED



        ---------------------------- cut

        """)
    }

    @Test func qrAndOfflineMarkers() {
        let qr = TextFilePrinter.render(Receipts.receipt(Self.qrSale, header: Self.header, copy: .customer, language: .zhCN))
        #expect(qr.contains("钱包         微信支付 WeChat Pay") && qr.contains("订单号       QRTXN2*********0001"))
        #expect(!qr.contains("QRTXN20261127100001"))
        var offline = Self.chipSale
        offline.offline = true
        offline.reprint = true
        let text = TextFilePrinter.render(Receipts.receipt(offline, header: Self.header, copy: .customer, language: .en))
        #expect(text.contains("脱机批准 APPROVED OFFLINE") && text.contains("重打印 REPRINT"))
        #expect(!text.contains("4761739001010119"))
    }

    static let totals = BatchTotals(batch: 7, lines: [
        .init(rail: .emvContact, kind: .sale, currency: 156, count: 3, amountMinor: 3300),
        .init(rail: .emvContact, kind: .void, currency: 156, count: 1, amountMinor: 1000),
        .init(rail: .qr, kind: .sale, currency: 156, count: 1, amountMinor: 880),
    ])

    @Test func xReportInBothLanguages() {
        let zh = TextFilePrinter.render(Receipts.xReport(Self.totals, header: Self.header, time: "2026-11-27 18:00:00", language: .zhCN))
        #expect(zh == """
               测试商户 TEST SHOP
              结算前报表 X REPORT
        终端号                  SIM00001
        商户号           898310048990001
        时间         2026-11-27 18:00:00
        批次号                    000007
        --------------------------------
        银行卡(接触)
         消费 3                   ¥33.00
         撤销 1                   ¥10.00
        扫码支付
         消费 1                    ¥8.80
        --------------------------------



        ---------------------------- cut

        """)
        let en = TextFilePrinter.render(Receipts.xReport(Self.totals, header: Self.header, time: "2026-11-27 18:00:00", language: .en))
        #expect(en.contains("CARD (CHIP)\n SALE 3                CNY 33.00\n VOID 1                CNY 10.00\nQR PAYMENTS\n SALE 1                 CNY 8.80"))
    }

    @Test func zReportAfterUpload() {
        let report = SettlementService.Report(
            batch: 7, nextBatch: 8, totals: Self.totals,
            terminalTotals: [SettlementTotals(saleCount: 2, saleAmount: 2300, refundCount: 0, refundAmount: 0, currencyCode: "156")],
            hostTotals: [], uploaded: 4, balanced: true, settledAt: 0)
        let en = TextFilePrinter.render(Receipts.zReport(report, header: Self.header, time: "2026-11-27 23:00:00", language: .en))
        #expect(en == """
               测试商户 TEST SHOP
               结算报表 Z REPORT
        TERMINAL                SIM00001
        MERCHANT         898310048990001
        TIME         2026-11-27 23:00:00
        BATCH                     000007
        --------------------------------
        CARD (CHIP)
         SALE 3                CNY 33.00
         VOID 1                CNY 10.00
        QR PAYMENTS
         SALE 1                 CNY 8.80
        --------------------------------
        SETTLED WITH ACQUIRER (CARDS):
        SALES 2                CNY 23.00
        REFUNDS 0               CNY 0.00
                对账平 BALANCED
        BATCH UPLOADED                 4
        NEXT BATCH                000008



        ---------------------------- cut

        """)
        let zh = TextFilePrinter.render(Receipts.zReport(report, header: Self.header, time: "2026-11-27 23:00:00", language: .zhCN))
        #expect(zh.contains("结算报表 Z REPORT") && zh.contains("与收单行结算(银行卡):\n消费 2                    ¥23.00\n退货 0                     ¥0.00\n        对账平 BALANCED\n批上送笔数                     4\n新批次号                  000008"))
    }

    /// The same documents through the board's ESC/POS path: GB18030 text, the cut last.
    @Test func reportAndReceiptAsEscPosBytes() throws {
        let report = SettlementService.Report(
            batch: 7, nextBatch: 8, totals: Self.totals,
            terminalTotals: [SettlementTotals(saleCount: 2, saleAmount: 2300, refundCount: 0, refundAmount: 0, currencyCode: "156")],
            hostTotals: [], uploaded: 0, balanced: true, settledAt: 0)
        let renderer = EscPosRenderer(configuration: EscPosConfiguration())
        let z = try renderer.render(Receipts.zReport(report, header: Self.header, time: "2026-11-27 23:00:00", language: .zhCN))
        #expect(z.starts(with: [0x1B, 0x40]) && Array(z.suffix(4)) == [0x1D, 0x56, 0x42, 0x00])
        #expect(z.firstRange(of: [0xBD, 0xE1, 0xCB, 0xE3, 0xB1, 0xA8, 0xB1, 0xED]) != nil, "结算报表 in GB18030")
        #expect(z.firstRange(of: Array(" Z REPORT".utf8)) != nil)
        let receipt = try renderer.render(Receipts.receipt(Self.chipSale, header: Self.header, copy: .merchant, language: .zhCN))
        #expect(receipt.firstRange(of: [0xC9, 0xCC, 0xBB, 0xA7, 0xB4, 0xE6, 0xB8, 0xF9]) != nil, "商户存根 in GB18030")
        #expect(receipt.firstRange(of: Array("476173******0119".utf8)) != nil && receipt.firstRange(of: Array("4761739001010119".utf8)) == nil)
    }
}
