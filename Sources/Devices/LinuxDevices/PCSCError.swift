/// A failure of the PC/SC card reader driver (``PCSCCardReader``, ``PCSCCardConnection``): every `SCARD_E_*`,
/// `SCARD_F_*`, `SCARD_P_*` and `SCARD_W_*` result of libpcsclite (pcsclite.h) mapped to one ``Code``, plus the
/// driver's own checks.
///
/// Equality compares ``code`` only. No APDU bytes are ever put in an error: a command can carry a PIN block and a
/// response cardholder data.
public struct PCSCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed.
    public enum Code: Sendable, Equatable, Hashable {
        /// pcscd is not running or not reachable: `SCARD_E_NO_SERVICE`.
        case serviceUnavailable
        /// pcscd went away while in use (the context is dead; make a new ``PCSCCardReader``):
        /// `SCARD_E_SERVICE_STOPPED`, `SCARD_P_SHUTDOWN`, `SCARD_E_SYSTEM_CANCELLED`, `SCARD_F_COMM_ERROR`.
        case serviceStopped
        /// No reader of that name, or no reader at all: `SCARD_E_UNKNOWN_READER`, `SCARD_E_NO_READERS_AVAILABLE`,
        /// `SCARD_E_READER_UNAVAILABLE`, and the driver's own "no reader matches the board profile".
        case noReader
        /// No card in the reader: `SCARD_E_NO_SMARTCARD`.
        case noCard
        /// The card was removed: `SCARD_W_REMOVED_CARD`, and a failed or empty answer while the card is gone.
        case removedCard
        /// The card was reset by another application: `SCARD_W_RESET_CARD`.
        case resetCard
        /// The card is not powered: `SCARD_W_UNPOWERED_CARD`.
        case unpoweredCard
        /// The card does not answer reset (a mute or reversed card): `SCARD_W_UNRESPONSIVE_CARD`.
        case unresponsiveCard
        /// The card cannot be used: `SCARD_W_UNSUPPORTED_CARD`, `SCARD_E_CARD_UNSUPPORTED`, `SCARD_E_UNKNOWN_CARD`,
        /// `SCARD_E_INVALID_ATR`.
        case unsupportedCard
        /// The card speaks none of the protocols asked for: `SCARD_E_PROTO_MISMATCH`.
        case protocolMismatch
        /// Another application holds the card exclusively: `SCARD_E_SHARING_VIOLATION`.
        case sharingViolation
        /// The exchange with the card failed (often a card pulled during the APDU): `SCARD_E_NOT_TRANSACTED`,
        /// `SCARD_E_COMM_DATA_LOST`.
        case notTransacted
        /// The reader or card is not ready: `SCARD_E_NOT_READY`.
        case notReady
        /// A wait ran out: `SCARD_E_TIMEOUT`.
        case timeout
        /// A wait was cancelled: `SCARD_E_CANCELLED`.
        case cancelled
        /// The card's answer had fewer than the two status bytes (pcscd can report success with an empty answer
        /// when a card is pulled).
        case responseTooShort
        /// ``PCSCCardConnection/transmit(_:)`` after ``PCSCCardConnection/disconnect()``.
        case connectionClosed
        /// A handle the service does not know: `SCARD_E_INVALID_HANDLE`.
        case invalidHandle
        /// The service refused an argument: `SCARD_E_INVALID_PARAMETER`, `SCARD_E_INVALID_VALUE`,
        /// `SCARD_E_INVALID_TARGET`, `SCARD_E_INSUFFICIENT_BUFFER`, `SCARD_E_PCI_TOO_SMALL`.
        case invalidParameter
        /// Access refused by the card or service: `SCARD_W_SECURITY_VIOLATION`, `SCARD_W_WRONG_CHV`,
        /// `SCARD_W_CHV_BLOCKED`, `SCARD_W_CARD_NOT_AUTHENTICATED`, `SCARD_W_CANCELLED_BY_USER`, `SCARD_E_INVALID_CHV`,
        /// `SCARD_E_NO_ACCESS`.
        case accessDenied
        /// A feature the reader or service lacks: `SCARD_E_UNSUPPORTED_FEATURE` (the same value as
        /// `SCARD_E_UNEXPECTED` in pcsc-lite), `SCARD_E_READER_UNSUPPORTED`, `SCARD_E_CANT_DISPOSE`, and the card file
        /// and certificate codes (`SCARD_E_ICC_*`, `SCARD_E_DIR_NOT_FOUND`, `SCARD_E_FILE_NOT_FOUND`,
        /// `SCARD_E_NO_DIR`, `SCARD_E_NO_FILE`, `SCARD_E_WRITE_TOO_MANY`, `SCARD_E_BAD_SEEK`, `SCARD_W_EOF`,
        /// `SCARD_E_NO_SUCH_CERTIFICATE`, `SCARD_E_CERTIFICATE_UNAVAILABLE`, `SCARD_E_NO_KEY_CONTAINER`), which
        /// pcsc-lite never returns for APDU exchange.
        case unsupported
        /// The service failed inside: `SCARD_F_INTERNAL_ERROR`, `SCARD_F_UNKNOWN_ERROR`, `SCARD_F_WAITED_TOO_LONG`,
        /// `SCARD_E_NO_MEMORY`, `SCARD_E_SERVER_TOO_BUSY`, `SCARD_E_UNKNOWN_RES_MNG`, `SCARD_E_DUPLICATE_READER`.
        case serviceFailure
        /// A result code pcsclite.h does not define.
        case unknown
    }

    /// What failed.
    public let code: Code
    /// The libpcsclite function that failed (`SCardTransmit`), or the driver step.
    public let function: String
    /// The PC/SC result (`LONG`, as its 32 bits), when the library gave one.
    public let status: UInt32?
    /// The reader concerned, when there is one (reader names are not card data).
    public let reader: String?
    /// A human explanation.
    public let reason: String
    /// The source file that raised the error.
    public let file: String
    /// The source line that raised the error.
    public let line: Int

    /// Creates an error.
    public init(
        _ code: Code, function: String, status: UInt32? = nil, reader: String? = nil, reason: String,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.function = function
        self.status = status
        self.reader = reader
        self.reason = reason
        self.file = file
        self.line = line
    }

    /// The error for a failed libpcsclite call: the result mapped to its ``Code``, its name in the reason.
    static func result(
        _ result: Int, function: String, reader: String? = nil, file: String = #fileID, line: Int = #line
    ) -> PCSCError {
        let status = UInt32(truncatingIfNeeded: result)
        let known = PCSCError.table[status]
        return PCSCError(
            known?.code ?? .unknown, function: function, status: status, reader: reader,
            reason: known?.text ?? "unknown PC/SC result", file: file, line: line)
    }

    /// The name pcsclite.h gives `status` (`SCARD_W_REMOVED_CARD`), or `nil`.
    public static func statusName(_ status: UInt32) -> String? { table[status]?.name }

    /// "PC/SC SCardTransmit, reader 'X': the card was removed (SCARD_W_REMOVED_CARD 0x80100069)".
    public var description: String {
        var text = "PC/SC \(function)"
        if let reader { text += ", reader '\(reader)'" }
        text += ": \(reason)"
        if let status {
            let hex = String(status, radix: 16, uppercase: true)
            text += " (" + (PCSCError.statusName(status).map { $0 + " " } ?? "") + "0x\(hex))"
        }
        return text
    }

    /// Compares ``code`` only.
    public static func == (lhs: PCSCError, rhs: PCSCError) -> Bool { lhs.code == rhs.code }

    // MARK: Result codes (pcsclite.h of pcsc-lite 1.9.9; the values are the Windows SCard ones)

    /// `SCARD_S_SUCCESS`.
    static let success: UInt32 = 0x0000_0000
    /// `SCARD_E_CANCELLED`.
    static let eCancelled: UInt32 = 0x8010_0002
    /// `SCARD_E_INSUFFICIENT_BUFFER`.
    static let eInsufficientBuffer: UInt32 = 0x8010_0008
    /// `SCARD_E_UNKNOWN_READER`.
    static let eUnknownReader: UInt32 = 0x8010_0009
    /// `SCARD_E_TIMEOUT`.
    static let eTimeout: UInt32 = 0x8010_000A
    /// `SCARD_E_NOT_TRANSACTED`.
    static let eNotTransacted: UInt32 = 0x8010_0016
    /// `SCARD_E_COMM_DATA_LOST`.
    static let eCommDataLost: UInt32 = 0x8010_002F
    /// `SCARD_E_READER_UNAVAILABLE`.
    static let eReaderUnavailable: UInt32 = 0x8010_0017
    /// `SCARD_E_NO_READERS_AVAILABLE`.
    static let eNoReadersAvailable: UInt32 = 0x8010_002E
    /// `SCARD_W_REMOVED_CARD`.
    static let wRemovedCard: UInt32 = 0x8010_0069

    private struct Known {
        let name: String
        let code: Code
        let text: String
    }

    /// Every result pcsclite.h defines, with its code and a plain-words reason.
    private static let table: [UInt32: Known] = {
        let rows: [(UInt32, String, Code, String)] = [
            (0x8010_0001, "SCARD_F_INTERNAL_ERROR", .serviceFailure, "internal consistency check failed"),
            (0x8010_0002, "SCARD_E_CANCELLED", .cancelled, "cancelled by SCardCancel"),
            (0x8010_0003, "SCARD_E_INVALID_HANDLE", .invalidHandle, "invalid handle"),
            (0x8010_0004, "SCARD_E_INVALID_PARAMETER", .invalidParameter, "invalid parameter"),
            (0x8010_0005, "SCARD_E_INVALID_TARGET", .invalidParameter, "registry startup information missing"),
            (0x8010_0006, "SCARD_E_NO_MEMORY", .serviceFailure, "not enough memory"),
            (0x8010_0007, "SCARD_F_WAITED_TOO_LONG", .serviceFailure, "internal timer expired"),
            (0x8010_0008, "SCARD_E_INSUFFICIENT_BUFFER", .invalidParameter, "receive buffer too small"),
            (0x8010_0009, "SCARD_E_UNKNOWN_READER", .noReader, "unknown reader"),
            (0x8010_000A, "SCARD_E_TIMEOUT", .timeout, "timed out"),
            (0x8010_000B, "SCARD_E_SHARING_VIOLATION", .sharingViolation, "card held by another connection"),
            (0x8010_000C, "SCARD_E_NO_SMARTCARD", .noCard, "no card in the reader"),
            (0x8010_000D, "SCARD_E_UNKNOWN_CARD", .unsupportedCard, "unknown card"),
            (0x8010_000E, "SCARD_E_CANT_DISPOSE", .unsupported, "cannot dispose of the card as asked"),
            (0x8010_000F, "SCARD_E_PROTO_MISMATCH", .protocolMismatch, "card protocol not among those requested"),
            (0x8010_0010, "SCARD_E_NOT_READY", .notReady, "reader or card not ready"),
            (0x8010_0011, "SCARD_E_INVALID_VALUE", .invalidParameter, "invalid parameter value"),
            (0x8010_0012, "SCARD_E_SYSTEM_CANCELLED", .serviceStopped, "cancelled by the system"),
            (0x8010_0013, "SCARD_F_COMM_ERROR", .serviceStopped, "communication with pcscd failed"),
            (0x8010_0014, "SCARD_F_UNKNOWN_ERROR", .serviceFailure, "unknown internal error"),
            (0x8010_0015, "SCARD_E_INVALID_ATR", .unsupportedCard, "invalid ATR"),
            (0x8010_0016, "SCARD_E_NOT_TRANSACTED", .notTransacted, "the exchange with the card failed"),
            (0x8010_0017, "SCARD_E_READER_UNAVAILABLE", .noReader, "reader unavailable"),
            (0x8010_0018, "SCARD_P_SHUTDOWN", .serviceStopped, "pcscd is shutting down"),
            (0x8010_0019, "SCARD_E_PCI_TOO_SMALL", .invalidParameter, "PCI receive buffer too small"),
            (0x8010_001A, "SCARD_E_READER_UNSUPPORTED", .unsupported, "reader driver unsupported"),
            (0x8010_001B, "SCARD_E_DUPLICATE_READER", .serviceFailure, "duplicate reader name"),
            (0x8010_001C, "SCARD_E_CARD_UNSUPPORTED", .unsupportedCard, "card unsupported"),
            (0x8010_001D, "SCARD_E_NO_SERVICE", .serviceUnavailable, "pcscd is not running"),
            (0x8010_001E, "SCARD_E_SERVICE_STOPPED", .serviceStopped, "pcscd has stopped"),
            (0x8010_001F, "SCARD_E_UNSUPPORTED_FEATURE", .unsupported, "unsupported feature or unexpected error"),
            (0x8010_0020, "SCARD_E_ICC_INSTALLATION", .unsupported, "no primary provider for the card"),
            (0x8010_0021, "SCARD_E_ICC_CREATEORDER", .unsupported, "object creation order not supported"),
            (0x8010_0023, "SCARD_E_DIR_NOT_FOUND", .unsupported, "directory not found"),
            (0x8010_0024, "SCARD_E_FILE_NOT_FOUND", .unsupported, "file not found"),
            (0x8010_0025, "SCARD_E_NO_DIR", .unsupported, "not a directory"),
            (0x8010_0026, "SCARD_E_NO_FILE", .unsupported, "not a file"),
            (0x8010_0027, "SCARD_E_NO_ACCESS", .accessDenied, "access denied"),
            (0x8010_0028, "SCARD_E_WRITE_TOO_MANY", .unsupported, "card memory full"),
            (0x8010_0029, "SCARD_E_BAD_SEEK", .unsupported, "file seek failed"),
            (0x8010_002A, "SCARD_E_INVALID_CHV", .accessDenied, "PIN incorrect"),
            (0x8010_002B, "SCARD_E_UNKNOWN_RES_MNG", .serviceFailure, "unknown error from a layered component"),
            (0x8010_002C, "SCARD_E_NO_SUCH_CERTIFICATE", .unsupported, "no such certificate"),
            (0x8010_002D, "SCARD_E_CERTIFICATE_UNAVAILABLE", .unsupported, "certificate unavailable"),
            (0x8010_002E, "SCARD_E_NO_READERS_AVAILABLE", .noReader, "no reader available"),
            (0x8010_002F, "SCARD_E_COMM_DATA_LOST", .notTransacted, "communication with the card lost"),
            (0x8010_0030, "SCARD_E_NO_KEY_CONTAINER", .unsupported, "no key container"),
            (0x8010_0031, "SCARD_E_SERVER_TOO_BUSY", .serviceFailure, "pcscd too busy"),
            (0x8010_0065, "SCARD_W_UNSUPPORTED_CARD", .unsupportedCard, "ATR configuration conflict"),
            (0x8010_0066, "SCARD_W_UNRESPONSIVE_CARD", .unresponsiveCard, "the card does not answer reset"),
            (0x8010_0067, "SCARD_W_UNPOWERED_CARD", .unpoweredCard, "the card is not powered"),
            (0x8010_0068, "SCARD_W_RESET_CARD", .resetCard, "the card was reset"),
            (0x8010_0069, "SCARD_W_REMOVED_CARD", .removedCard, "the card was removed"),
            (0x8010_006A, "SCARD_W_SECURITY_VIOLATION", .accessDenied, "security violation"),
            (0x8010_006B, "SCARD_W_WRONG_CHV", .accessDenied, "wrong PIN"),
            (0x8010_006C, "SCARD_W_CHV_BLOCKED", .accessDenied, "PIN blocked"),
            (0x8010_006D, "SCARD_W_EOF", .unsupported, "end of card file"),
            (0x8010_006E, "SCARD_W_CANCELLED_BY_USER", .accessDenied, "cancelled by the user"),
            (0x8010_006F, "SCARD_W_CARD_NOT_AUTHENTICATED", .accessDenied, "no PIN presented"),
        ]
        var map: [UInt32: Known] = [:]
        for (value, name, code, text) in rows { map[value] = Known(name: name, code: code, text: text) }
        return map
    }()
}
