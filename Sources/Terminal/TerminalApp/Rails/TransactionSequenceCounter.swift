public import Store

/// The Transaction Sequence Counter '9F41' (EMV Book 3 annex A: n 4-8, incremented by one for each transaction the
/// terminal performs), kept in the store's settings as `emv.sequence` so it survives restarts and never repeats within
/// its range. Every card read draws from it: the card rails' sales (``StoreRailJournal``) and a refund's card read
/// (``CardRefundReader``).
public struct TransactionSequenceCounter: Sendable {
    let store: Locked<TerminalStore>

    /// The counter in `store`.
    public init(store: Locked<TerminalStore>) {
        self.store = store
    }

    /// The next value, saved before it is returned (after 99,999,999 it starts again at 1: n8).
    public func next() throws -> UInt32 {
        try store.withLock { store in
            let last = UInt32(try store.setting("emv.sequence") ?? "0") ?? 0
            let next = last >= 99_999_999 ? 1 : last + 1
            try store.setSetting("emv.sequence", String(next))
            return next
        }
    }
}
