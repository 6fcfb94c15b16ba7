import Codecs
import EMVKernel
import Testing

/// Driver bugs trap with the state's name; card removal is accepted everywhere.
@Suite struct KernelDriverContractTests {
    @Test func eventBeforeStartTraps() async {
        await #expect(processExitsWith: .failure) {
            var kernel = EMVContactKernel(
                parameters: terminalParameters(), transaction: transaction(),
                random: PinnedRandom(values: [1, 2, 3, 4, 5]))
            _ = kernel.handle(.response(ResponseAPDU(statusWord: .normalProcessing)))
        }
    }

    @Test func eventTheStateDoesNotExpectTraps() async {
        await #expect(processExitsWith: .failure) {
            var kernel = EMVContactKernel(
                parameters: terminalParameters(), transaction: transaction(),
                random: PinnedRandom(values: [1, 2, 3, 4, 5]))
            _ = kernel.start()
            _ = kernel.handle(.onlinePIN(.entered))
        }
    }

    @Test func choiceOutsideTheOfferedListTraps() async {
        await #expect(processExitsWith: .failure) {
            var kernel = EMVContactKernel(
                parameters: terminalParameters(), transaction: transaction(),
                random: PinnedRandom(values: [1, 2, 3, 4, 5]))
            var card = CardProfile(priority: 0x81).card()
            var actions = kernel.start()
            while case .transmit(let command)? = actions.last {
                actions = kernel.handle(.response(card.respond(command)))
            }
            _ = kernel.handle(.applicationChosen(index: 3))
        }
    }

    @Test func cardRemovedAfterCompletionIsIgnored() {
        var harness = Harness(card: CardProfile().card())
        harness.run()
        #expect(harness.decision == .approvedOffline)
        #expect(harness.kernel.handle(.cardRemoved).isEmpty)
    }

    @Test func onlyTheLastActionOfABatchWaits() {
        // Every batch the kernel returns has at most one action that expects an answer, and it is the last.
        var harness = Harness(parameters: terminalParameters(tacOnline: h("8000000000")), card: CardProfile().card())
        var batches: [[KernelAction]] = []
        var queue = [harness.kernel.start()]
        while let batch = queue.popLast() {
            batches.append(batch)
            guard let last = batch.last else { break }
            switch last {
            case .transmit(let command): queue.append(harness.kernel.handle(.response(harness.card.respond(command))))
            case .complete: break
            default:
                if let event = Harness.defaultResponse(last) { queue.append(harness.kernel.handle(event)) }
            }
        }
        for batch in batches {
            let waiting = batch.filter {
                switch $0 {
                case .show, .selectedLanguage, .complete: false
                default: true
                }
            }
            #expect(waiting.count <= 1)
            if let first = waiting.first { #expect(first == batch.last) }
        }
        #expect(batches.last?.last.map { if case .complete = $0 { true } else { false } } == true)
    }
}

@Suite struct KernelRedactionTests {
    @Test func descriptionsMaskThePAN() {
        var request: OnlineRequest?
        var harness = Harness(parameters: terminalParameters(tacOnline: h("8000000000")), card: CardProfile().card()) {
            action in
            if case .goOnline(let r) = action { request = r }
            return Harness.defaultResponse(action)
        }
        harness.run()
        let texts =
            harness.actions.map { "\($0)" } + harness.actions.map { String(reflecting: $0) }
            + ["\(String(describing: request))", "\(String(describing: harness.outcome))"]
        for text in texts {
            #expect(!text.contains("4761739001010010"))
            #expect(!text.contains("D3012201"))
        }
        #expect(texts.contains { $0.contains("476173******0010") })
    }
}
