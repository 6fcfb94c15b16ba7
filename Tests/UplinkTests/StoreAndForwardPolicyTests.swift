import Testing
import Uplink

/// The uploader's pure decisions: message types by attempt, verdicts on answers, the metered-link rule.
@Suite struct StoreAndForwardPolicyTests {
    @Test func reversalsRepeatThenBecomeAdvices() {
        let types = (0..<7).map { StoreAndForward.messageType(for: .reversal, previousAttempts: $0).rawValue }
        #expect(types == ["0400", "0401", "0401", "0401", "0420", "0421", "0421"])
    }

    @Test func advicesRepeatAs0221() {
        #expect(StoreAndForward.messageType(for: .advice, previousAttempts: 0) == .financialAdvice)
        #expect(StoreAndForward.messageType(for: .advice, previousAttempts: 1) == .financialAdviceRepeat)
        #expect(StoreAndForward.messageType(for: .advice, previousAttempts: 40) == .financialAdviceRepeat)
    }

    @Test func verdicts() {
        #expect(StoreAndForward.verdict(.approved, for: .reversal) == .acknowledged)
        #expect(StoreAndForward.verdict(.originalNotFound, for: .reversal) == .acknowledged)
        #expect(StoreAndForward.verdict(.systemMalfunction, for: .reversal) == .retry)
        #expect(StoreAndForward.verdict(.approved, for: .advice) == .acknowledged)
        #expect(StoreAndForward.verdict(.formatError, for: .advice) == .rejected)
    }

    @Test func meteredLinksDeferOnlyBulkWork() {
        let wifi = ConnectivityState.online(via: .wifi, interface: "wlan0")
        let cellular = ConnectivityState.online(via: .cellular, metered: true, interface: "wwan0")
        for traffic in StoreAndForward.Traffic.allCases {
            #expect(StoreAndForward.permits(traffic, over: wifi))
            #expect(!StoreAndForward.permits(traffic, over: .offline))
            #expect(StoreAndForward.permits(traffic, over: cellular) == (traffic != .bulk))
        }
    }
}
