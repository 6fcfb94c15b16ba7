public import DeviceKit

/// PIN entry on the terminal's keypad (ISO 9564-1 §6: 4 to 12 digits).
///
/// Digits are kept in a fixed buffer that is overwritten when entry ends, and are handed out once, through
/// ``finish(_:)``'s closure. The screen only ever learns how many digits were typed.
public struct PinPad: ~Copyable {
    public static let minimumDigits = 4
    public static let maximumDigits = 12

    /// What a key did.
    public enum Step: Equatable, Sendable {
        /// Still typing; `digits` typed so far.
        case typing(digits: Int)
        /// ENTER with 4 to 12 digits: call ``finish(_:)``.
        case complete
        /// CANCEL: the cardholder gave up.
        case cancelled
    }

    /// The digits; its storage is overwritten when entry ends and again when it is released.
    private let storage = DigitStorage()
    public private(set) var count = 0

    public init() {}

    /// Feeds one key. CLEAR erases everything typed (the usual PIN-pad behaviour), digits past 12 are ignored,
    /// ENTER with fewer than 4 digits is ignored.
    public mutating func press(_ key: Key) -> Step {
        if let digit = key.digit {
            if count < Self.maximumDigits {
                storage.digits[count] = UInt8(digit)
                count += 1
            }
            return .typing(digits: count)
        }
        switch key {
        case .clear:
            zeroize()
            return .typing(digits: 0)
        case .cancel:
            zeroize()
            return .cancelled
        case .enter:
            return count >= Self.minimumDigits ? .complete : .typing(digits: count)
        default:
            return .typing(digits: count)
        }
    }

    /// Hands the digits (values 0-9) to `body` and erases them afterwards.
    public mutating func finish<R>(_ body: (ArraySlice<UInt8>) throws -> R) rethrows -> R {
        defer { zeroize() }
        return try body(storage.digits[0..<count])
    }

    private mutating func zeroize() {
        storage.zeroize()
        count = 0
    }
}

/// Class storage, so the digits are erased in `deinit` whatever path drops the pad.
private final class DigitStorage {
    var digits: [UInt8] = Array(repeating: 0, count: PinPad.maximumDigits)

    func zeroize() {
        digits.withUnsafeMutableBytes { raw in
            for i in raw.indices { raw[i] = 0 }
        }
    }

    deinit { zeroize() }
}
