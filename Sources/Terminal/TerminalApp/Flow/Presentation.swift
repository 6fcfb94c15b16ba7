/// Something a customer presents to the terminal. The card reader, the contactless field, the scanner and the
/// simulator all deliver these; a payment rail turns one into a payment.
public enum Presentation: Sendable, Equatable {
    /// A chip card inserted in the contact slot (`name` identifies a virtual card on the simulator, the reader on a board).
    case inserted(name: String)
    /// A card or phone tapped on the contactless field.
    case tapped(name: String)
    /// A code read by the QR scanner.
    case scanned(code: String)
    /// The card was taken out of the slot or the field.
    case removed
}

extension Presentation {
    /// What the flow presents when the operator asks for a merchant-presented QR code (ENTER on the QR payment
    /// screen): a scan of the text "MPM", which no payment code matches. Headless mode starts one with `SCAN MPM`.
    public static let merchantPresentedQRRequest = Presentation.scanned(code: "MPM")
}
