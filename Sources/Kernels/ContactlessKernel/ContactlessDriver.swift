public import Codecs
public import EMVKernel

extension ContactlessEntryPoint {
    /// Runs the tap to its outcome with a synchronous card transport: the driver loop of a reader whose APDU
    /// exchange blocks (the rail, the benchmark and the tests use it).
    /// - Parameters:
    ///   - collision: the reader's anticollision found more than one card: the outcome is Try Again at once.
    ///   - transmit: sends a command; returns ``ContactlessEvent/response(_:elapsedMicroseconds:)`` or
    ///     ``ContactlessEvent/cardRemoved``.
    ///   - userInterface: shows a request (called in order, before the outcome).
    /// - Returns: The outcome. Traps when called on an Entry Point that already started.
    public mutating func run(
        collision: Bool = false, transmit: (CommandAPDU) -> ContactlessEvent,
        userInterface: (UserInterfaceRequest) -> Void = { _ in }
    ) -> ContactlessOutcome {
        var pending = start()
        if collision, !isFinished {
            pending = pending.filter { if case .transmit = $0 { false } else { true } } + handle(.collision)
        }
        while !pending.isEmpty {
            switch pending.removeFirst() {
            case .outcome(let outcome): return outcome
            case .userInterface(let request): userInterface(request)
            case .transmit(let command): pending += handle(transmit(command))
            }
        }
        preconditionFailure("ContactlessEntryPoint ended without an outcome")
    }
}

extension ContactlessCombination {
    /// The combinations of a reader that takes Visa (Kernel 3), Mastercard (Kernel 2) and UnionPay QuickPass
    /// (Kernel 7, on the Kernel 3 path) with the same `limits`.
    public static func standard(limits: ContactlessReaderLimits) -> [ContactlessCombination] {
        [
            ContactlessCombination(aid: [0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10], kernel: .visa, limits: limits),
            ContactlessCombination(
                aid: [0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10], kernel: .mastercard, limits: limits),
            ContactlessCombination(aid: [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01], kernel: .unionPay, limits: limits),
        ]
    }
}

extension ContactlessReaderLimits {
    /// The reader limits the parameters file gives a kernel (every limit configured).
    public init(_ parameters: ContactlessLimitParameters) {
        self.init(
            transactionLimit: parameters.transactionLimit,
            onDeviceCVMTransactionLimit: parameters.onDeviceCVMTransactionLimit, floorLimit: parameters.floorLimit,
            cvmRequiredLimit: parameters.cvmRequiredLimit)
    }
}

extension ContactlessParameters {
    /// These combinations under `terminal` (a parameter set's EMV parameters): its terminal data, CA keys, revocation
    /// list and exception file, and each combination's reader limits from its `contactlessLimits` for the
    /// combination's kernel.
    public func applying(_ terminal: TerminalParameters) -> ContactlessParameters {
        ContactlessParameters(
            terminal: terminal,
            combinations: combinations.map { combination in
                var combination = combination
                if let limits = terminal.contactlessLimits.limits(kernelIdentifier: combination.kernel.rawValue) {
                    combination.limits = ContactlessReaderLimits(limits)
                }
                return combination
            })
    }
}
