import TestKit
import Testing

/// The merchant password changed from the merchant menu of the built `terminal` binary, headless on the sim board
/// (docs/merchant-operations.md, "Changing the password").
@Suite(.serialized) struct MerchantPasswordHeadlessTests {
    static func keys(_ digits: String) -> [String] { digits.map { String($0) } }

    @Test func changedFromTheMenuThenUsedAfterARestart() throws {
        let state = try makeTemporaryDirectory()
        defer { removeTree(state) }
        var lines: [String] = ["MENU", "4"]
        lines += Self.keys("123456") + ["ENTER"]  // the sim board's TEST ONLY default
        lines += ["8"] + Self.keys("123456") + ["ENTER"]  // 修改密码: the current password
        lines += Self.keys("111111") + ["ENTER"]  // refused: a run
        lines += Self.keys("480275") + ["ENTER"]  // the new one
        lines += Self.keys("480275") + ["ENTER"]  // twice
        lines += ["ENTER", "CANCEL"]  // back to the menu, leave
        lines += ["MENU", "4"] + Self.keys("123456") + ["ENTER"]  // the old one no longer opens it
        lines += Self.keys("480275") + ["ENTER", "CANCEL"]  // the new one does
        let input = lines.joined(separator: "\n") + "\n"
        let run = try HeadlessTests.run(input, state: state)
        #expect(run.result.status == 0, "stderr: \(run.result.stderr)")
        let frames = run.frames
        let menu = try #require(frames.first { $0.contains("商户管理") && $0.contains("1 撤销") }, "\(run.result.stdout)")
        #expect(menu.contains("8 修改密码") && menu.contains("7 更新"), "the new entry is the last, the others keep their numbers")
        #expect(frames.contains { $0.contains("修改密码") && $0.contains("请输入原密码") && $0.contains("******") })
        #expect(frames.contains { $0.contains("请输入新密码") && $0.contains("不能用连续或相同的数字") })
        #expect(frames.contains { $0.contains("请再次输入新密码") && $0.contains("******") })
        #expect(frames.contains { $0.contains("密码已修改") })
        let wrong = try #require(frames.firstIndex { $0.contains("密码错误，还可试4次") }, "the old password is refused")
        #expect(frames[wrong...].contains { $0.contains("8 修改密码") }, "the new one opens the menu")
        #expect(frames.last?.contains("欢迎光临") == true)
        // The digits are never shown or logged.
        #expect(!run.result.stdout.contains("480275") && !run.result.stderr.contains("480275"))
        #expect(run.result.stderr.contains("merchant password changed"))

        // A restart keeps it: the sim board sets its default only when no password is stored.
        let again = try HeadlessTests.run((["MENU", "4"] + Self.keys("480275") + ["ENTER", "CANCEL"]).joined(separator: "\n") + "\n", state: state)
        #expect(again.result.status == 0, "stderr: \(again.result.stderr)")
        #expect(again.frames.contains { $0.contains("8 修改密码") }, "\(again.result.stdout)")
    }
}
