import CPCSCLite
public import DeviceKit

/// A session with the card in a PC/SC reader (`SCardConnect` … `SCardDisconnect`), made by
/// ``PCSCCardReader/connect(_:)``.
///
/// ``transmit(_:)`` sends each command APDU with `SCardTransmit` and the protocol control information of the
/// protocol negotiated at connect (T=0 or T=1). It returns the card's answer unchanged: the `61xx` / `6Cxx` rules
/// belong to the APDU layer above (`APDUExchange` in Codecs), which works over any ``CardConnection``.
///
/// One owner at a time: the connection is not `Sendable`. It disconnects in `deinit` if ``disconnect()`` was not
/// called.
public final class PCSCCardConnection: CardConnection {
    /// A transmission protocol PC/SC negotiated with the card (`SCARD_PROTOCOL_*`).
    public enum TransmissionProtocol: Sendable, Equatable {
        /// `SCARD_PROTOCOL_T0`: character protocol (ISO/IEC 7816-3 §10).
        case t0
        /// `SCARD_PROTOCOL_T1`: block protocol (ISO/IEC 7816-3 §11).
        case t1
        /// `SCARD_PROTOCOL_RAW`: the reader's own.
        case raw
    }

    /// The slot of the card.
    public let slot: CardSlot
    /// The PC/SC name of the reader.
    public let readerName: String
    /// The protocol negotiated at connect.
    public let transmissionProtocol: TransmissionProtocol
    /// The card's Answer To Reset as read at connect (`SCardStatus`).
    public let atr: [UInt8]

    private let context: PCSCContext
    private let disposition: PCSCCardReader.Disposition
    private let removalWait: Duration
    private var handle: SCARDHANDLE?

    init(
        context: PCSCContext, handle: SCARDHANDLE, activeProtocol: DWORD, readerName: String, slot: CardSlot,
        disposition: PCSCCardReader.Disposition, removalWait: Duration
    ) {
        self.context = context
        self.handle = handle
        self.readerName = readerName
        self.slot = slot
        self.disposition = disposition
        self.removalWait = removalWait
        switch activeProtocol {
        case DWORD(SCARD_PROTOCOL_T0): transmissionProtocol = .t0
        case DWORD(SCARD_PROTOCOL_T1): transmissionProtocol = .t1
        default: transmissionProtocol = .raw
        }
        atr = PCSCCardConnection.readStatus(handle).atr
    }

    deinit { disconnect() }

    /// Sends one command APDU (`SCardTransmit`) and returns the whole response, data and SW1 SW2.
    ///
    /// When the exchange fails with `SCARD_E_NOT_TRANSACTED` / `SCARD_E_COMM_DATA_LOST`, or succeeds with fewer than
    /// two bytes (what pcscd does when a card is pulled during the APDU, research/test-rig.md §1.8), the reader is
    /// watched for up to the reader's `removalWait` (pcscd notices a pulled card at its next presence poll): a card
    /// that left gives ``PCSCError/Code/removedCard``.
    ///
    /// - Throws: ``PCSCError``: ``PCSCError/Code/removedCard``; ``PCSCError/Code/responseTooShort`` for an answer of
    ///   fewer than two bytes from a card still there; ``PCSCError/Code/connectionClosed`` after ``disconnect()``;
    ///   else the mapped `SCardTransmit` result. Never the APDU's bytes.
    public func transmit(_ command: [UInt8]) throws -> [UInt8] {
        guard let handle else {
            throw PCSCError(
                .connectionClosed, function: "SCardTransmit", reader: readerName, reason: "the connection is closed")
        }
        let pci: UnsafePointer<SCARD_IO_REQUEST>?
        switch transmissionProtocol {
        case .t0: pci = cpcsc_pci_t0()
        case .t1: pci = cpcsc_pci_t1()
        case .raw: pci = cpcsc_pci_raw()
        }
        // MAX_BUFFER_SIZE (pcsclite.h): 264 bytes, enough for every short response (256 data bytes and SW1 SW2).
        var response = [UInt8](repeating: 0, count: Int(MAX_BUFFER_SIZE))
        var length = DWORD(response.count)
        let rc = SCardTransmit(handle, pci, command, DWORD(command.count), nil, &response, &length)
        let status = UInt32(truncatingIfNeeded: rc)
        if status == PCSCError.eNotTransacted || status == PCSCError.eCommDataLost, cardLeft(handle) {
            throw PCSCError(
                .removedCard, function: "SCardTransmit", status: status, reader: readerName,
                reason: "the card was removed during the exchange")
        }
        guard PCSCContext.succeeded(rc) else {
            throw PCSCError.result(rc, function: "SCardTransmit", reader: readerName)
        }
        guard length >= 2 else {
            if cardLeft(handle) {
                throw PCSCError(
                    .removedCard, function: "SCardTransmit", reader: readerName,
                    reason: "the card was removed during the exchange (empty answer)")
            }
            throw PCSCError(
                .responseTooShort, function: "SCardTransmit", reader: readerName,
                reason: "answer of \(length) bytes, without the status bytes SW1 SW2")
        }
        return Array(response.prefix(Int(length)))
    }

    /// Ends the session (`SCardDisconnect` with the reader's ``PCSCCardReader/Disposition``); idempotent.
    public func disconnect() {
        guard let handle else { return }
        self.handle = nil
        _ = SCardDisconnect(handle, disposition.scardValue)
    }

    /// Whether the card behind `handle` is gone, or goes within `removalWait`: `SCardStatus` reports
    /// `SCARD_W_REMOVED_CARD` or no `SCARD_PRESENT`, or the reader's state (`SCardGetStatusChange` on this session's
    /// context) turns `SCARD_STATE_EMPTY` or `SCARD_STATE_UNKNOWN`.
    private func cardLeft(_ handle: SCARDHANDLE) -> Bool {
        let status = PCSCCardConnection.readStatus(handle)
        if let failure = status.failure { return failure == PCSCError.wRemovedCard }
        if status.state & DWORD(SCARD_PRESENT) == 0 { return true }
        let deadline = ContinuousClock.now + removalWait
        var current = DWORD(SCARD_STATE_UNAWARE)
        while true {
            let remaining = deadline - ContinuousClock.now
            let milliseconds = max(
                0,
                remaining.components.seconds * 1000
                    + remaining.components.attoseconds / 1_000_000_000_000_000)
            let (rc, readers) = context.statusChange(
                names: [readerName], current: [current],
                timeout: current == DWORD(SCARD_STATE_UNAWARE) ? 0 : DWORD(clamping: milliseconds))
            switch UInt32(truncatingIfNeeded: rc) {
            case PCSCError.success:
                let state = readers[0].state
                if state & DWORD(SCARD_STATE_EMPTY) != 0 || state & DWORD(SCARD_STATE_UNKNOWN) != 0 { return true }
                current = state & ~DWORD(SCARD_STATE_CHANGED)
            case PCSCError.eUnknownReader:
                return true
            default:
                return false
            }
            if ContinuousClock.now >= deadline { return false }
        }
    }

    /// `SCardStatus`: the card state and ATR, or the failing result.
    private static func readStatus(_ handle: SCARDHANDLE) -> (state: DWORD, atr: [UInt8], failure: UInt32?) {
        var name = [CChar](repeating: 0, count: 256)
        var nameLength = DWORD(name.count)
        var state: DWORD = 0
        var activeProtocol: DWORD = 0
        var atr = [UInt8](repeating: 0, count: Int(MAX_ATR_SIZE))
        var atrLength = DWORD(atr.count)
        let rc = SCardStatus(handle, &name, &nameLength, &state, &activeProtocol, &atr, &atrLength)
        guard PCSCContext.succeeded(rc) else { return (0, [], UInt32(truncatingIfNeeded: rc)) }
        return (state, Array(atr.prefix(min(Int(atrLength), atr.count))), nil)
    }
}

@available(*, unavailable)
extension PCSCCardConnection: Sendable {}
