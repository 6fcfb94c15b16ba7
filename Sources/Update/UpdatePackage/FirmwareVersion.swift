/// A firmware version `MAJOR.MINOR.PATCH` (decimal, no pre-release part), ordered numerically.
public struct FirmwareVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The three numbers.
    public let major: Int, minor: Int, patch: Int

    /// Makes a version from its numbers.
    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `MAJOR.MINOR.PATCH`: three decimal numbers of at most 9 digits, no sign, no leading `+`.
    /// - Throws: ``UpdatePackageError`` ``UpdatePackageError/Code/invalidVersion``.
    public init(parsing text: String) throws(UpdatePackageError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var numbers: [Int] = []
        for part in parts {
            guard (1...9).contains(part.utf8.count), part.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let n = Int(part) else {
                throw UpdatePackageError(.invalidVersion, "a version is MAJOR.MINOR.PATCH in decimal")
            }
            numbers.append(n)
        }
        guard numbers.count == 3 else { throw UpdatePackageError(.invalidVersion, "a version is MAJOR.MINOR.PATCH in decimal") }
        self.init(major: numbers[0], minor: numbers[1], patch: numbers[2])
    }

    public static func < (lhs: FirmwareVersion, rhs: FirmwareVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }
}
