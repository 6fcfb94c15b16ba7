/// Closed-loop prepaid cards (pure): the terminal side of the PBOC electronic purse (JR/T 0025 ED/EP model: load,
/// purchase, balance), its MACs, and the secure access module (SAM) protocol that holds the terminal's purse keys
/// (docs/prepaid.md).
public enum PrepaidPurse {
    /// The purse application's AID in this firmware's TEST ONLY scheme: `F0` (an unregistered, proprietary RID,
    /// ISO/IEC 7816-5) followed by "PREPAID" in ASCII. A deployment sets the AID its card issuer registered.
    public static let applicationIdentifier: [UInt8] = [0xF0, 0x50, 0x52, 0x45, 0x50, 0x41, 0x49, 0x44]
}
