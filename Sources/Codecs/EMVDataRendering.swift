extension EMVDataDictionary {
    /// Renders TLV objects as an indented tree with tag names, masking sensitive values, for logs, traces and
    /// `termtool tlv decode`.
    ///
    /// One line per object: the tag, its dictionary name, and for a primitive object its value: text in quotes for
    /// the `a`/`an`/`ans` formats when printable, hex otherwise. Values are shown per
    /// ``EMVDataSensitivity``: a PAN as its first six and last four digits, masked elements as their length only,
    /// dropped elements not at all. Unknown tags are masked unless `revealingUnknownValues` is set.
    ///
    ///     6F File Control Information (FCI) Template
    ///       84 Dedicated File (DF) Name: 325041592E5359532E4444463031
    ///     5A Application Primary Account Number (PAN): 476173******0010
    ///     57 Track 2 Equivalent Data: <masked, 19 bytes>
    ///
    /// - Parameters:
    ///   - nodes: The objects, such as ``TLVNode/sequence(tlvEncoded:rules:)-(ArraySlice<UInt8>,_)``'s result.
    ///   - revealingUnknownValues: Whether values of tags not in the dictionary are shown in hex (a developer's
    ///     decoding of test data); never set it for logs of real transactions.
    /// - Returns: The lines, each ending in a newline.
    public static func render(_ nodes: [TLVNode], revealingUnknownValues: Bool = false) -> String {
        var out = ""
        for node in nodes { render(node, depth: 0, revealingUnknownValues: revealingUnknownValues, into: &out) }
        return out
    }

    /// Parses `bytes` as a sequence of objects (``TLVRules/emv``) and renders them; a malformed input gives one line
    /// naming the error code and offset, never its bytes.
    public static func render(tlvEncoded bytes: [UInt8], revealingUnknownValues: Bool = false) -> String {
        do {
            return render(try TLVNode.sequence(tlvEncoded: bytes), revealingUnknownValues: revealingUnknownValues)
        } catch let error as EMVCodecError {
            return "malformed TLV: \(error.code)" + (error.offset.map { " at offset \($0)" } ?? "") + "\n"
        } catch {
            return "malformed TLV\n"
        }
    }

    /// A PAN written for display: the first six and last four digits, `*` for the others (PCI DSS requirement 3.4);
    /// all `*` when fewer than 13 digits (too few would stay hidden).
    public static func maskedPAN(_ digits: some StringProtocol) -> String {
        let characters = Array(digits)
        guard characters.count >= 13 else { return String(repeating: "*", count: characters.count) }
        let hidden = String(repeating: "*", count: characters.count - 10)
        return String(characters.prefix(6)) + hidden + String(characters.suffix(4))
    }

    private static func render(_ node: TLVNode, depth: Int, revealingUnknownValues: Bool, into out: inout String) {
        let element = element(for: node.tag)
        let indent = String(repeating: "  ", count: depth)
        let name = element?.name ?? (node.tag.tagClass == .private ? "proprietary" : "unknown")
        out += indent + node.tag.description + " " + name
        if node.isConstructed {
            out += "\n"
            for child in node.children {
                render(child, depth: depth + 1, revealingUnknownValues: revealingUnknownValues, into: &out)
            }
            return
        }
        out += ": " + renderValue(node.value, element: element, revealingUnknownValues: revealingUnknownValues) + "\n"
    }

    private static func renderValue(
        _ value: ArraySlice<UInt8>, element: EMVDataElement?, revealingUnknownValues: Bool
    ) -> String {
        let sensitivity = element?.sensitivity ?? (revealingUnknownValues ? .none : .masked)
        switch sensitivity {
        case .dropped:
            return "<dropped>"
        case .masked:
            return "<masked, \(value.count) byte\(value.count == 1 ? "" : "s")>"
        case .pan:
            // cn format (Book 3 §4.3): BCD digits, padded on the right with F nibbles.
            guard let digits = compressedNumericDigits(value) else {
                return "<masked, \(value.count) byte\(value.count == 1 ? "" : "s")>"
            }
            return maskedPAN(digits)
        case .none:
            break
        }
        switch element?.format {
        case .a, .an, .ans:
            if !value.isEmpty, value.allSatisfy({ (0x20...0x7E).contains($0) }) {
                return "\"" + String(decoding: value, as: UTF8.self) + "\""
            }
            return Hex.encode(value)
        default:
            return Hex.encode(value)
        }
    }

    /// The digits of a `cn` value, or `nil` when a nibble is neither a digit nor trailing `F` padding.
    static func compressedNumericDigits(_ value: ArraySlice<UInt8>) -> String? {
        var digits = ""
        var padding = false
        for byte in value {
            for nibble in [byte >> 4, byte & 0x0F] {
                if nibble == 0x0F {
                    padding = true
                } else if nibble <= 9, !padding {
                    digits.append(Character(Unicode.Scalar(0x30 + nibble)))
                } else {
                    return nil
                }
            }
        }
        return digits
    }
}
