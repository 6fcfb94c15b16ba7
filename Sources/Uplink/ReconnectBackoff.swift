/// How long to wait before reconnecting to the host after failures: exponential back-off, capped, with jitter
/// derived from the terminal id.
///
/// The delay after `n` consecutive failures is `base(n) = min(maximum, initial × 2^(n-1))`, then jittered into
/// `[base(n) × (1 - jitter), base(n)]`. The jitter is not random: a hash of the terminal id and `n` (FNV-1a 64,
/// finished with the SplitMix64 mixer) picks the point, so one terminal always waits the same, while a fleet that
/// lost its host at the same moment spreads its reconnects over the window instead of arriving at once. A pure
/// value type: no clock, no random source.
public struct ReconnectBackoff: Sendable, Equatable {
    /// The delay after the first failure (before jitter).
    public let initial: Duration
    /// The longest delay, whatever the number of failures.
    public let maximum: Duration
    /// The share of each delay the jitter may remove, 0 to 1 (0.5: the delay lands between half and all of it).
    public let jitter: Double
    /// The hash of the terminal id that seeds the jitter.
    public let seed: UInt64
    /// Consecutive failures so far (the state ``nextDelay()`` and ``reset()`` keep).
    public private(set) var failures: Int = 0

    /// A back-off for one terminal.
    ///
    /// - Parameters:
    ///   - terminalID: the terminal's id (TID, ISO 8583 field 41), hashed to seed the jitter.
    ///   - initial: the delay after the first failure (default 1 s).
    ///   - maximum: the cap (default 5 minutes).
    ///   - jitter: the share of each delay jitter may remove, clamped to 0...1 (default 0.5).
    public init(terminalID: String, initial: Duration = .seconds(1), maximum: Duration = .seconds(300), jitter: Double = 0.5) {
        precondition(initial > .zero && maximum >= initial, "ReconnectBackoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter.isNaN ? 0.5 : min(1, max(0, jitter))
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a 64 offset basis
        for byte in terminalID.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3  // FNV-1a 64 prime
        }
        seed = hash
    }

    /// The delay after `failures` consecutive failures: zero for none, then growing and capped.
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        // Double until the cap; 62 doublings overflow nothing since the loop stops at the cap.
        var base = initial
        var step = 1
        while step < failures, base < maximum {
            base = base * 2
            step += 1
        }
        if base > maximum { base = maximum }
        let unit = Double(Self.mix(seed ^ UInt64(failures)) >> 11) / Double(1 << 53)  // [0, 1)
        let factor = 1 - jitter * unit
        let nanoseconds = Double(base.components.seconds) * 1e9 + Double(base.components.attoseconds) / 1e9
        return .nanoseconds(Int64(nanoseconds * factor))
    }

    /// Records one more failure and returns how long to wait before the next attempt.
    public mutating func nextDelay() -> Duration {
        if failures < Int.max { failures += 1 }
        return delay(afterFailures: failures)
    }

    /// Records a successful connection: the next failure starts from ``initial`` again.
    public mutating func reset() { failures = 0 }

    /// The SplitMix64 finaliser: spreads every input bit over the output.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
