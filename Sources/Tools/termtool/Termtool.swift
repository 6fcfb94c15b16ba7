import ArgumentParser

/// Developer and support tools for the firmware: benchmarks, payment-crypto calculators, key store provisioning.
@main
struct Termtool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "termtool",
        abstract: "Developer tools for the payment-terminal firmware (never shipped on a board).",
        subcommands: [
            Bench.self, CryptoBench.self, PINBlockCommand.self, DUKPTCommand.self, MACCommand.self, ARQCCommand.self,
            ARPCCommand.self, TR31Command.self, Keys.self, TLVCommand.self, EMVCommand.self, VirtualCardCommand.self,
            TLSPKICommand.self, TLSEchoServerCommand.self, TLSExchangeCommand.self, LinkCommand.self, StoreCommand.self,
            BenchStore.self, BenchEMV.self, BenchContactless.self,
            ISO8583Command.self, QRCommand.self, PackageCommand.self, AcquirerCommand.self,
            MerchantPasswordCommand.self,
            PrepaidCommand.self,
        ]
    )
}
