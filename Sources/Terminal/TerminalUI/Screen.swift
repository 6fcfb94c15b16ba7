public import DeviceKit

/// What the terminal shows, independent of any display. ``ScreenRenderer`` lays a screen out on the display's
/// character grid; a pixel display then draws that grid with a bitmap font.
public enum Screen: Sendable, Equatable {
    case idle(Idle)
    case menu(Menu)
    case amountEntry(AmountEntry)
    case methodChoice(MethodChoice)
    case present(Present)
    case pinEntry(PinEntry)
    case processing(Processing)
    case outcome(Outcome)
    case info(Info)
    case error(ErrorMessage)
    case shuttingDown
    /// A merchant-presented QR code for the customer to scan.
    case qrCode(QRCodeScreen)

    /// Text shown on a screen: a translated string or text from data (merchant name, version numbers).
    public enum Text: Sendable, Equatable {
        case ui(UIString)
        case raw(String)

        public func resolve(_ language: Language) -> String {
            switch self {
            case .ui(let s): s.text(language)
            case .raw(let s): s
            }
        }
    }

    /// Whether a network link is there and up.
    public enum LinkState: Sendable, Equatable { case up, down, absent }

    /// The link payments go out on when online, as the connectivity monitor of a hardware board sees it.
    public enum OnlineRoute: Sendable, Equatable {
        case wifi
        /// Cellular: billed by volume, so only transactions, reversals and the upload queue use it.
        case cellularMetered
    }

    public struct Idle: Sendable, Equatable {
        public var merchantName: String
        /// Local time as "HH:MM".
        public var time: String
        public var wifi: LinkState
        public var cellular: LinkState
        /// Whether the acquirer host answered the last probe.
        public var hostReachable: Bool
        /// Offline transactions not yet uploaded.
        public var unsentCount: Int
        /// The link in use when online; `nil` when unknown (the sim board, the old interface poller).
        public var onlineRoute: OnlineRoute?
        /// Terminal management's line (a download's progress, a parameter set applied or refused), or `nil`.
        public var management: String?

        public init(merchantName: String, time: String, wifi: LinkState, cellular: LinkState, hostReachable: Bool, unsentCount: Int, onlineRoute: OnlineRoute? = nil) {
            self.onlineRoute = onlineRoute
            self.merchantName = merchantName
            self.time = time
            self.wifi = wifi
            self.cellular = cellular
            self.hostReachable = hostReachable
            self.unsentCount = unsentCount
        }
    }

    public struct Menu: Sendable, Equatable {
        public var title: Text
        public var items: [Text]
        public var selected: Int
        public init(title: Text, items: [Text], selected: Int) {
            self.title = title
            self.items = items
            self.selected = selected
        }
    }

    public struct AmountEntry: Sendable, Equatable {
        public var title: Text
        public var amount: Int
        public var currency: Currency
        /// A notice under the amount (e.g. over the limit).
        public var notice: Text?
        public init(title: Text, amount: Int, currency: Currency, notice: Text? = nil) {
            self.title = title
            self.amount = amount
            self.currency = currency
            self.notice = notice
        }
    }

    public struct MethodChoice: Sendable, Equatable {
        public var amount: Int
        public var currency: Currency
        public var methods: [PaymentMethod]
        public var selected: Int
        public init(amount: Int, currency: Currency, methods: [PaymentMethod], selected: Int) {
            self.amount = amount
            self.currency = currency
            self.methods = methods
            self.selected = selected
        }
    }

    public struct Present: Sendable, Equatable {
        public var amount: Int
        public var currency: Currency
        /// The one method chosen, or `nil` when any presentation is accepted.
        public var method: PaymentMethod?
        public init(amount: Int, currency: Currency, method: PaymentMethod?) {
            self.amount = amount
            self.currency = currency
            self.method = method
        }
    }

    public struct PinEntry: Sendable, Equatable {
        public var amount: Int
        public var currency: Currency
        /// How many digits were typed; the digits themselves never reach a screen.
        public var digitCount: Int
        /// A notice such as "incorrect PIN, 2 tries left".
        public var notice: Text?
        public init(amount: Int, currency: Currency, digitCount: Int, notice: Text? = nil) {
            self.amount = amount
            self.currency = currency
            self.digitCount = digitCount
            self.notice = notice
        }
    }

    public struct Processing: Sendable, Equatable {
        public var message: Text
        /// The contactless reader's four status indicators (EMV Book A 9.2): how many are lit, `nil` when the
        /// screen has none. The simulator draws them on the bottom line; a board may wire them to LEDs.
        public var indicators: Int?
        /// The reader beeped with this screen (drawn as "beep" next to the indicators).
        public var beep: Bool
        public init(message: Text = .ui(.processing), indicators: Int? = nil, beep: Bool = false) {
            self.message = message
            self.indicators = indicators
            self.beep = beep
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var approved: Bool
        public var amount: Int?
        public var currency: Currency?
        /// Why it was declined, or extra lines (e.g. "Remove card").
        public var lines: [Text]
        public init(approved: Bool, amount: Int?, currency: Currency?, lines: [Text]) {
            self.approved = approved
            self.amount = amount
            self.currency = currency
            self.lines = lines
        }
    }

    public struct Info: Sendable, Equatable {
        public var title: Text
        public var lines: [Text]
        /// The first line shown: more lines than the display has rows scroll (UP/DOWN), and the renderer marks
        /// lines above with `^` and below with `v` in the last column.
        public var top: Int
        public init(title: Text, lines: [Text], top: Int = 0) {
            self.title = title
            self.lines = lines
            self.top = top
        }
    }

    public struct ErrorMessage: Sendable, Equatable {
        public var lines: [Text]
        public init(lines: [Text]) { self.lines = lines }
    }

    /// A merchant-presented QR code: the amount, what to do, and the symbol, which the display draws over the body
    /// rows (``CharacterGrid/qrOverlay``) at its own resolution.
    public struct QRCodeScreen: Sendable, Equatable {
        public var amount: Int
        public var currency: Currency
        public var matrix: QRMatrix
        /// Under the symbol where it is not drawn: the masked order reference.
        public var reference: String
        public init(amount: Int, currency: Currency, matrix: QRMatrix, reference: String) {
            self.amount = amount
            self.currency = currency
            self.matrix = matrix
            self.reference = reference
        }
    }
}
