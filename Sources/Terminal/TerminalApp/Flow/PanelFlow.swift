import DeviceKit
import TerminalUI

// Settings → Parameters and merchant menu → Update (docs/terminal-management.md "On the terminal") as a sub-state
// machine of ``TerminalFlow``: the driver reads what the panel shows (``TerminalFlow/Action/readPanel(_:)``) and runs
// its one action (a terminal management round, an install from the USB stick); the flow only shows and navigates.
// Also the live parameter change (``TerminalFlow/Input/parametersChanged(merchantName:language:)``).

extension TerminalFlow {
    /// A read-only screen about terminal management with one action behind ENTER.
    public enum Panel: String, Sendable, Equatable, CaseIterable {
        /// The parameter set in force and the last terminal management round; ENTER checks for downloads now.
        case parameters
        /// The running version, the updater's state and an offered download; ENTER installs from the USB stick.
        case update
    }

    /// Where a panel stands.
    enum PanelState: Sendable, Equatable {
        /// The driver reads the panel's lines.
        case loading(Panel)
        /// `top`: the first line shown (UP/DOWN scroll a panel longer than the display).
        case showing(Panel, lines: [Screen.Text], top: Int)
        /// The panel's action runs (no deadline: an install hashes a whole package).
        case working(Panel)
        case result(Panel, lines: [Screen.Text], top: Int)
    }

    private static func title(_ panel: Panel) -> UIString {
        panel == .parameters ? .settingsParameters : .merchantUpdate
    }

    func panelScreen(_ state: PanelState) -> Screen {
        switch state {
        case .loading:
            return .processing(.init())
        case .showing(let panel, let lines, let top):
            return .info(.init(title: .ui(Self.title(panel)), lines: Self.panelLines(panel, lines), top: top))
        case .working(let panel):
            return .processing(.init(message: .ui(panel == .parameters ? .managementChecking : .updateInstalling)))
        case .result(let panel, let lines, let top):
            return .info(.init(title: .ui(Self.title(panel)), lines: lines, top: top))
        }
    }

    /// What a showing panel lists: the driver's lines and the hint for ENTER.
    private static func panelLines(_ panel: Panel, _ lines: [Screen.Text]) -> [Screen.Text] {
        lines + [.ui(panel == .parameters ? .managementCheckHint : .updateInstallHint)]
    }

    /// Opens a panel: the driver answers with ``Input/panelLines(_:_:)``.
    mutating func openPanel(_ panel: Panel) -> [Action] {
        go(.panel(.loading(panel)))
        return [.readPanel(panel)]
    }

    /// Where CANCEL leaves a panel: the settings menu (parameters) or the merchant menu (update).
    private mutating func leavePanel(_ panel: Panel) {
        switch panel {
        case .parameters:
            go(.menu(.settings, selected: 4))
        case .update:
            go(.merchant(.menu(selected: Self.merchantItems.firstIndex(of: .merchantUpdate) ?? 0)))
        }
    }

    /// A key while a panel is up.
    mutating func panelKey(_ key: Key, _ state: PanelState) -> [Action] {
        switch state {
        case .loading(let panel):
            if key == .cancel { leavePanel(panel) }
        case .working:
            break
        case .showing(let panel, let lines, let top):
            if let moved = scrolled(top, lineCount: Self.panelLines(panel, lines).count, key: key) {
                go(.panel(.showing(panel, lines: lines, top: moved)))
                return []
            }
            switch key {
            case .enter:
                go(.panel(.working(panel)))
                return [.runPanelAction(panel)]
            case .cancel, .clear:
                leavePanel(panel)
            default:
                break
            }
        case .result(let panel, let lines, let top):
            if let moved = scrolled(top, lineCount: lines.count, key: key) {
                go(.panel(.result(panel, lines: lines, top: moved)))
                return []
            }
            // Back to the panel, read again (the install or the round changed what it shows).
            if key == .enter || key == .clear { return openPanel(panel) }
            if key == .cancel { leavePanel(panel) }
        }
        return []
    }

    /// The driver's answers for the panels, a status change (the update panel follows a download's progress) and a
    /// parameter set that came into force.
    mutating func panelInput(_ input: Input) -> [Action] {
        switch (input, state) {
        case (.panelLines(let panel, let lines), .panel(.loading(let waiting))) where panel == waiting:
            go(.panel(.showing(panel, lines: lines, top: 0)))
        case (.panelLines(let panel, let lines), .panel(.showing(let shown, _, let top))) where panel == shown:
            // A refresh keeps the screen's deadline (only a key extends it) and where the merchant scrolled to.
            state = .panel(.showing(panel, lines: lines, top: min(top, max(0, Self.panelLines(panel, lines).count - configuration.infoRows))))
        case (.panelFinished(let panel, let lines), .panel(.working(let running))) where panel == running:
            go(.panel(.result(panel, lines: lines, top: 0)), timeout: configuration.resultTimeout)
        case (.status, .panel(.showing(.update, _, _))):
            return [.readPanel(.update)]
        case (.parametersChanged(let merchantName, let language), _):
            if let merchantName { configuration.merchantName = merchantName }
            if let language, !configuration.merchantChoseLanguage { self.language = language }
        default:
            break
        }
        return []
    }
}

extension TerminalFlow {
    /// The first line of an information screen after UP or DOWN (one line, within the lines the display cannot
    /// show at once, ``Configuration/infoRows``); `nil` for any other key.
    func scrolled(_ top: Int, lineCount: Int, key: Key) -> Int? {
        let last = max(0, lineCount - configuration.infoRows)
        switch key {
        case .up: return max(0, min(top, last) - 1)
        case .down: return min(last, top + 1)
        default: return nil
        }
    }
}
