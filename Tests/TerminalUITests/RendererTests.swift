import DeviceKit
import TerminalUI
import Testing

@Suite struct RendererTests {
    static let cny = Currency(code: "CNY")!
    static let idle = Screen.idle(.init(merchantName: "好吃面馆", time: "12:05", wifi: .up, cellular: .down, hostReachable: true, unsentCount: 2))

    func lines(_ grid: CharacterGrid) -> [String] { grid.plainText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    @Test func idleInChineseOn40x15() {
        let grid = ScreenRenderer(columns: 40, rows: 15).render(Self.idle, language: .zhCN)
        let l = lines(grid)
        #expect(l.count == 15)
        #expect(l[0].hasPrefix("好吃面馆") && l[0].hasSuffix("12:05"))
        #expect(grid[0, 0].inverse, "the title bar is inverse")
        #expect(l.contains { $0.contains("欢迎光临") })
        #expect(l.contains { $0.contains("无线:已连接 移动:未连接") })
        #expect(l[14].contains("联机 待上送2笔"))
        // A wide character takes two cells.
        #expect(grid[0, 0].scalar == "好" && grid[1, 0].scalar == nil)
    }

    @Test func idleInEnglishOn20x4() {
        let l = lines(ScreenRenderer(columns: 20, rows: 4).render(Self.idle, language: .en))
        #expect(l.count == 4)
        #expect(l[0].hasSuffix("12:05"))
        #expect(l[3].contains("Online 2 unsent"))
        #expect(l.allSatisfy { CharacterGrid.cellWidth(of: $0) <= 20 })
    }

    @Test func idleShowsTheRouteInUse() {
        func bottom(_ route: Screen.OnlineRoute?, reachable: Bool = true, _ language: Language, columns: Int = 40) -> String {
            let screen = Screen.idle(.init(merchantName: "M", time: "12:05", wifi: .up, cellular: .up, hostReachable: reachable, unsentCount: 3, onlineRoute: route))
            let grid = ScreenRenderer(columns: columns, rows: 15).render(screen, language: language)
            return lines(grid)[14]
        }
        #expect(bottom(.wifi, .zhCN).contains("联机(无线) 待上送3笔"))
        #expect(bottom(.cellularMetered, .zhCN).contains("联机(移动 计流量) 待上送3笔"))
        #expect(bottom(.wifi, .en).contains("Online via Wi-Fi 3 unsent"))
        #expect(bottom(.cellularMetered, .en).contains("Online via cellular (metered) 3 unsent"))
        #expect(bottom(.cellularMetered, reachable: false, .en).contains("Offline 3 unsent"))
        #expect(bottom(nil, .en).contains("Online 3 unsent"))
    }

    @Test(arguments: [Language.zhCN, .en])
    func everyScreenRendersInBothLanguages(_ language: Language) {
        let screens: [Screen] = [
            Self.idle,
            .menu(.init(title: .ui(.menuTitle), items: [.ui(.menuSale), .ui(.menuSettings)], selected: 1)),
            .amountEntry(.init(title: .ui(.amountTitle), amount: 123_456, currency: Self.cny, notice: .ui(.amountLimit))),
            .methodChoice(.init(amount: 100, currency: Self.cny, methods: [.card, .qr, .prepaid], selected: 2)),
            .present(.init(amount: 100, currency: Self.cny, method: nil)),
            .pinEntry(.init(amount: 100, currency: Self.cny, digitCount: 4)),
            .processing(.init()),
            .outcome(.init(approved: true, amount: 100, currency: Self.cny, lines: [.ui(.removeCard)])),
            .outcome(.init(approved: false, amount: 100, currency: Self.cny, lines: [.ui(.notAvailable)])),
            .info(.init(title: .ui(.settingsAbout), lines: [.raw("Version: 1")])),
            .error(.init(lines: [.ui(.deviceFault)])),
            .shuttingDown,
        ]
        for size in [(40, 15), (20, 4), (30, 8)] where language == .en || size.0 >= 30 {
            let renderer = ScreenRenderer(columns: size.0, rows: size.1)
            for screen in screens {
                let grid = renderer.render(screen, language: language)
                #expect(grid.columns == size.0 && grid.rows == size.1)
                #expect(!grid.plainText.trimmingSpaces.isEmpty, "\(screen) renders nothing at \(size)")
            }
        }
    }

    @Test func amountsUseTheCurrencyExponent() {
        #expect(Self.cny.display(minorUnits: 1234, language: .zhCN) == "¥12.34")
        #expect(Self.cny.display(minorUnits: 5, language: .en) == "CNY 0.05")
        #expect(Currency(code: "JPY")!.display(minorUnits: 500, language: .en) == "JPY 500")
        #expect(Currency(code: "cny") == Self.cny)
        #expect(Currency(code: "XXX") == nil)
    }

    @Test func pinIsMasked() {
        let grid = ScreenRenderer(columns: 40, rows: 15).render(.pinEntry(.init(amount: 100, currency: Self.cny, digitCount: 6)), language: .en)
        #expect(grid.plainText.contains("******"))
        #expect(!grid.plainText.contains("*******"))
    }

    @Test func menuMarksTheSelection() {
        let grid = ScreenRenderer(columns: 20, rows: 4).render(.menu(.init(title: .ui(.menuTitle), items: [.ui(.menuSale), .ui(.menuSettings)], selected: 1)), language: .en)
        let l = lines(grid)
        #expect(l[1] == " 1 Sale")
        #expect(l[2].hasPrefix(">2 Settings"))
        #expect(grid[0, 2].inverse)
    }

    @Test func longInformationScrollsWithMarksOn20x4() {
        let renderer = ScreenRenderer(columns: 20, rows: 4)
        let body = (1...5).map { Screen.Text.raw("Line \($0) of five, long enough to be cut") }
        func rows(top: Int) -> [String] {
            Array(lines(renderer.render(.info(.init(title: .raw("Parameters"), lines: body, top: top)), language: .en))[1...2])
        }
        // Two body rows on a 20x4 LCD (title above, hint below): `v` says more follows, `^` that lines are above.
        #expect(rows(top: 0) == ["Line 1 of five, long", "Line 2 of five, lonv"])
        #expect(rows(top: 1) == ["Line 2 of five, lon^", "Line 3 of five, lonv"])
        #expect(rows(top: 3) == ["Line 4 of five, lon^", "Line 5 of five, long"])
        #expect(rows(top: 40) == rows(top: 3), "past the end shows the last full page")
        // Lines that fit are drawn as before, with no marks; on the sim board's 40x15 all five fit.
        let short = lines(renderer.render(.info(.init(title: .raw("T"), lines: [.raw("a"), .raw("b")])), language: .en))
        #expect(short[1] == "a" && short[2] == "b")
        let big = lines(ScreenRenderer(columns: 40, rows: 15).render(.info(.init(title: .raw("T"), lines: body, top: 2)), language: .en))
        #expect(big[1].hasPrefix("Line 1") && !big.joined().contains("^"))
        // A wide glyph under the mark's column is cleared, not cut in half.
        let wide = renderer.render(.info(.init(title: .raw("T"), lines: (1...3).map { _ in .raw("参数版本一二三四五六七") })), language: .zhCN)
        #expect(wide[19, 2].scalar == "v" && wide[18, 2].scalar == " ")
    }

    @Test func gridClipsWideCharactersAtTheEdge() {
        var grid = CharacterGrid(columns: 5, rows: 1)
        grid.write("ab中文", column: 0, row: 0)
        #expect(grid.text(ofRow: 0) == "ab中 ")
        grid.write("x", column: 3, row: 0)  // over the right half of 中
        #expect(grid.text(ofRow: 0) == "ab x ")
    }
}

extension String {
    var trimmingSpaces: String { filter { $0 != " " && $0 != "\n" } }
}
