/// Where a card sits: the chip slot or the contactless field.
public enum CardSlot: String, Sendable, Equatable, CaseIterable {
    case contact
    case contactless
}

/// A change at a card reader.
public enum CardReaderEvent: Sendable, Equatable {
    /// A card was inserted in the slot or entered the field; `atr` is its Answer To Reset (ISO 7816-3) or, for a
    /// contactless card, the ATR the reader builds for it (PC/SC part 3).
    case cardPresent(slot: CardSlot, atr: [UInt8])
    /// The card left.
    case cardRemoved(slot: CardSlot)
}

/// A session with one card: exchanges command and response APDUs (ISO 7816-4).
///
/// This is the "APDU transport" that the payment kernels are driven through: the PC/SC driver implements it on a
/// board, the virtual cards implement it in the simulator and in tests. A transport does no interpretation of the
/// status words beyond what the transmission protocol needs (T=0 `61xx` / `6Cxx` handling belongs to the APDU
/// layer above it).
public protocol CardConnection: AnyObject {
    /// The protocol the card speaks (T=0, T=1, or contactless).
    var slot: CardSlot { get }
    /// Sends one command APDU and returns the whole response, data and the two status bytes SW1 SW2.
    /// Throws when the card is gone or the reader fails; a response shorter than two bytes is an error.
    func transmit(_ command: [UInt8]) throws -> [UInt8]
    /// Ends the session (the card stays powered or not, as the reader does).
    func disconnect()
}

/// A card reader: contact slot, contactless field, or both (PC/SC on a board, the simulator's virtual reader).
public protocol CardReaderDevice: AnyObject, Sendable {
    /// Card arrivals and departures, until the reader is closed or fails.
    func events() -> AsyncThrowingStream<CardReaderEvent, any Error>
    /// Opens a session with the card now in `slot`.
    func connect(_ slot: CardSlot) throws -> any CardConnection
}
