import CPCSCLite
public import DeviceKit
import Synchronization

/// A card reader behind pcscd, through libpcsclite (PC/SC): the board profile's `[card_reader] kind = "pcsc"`.
///
/// The reader is chosen by name: the reader whose PC/SC name equals ``configuredName``, else the first (in pcscd's
/// order) whose name starts with it, so `"ACS ACR39U"` finds `"ACS ACR39U ICC Reader 00 00"`. The match is made
/// again whenever readers come and go, so the reader may be plugged in after start. (pcscd adds and removes USB
/// readers as udev reports them; readers declared in reader.conf.d, serial ones and vsmartcard-vpcd, stay fixed while
/// pcscd runs: its SIGUSR1 re-reads nothing in Debian's libudev build 1.9.9.)
///
/// - ``events()`` watches the reader on a ``DeviceThread`` blocked in `SCardGetStatusChange` (with the reader and
///   pcsc-lite's `\\?PnP?\Notification` pseudo-reader, so arrivals and departures of readers wake it too). It
///   reports ``CardReaderEvent/cardPresent(slot:atr:)`` with the ATR and ``CardReaderEvent/cardRemoved(slot:)``; a
///   reader that vanishes with a card in it reports the removal. Stopping cancels the wait with `SCardCancel`; the
///   wait also has a timeout, so a cancel that races the start of a wait costs at most ``pollInterval``.
/// - ``connect(_:)`` opens a session (`SCardConnect`, shared, T=0 or T=1) whose ``PCSCCardConnection/transmit(_:)``
///   uses the negotiated protocol.
///
/// Two contexts (`SCardEstablishContext`, each once, in `init`): one for the watching thread and one for sessions,
/// because pcsc-lite holds a context's lock for the whole of a blocking `SCardGetStatusChange` and a connect on the
/// same context would wait for it.
public final class PCSCCardReader: CardReaderDevice {
    /// What happens to the card when a session ends (`SCardDisconnect`'s disposition).
    public enum Disposition: Sendable, Equatable {
        /// `SCARD_LEAVE_CARD`: nothing.
        case leave
        /// `SCARD_RESET_CARD`: a warm reset.
        case reset
        /// `SCARD_UNPOWER_CARD`: power off (EMV Book 1 §6.1.5, deactivation at the end of a transaction).
        case unpower

        var scardValue: DWORD {
            switch self {
            case .leave: return DWORD(SCARD_LEAVE_CARD)
            case .reset: return DWORD(SCARD_RESET_CARD)
            case .unpower: return DWORD(SCARD_UNPOWER_CARD)
            }
        }
    }

    /// The reader name, or prefix of it, from the board profile.
    public let configuredName: String
    /// The slot this reader serves (a PC/SC reader is one slot: contact, or a contactless field).
    public let slot: CardSlot
    /// What happens to the card when a session ends.
    public let disposition: Disposition
    /// The longest single `SCardGetStatusChange` wait; the watcher loops after it.
    public let pollInterval: Duration
    /// How long a failed or empty exchange waits to see whether the card was pulled (see
    /// ``PCSCCardConnection/transmit(_:)``).
    public let removalWait: Duration

    private let monitorContext: PCSCContext
    private let sessionContext: PCSCContext
    private let runner: DeviceThreadStreamRunner<CardReaderEvent>

    /// Connects to pcscd.
    /// - Parameters:
    ///   - reader: The reader's PC/SC name or a prefix of it (`card_reader.reader` of the board profile).
    ///   - slot: The slot to report events for.
    ///   - disposition: What to do with the card when a session ends; leave it by default.
    ///   - pollInterval: The longest wait of the watching thread before it loops (1 s by default).
    ///   - removalWait: How long a failed or empty exchange watches for the card leaving (2 s by default: pcscd
    ///     polls card presence every 400 ms, some drivers more slowly).
    /// - Throws: ``PCSCError`` (``PCSCError/Code/serviceUnavailable`` when pcscd is not running). The reader need
    ///   not be present yet.
    public init(
        reader: String, slot: CardSlot = .contact, disposition: Disposition = .leave,
        pollInterval: Duration = .seconds(1), removalWait: Duration = .seconds(2)
    ) throws {
        precondition(!reader.isEmpty, "PCSCCardReader needs a reader name or prefix")
        configuredName = reader
        self.slot = slot
        self.disposition = disposition
        self.pollInterval = pollInterval
        self.removalWait = removalWait
        let monitor = try PCSCContext()
        monitorContext = monitor
        sessionContext = try PCSCContext()
        // The monitor blocks in SCardGetStatusChange, which only SCardCancel ends.
        runner = DeviceThreadStreamRunner(threadName: "card-pcsc", bufferLimit: 64) { monitor.cancel() }
    }

    /// The PC/SC names of all readers pcscd knows now.
    /// - Throws: ``PCSCError`` (``PCSCError/Code/serviceStopped`` when pcscd went away).
    public func availableReaders() throws -> [String] { try sessionContext.readerNames() }

    /// The reader that matches `configured` among `names`: an equal name, else the first that starts with it.
    public static func matchReader(_ configured: String, in names: [String]) -> String? {
        names.first { $0 == configured } ?? names.first { $0.hasPrefix(configured) }
    }

    /// Card arrivals and departures until the stream is dropped, ``stop()`` is called, or pcscd fails (a
    /// ``PCSCError``, ``PCSCError/Code/serviceStopped`` when pcscd stops). A card already in the reader is reported
    /// first. A new call ends the previous stream first.
    public func events() -> AsyncThrowingStream<CardReaderEvent, any Error> {
        let context = monitorContext
        let configured = configuredName
        let slot = self.slot
        let timeout = DWORD(
            clamping: pollInterval.components.seconds * 1000
                + pollInterval.components.attoseconds / 1_000_000_000_000_000)
        return runner.start { stop, emit in
            var monitor = PCSCMonitor(context: context, configuredName: configured, slot: slot, timeout: timeout)
            try monitor.run(stop: stop, emit: emit)
        }
    }

    /// Ends the current event stream, if any, and waits for its thread.
    public func stop() { runner.stop() }

    /// Opens a session with the card (`SCardConnect`, `SCARD_SHARE_SHARED`, T=0 or T=1).
    /// - Throws: ``PCSCError``: ``PCSCError/Code/noReader`` when no reader matches (the reason lists the readers
    ///   there are), ``PCSCError/Code/noCard``, ``PCSCError/Code/unresponsiveCard``, or another mapped result.
    public func connect(_ slot: CardSlot) throws -> any CardConnection { try connectSession(slot) }

    /// ``connect(_:)`` with the concrete type, for callers that want the protocol or the ATR.
    public func connectSession(_ slot: CardSlot) throws -> PCSCCardConnection {
        guard slot == self.slot else {
            throw PCSCError(
                .noReader, function: "SCardConnect", reader: configuredName,
                reason: "this reader serves the \(self.slot.rawValue) slot, not the \(slot.rawValue) one")
        }
        let names = try sessionContext.readerNames()
        guard let name = PCSCCardReader.matchReader(configuredName, in: names) else {
            let list = names.isEmpty ? "no readers" : "readers: " + names.map { "'\($0)'" }.joined(separator: ", ")
            throw PCSCError(
                .noReader, function: "SCardConnect", reader: configuredName,
                reason: "no PC/SC reader named or starting with '\(configuredName)' (\(list))")
        }
        var handle: SCARDHANDLE = 0
        var activeProtocol: DWORD = 0
        let rc = SCardConnect(
            sessionContext.handle, name, DWORD(SCARD_SHARE_SHARED), DWORD(SCARD_PROTOCOL_T0) | DWORD(SCARD_PROTOCOL_T1),
            &handle, &activeProtocol)
        guard PCSCContext.succeeded(rc) else { throw PCSCError.result(rc, function: "SCardConnect", reader: name) }
        return PCSCCardConnection(
            context: sessionContext, handle: handle, activeProtocol: activeProtocol, readerName: name, slot: slot,
            disposition: disposition, removalWait: removalWait)
    }
}

/// The watching loop of ``PCSCCardReader/events()``: one `SCardGetStatusChange` after another on the reader and the
/// PnP pseudo-reader, turning state changes into events. Runs on one device thread.
struct PCSCMonitor {
    /// pcsc-lite's pseudo-reader whose state changes when readers are added or removed (winscard_clnt.c).
    static let plugAndPlayReader = "\\\\?PnP?\\Notification"

    let context: PCSCContext
    let configuredName: String
    let timeout: DWORD

    /// The matched reader, while it exists.
    private var readerName: String?
    /// The reader's last event state, fed back as the current state (`SCARD_STATE_UNAWARE` to learn it first).
    private var readerState = DWORD(SCARD_STATE_UNAWARE)
    /// The PnP pseudo-reader's last event state (its upper 16 bits count the readers).
    private var plugAndPlayState = DWORD(SCARD_STATE_UNAWARE)
    private var tracker: PCSCCardTracker

    init(context: PCSCContext, configuredName: String, slot: CardSlot, timeout: DWORD) {
        self.context = context
        self.configuredName = configuredName
        self.timeout = timeout
        tracker = PCSCCardTracker(slot: slot)
    }

    mutating func run(stop: StopSignal, emit: (CardReaderEvent) -> Void) throws {
        while !stop.isFired {
            if readerName == nil {
                readerName = PCSCCardReader.matchReader(configuredName, in: try context.readerNames())
                readerState = DWORD(SCARD_STATE_UNAWARE)
            }
            var names = [PCSCMonitor.plugAndPlayReader]
            var current = [plugAndPlayState]
            if let readerName {
                names.append(readerName)
                current.append(readerState)
            }
            let (rc, readers) = context.statusChange(names: names, current: current, timeout: timeout)
            switch UInt32(truncatingIfNeeded: rc) {
            case PCSCError.success:
                break
            case PCSCError.eTimeout:
                continue
            case PCSCError.eCancelled:
                if stop.isFired { return }
                continue
            case PCSCError.eUnknownReader, PCSCError.eReaderUnavailable:
                readerGone(emit: emit)
                continue
            case PCSCError.eNoReadersAvailable:
                // Only without PnP support; wait a poll interval rather than spin.
                _ = try? pollReadable(stop.descriptor, stop: nil, timeoutMilliseconds: Int32(clamping: timeout))
                continue
            default:
                throw PCSCError.result(rc, function: "SCardGetStatusChange", reader: readerName)
            }
            if readers.count > 1 {
                let state = readers[1].state
                if PCSCCardTracker.readerVanished(UInt32(truncatingIfNeeded: state)) {
                    readerGone(emit: emit)
                } else {
                    readerState = state & ~DWORD(SCARD_STATE_CHANGED)
                    tracker.update(eventState: UInt32(truncatingIfNeeded: state), atr: readers[1].atr).forEach(emit)
                }
            }
            if readers[0].state & DWORD(SCARD_STATE_CHANGED) != 0 {
                plugAndPlayState = readers[0].state & ~DWORD(SCARD_STATE_CHANGED)
                // A reader came or went: is ours still there? (A missing one is looked for at the top of the loop.)
                if let name = readerName, !(try context.readerNames()).contains(name) { readerGone(emit: emit) }
            }
        }
    }

    /// The reader vanished (unplugged, or gone from pcscd): a card in it is gone too; the reader is looked for again.
    private mutating func readerGone(emit: (CardReaderEvent) -> Void) {
        tracker.readerGone().forEach(emit)
        readerName = nil
        readerState = DWORD(SCARD_STATE_UNAWARE)
    }
}

/// Turns the event states `SCardGetStatusChange` reports for one reader into card events. Pure, so its rules are
/// tested without pcscd.
///
/// The event state holds `SCARD_STATE_*` bits (pcsclite.h: `EMPTY` 0x10, `PRESENT` 0x20, `UNKNOWN` 0x04, `IGNORE`
/// 0x01, `CHANGED` 0x02, `INUSE` 0x100, `MUTE` 0x200, …) and, in its upper 16 bits, pcsc-lite's count of card
/// insertions and removals in the reader. Changes of other bits (a session opening: `INUSE`) give no event; a
/// counter that moved while the card stayed present means it left and came back between two waits.
struct PCSCCardTracker {
    let slot: CardSlot
    /// The ATR of the card reported present, or `nil` when none is.
    private(set) var presentATR: [UInt8]?
    /// The event counter when the card was last seen.
    private var eventCounter: UInt32?

    init(slot: CardSlot) { self.slot = slot }

    /// Whether the state says the reader is gone (`SCARD_STATE_UNKNOWN` or `SCARD_STATE_IGNORE`).
    static func readerVanished(_ eventState: UInt32) -> Bool {
        eventState & UInt32(SCARD_STATE_UNKNOWN) != 0 || eventState & UInt32(SCARD_STATE_IGNORE) != 0
    }

    /// The events a new reader state means. A card that is present but mute (no ATR) is reported with an empty ATR.
    mutating func update(eventState: UInt32, atr: [UInt8]) -> [CardReaderEvent] {
        let counter = eventState >> 16
        defer { eventCounter = counter }
        if eventState & UInt32(SCARD_STATE_PRESENT) != 0 {
            if let known = presentATR, counter == eventCounter {
                guard known.isEmpty, !atr.isEmpty else { return [] }
                // The ATR arrived after the card was first seen present: report it.
                presentATR = atr
                return [.cardPresent(slot: slot, atr: atr)]
            }
            // A new card, or the card left and came back between two waits.
            let removed: [CardReaderEvent] = presentATR == nil ? [] : [.cardRemoved(slot: slot)]
            presentATR = atr
            return removed + [.cardPresent(slot: slot, atr: atr)]
        }
        if eventState & UInt32(SCARD_STATE_EMPTY) != 0, presentATR != nil {
            presentATR = nil
            return [.cardRemoved(slot: slot)]
        }
        return []
    }

    /// The events of the reader vanishing: a card in it is gone.
    mutating func readerGone() -> [CardReaderEvent] {
        eventCounter = nil
        guard presentATR != nil else { return [] }
        presentATR = nil
        return [.cardRemoved(slot: slot)]
    }
}
