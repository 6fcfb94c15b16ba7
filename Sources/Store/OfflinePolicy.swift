/// When the terminal may approve without the host. Caps are checked against counters computed from the journal
/// itself (``TransactionJournal/offlineCheck(amountMinor:currency:rail:kind:)``), so they survive a reboot.
///
/// Defaults and their sources are in docs/store.md ("Offline policy"); the acquirer's parameter download
/// overrides them.
public struct OfflinePolicy: Sendable, Equatable {
    /// A rail and kind that may be approved offline.
    public struct Use: Sendable, Hashable {
        public var rail: Rail
        public var kind: TransactionKind
        public init(_ rail: Rail, _ kind: TransactionKind) {
            self.rail = rail
            self.kind = kind
        }
    }

    /// The largest amount one offline transaction may have, in minor units (the terminal floor limit, EMV tag
    /// '9F1B'; above it the EMV kernel goes online anyway).
    public var floorLimitMinor: Int64
    /// The most that may be waiting for upload (queued or sent), per currency, in minor units.
    public var maximumUnsentAmountMinor: Int64
    /// The most offline records that may be waiting for upload.
    public var maximumUnsentCount: Int
    /// The oldest an unsent offline record may be before new offline approvals stop (deferred authorizations are
    /// due at the host within 24 hours).
    public var maximumUnsentAgeSeconds: Int64
    /// How long settled records (and declined or failed ones) are kept before they are purged.
    public var retentionSeconds: Int64
    /// The rails and kinds that may go offline at all. Refunds never do, whatever this says.
    public var allowed: Set<Use>

    public init(
        floorLimitMinor: Int64 = 5_000, maximumUnsentAmountMinor: Int64 = 50_000, maximumUnsentCount: Int = 1_000,
        maximumUnsentAgeSeconds: Int64 = 24 * 3_600, retentionSeconds: Int64 = 15 * 86_400,
        allowed: Set<Use> = [Use(.emvContact, .sale), Use(.emvContactless, .sale)]
    ) {
        self.floorLimitMinor = floorLimitMinor
        self.maximumUnsentAmountMinor = maximumUnsentAmountMinor
        self.maximumUnsentCount = maximumUnsentCount
        self.maximumUnsentAgeSeconds = maximumUnsentAgeSeconds
        self.retentionSeconds = retentionSeconds
        self.allowed = allowed
    }
}

/// Why an offline approval is refused: a reason the screen can show.
public enum OfflineRefusal: Sendable, Equatable {
    /// Refunds (and other kinds that move money to the card) are never approved offline.
    case kindNeverOffline(TransactionKind)
    /// The policy does not allow this rail and kind offline.
    case notAllowed(Rail, TransactionKind)
    /// The amount is above the floor limit.
    case aboveFloorLimit(limitMinor: Int64)
    /// This sale would take the unsent offline amount above the cap.
    case unsentAmountCapReached(capMinor: Int64, unsentMinor: Int64)
    /// As many offline records as allowed are waiting for upload.
    case unsentCountCapReached(cap: Int)
    /// The oldest unsent offline record is older than allowed: uploads must go through first.
    case oldestUnsentTooOld(ageSeconds: Int64, maximumSeconds: Int64)
    /// Records failed their integrity check: no offline approvals until an operator has looked.
    case tamperedRecords(count: Int)
}

/// The answer of ``TransactionJournal/offlineCheck(amountMinor:currency:rail:kind:)``.
public enum OfflineDecision: Sendable, Equatable {
    case allowed
    case refused(OfflineRefusal)
}
