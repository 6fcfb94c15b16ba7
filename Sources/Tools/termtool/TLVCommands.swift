import ArgumentParser
import Codecs
import Store

/// `termtool tlv decode HEX`: a BER-TLV tree with EMV tag names, sensitive values masked.
struct TLVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tlv",
        abstract: "Decode BER-TLV (EMV Book 3 Annex B) into a tree with tag names.",
        subcommands: [Decode.self]
    )

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the TLV objects of HEX as a tree; a PAN is shown as first 6 / last 4, track data and names masked.",
            discussion: """
                Example:
                  $ termtool tlv decode 6F1A840E315041592E5359532E4444463031A5088801015F2D027A68
                  6F File Control Information (FCI) Template
                    84 Dedicated File (DF) Name: 315041592E5359532E4444463031
                    A5 File Control Information (FCI) Proprietary Template
                      88 Short File Identifier (SFI): 01
                      5F2D Language Preference: "zh"
                """
        )

        @Argument(help: "The bytes in hex (spaces allowed).")
        var hex: [String]

        @Flag(help: "Show the values of tags the dictionary does not know (test data only).")
        var revealUnknown = false

        func run() throws {
            guard let bytes = Hex.decode(hex.joined()) else {
                try CryptoTool.fail("the argument is not hex: an even number of the digits 0-9, A-F expected")
            }
            print(EMVDataDictionary.render(tlvEncoded: bytes, revealingUnknownValues: revealUnknown), terminator: "")
        }
    }
}

/// `termtool emv log FILE`: an APDU trace (the terminal's `apdu-trace` files) as named commands and TLV trees.
struct EMVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emv",
        abstract: "EMV support tools.",
        subcommands: [Log.self]
    )

    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pretty-print an APDU trace file: command names, status words explained, responses as TLV trees.",
            discussion: "Trace format: Codecs/APDUTrace.swift ('[HH:MM:SS.mmm] > HEX' / '< HEX' lines). Values are masked as in logs."
        )

        @Argument(help: "The trace file.")
        var file: String

        func run() throws {
            let bytes: [UInt8]
            do { bytes = try DurableFile.readAll(file) } catch { try CryptoTool.fail("\(error)") }
            do {
                print(APDUTrace.render(try APDUTrace.parse(String(decoding: bytes, as: UTF8.self))), terminator: "")
            } catch {
                try CryptoTool.fail("\(file): \(error)")
            }
        }
    }
}
