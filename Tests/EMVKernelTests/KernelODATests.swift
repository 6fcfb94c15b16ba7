import Codecs
import EMVKernel
import TestKit
import Testing

/// Offline data authentication method choice and its TVR/TSI bits. Until the Book 2 implementation lands, every
/// recovery fails, so these check the failure paths and the choice.
@Suite struct KernelODATests {
    func run(aip: [UInt8], capabilities: [UInt8] = h("E0F8C8"), certificates: Bool = false) -> Harness {
        var profile = CardProfile()
        profile.aip = aip
        var card = profile.card()
        if certificates {
            card.set("00B20214", [], ok(profile.record3.dropLast(0) + []))
            let record = tlv(
                0x70,
                children: [
                    tlv(0x8F, [0x92]), tlv(0x90, [UInt8](repeating: 0x6A, count: 176)), tlv(0x9F32, [0x03]),
                    tlv(0x93, [UInt8](repeating: 0x6A, count: 176)),
                ])
            card.set("00B2011C", [], ok(record))
            profile.afl = h("08010100 10010200 18010101")
            card.set("80A80000", [], ok(profile.gpo))
        }
        var harness = Harness(parameters: terminalParameters(capabilities: capabilities), card: card)
        harness.run()
        return harness
    }

    @Test func noODAWhenNeitherSideSupportsIt() {
        let card = run(aip: h("1800"))
        #expect(card.tvr.contains(.offlineDataAuthenticationNotPerformed))
        #expect(card.outcome?.tsi.contains(.offlineDataAuthenticationPerformed) == false)
        let terminal = run(aip: h("7900"), capabilities: h("E0F800"))
        #expect(terminal.tvr.contains(.offlineDataAuthenticationNotPerformed))
    }

    @Test func sdaWithoutCertificatesFailsWithICCDataMissing() {
        let harness = run(aip: h("5800"))
        #expect(harness.tvr.contains([.sdaSelected, .sdaFailed, .iccDataMissing]))
        #expect(!harness.tvr.contains(.offlineDataAuthenticationNotPerformed))
        #expect(harness.outcome?.tsi.contains(.offlineDataAuthenticationPerformed) == true)
    }

    @Test func sdaWithoutTheCAKeyFails() {
        let harness = run(aip: h("5800"), certificates: true)
        #expect(harness.commandKeys.contains("00B2011C"))
        #expect(harness.tvr.contains([.sdaSelected, .sdaFailed]))
        #expect(!harness.tvr.contains(.iccDataMissing))
    }

    @Test func ddaFailureSendsNoInternalAuthenticate() {
        let harness = run(aip: h("3800"))
        #expect(harness.tvr.contains(.ddaFailed))
        #expect(!harness.tvr.contains(.sdaSelected))
        #expect(!harness.commands.contains { $0.ins == 0x88 })
    }

    @Test func cdaIsPreferredAndNotRequestedWhenItsKeyIsMissing() {
        let harness = run(aip: h("7900"))
        #expect(harness.tvr.contains(.cdaFailed))
        #expect(!harness.tvr.contains(.ddaFailed))
        #expect(!harness.tvr.contains(.sdaFailed))
        #expect(harness.generateACReferenceControls == [0x40])
    }

    @Test func ddaChosenOverSDAWhenTheTerminalLacksCDA() {
        let harness = run(aip: h("7900"), capabilities: h("E0F8C0"))
        #expect(harness.tvr.contains(.ddaFailed))
        #expect(!harness.tvr.contains(.cdaFailed))
    }
}

/// Every malformed card answer ends in a defined outcome: seeded mutations of each response.
@Suite struct KernelRobustnessTests {
    @Test func mutatedCardResponsesAlwaysComplete() {
        var rng = SplitMix(state: fuzzSeed(default: 0x454D_564B))
        var profile = CardProfile()
        profile.cvmList = h("00002710 00000BB8 4100 4200 1E03 1F00")
        profile.lcol = [0x02]
        profile.ucol = [0x04]
        var base = profile.card(pse: true)
        base.set("80CA9F17", [], ok(h("9F170103")))
        base.set("80CA9F36", [], ok(h("9F36020007")))
        base.set("80CA9F13", [], ok(h("9F13020005")))
        let keys = base.answers.keys.sorted()
        var outcomes: [String: Int] = [:]
        for _ in 0..<400 {
            var card = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let key = keys[Int.random(in: 0..<keys.count, using: &rng)]
                guard let answer = card.answers[key]?.first else { continue }
                var data = answer.data
                var status = answer.statusWord
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: data = Array(data.prefix(Int.random(in: 0...data.count, using: &rng)))
                case 1 where !data.isEmpty:
                    data[Int.random(in: 0..<data.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                case 2:
                    data = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                case 3: status = StatusWord(rawValue: UInt16.random(in: 0...0xFFFF, using: &rng))
                default: data += [UInt8.random(in: 0...255, using: &rng)]
                }
                card.answers[key] = [ResponseAPDU(data: data, statusWord: status)]
            }
            var harness = Harness(parameters: terminalParameters(tacOnline: h("8000000000")), card: card)
            harness.run()
            #expect(harness.outcome != nil)
            let name: String
            switch harness.decision {
            case .aborted(let reason)?: name = "\(reason)".split(separator: "(").first.map(String.init) ?? ""
            case let decision?: name = "\(decision)"
            case nil: name = "none"
            }
            outcomes[name, default: 0] += 1
        }
        // The mutations reach every phase: approvals and declines, card errors and malformed data.
        #expect(outcomes.keys.contains("cardError"))
        #expect(outcomes.keys.contains("malformedData"))
        #expect(outcomes.keys.contains("approvedOnline"))
        #expect(outcomes["none"] == nil)
    }
}
