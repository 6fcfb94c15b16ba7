public import DeviceKit
public import TerminalUI

/// A board profile: every device of a board and how it is wired, read from `board/NAME/board.toml`.
///
/// The format is documented in board/README.md. ``BoardProfile/parse(_:file:)`` refuses a bad profile with a
/// ``BoardProfileError`` naming the file, the line, the field and what was expected.
public struct BoardProfile: Sendable, Equatable {
    /// Whether the board is the desktop simulator or real hardware. Test keys may be generated only on a simulator.
    public enum Kind: String, Sendable, Equatable, CaseIterable { case simulator, hardware }

    public var name: String
    public var kind: Kind
    public var description: String
    public var language: Language
    public var merchant: Merchant
    public var keypad: KeypadWiring
    public var display: DisplayWiring
    public var cardReader: CardReaderWiring
    public var scanner: ScannerWiring
    public var printer: PrinterWiring
    public var network: NetworkWiring
    public var storage: Storage
    public var payments: Payments
    public var simulator: Simulator?

    public struct Merchant: Sendable, Equatable {
        public var name: String
        public var city: String
        public var currency: Currency
        /// The largest amount a sale may have, in minor units.
        public var maximumAmount: Int
    }

    public enum KeypadWiring: Sendable, Equatable {
        /// A key matrix on a GPIO chip: rows are driven, columns read with pull-ups. `keymap[row][column]`.
        case gpioMatrix(chip: String, rows: [Int], columns: [Int], keymap: [[Key?]])
        /// A Linux input device (the kernel's matrix-keypad driver, a USB keypad). `keymap` overrides key codes.
        case evdev(device: String, keymap: [Int: Key])
        /// The simulator's keyboard mapping.
        case simulator
    }

    public enum DisplayWiring: Sendable, Equatable {
        /// A Linux framebuffer device; geometry is read from the device.
        case framebuffer(device: String, scale: Int, font: String?)
        /// A character LCD on a serial port, Matrix Orbital command set.
        case serialLCD(serial: SerialWiring, columns: Int, rows: Int)
        /// The simulator's ANSI drawing in the terminal window, with the geometry of the emulated display.
        case ansi(columns: Int, rows: Int)
    }

    public struct SerialWiring: Sendable, Equatable {
        public var device: String
        public var baudRate: Int
        public init(device: String, baudRate: Int) {
            self.device = device
            self.baudRate = baudRate
        }
    }

    public enum CardReaderWiring: Sendable, Equatable {
        /// A PC/SC reader; `reader` is its name or a prefix of it.
        case pcsc(reader: String)
        case simulator
        case none
    }

    public enum ScannerWiring: Sendable, Equatable {
        case serial(SerialWiring, suffix: String)
        case evdev(device: String)
        case simulator
        case none
    }

    public enum PrinterWiring: Sendable, Equatable {
        case escpos(SerialWiring, chineseMode: Bool)
        /// Receipts written as text files into the state directory (simulator).
        case textFile
        case none
    }

    public struct NetworkWiring: Sendable, Equatable {
        public var wifi: String?
        public var cellular: String?
        /// The acquirer host as `host:port`; on the simulator `builtin` starts the acquirer simulator on loopback.
        public var acquirer: String
    }

    public struct Storage: Sendable, Equatable {
        /// Where the store and keys live. `~` and `$XDG_STATE_HOME` are expanded for simulator boards only.
        public var stateDirectory: String
        /// The update package the merchant menu's "install from USB" takes (`TERMINAL_UPDATE_MEDIA` overrides it;
        /// `/media/usb/terminal.tpkg` on hardware boards when neither is set).
        public var updateMedia: String? = nil
    }

    public struct Payments: Sendable, Equatable {
        public var methods: [PaymentMethod]
        /// The EMV terminal parameters file (docs/emv-parameters.md): AIDs, action codes, CA public keys. A relative
        /// path in the profile is relative to the profile's directory; chip payments need it.
        public var emvParameters: String?
        /// Card acceptor terminal identification, ISO 8583 field 41: exactly eight printable ASCII characters (`ans8`),
        /// assigned by the acquirer. ``defaultTerminalID`` when the profile names none.
        public var terminalID: String
        /// Card acceptor identification code (merchant ID), ISO 8583 field 42: one to fifteen printable ASCII
        /// characters (`ans15`, space-padded on the wire). ``defaultMerchantID`` when the profile names none.
        public var merchantID: String
        /// `refund_card_not_present`: a card refund may go without the card, its PAN taken from the sale's sealed
        /// record. `false` (the default, on every board): the cardholder's card is read and must be the sale's.
        public var refundCardNotPresent: Bool
        public init(
            methods: [PaymentMethod], emvParameters: String? = nil, terminalID: String = Payments.defaultTerminalID,
            merchantID: String = Payments.defaultMerchantID, refundCardNotPresent: Bool = false
        ) {
            self.refundCardNotPresent = refundCardNotPresent
            self.methods = methods
            self.emvParameters = emvParameters
            self.terminalID = terminalID
            self.merchantID = merchantID
        }

        /// The simulator's terminal ID (its test acquirer's).
        public static let defaultTerminalID = "SIM00001"
        /// The simulator's merchant ID.
        public static let defaultMerchantID = "898310048990001"

        /// Why `id` cannot be field 41 (`ans8`: exactly eight characters 0x20–0x7E, not all spaces), or `nil`.
        public static func terminalIDProblem(_ id: String) -> String? {
            let bytes = Array(id.utf8)
            guard bytes.count == 8 else { return "expected exactly 8 characters (ISO 8583 field 41, ans8), found \(bytes.count)" }
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else { return "expected printable ASCII (ISO 8583 ans: 0x20-0x7E)" }
            guard bytes.contains(where: { $0 != 0x20 }) else { return "must not be all spaces" }
            return nil
        }

        /// Why `id` cannot be field 42 (`ans15`: one to fifteen characters 0x20–0x7E, not starting with a space), or `nil`.
        public static func merchantIDProblem(_ id: String) -> String? {
            let bytes = Array(id.utf8)
            guard (1...15).contains(bytes.count) else { return "expected 1 to 15 characters (ISO 8583 field 42, ans15), found \(bytes.count)" }
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else { return "expected printable ASCII (ISO 8583 ans: 0x20-0x7E)" }
            guard bytes.first != 0x20 else { return "must not start with a space (the field is space-padded on the right)" }
            return nil
        }
    }

    /// The virtual things the simulator can present, by name (each payment rail resolves its own names).
    public struct Simulator: Sendable, Equatable {
        public var cards: [String]
        public var phones: [String]
        public var codes: [String]
        public var prepaidCards: [String]
    }
}

/// A bad board profile: where and what.
public struct BoardProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// The dotted field, e.g. `keypad.rows[2]`.
    public var field: String?
    public var message: String

    public var description: String {
        var out = file
        if let line { out += ":\(line)" }
        if let field { out += ": \(field)" }
        return out + ": " + message
    }
}
