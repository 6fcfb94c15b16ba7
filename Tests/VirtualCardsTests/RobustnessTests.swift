import Codecs
import PaymentCrypto
import TestKit
import Testing
import VirtualCards

/// Whatever a terminal sends, a card answers with a status word and never traps (random and mutated APDUs against
/// every profile, seeded by FUZZ_SEED).
@Suite struct VirtualCardRobustnessTests {
    @Test func randomAndMutatedCommandsAlwaysGetAStatusWord() throws {
        var rng = SplitMix(state: fuzzSeed(default: 0xC0FF_EE00))
        let valid: [[UInt8]] = [
            try CommandAPDU.select(name: Array("1PAY.SYS.DDF01".utf8)).encoded,
            try CommandAPDU.select(name: [0xA0, 0, 0, 0, 0x03, 0x10, 0x10]).encoded,
            try CommandAPDU.getProcessingOptions(pdolRelatedData: []).encoded,
            try CommandAPDU.readRecord(1, shortFileIdentifier: 2).encoded,
            try CommandAPDU.generateApplicationCryptogram(referenceControl: 0x80, cdolRelatedData: [UInt8](repeating: 0, count: 33)).encoded,
            [0x00, 0x20, 0x00, 0x88, 0x60] + [UInt8](repeating: 0x11, count: 0x60),
            [0x84, 0x24, 0x00, 0x01, 0x10] + [UInt8](repeating: 0x22, count: 0x10),
            [0x00, 0x82, 0x00, 0x00, 0x0A] + [UInt8](repeating: 0x33, count: 0x0A),
        ]
        let started = ContinuousClock.now
        var cards: [VirtualCard] = []
        for name in VirtualCardProfile.allNames {
            cards.append(try VirtualCard(profile: try #require(VirtualCardProfile.named(name)), random: CountingRandom()))
        }
        let personalisation = ContinuousClock.now - started
        print("personalised \(cards.count) virtual cards in \(personalisation)")
        #expect(personalisation < .seconds(2))
        for card in cards {
            for _ in 0..<400 {
                var command: [UInt8]
                if Bool.random(using: &rng) {
                    command = valid.randomElement(using: &rng) ?? []
                    for _ in 0..<Int.random(in: 0...3, using: &rng) where !command.isEmpty {
                        command[Int.random(in: 0..<command.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                    }
                    if Bool.random(using: &rng) { command = Array(command.prefix(Int.random(in: 0...command.count, using: &rng))) }
                } else {
                    command = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                }
                let response = card.process(command)
                #expect(response.count >= 2)
                if Int.random(in: 0..<50, using: &rng) == 0 { card.reset() }
            }
        }
    }
}
