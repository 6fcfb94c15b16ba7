import Testing
import Uplink

@Suite("Reconnect back-off")
struct ReconnectBackoffTests {
    @Test("no delay before the first attempt; doubling from the initial delay; capped; within the jitter window")
    func growthAndCap() {
        let backoff = ReconnectBackoff(terminalID: "TID-00000042", initial: .seconds(1), maximum: .seconds(60), jitter: 0.5)
        #expect(backoff.delay(afterFailures: 0) == .zero)
        for n in 1...40 {
            let base = min(Duration.seconds(60), .seconds(1) * (1 << min(n - 1, 30)))
            let d = backoff.delay(afterFailures: n)
            #expect(d <= base && d >= base / 2, "failure \(n): \(d) outside [\(base / 2), \(base)]")
        }
        #expect(backoff.delay(afterFailures: Int.max) <= .seconds(60))
    }

    @Test("the same terminal always waits the same; a fleet spreads over the window")
    func jitterFromTerminalID() {
        let a = ReconnectBackoff(terminalID: "TID-00000042")
        let b = ReconnectBackoff(terminalID: "TID-00000042")
        #expect((1...10).map { a.delay(afterFailures: $0) } == (1...10).map { b.delay(afterFailures: $0) })
        // 200 terminals after their 4th failure (base 8 s, window [4 s, 8 s]): spread, not bunched.
        let delays = (0..<200).map { ReconnectBackoff(terminalID: "TID-\($0)").delay(afterFailures: 4) }
        #expect(Set(delays).count > 190)
        let seconds = delays.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        let quarters = (0..<4).map { q in seconds.filter { Int(($0 - 4) / 1) == q }.count }
        #expect(quarters.allSatisfy { $0 > 25 }, "buckets \(quarters)")
    }

    @Test("nextDelay counts failures; reset starts again")
    func state() {
        var backoff = ReconnectBackoff(terminalID: "T1", initial: .milliseconds(500), maximum: .seconds(10), jitter: 0)
        #expect(backoff.nextDelay() == .milliseconds(500))
        #expect(backoff.nextDelay() == .seconds(1))
        #expect(backoff.nextDelay() == .seconds(2))
        #expect(backoff.failures == 3)
        backoff.reset()
        #expect(backoff.nextDelay() == .milliseconds(500))
        for _ in 0..<100 { _ = backoff.nextDelay() }
        #expect(backoff.nextDelay() == .seconds(10))
    }
}
