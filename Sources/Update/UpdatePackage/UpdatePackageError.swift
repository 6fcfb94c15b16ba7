/// The one error of the UpdatePackage module: a package, manifest or keyring that cannot be read.
///
/// Tests and callers match on ``code``; ``reason`` names the field or offset, never key bytes. Two errors are equal
/// when their codes are equal.
public struct UpdatePackageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public enum Code: Sendable, Equatable, Hashable {
        /// The file does not start with the package magic, or names a container format this code does not read.
        case notAPackage
        /// The package ends before a length it declares (header, manifest, signatures or payload).
        case truncated
        /// A length or count is outside its limit (a manifest over 64 KiB, more than 8 signatures, a payload size
        /// larger than the package, bytes after the last payload).
        case invalidLength
        /// The manifest is not the TOML subset, misses a field, or has a value of the wrong type or range.
        case invalidManifest
        /// A payload path is absolute, has `..`, `.` or empty components, a character outside `[A-Za-z0-9._-/]`,
        /// or names the same file twice.
        case unsafePath
        /// A version string is not `MAJOR.MINOR.PATCH` in decimal.
        case invalidVersion
        /// The keyring file does not parse, or holds a key that is not a valid public key.
        case invalidKeyring
    }

    /// What is wrong; compare this, never ``reason``.
    public let code: Code
    /// A sentence for logs and the command line.
    public let reason: String

    /// Makes an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func == (lhs: UpdatePackageError, rhs: UpdatePackageError) -> Bool { lhs.code == rhs.code }
    public var description: String { "update package error (\(code)): \(reason)" }
}
