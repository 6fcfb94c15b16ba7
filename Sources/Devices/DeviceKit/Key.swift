/// A key of the terminal's keypad.
///
/// The raw value is the key's name in board profiles, in headless mode and in logs.
public enum Key: String, CaseIterable, Sendable, Hashable {
    case digit0 = "0", digit1 = "1", digit2 = "2", digit3 = "3", digit4 = "4"
    case digit5 = "5", digit6 = "6", digit7 = "7", digit8 = "8", digit9 = "9"
    /// "00" on keypads that have it, for fast amount entry.
    case doubleZero = "00"
    /// The decimal point; amount entry treats it like "00" is not, see the UI.
    case dot = "."
    case cancel = "CANCEL"
    case clear = "CLEAR"
    case enter = "ENTER"
    case f1 = "F1", f2 = "F2", f3 = "F3", f4 = "F4"
    case up = "UP"
    case down = "DOWN"
    case menu = "MENU"

    /// The digit a digit key stands for, `nil` for other keys.
    public var digit: Int? {
        switch self {
        case .digit0: 0
        case .digit1: 1
        case .digit2: 2
        case .digit3: 3
        case .digit4: 4
        case .digit5: 5
        case .digit6: 6
        case .digit7: 7
        case .digit8: 8
        case .digit9: 9
        default: nil
        }
    }

    /// Parses a key name as written in board profiles and headless input (case-insensitive).
    public init?(name: some StringProtocol) {
        let upper = String(name).uppercased()
        guard let key = Key(rawValue: upper) else { return nil }
        self = key
    }
}

/// A key going down or up, as a keypad driver reports it.
public struct KeyEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case pressed, released }
    public var key: Key
    public var kind: Kind
    public init(_ key: Key, _ kind: Kind) {
        self.key = key
        self.kind = kind
    }
}
