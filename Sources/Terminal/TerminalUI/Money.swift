/// The UI's language. The raw value is the name used in board profiles and settings.
public enum Language: String, Sendable, Equatable, CaseIterable {
    case zhCN = "zh-CN"
    case en = "en"
}

/// A currency (ISO 4217): alphabetic code, numeric code and the exponent of its minor unit.
public struct Currency: Sendable, Equatable {
    public var code: String
    public var numericCode: Int
    /// Digits after the decimal point (2 for CNY: amounts are kept in fen).
    public var exponent: Int
    /// The symbol shown before amounts in zh-CN screens.
    public var symbol: String

    /// The currencies a terminal here is set up for.
    public static let known: [Currency] = [
        Currency(code: "CNY", numericCode: 156, exponent: 2, symbol: "¥"),
        Currency(code: "HKD", numericCode: 344, exponent: 2, symbol: "HK$"),
        Currency(code: "MOP", numericCode: 446, exponent: 2, symbol: "MOP$"),
        Currency(code: "USD", numericCode: 840, exponent: 2, symbol: "$"),
        Currency(code: "EUR", numericCode: 978, exponent: 2, symbol: "€"),
        Currency(code: "JPY", numericCode: 392, exponent: 0, symbol: "¥"),
    ]

    public init(code: String, numericCode: Int, exponent: Int, symbol: String) {
        self.code = code
        self.numericCode = numericCode
        self.exponent = exponent
        self.symbol = symbol
    }

    /// The currency with an ISO 4217 alphabetic code, if known.
    public init?(code: String) {
        guard let c = Self.known.first(where: { $0.code == code.uppercased() }) else { return nil }
        self = c
    }

    /// `minor` minor units as text with the decimal point: 1234 → "12.34" (CNY), 1234 → "1234" (JPY).
    public func format(minorUnits minor: Int) -> String {
        let negative = minor < 0
        var digits = String(minor.magnitude)
        guard exponent > 0 else { return (negative ? "-" : "") + digits }
        if digits.count <= exponent { digits = String(repeating: "0", count: exponent - digits.count + 1) + digits }
        let split = digits.index(digits.endIndex, offsetBy: -exponent)
        return (negative ? "-" : "") + digits[..<split] + "." + digits[split...]
    }

    /// An amount as the screens show it: "¥12.34" in Chinese, "CNY 12.34" in English.
    public func display(minorUnits minor: Int, language: Language) -> String {
        switch language {
        case .zhCN: symbol + format(minorUnits: minor)
        case .en: code + " " + format(minorUnits: minor)
        }
    }
}

/// A way to pay that the terminal offers on its payment-method screen.
public enum PaymentMethod: String, Sendable, Equatable, CaseIterable {
    /// Bank cards: chip, contactless, and phone wallets (a phone is a contactless card to the terminal).
    case card
    /// QR payments: a customer-presented code scanned, or a merchant-presented code on the display.
    case qr
    /// Closed-loop prepaid cards.
    case prepaid
}
