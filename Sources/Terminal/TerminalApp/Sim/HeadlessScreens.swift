public import LinuxDevices

/// The screens headless mode has printed, shared between the display (which records each one) and the input
/// reader (which waits on them for `UNTIL <text>`). Screens are numbered from 1 in the order they were printed; the
/// most recent ones are kept.
public final class HeadlessScreens: Sendable {
    /// What `wait(for:after:timeoutMilliseconds:stop:)` ended on.
    public enum WaitOutcome: Sendable, Equatable {
        /// A screen numbered above the mark holds the text.
        case shown
        /// No such screen within the timeout.
        case timedOut
        /// The stop signal fired first.
        case stopped
    }

    private struct State {
        var count = 0
        /// The last `capacity` screens, oldest first: (number, text).
        var recent: [(number: Int, text: String)] = []
    }

    private let state = Locked(State())
    private let capacity: Int
    private let pollMilliseconds: Int32

    /// - Parameters:
    ///   - capacity: how many recent screens a wait can still see (more than a script moves through between two
    ///     of its events).
    ///   - pollMilliseconds: how often a waiting reader looks again.
    public init(capacity: Int = 256, pollMilliseconds: Int32 = 20) {
        self.capacity = max(1, capacity)
        self.pollMilliseconds = max(1, pollMilliseconds)
    }

    /// How many screens have been printed so far: the mark a later wait counts from.
    public var count: Int { state.withLock { $0.count } }

    /// The text of the latest screen, if any.
    public var latest: String? { state.withLock { $0.recent.last?.text } }

    /// Records a screen just printed.
    public func record(_ text: String) {
        let capacity = self.capacity
        state.withLock { state in
            state.count += 1
            state.recent.append((state.count, text))
            if state.recent.count > capacity { state.recent.removeFirst(state.recent.count - capacity) }
        }
    }

    /// Whether a screen numbered above `mark` holds `text`.
    public func shows(_ text: String, after mark: Int) -> Bool {
        state.withLock { state in state.recent.contains { $0.number > mark && $0.text.contains(text) } }
    }

    /// Waits until a screen numbered above `mark` holds `text` (it may already have been printed), the timeout
    /// passes or `stop` fires.
    public func wait(for text: String, after mark: Int, timeoutMilliseconds: Int, stop: StopSignal) -> WaitOutcome {
        let clock = SystemClock()
        let deadline = clock.monotonicMilliseconds() + Int64(timeoutMilliseconds)
        while true {
            if shows(text, after: mark) { return .shown }
            let left = deadline - clock.monotonicMilliseconds()
            if left <= 0 { return .timedOut }
            let slice = Int32(min(Int64(pollMilliseconds), left))
            switch try? pollReadable(stop.descriptor, stop: nil, timeoutMilliseconds: slice) {
            case .timedOut?: continue
            default: return .stopped
            }
        }
    }
}
