import Store
import TerminalApp
import TestKit
import Testing

/// The Transaction Sequence Counter '9F41' in a real store file: one more per draw, kept across reopening, n8 (after
/// 99,999,999 it starts again at 1).
@Suite struct TransactionSequenceCounterTests {
    @Test func countsUpSurvivesReopeningAndWrapsAtEightDigits() throws {
        let dir = try makeTemporaryDirectory("tsc")
        defer { removeTree(dir) }
        let path = dir + "/terminal.sqlite"
        let counter = TransactionSequenceCounter(store: Locked(try TerminalStore(path: path)))
        #expect(try counter.next() == 1)
        #expect(try counter.next() == 2)
        let reopened = Locked(try TerminalStore(path: path))
        #expect(try TransactionSequenceCounter(store: reopened).next() == 3)
        try reopened.withLock { try $0.setSetting("emv.sequence", "99999998") }
        #expect(try TransactionSequenceCounter(store: reopened).next() == 99_999_999)
        #expect(try TransactionSequenceCounter(store: reopened).next() == 1)
    }
}
