public import DeviceKit

/// Lays a ``Screen`` out on a character grid of the display's size, in one language.
///
/// Every layout has a title row at the top (shown inverse) and a hint row at the bottom; the rows between hold the
/// content and are clipped, never wrapped, so the smallest display (20x4) shows the essentials of each screen.
public struct ScreenRenderer: Sendable {
    public var columns: Int
    public var rows: Int

    public init(columns: Int, rows: Int) {
        precondition(columns >= 16 && rows >= 4, "screens need a display of at least 16x4 cells, got \(columns)x\(rows)")
        self.columns = columns
        self.rows = rows
    }

    public func render(_ screen: Screen, language: Language) -> CharacterGrid {
        var canvas = Layout(grid: CharacterGrid(columns: columns, rows: rows), language: language)
        switch screen {
        case .idle(let idle):
            canvas.titleBar(left: idle.merchantName, right: idle.time)
            var body: [String] = [UIString.welcome.text(language), UIString.idleHint.text(language)]
            if rows > 5 { body.append(linkLine(idle, language)) }
            if rows > 6, let line = idle.management, !line.isEmpty { body.append(line) }
            canvas.centered(body)
            let link: UIString = switch (idle.hostReachable, idle.onlineRoute) {
            case (false, _): .offline
            case (true, .wifi?): .onlineViaWifi
            case (true, .cellularMetered?): .onlineViaCellularMetered
            case (true, nil): .online
            }
            var status = link.text(language)
            if idle.unsentCount > 0 { status += " " + UIString.unsent(idle.unsentCount).text(language) }
            canvas.bottom(status)
        case .menu(let menu):
            canvas.titleBar(left: menu.title.resolve(language))
            canvas.list(menu.items.map { $0.resolve(language) }, selected: menu.selected)
            canvas.bottom(UIString.navigateHint.text(language))
        case .amountEntry(let entry):
            canvas.titleBar(left: entry.title.resolve(language))
            var body = [entry.currency.display(minorUnits: entry.amount, language: language)]
            if let notice = entry.notice { body.append(notice.resolve(language)) }
            canvas.centered(body)
            canvas.bottom(UIString.pressEnter.text(language))
        case .methodChoice(let choice):
            canvas.titleBar(left: UIString.methodTitle.text(language), right: rows > 4 ? nil : choice.currency.display(minorUnits: choice.amount, language: language))
            var items = choice.methods.map { UIString.method($0).text(language) }
            var selected = choice.selected
            if rows > 5 {
                items.insert(UIString.amountLabel.text(language) + " " + choice.currency.display(minorUnits: choice.amount, language: language), at: 0)
                selected += 1
                canvas.list(items, selected: selected, firstSelectable: 1)
            } else {
                canvas.list(items, selected: selected)
            }
            canvas.bottom(UIString.navigateHint.text(language))
        case .present(let present):
            canvas.titleBar(left: present.currency.display(minorUnits: present.amount, language: language))
            var lines = [(present.method.map { UIString.present($0) } ?? .presentAny).text(language)]
            if present.method == .qr { lines.append(UIString.qrShowCodeHint.text(language)) }
            canvas.centered(lines)
            canvas.bottom(UIString.cancelHint.text(language))
        case .pinEntry(let pin):
            canvas.titleBar(left: UIString.pinTitle.text(language), right: pin.currency.display(minorUnits: pin.amount, language: language))
            var body = [pin.digitCount == 0 ? "_" : String(repeating: "*", count: pin.digitCount)]
            if let notice = pin.notice { body.append(notice.resolve(language)) }
            canvas.centered(body)
            canvas.bottom(UIString.pinHint.text(language))
        case .processing(let p):
            canvas.titleBar(left: "")
            canvas.centered([p.message.resolve(language)])
            if let lit = p.indicators {
                // Book A 9.2: four lights, lit from the left; ASCII so every display and font has it.
                let lights = (0..<4).map { $0 < lit ? "[#]" : "[ ]" }.joined()
                canvas.bottom(lights + (p.beep ? " beep" : ""))
            }
        case .outcome(let outcome):
            canvas.titleBar(left: (outcome.approved ? UIString.approved : .declined).text(language))
            var body: [String] = []
            if let amount = outcome.amount, let currency = outcome.currency {
                body.append(currency.display(minorUnits: amount, language: language))
            }
            body += outcome.lines.map { $0.resolve(language) }
            canvas.centered(body)
            canvas.bottom(UIString.pressEnter.text(language))
        case .info(let info):
            canvas.titleBar(left: info.title.resolve(language))
            canvas.lines(info.lines.map { $0.resolve(language) }, top: info.top)
            canvas.bottom(UIString.pressEnter.text(language))
        case .error(let error):
            canvas.titleBar(left: UIString.errorTitle.text(language))
            canvas.centered(error.lines.map { $0.resolve(language) })
            canvas.bottom(UIString.pressEnter.text(language))
        case .shuttingDown:
            canvas.centered([UIString.shuttingDown.text(language)])
        case .qrCode(let qr):
            canvas.titleBar(left: UIString.qrScanToPay.text(language), right: qr.currency.display(minorUnits: qr.amount, language: language))
            canvas.centered([UIString.qrScanToPay.text(language), UIString.qrOrder(qr.reference).text(language)])
            canvas.bottom(UIString.cancelHint.text(language))
            canvas.grid.qrOverlay = QROverlay(matrix: qr.matrix, rows: canvas.bodyRows)
        }
        return canvas.grid
    }

    private func linkLine(_ idle: Screen.Idle, _ language: Language) -> String {
        func state(_ s: Screen.LinkState) -> String {
            switch s {
            case .up: UIString.linkUp.text(language)
            case .down: UIString.linkDown.text(language)
            case .absent: UIString.linkAbsent.text(language)
            }
        }
        return UIString.wifi.text(language) + ":" + state(idle.wifi) + " " + UIString.cellular.text(language) + ":" + state(idle.cellular)
    }
}

/// Drawing helpers over a grid: title row, bottom row, and the body rows between them.
private struct Layout {
    var grid: CharacterGrid
    let language: Language

    var bodyRows: Range<Int> { 1..<(grid.rows - 1) }

    mutating func titleBar(left: String, right: String? = nil) {
        grid.clearRow(0, inverse: true)
        grid.write(left, column: 0, row: 0, inverse: true)
        if let right {
            let width = CharacterGrid.cellWidth(of: right)
            let leftWidth = CharacterGrid.cellWidth(of: left)
            if leftWidth + 1 + width <= grid.columns {
                grid.write(right, column: grid.columns - width, row: 0, inverse: true)
            }
        }
    }

    mutating func bottom(_ text: String) {
        let width = CharacterGrid.cellWidth(of: text)
        grid.write(text, column: max(0, (grid.columns - width) / 2), row: grid.rows - 1)
    }

    /// Lines centred horizontally and vertically in the body.
    mutating func centered(_ lines: [String]) {
        let shown = Array(lines.prefix(bodyRows.count))
        let top = bodyRows.lowerBound + (bodyRows.count - shown.count) / 2
        for (i, line) in shown.enumerated() {
            let width = CharacterGrid.cellWidth(of: line)
            grid.write(line, column: max(0, (grid.columns - width) / 2), row: top + i)
        }
    }

    /// Lines from the top of the body, left-aligned, starting at line `top` (clamped so the last page is full).
    /// When lines are cut off, `^` (more above) and `v` (more below) take the last column of the first and last
    /// body rows: ASCII, so every display and font has them.
    mutating func lines(_ lines: [String], top: Int = 0) {
        let visible = bodyRows.count
        let first = max(0, min(top, lines.count - visible))
        let shown = lines[first..<min(lines.count, first + visible)]
        for (i, line) in shown.enumerated() {
            grid.write(line, column: 0, row: bodyRows.lowerBound + i)
        }
        guard grid.columns > 1, visible > 0 else { return }
        if first > 0 { grid.write("^", column: grid.columns - 1, row: bodyRows.lowerBound) }
        if first + visible < lines.count { grid.write("v", column: grid.columns - 1, row: bodyRows.upperBound - 1) }
    }

    /// A numbered list that scrolls to keep the selected item in view; the selected row is inverse.
    mutating func list(_ items: [String], selected: Int, firstSelectable: Int = 0) {
        let visible = bodyRows.count
        let first = max(0, min(selected - visible + 1, items.count - visible))
        for (offset, index) in (first..<min(items.count, first + visible)).enumerated() {
            let row = bodyRows.lowerBound + offset
            let number = index - firstSelectable + 1
            let isSelected = index == selected
            // The ">" marks the selection where inverse video cannot (character LCDs, headless transcripts).
            let label = index >= firstSelectable ? "\(isSelected ? ">" : " ")\(number) \(items[index])" : items[index]
            if isSelected { grid.clearRow(row, inverse: true) }
            grid.write(label, column: 0, row: row, inverse: isSelected)
        }
    }
}
