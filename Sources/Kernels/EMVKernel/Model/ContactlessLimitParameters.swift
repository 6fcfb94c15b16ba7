/// The reader limits of one contactless kernel as the parameters file gives them (EMV Book B clause 3.1.1, "Entry
/// Point Configuration Data"), in minor units of the transaction currency; each amount fits n12.
///
/// The contactless kernels turn them into their reader limits (`ContactlessReaderLimits`): an amount at or above
/// ``transactionLimit`` may not be paid contactless (``onDeviceCVMTransactionLimit`` for a phone doing on-device
/// CVM), one above ``floorLimit`` needs an online cryptogram, one at or above ``cvmRequiredLimit`` needs
/// cardholder verification.
public struct ContactlessLimitParameters: Sendable, Hashable {
    /// Reader Contactless Transaction Limit.
    public var transactionLimit: Int
    /// Reader Contactless Transaction Limit for on-device CVM (Kernel 2: a card or phone whose AIP says so).
    public var onDeviceCVMTransactionLimit: Int
    /// Reader Contactless Floor Limit.
    public var floorLimit: Int
    /// Reader CVM Required Limit.
    public var cvmRequiredLimit: Int

    /// The limits the terminal uses when the parameters file does not say: contactless up to 999.99 (9 999.99 with
    /// on-device CVM), floor limit 50.00, CVM required from 300.00 (two-decimal currencies).
    public static let standard = ContactlessLimitParameters(
        transactionLimit: 100_000, onDeviceCVMTransactionLimit: 1_000_000, floorLimit: 5_000, cvmRequiredLimit: 30_000)

    /// Limits from their parts (not checked: ``TerminalParameters/parse(_:today:)`` checks what it reads).
    public init(transactionLimit: Int, onDeviceCVMTransactionLimit: Int, floorLimit: Int, cvmRequiredLimit: Int) {
        self.transactionLimit = transactionLimit
        self.onDeviceCVMTransactionLimit = onDeviceCVMTransactionLimit
        self.floorLimit = floorLimit
        self.cvmRequiredLimit = cvmRequiredLimit
    }

    /// Whether the limits are in order: floor limit ≤ CVM required limit ≤ transaction limit ≤ on-device CVM
    /// transaction limit (an offline approval never skips a CVM the amount needs, and no amount that needs a CVM is
    /// refused before the card could do it).
    public var isOrdered: Bool {
        floorLimit <= cvmRequiredLimit && cvmRequiredLimit <= transactionLimit
            && transactionLimit <= onDeviceCVMTransactionLimit
    }
}

/// The contactless reader limits per kernel (the parameters file's `[contactless]` table, docs/emv-parameters.md):
/// Visa (Kernel 3), Mastercard (Kernel 2) and UnionPay QuickPass (qPBOC, Kernel 7).
public struct ContactlessLimitTable: Sendable, Hashable {
    /// Kernel 3 (Visa payWave, qVSDC).
    public var visa: ContactlessLimitParameters
    /// Kernel 2 (Mastercard M/Chip).
    public var mastercard: ContactlessLimitParameters
    /// Kernel 7 (UnionPay QuickPass, qPBOC).
    public var unionPay: ContactlessLimitParameters

    /// ``ContactlessLimitParameters/standard`` for every kernel.
    public static let standard = ContactlessLimitTable(visa: .standard, mastercard: .standard, unionPay: .standard)

    /// A table from its parts.
    public init(
        visa: ContactlessLimitParameters, mastercard: ContactlessLimitParameters, unionPay: ContactlessLimitParameters
    ) {
        self.visa = visa
        self.mastercard = mastercard
        self.unionPay = unionPay
    }

    /// The limits of a kernel by its Kernel Identifier ('9F2A' first byte: 2, 3 or 7); `nil` for another kernel.
    public func limits(kernelIdentifier: UInt8) -> ContactlessLimitParameters? {
        switch kernelIdentifier {
        case 2: mastercard
        case 3: visa
        case 7: unionPay
        default: nil
        }
    }
}

extension TerminalParameters {
    /// The `[contactless]` table: `transaction_limit`, `cdcvm_transaction_limit`, `floor_limit` and `cvm_limit` for
    /// every kernel, and the tables `[contactless.visa]`, `[contactless.mastercard]`, `[contactless.unionpay]` with
    /// the same keys for one kernel. A limit given nowhere is ``ContactlessLimitParameters/standard``'s. Each kernel's
    /// limits must be in order (``ContactlessLimitParameters/isOrdered``).
    static func parseContactless(_ s: ParametersSection) throws -> ContactlessLimitTable {
        let keys: Set<String> = ["transaction_limit", "cdcvm_transaction_limit", "floor_limit", "cvm_limit"]
        let schemes = ["visa", "mastercard", "unionpay"]
        try s.allowOnly(keys.union(schemes))
        func read(_ section: ParametersSection, over base: ContactlessLimitParameters) throws
            -> ContactlessLimitParameters
        {
            func amount(_ key: String, _ fallback: Int) throws -> Int {
                section.table[key] == nil ? fallback : try section.integer(key, range: 0...999_999_999_999)
            }
            return ContactlessLimitParameters(
                transactionLimit: try amount("transaction_limit", base.transactionLimit),
                onDeviceCVMTransactionLimit: try amount("cdcvm_transaction_limit", base.onDeviceCVMTransactionLimit),
                floorLimit: try amount("floor_limit", base.floorLimit),
                cvmRequiredLimit: try amount("cvm_limit", base.cvmRequiredLimit))
        }
        let common = try read(s, over: .standard)
        var table = ContactlessLimitTable(visa: common, mastercard: common, unionPay: common)
        for scheme in schemes {
            var section = s
            if s.table[scheme] != nil {
                section = try s.table(scheme)
                try section.allowOnly(keys)
            }
            let limits = section.path == s.path ? common : try read(section, over: common)
            guard limits.isOrdered else {
                throw ParametersFileError(
                    line: section.table.line, field: section.path,
                    message: (section.path == s.path ? "\(scheme): " : "")
                        + "the limits must be in order: floor_limit (\(limits.floorLimit)) <= cvm_limit "
                        + "(\(limits.cvmRequiredLimit)) <= transaction_limit (\(limits.transactionLimit)) <= "
                        + "cdcvm_transaction_limit (\(limits.onDeviceCVMTransactionLimit))")
            }
            switch scheme {
            case "visa": table.visa = limits
            case "mastercard": table.mastercard = limits
            default: table.unionPay = limits
            }
        }
        return table
    }
}
