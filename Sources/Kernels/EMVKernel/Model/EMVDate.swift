/// A calendar date as EMV writes it: `YYMMDD` in BCD (format n 6), for example tag '9A' Transaction Date and
/// '5F24' Application Expiration Date; certificates carry `MMYY` (the last day of that month).
///
/// Two-digit years are 2000 + YY for YY < 50 and 1900 + YY otherwise (EMV Book 4, clause 6.7.3).
public struct EMVDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A date from its parts; `nil` for a month outside 1...12 or a day outside the month.
    public init?(year: Int, month: Int, day: Int) {
        guard (1950...2049).contains(year), (1...12).contains(month), (1...Self.days(inMonth: month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Reads `YYMMDD` from three BCD bytes; `nil` for a wrong length, a non-BCD nibble or an impossible date.
    public init?(yymmdd bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count == 3, let yy = Self.bcd(b[0]), let mm = Self.bcd(b[1]), let dd = Self.bcd(b[2]) else { return nil }
        self.init(year: yy < 50 ? 2000 + yy : 1900 + yy, month: mm, day: dd)
    }

    /// Reads `MMYY` from two BCD bytes (certificate expiry): the last day of that month.
    public init?(mmyy bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count == 2, let mm = Self.bcd(b[0]), let yy = Self.bcd(b[1]), (1...12).contains(mm) else { return nil }
        let year = yy < 50 ? 2000 + yy : 1900 + yy
        self.init(year: year, month: mm, day: Self.days(inMonth: mm, year: year))
    }

    /// The three BCD bytes `YYMMDD`.
    public var yymmdd: [UInt8] { [Self.toBCD(year % 100), Self.toBCD(month), Self.toBCD(day)] }

    public static func < (lhs: EMVDate, rhs: EMVDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public var description: String {
        "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func bcd(_ byte: UInt8) -> Int? {
        let high = Int(byte >> 4), low = Int(byte & 0x0F)
        guard high <= 9, low <= 9 else { return nil }
        return high * 10 + low
    }

    private static func toBCD(_ value: Int) -> UInt8 { UInt8((value / 10) << 4 | (value % 10)) }
}
