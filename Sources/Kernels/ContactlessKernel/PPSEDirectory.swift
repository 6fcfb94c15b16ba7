import Codecs

/// One entry of the PPSE directory (EMV Book B clause 3.3.2: the Directory Entry '61' of the FCI Issuer
/// Discretionary Data 'BF0C').
public struct PPSEDirectoryEntry: Sendable, Hashable {
    /// ADF Name '4F', 5 to 16 bytes.
    public var adfName: [UInt8]
    /// Application Label '50'.
    public var label: String?
    /// Application Priority Indicator '87', low nibble (1 highest); `nil` when absent or 0.
    public var priority: Int?
    /// Kernel Identifier '9F2A' as given (empty when absent).
    public var kernelIdentifier: [UInt8]
    /// Extended Selection '9F29' (empty when absent).
    public var extendedSelection: [UInt8]

    /// An entry from its parts.
    public init(adfName: [UInt8], label: String?, priority: Int?, kernelIdentifier: [UInt8], extendedSelection: [UInt8])
    {
        self.adfName = adfName
        self.label = label
        self.priority = priority
        self.kernelIdentifier = kernelIdentifier
        self.extendedSelection = extendedSelection
    }
}

/// The PPSE ('2PAY.SYS.DDF01') FCI and its directory (EMV Book B clause 3.3.2).
public enum PPSEDirectory {
    /// The PPSE name.
    public static let name: [UInt8] = Array("2PAY.SYS.DDF01".utf8)

    /// Why a PPSE FCI was refused.
    public struct Malformed: Error, Sendable, Equatable {
        /// What was wrong (no card data in it).
        public let reason: String
    }

    /// Parses the FCI of a SELECT PPSE response: '6F' { '84', 'A5' { 'BF0C' { '61' … } } }.
    ///
    /// Entries without a valid ADF Name (5 to 16 bytes) are skipped, as Book B 3.3.2.5 asks; an FCI that is not a
    /// '6F' template, has no 'A5' or 'BF0C', or is not BER-TLV throws ``Malformed``. Never traps, whatever the bytes.
    public static func parse(fci bytes: [UInt8]) throws -> [PPSEDirectoryEntry] {
        let fci: TLVNode
        do {
            fci = try TLVNode(tlvEncoded: bytes)
        } catch {
            throw Malformed(reason: "not BER-TLV")
        }
        guard fci.tag == .fileControlInformationTemplate else { throw Malformed(reason: "not an FCI template") }
        guard let proprietary = fci.child(TLVTag(0xA5)), proprietary.isConstructed else {
            throw Malformed(reason: "no FCI proprietary template")
        }
        guard let discretionary = proprietary.child(TLVTag(0xBF0C)), discretionary.isConstructed else {
            throw Malformed(reason: "no FCI issuer discretionary data")
        }
        var entries: [PPSEDirectoryEntry] = []
        for entry in discretionary.children where entry.tag == .applicationTemplate && entry.isConstructed {
            guard let adf = entry.child(.applicationIdentifier), (5...16).contains(adf.value.count) else { continue }
            let label = entry.child(.applicationLabel).map { String(decoding: $0.value, as: UTF8.self) }
            let priority = entry.child(.applicationPriorityIndicator).flatMap { node -> Int? in
                guard let byte = node.value.first, byte & 0x0F != 0 else { return nil }
                return Int(byte & 0x0F)
            }
            entries.append(
                PPSEDirectoryEntry(
                    adfName: Array(adf.value), label: label, priority: priority,
                    kernelIdentifier: entry.child(TLVTag(0x9F2A)).map { Array($0.value) } ?? [],
                    extendedSelection: entry.child(TLVTag(0x9F29)).map { Array($0.value) } ?? []))
        }
        return entries
    }

    /// The kernel an entry asks for (Book B 3.3.2.5): the first byte of an international '9F2A' (bits 8-7 = 00), or
    /// the default of the RID when '9F2A' is absent or zero-length; `nil` for a domestic or unknown kernel.
    public static func kernel(of entry: PPSEDirectoryEntry) -> ContactlessKernelID? {
        guard let first = entry.kernelIdentifier.first else {
            return ContactlessKernelID.defaultKernel(forAID: entry.adfName)
        }
        guard first & 0xC0 == 0 else { return nil }
        if first == 0 { return ContactlessKernelID.defaultKernel(forAID: entry.adfName) }
        return ContactlessKernelID(rawValue: first)
    }
}
