public import DeviceKit
import TerminalUI

/// The printer test page (Settings → Printer test): bilingual, with both character widths, emphasis, double size
/// and a QR code, so one page shows that text encoding, styles and the QR command all work.
public enum TestPage {
    public static func document(merchant: String, board: String, version: String, time: String) -> PrintDocument {
        PrintDocument([
            .text("打印测试", alignment: .center, emphasis: true, doubleSize: true),
            .text("PRINTER TEST", alignment: .center, emphasis: true),
            .feed(1),
            .text(merchant, alignment: .center),
            .text("\(UIString.board.text(.zhCN)) Board: \(board)"),
            .text("\(UIString.version.text(.zhCN)) Version: \(version)"),
            .text("时间 Time: \(time)"),
            .text("中文字符 ABCDEFGHIJ 0123456789"),
            .text("¥12.34  ￥56.78", alignment: .right),
            .qrCode("PRINTER TEST \(board) \(version)"),
            .feed(3),
        ])
    }
}
