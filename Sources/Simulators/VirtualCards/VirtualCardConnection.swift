public import DeviceKit

/// A session with a ``VirtualCard`` through the DeviceKit ``CardConnection`` protocol: the simulator board's and
/// the tests' card transport.
///
/// `transmit` hands the command to the card and returns its answer. When the card has left the reader (its
/// profile's ``VirtualCardProfile/Fault/removedAtFirstGenerateAC`` fault, or ``pull()``), `transmit` throws
/// ``VirtualCardError`` ``VirtualCardError/Code/cardRemoved``: the command that was being processed gets no answer.
/// After ``disconnect()`` it throws ``VirtualCardError/Code/connectionClosed``.
public final class VirtualCardConnection: CardConnection {
    /// The card behind the connection.
    public let card: VirtualCard
    private var closed = false
    private var pulled = false

    /// A session with `card`; the card is reset (as a reader does when it powers the card).
    public init(card: VirtualCard) {
        self.card = card
        card.reset()
    }

    /// Always the contact slot: the virtual cards are contact cards.
    public var slot: CardSlot { .contact }

    /// The card's answer to reset.
    public var answerToReset: [UInt8] { card.answerToReset }

    /// Sends one command APDU and returns the response with SW1 SW2.
    /// - Throws: ``VirtualCardError`` ``VirtualCardError/Code/cardRemoved`` when the card is gone (also for the
    ///   command during which it left), ``VirtualCardError/Code/connectionClosed`` after ``disconnect()``.
    public func transmit(_ command: [UInt8]) throws -> [UInt8] {
        guard !closed else { throw VirtualCardError(.connectionClosed, "the virtual card session was ended") }
        guard !pulled, !card.isRemoved else { throw VirtualCardError(.cardRemoved, "the card left the reader") }
        let response = card.process(command)
        guard !card.isRemoved else {
            throw VirtualCardError(.cardRemoved, "the card left the reader during the command")
        }
        return response
    }

    /// Takes the card out of the reader: every later `transmit` throws ``VirtualCardError/Code/cardRemoved``.
    public func pull() { pulled = true }

    /// Ends the session.
    public func disconnect() { closed = true }
}

@available(*, unavailable)
extension VirtualCardConnection: Sendable {}
