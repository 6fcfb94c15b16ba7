import TestKit
import Testing

/// `termtool iso8583 pack|unpack|samples` as a process: what the cross-check script relies on.
@Suite struct TermtoolISO8583Tests {
    /// Runs `termtool iso8583 ARGS` with `input` on standard input.
    static func termtool(_ arguments: [String], _ input: String) throws -> ProcessResult {
        try runProcess(
            [try builtProduct("termtool"), "iso8583"] + arguments, stdin: Array(input.utf8), timeout: .seconds(60))
    }

    static let echo = "mti 0800\n7 1127093015\n11 000060\n41 T0001234\n70 301\n"

    @Test func packsAndUnpacksTheTextForm() throws {
        let packed = try Self.termtool(["pack"], Self.echo)
        #expect(packed.status == 0, "\(packed.stderr)")
        #expect(packed.stdout == "080082200000008000000400000000000000112709301500006054303030313233340301\n")
        let unpacked = try Self.termtool(["unpack"], packed.stdout)
        #expect(unpacked.status == 0 && unpacked.stdout == Self.echo)
    }

    @Test func unpackMasksCardDataUnlessRevealed() throws {
        let text =
            "mti 0200\n2 4761739001010119\n3 000000\n35 4761739001010119=22122011758928889\n52 123456789ABCDEF0\n"
        let packed = try Self.termtool(["pack"], text)
        let masked = try Self.termtool(["unpack"], packed.stdout)
        #expect(masked.stdout.contains("2 476173******0119"))
        #expect(!masked.stdout.contains("4761739001010119") && !masked.stdout.contains("123456789ABCDEF0"))
        let revealed = try Self.termtool(["unpack", "--reveal"], packed.stdout)
        #expect(revealed.stdout == text)
    }

    @Test func reportsErrorsPerMessageAndFails() throws {
        let result = try Self.termtool(["pack"], "mti 0200\n3 12345\n\n" + Self.echo)
        #expect(result.status != 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "error lengthMismatch field 3" && lines.count == 2)
        let bad = try Self.termtool(["unpack"], "0200400000000000000015\n")
        #expect(bad.status != 0 && bad.stdout == "error truncated field 2\n")
    }

    @Test func samplesCoverEveryMessageType() throws {
        let result = try Self.termtool(["samples"], "")
        #expect(result.status == 0)
        let types = Set(result.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last?.prefix(4) })
        #expect(types.count == 19, "\(types.sorted())")
    }
}
