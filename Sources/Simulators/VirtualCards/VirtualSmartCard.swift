/// What vpcd needs of a virtual card: its ATR, a reset, one APDU at a time, and whether it left the reader. The EMV
/// ``VirtualCard``, the ``VirtualContactlessCard`` (with a reader-built ATR) and the prepaid ``VirtualPurseCard`` all
/// are one, so ``VPCDCardClient`` serves any of them.
public protocol VirtualSmartCard: AnyObject {
    /// The answer to reset.
    var answerToReset: [UInt8] { get }
    /// A reset or power cycle (keeps persistent data).
    func reset()
    /// One command APDU in, response data and SW1 SW2 out.
    func process(_ command: [UInt8]) -> [UInt8]
    /// Whether the card left the reader.
    var isRemoved: Bool { get }
}

extension VirtualCard: VirtualSmartCard {}
extension VirtualPurseCard: VirtualSmartCard {}
