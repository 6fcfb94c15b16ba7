/// The decisions of the store-and-forward uploader that need no I/O: which message a queued item goes out as, what
/// the host's answer means for it, and what may travel over which link (docs/host-interface.md §4.3, §4.5, §4.6,
/// §9, §10). The terminal's `StoreAndForwardUploader` applies them to the journal.
public enum StoreAndForward {
    /// What a queued item is, for the choice of message.
    public enum Item: Sendable, Equatable {
        /// A due reversal of an online request (0400, repeated as 0401; 0420/0421 once the 0400 repeats are used up).
        case reversal
        /// An offline approval or completion advice (0220, repeated as 0221).
        case advice
    }

    /// The 0400 repeats (0401) allowed before a reversal becomes a reversal advice (0420): §10 item 4, "up to 3 times".
    public static let reversalRequestRepeats = 3

    /// The message type an item goes out as, given how many times it was sent before.
    ///
    /// - Reversal: 0400 the first time, 0401 for the next ``reversalRequestRepeats`` sends, then 0420 once and 0421
    ///   for every later send (the host must apply an advice and cannot refuse it).
    /// - Advice: 0220 the first time, 0221 for every later send.
    public static func messageType(for item: Item, previousAttempts: Int) -> HostMessageType {
        switch item {
        case .advice:
            return previousAttempts == 0 ? .financialAdvice : .financialAdviceRepeat
        case .reversal:
            if previousAttempts == 0 { return .reversalRequest }
            if previousAttempts <= reversalRequestRepeats { return .reversalRequestRepeat }
            return previousAttempts == reversalRequestRepeats + 1 ? .reversalAdvice : .reversalAdviceRepeat
        }
    }

    /// What the host's response code means for a queued item.
    public enum Verdict: Sendable, Equatable {
        /// Delivered: the item leaves the queue.
        case acknowledged
        /// Delivered, but the host answered other than `00`: the item leaves the queue and is kept for the
        /// settlement report (§9: "not resent").
        case rejected
        /// Not done: send it again later (a reversal answered other than `00` or `25`, §4.5).
        case retry
    }

    /// The verdict on `code` answering `item`.
    public static func verdict(_ code: HostResponseCode, for item: Item) -> Verdict {
        switch item {
        case .reversal:
            return code == .approved || code == .originalNotFound ? .acknowledged : .retry
        case .advice:
            return code == .approved ? .acknowledged : .rejected
        }
    }

    /// The kinds of traffic the uplink carries, for the metered-link rule.
    public enum Traffic: Sendable, Equatable, CaseIterable {
        /// Online requests of a payment in progress (0100, 0200).
        case transaction
        /// Reversals and reversal advices (0400, 0420).
        case reversal
        /// The store-and-forward queue of advices (0220).
        case advice
        /// Settlement and batch upload (0500, 0320).
        case settlement
        /// Bulk work that can wait for an unmetered link: parameter and firmware downloads, log and trace uploads.
        case bulk
    }

    /// Whether `traffic` may go out now over `link`.
    ///
    /// Offline: nothing. Wi-Fi: everything. A metered link (cellular): transactions, reversals, the advice queue and
    /// settlement — the money has to move, and they are small (a few hundred bytes a message) — but no bulk work,
    /// which waits for Wi-Fi.
    public static func permits(_ traffic: Traffic, over link: ConnectivityState) -> Bool {
        guard link.isOnline else { return false }
        return traffic != .bulk || !link.isMetered
    }
}
