/// One data object of an EMVCo merchant-presented payload (EMV QRCPS MPM v1.1 §4.7): a two-digit ID, a two-digit
/// length and a value of that many characters. A template's value is itself a list of data objects
/// (``children``).
///
/// Lengths count characters (Unicode scalars), not bytes: "最佳运输" has length 04 and 12 UTF-8 bytes.
public struct MPMDataObject: Sendable, Equatable {
    /// The ID, "00"…"99".
    public var id: String
    /// The value as it appears in the payload (for a template: its children's encoding).
    public var value: String
    /// The nested data objects of a template (IDs 26–51, 62, 64, 80–99), `nil` for a primitive object or a template
    /// whose value is not a data-object list.
    public var children: [MPMDataObject]?

    /// A primitive data object.
    public init(id: String, value: String) {
        self.id = id
        self.value = value
        self.children = nil
    }

    /// A template holding `children`.
    public init(id: String, children: [MPMDataObject]) {
        self.id = id
        self.value = MerchantPresentedPayload.encode(children)
        self.children = children
    }

    /// The first child with `id`.
    public func child(_ id: String) -> MPMDataObject? { children?.first { $0.id == id } }

    /// The object's encoding: ID, two-digit character count, value.
    public var encoded: String { id + MerchantPresentedPayload.twoDigits(value.unicodeScalars.count) + value }
}

/// An EMVCo merchant-presented QR payload (EMV QRCPS MPM v1.1), parsed: the top-level data objects and the CRC
/// check. Parsing throws ``QRCodecError`` on malformed structure; a wrong CRC is a parse *result* (``crcIsValid``),
/// since a tool decoding a damaged code still wants the tree.
public struct MerchantPresentedPayload: Sendable, Equatable {
    /// The top-level data objects, in payload order, "63" (CRC) included.
    public let dataObjects: [MPMDataObject]
    /// The CRC the payload carries in "63".
    public let statedCRC: UInt16
    /// The CRC computed over the UTF-8 bytes of everything up to and including "6304".
    public let computedCRC: UInt16

    /// Whether the stated and computed CRCs agree.
    public var crcIsValid: Bool { statedCRC == computedCRC }

    /// The first top-level object with `id`.
    public func object(_ id: String) -> MPMDataObject? { dataObjects.first { $0.id == id } }

    /// IDs whose values are templates: merchant account information 26–51, additional data 62, merchant information
    /// in an alternate language 64, unreserved templates 80–99 (MPM §4.2).
    public static func isTemplate(_ id: String) -> Bool {
        guard let n = Int(id) else { return false }
        return (26...51).contains(n) || n == 62 || n == 64 || (80...99).contains(n)
    }

    /// Parses `text`.
    ///
    /// - Throws: ``QRCodecError`` when an ID or length is not two digits, a value runs past the end, the payload
    ///   does not start with "000201", or "63" is not the last object with four hexadecimal digits.
    public init(parsing text: String) throws {
        let scalars = Array(text.unicodeScalars)
        let objects = try Self.parseObjects(scalars[...], depth: 0, baseOffset: 0)
        guard let first = objects.first, first.id == "00", first.value == "01" else {
            throw QRCodecError(.missingPayloadFormatIndicator, offset: 0, reason: "payload must start with 000201")
        }
        guard let last = objects.last, last.id == "63", last.value.unicodeScalars.count == 4,
            let stated = UInt16(last.value, radix: 16), last.value.utf8.allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
        else {
            throw QRCodecError(.malformedCRC, reason: "the last data object must be 63 with four hexadecimal digits")
        }
        guard objects.dropLast().allSatisfy({ $0.id != "63" }) else {
            throw QRCodecError(.malformedCRC, reason: "CRC data object 63 appears before the end")
        }
        let covered = String(String.UnicodeScalarView(scalars.dropLast(4)))
        self.dataObjects = objects
        self.statedCRC = stated
        self.computedCRC = CRC16CCITTFalse.checksum(covered.utf8)
    }

    /// Parses a data-object list (a payload or a template's value).
    public static func parseObjects(_ text: String) throws -> [MPMDataObject] {
        try parseObjects(Array(text.unicodeScalars)[...], depth: 1, baseOffset: 0)
    }

    private static let maximumDepth = 2

    private static func parseObjects(_ scalars: ArraySlice<Unicode.Scalar>, depth: Int, baseOffset: Int) throws -> [MPMDataObject] {
        guard depth <= maximumDepth else {
            throw QRCodecError(.excessiveDepth, offset: baseOffset, reason: "templates nest at most one level")
        }
        var objects: [MPMDataObject] = []
        var rest = scalars
        while !rest.isEmpty {
            let offset = baseOffset + (rest.startIndex - scalars.startIndex)
            guard rest.count >= 4, let id = digits(rest.prefix(2)), let lengthText = digits(rest.dropFirst(2).prefix(2)),
                let length = Int(lengthText)
            else {
                throw QRCodecError(.malformedDataObject, offset: offset, reason: "ID and length must be two digits each")
            }
            rest = rest.dropFirst(4)
            guard rest.count >= length else {
                throw QRCodecError(.truncatedValue, offset: offset, reason: "value shorter than its length")
            }
            let valueScalars = rest.prefix(length)
            rest = rest.dropFirst(length)
            let value = String(String.UnicodeScalarView(valueScalars))
            var object = MPMDataObject(id: id, value: value)
            if depth == 0, isTemplate(id), length > 0 {
                do {
                    object.children = try parseObjects(valueScalars, depth: depth + 1, baseOffset: offset + 4)
                } catch let error as QRCodecError where id != "62" && id != "64" {
                    // Merchant account information (26-51) and unreserved templates (80-99) belong to their payment
                    // networks; one that is not a data-object list stays a plain value.
                    _ = error
                }
            }
            objects.append(object)
        }
        return objects
    }

    private static func digits(_ scalars: ArraySlice<Unicode.Scalar>) -> String? {
        guard scalars.count == 2, scalars.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return String(String.UnicodeScalarView(scalars))
    }

    /// The encoding of a data-object list, in the order given.
    public static func encode(_ objects: [MPMDataObject]) -> String {
        objects.map(\.encoded).joined()
    }

    /// Appends "6304" and the CRC over the UTF-8 bytes of `body` + "6304".
    public static func appendingCRC(to body: String) -> String {
        let covered = body + "6304"
        return covered + CRC16CCITTFalse.hexString(CRC16CCITTFalse.checksum(covered.utf8))
    }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// The fields of a dynamic (or static) merchant-presented QR code, and its encoding (EMV QRCPS MPM v1.1 §4–5).
///
/// ``encoded()`` writes the objects in ascending ID order, "63" (CRC-16/CCITT-FALSE over the UTF-8 bytes) last, and
/// checks every field's format first.
public struct MerchantPresentedQR: Sendable, Equatable {
    /// Point of Initiation Method, ID "01".
    public enum PointOfInitiation: String, Sendable, Equatable {
        /// "11": the same code for every payment.
        case staticCode = "11"
        /// "12": a code for one payment (amount and reference inside).
        case dynamicCode = "12"
    }

    /// Merchant account information, IDs "02"…"51": a primitive value for IDs 02–25 (card networks' merchant
    /// identifiers), a template with a globally unique identifier in "00" for 26–51.
    public struct MerchantAccount: Sendable, Equatable {
        public var id: Int
        /// For IDs 26–51: the globally unique identifier (sub-ID "00"), e.g. a reverse domain name or an AID.
        public var globallyUniqueIdentifier: String
        /// For IDs 26–51: payment-network-specific sub-objects "01"…"99"; for IDs 02–25: one object, whose value is used.
        public var details: [MPMDataObject]
        public init(id: Int, globallyUniqueIdentifier: String, details: [MPMDataObject] = []) {
            self.id = id
            self.globallyUniqueIdentifier = globallyUniqueIdentifier
            self.details = details
        }
    }

    /// Merchant information in an alternate language, template "64".
    public struct AlternateLanguage: Sendable, Equatable {
        /// "00": ISO 639 two-letter language code, e.g. "ZH".
        public var languagePreference: String
        /// "01": merchant name in that language (up to 25 characters).
        public var merchantName: String
        /// "02": merchant city in that language (up to 15 characters).
        public var merchantCity: String?
        public init(languagePreference: String, merchantName: String, merchantCity: String? = nil) {
            self.languagePreference = languagePreference
            self.merchantName = merchantName
            self.merchantCity = merchantCity
        }
    }

    /// Additional data field template "62" (MPM §4.8): each sub-object up to 25 characters.
    public struct AdditionalData: Sendable, Equatable {
        /// "01" bill number.
        public var billNumber: String?
        /// "05" reference label: the order reference the host matches the payment with.
        public var referenceLabel: String?
        /// "06" customer label.
        public var customerLabel: String?
        /// "07" terminal label.
        public var terminalLabel: String?
        /// "08" purpose of transaction.
        public var purpose: String?
        public init(
            billNumber: String? = nil, referenceLabel: String? = nil, customerLabel: String? = nil,
            terminalLabel: String? = nil, purpose: String? = nil
        ) {
            self.billNumber = billNumber
            self.referenceLabel = referenceLabel
            self.customerLabel = customerLabel
            self.terminalLabel = terminalLabel
            self.purpose = purpose
        }

        var objects: [MPMDataObject] {
            [("01", billNumber), ("05", referenceLabel), ("06", customerLabel), ("07", terminalLabel), ("08", purpose)]
                .compactMap { id, value in value.map { MPMDataObject(id: id, value: $0) } }
        }
    }

    public var pointOfInitiation: PointOfInitiation
    public var merchantAccounts: [MerchantAccount]
    /// "52": ISO 18245 merchant category code, four digits.
    public var merchantCategoryCode: String
    /// "53": ISO 4217 numeric currency, three digits ("156" CNY).
    public var currencyCode: String
    /// "54": the amount as decimal text ("23.72"), up to 13 characters; required for a dynamic code here.
    public var amount: String?
    /// "58": ISO 3166-1 alpha-2 country code.
    public var countryCode: String
    /// "59": up to 25 characters.
    public var merchantName: String
    /// "60": up to 15 characters.
    public var merchantCity: String
    /// "61": up to 10 characters.
    public var postalCode: String?
    public var additionalData: AdditionalData?
    public var alternateLanguage: AlternateLanguage?

    public init(
        pointOfInitiation: PointOfInitiation = .dynamicCode, merchantAccounts: [MerchantAccount],
        merchantCategoryCode: String, currencyCode: String, amount: String?, countryCode: String, merchantName: String,
        merchantCity: String, postalCode: String? = nil, additionalData: AdditionalData? = nil,
        alternateLanguage: AlternateLanguage? = nil
    ) {
        self.pointOfInitiation = pointOfInitiation
        self.merchantAccounts = merchantAccounts
        self.merchantCategoryCode = merchantCategoryCode
        self.currencyCode = currencyCode
        self.amount = amount
        self.countryCode = countryCode
        self.merchantName = merchantName
        self.merchantCity = merchantCity
        self.postalCode = postalCode
        self.additionalData = additionalData
        self.alternateLanguage = alternateLanguage
    }

    /// An amount in minor units as ID "54" writes it: `exponent` decimals ("2372", 2 → "23.72"; 5, 0 → "5").
    public static func amountText(minorUnits: Int, exponent: Int) -> String {
        precondition(minorUnits >= 0 && exponent >= 0, "amount and exponent must not be negative")
        guard exponent > 0 else { return String(minorUnits) }
        var divisor = 1
        for _ in 0..<exponent { divisor *= 10 }
        var fraction = String(minorUnits % divisor)
        while fraction.count < exponent { fraction = "0" + fraction }
        return "\(minorUnits / divisor).\(fraction)"
    }

    /// The data objects in ascending ID order, without "63".
    public func dataObjects() throws -> [MPMDataObject] {
        var objects: [MPMDataObject] = [
            MPMDataObject(id: "00", value: "01"),
            MPMDataObject(id: "01", value: pointOfInitiation.rawValue),
        ]
        guard !merchantAccounts.isEmpty else { throw invalid("at least one merchant account (02-51) is required") }
        var seen = Set<Int>()
        for account in merchantAccounts.sorted(by: { $0.id < $1.id }) {
            guard seen.insert(account.id).inserted else { throw invalid("merchant account ID used twice") }
            let id = MerchantPresentedPayload.twoDigits(account.id)
            switch account.id {
            case 2...25:
                guard let value = account.details.first?.value, account.details.count == 1 else {
                    throw invalid("merchant account 02-25 takes exactly one value")
                }
                try check(value, 1...99, "merchant account value")
                objects.append(MPMDataObject(id: id, value: value))
            case 26...51:
                try check(account.globallyUniqueIdentifier, 1...32, "globally unique identifier")
                let children = [MPMDataObject(id: "00", value: account.globallyUniqueIdentifier)] + account.details
                try checkSubObjects(account.details, ids: 1...99)
                objects.append(try template(id, children))
            default:
                throw invalid("merchant account IDs are 02-51")
            }
        }
        try check(merchantCategoryCode, 4...4, "merchant category code", digitsOnly: true)
        objects.append(MPMDataObject(id: "52", value: merchantCategoryCode))
        try check(currencyCode, 3...3, "currency", digitsOnly: true)
        objects.append(MPMDataObject(id: "53", value: currencyCode))
        if let amount {
            try check(amount, 1...13, "amount")
            guard Self.isAmount(amount) else { throw invalid("amount must be digits with an optional '.' and decimals") }
            objects.append(MPMDataObject(id: "54", value: amount))
        } else if pointOfInitiation == .dynamicCode {
            throw invalid("a dynamic code carries its amount")
        }
        guard countryCode.unicodeScalars.count == 2, countryCode.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) })
        else { throw invalid("country code must be two upper-case letters") }
        objects.append(MPMDataObject(id: "58", value: countryCode))
        try check(merchantName, 1...25, "merchant name")
        objects.append(MPMDataObject(id: "59", value: merchantName))
        try check(merchantCity, 1...15, "merchant city")
        objects.append(MPMDataObject(id: "60", value: merchantCity))
        if let postalCode {
            try check(postalCode, 1...10, "postal code")
            objects.append(MPMDataObject(id: "61", value: postalCode))
        }
        if let additionalData {
            let children = additionalData.objects
            for child in children { try check(child.value, 1...25, "additional data \(child.id)") }
            if !children.isEmpty { objects.append(try template("62", children)) }
        }
        if let alternate = alternateLanguage {
            guard alternate.languagePreference.unicodeScalars.count == 2 else {
                throw invalid("language preference must be two letters")
            }
            try check(alternate.merchantName, 1...25, "alternate merchant name")
            var children = [
                MPMDataObject(id: "00", value: alternate.languagePreference),
                MPMDataObject(id: "01", value: alternate.merchantName),
            ]
            if let city = alternate.merchantCity {
                try check(city, 1...15, "alternate merchant city")
                children.append(MPMDataObject(id: "02", value: city))
            }
            objects.append(try template("64", children))
        }
        return objects
    }

    /// The payload text: the data objects and the CRC.
    ///
    /// - Throws: ``QRCodecError/Code/invalidField`` when a field is outside its format.
    public func encoded() throws -> String {
        MerchantPresentedPayload.appendingCRC(to: MerchantPresentedPayload.encode(try dataObjects()))
    }

    static func isAmount(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty else { return false }
        if parts.count == 2 && parts[1].isEmpty { return false }
        return parts.allSatisfy { $0.unicodeScalars.allSatisfy { ("0"..."9").contains($0) } }
    }

    private func template(_ id: String, _ children: [MPMDataObject]) throws -> MPMDataObject {
        let object = MPMDataObject(id: id, children: children)
        guard object.value.unicodeScalars.count <= 99 else { throw invalid("template \(id) is longer than 99 characters") }
        return object
    }

    private func checkSubObjects(_ objects: [MPMDataObject], ids: ClosedRange<Int>) throws {
        for object in objects {
            guard let n = Int(object.id), object.id.count == 2, ids.contains(n) else { throw invalid("sub-object ID out of range") }
            try check(object.value, 1...99, "sub-object \(object.id)")
        }
    }

    private func check(_ value: String, _ lengths: ClosedRange<Int>, _ what: String, digitsOnly: Bool = false) throws {
        let scalars = value.unicodeScalars
        guard lengths.contains(scalars.count) else { throw invalid("\(what): length must be in \(lengths)") }
        // Control characters would make a payload no reader shows as text; MPM values are printable.
        guard scalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { throw invalid("\(what): control character") }
        if digitsOnly, !scalars.allSatisfy({ ("0"..."9").contains($0) }) { throw invalid("\(what): digits only") }
    }

    private func invalid(_ reason: String) -> QRCodecError { QRCodecError(.invalidField, reason: reason) }
}
