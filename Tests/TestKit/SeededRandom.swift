#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SplitMix64: a small, seedable generator for randomised tests (the standard library's generator is not seedable).
public struct SplitMix: RandomNumberGenerator {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seed of a randomised test: `FUZZ_SEED` from the environment, else `fallback` (fixed, so runs reproduce).
public func fuzzSeed(default fallback: UInt64) -> UInt64 {
    if let text = getenv("FUZZ_SEED").map({ String(cString: $0) }), let value = UInt64(text) { return value }
    return fallback
}
