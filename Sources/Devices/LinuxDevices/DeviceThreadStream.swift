import Synchronization

/// Feeds an `AsyncThrowingStream` from a blocking loop on a ``DeviceThread``, one loop at a time.
///
/// Each ``start(_:)`` first stops the previous loop (fires its ``StopSignal`` and joins its thread), so the device
/// state a loop uses is never touched by two threads at once. Cancelling the task that iterates the stream fires the
/// loop's stop signal; the loop must return soon after (it waits in ``pollReadable`` with the signal, or checks it
/// between short sleeps). A consumer that merely breaks out of its loop leaves the thread running until the next
/// ``start(_:)`` or `deinit`, which stop and join the last loop.
final class DeviceThreadStreamRunner<Element: Sendable>: Sendable {
    private struct Session: Sendable {
        let thread: DeviceThread
        let stop: StopSignal
    }

    private let threadName: String
    private let bufferLimit: Int
    private let wake: @Sendable () -> Void
    private let current = Mutex<Session?>(nil)

    /// - Parameters:
    ///   - threadName: The thread's name (`prctl(PR_SET_NAME)` keeps 15 bytes).
    ///   - bufferLimit: How many elements the stream holds for a consumer that does not keep up; beyond that the
    ///     oldest are dropped, so a stream nobody reads cannot grow without bound.
    ///   - wake: Called after the stop signal fires, for loops that block somewhere the signal cannot reach
    ///     (PC/SC's `SCardGetStatusChange` is ended with `SCardCancel`).
    init(threadName: String, bufferLimit: Int, wake: @escaping @Sendable () -> Void = {}) {
        self.threadName = threadName
        self.bufferLimit = bufferLimit
        self.wake = wake
    }

    deinit { stop() }

    /// Starts `body` on a new device thread and returns the stream it feeds.
    ///
    /// `body` gets the loop's stop signal and a function that yields an element. Its return finishes the stream;
    /// its error finishes the stream with that error. Failing to create the signal or the thread finishes the
    /// stream at once with the `Errno`.
    func start(
        _ body: @escaping @Sendable (_ stop: StopSignal, _ yield: (Element) -> Void) throws -> Void
    ) -> AsyncThrowingStream<Element, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Element, any Error>.makeStream(
            bufferingPolicy: .bufferingNewest(bufferLimit))
        current.withLock { session in
            if let previous = session {
                previous.stop.fire()
                wake()
                previous.thread.join()
                session = nil
            }
            do {
                let stop = try StopSignal()
                let wake = self.wake
                continuation.onTermination = { _ in
                    stop.fire()
                    wake()
                }
                let thread = try DeviceThread.start(name: threadName) {
                    do {
                        try body(stop) { continuation.yield($0) }
                        continuation.finish()
                    } catch {
                        continuation.finish(throwing: error)
                    }
                }
                session = Session(thread: thread, stop: stop)
            } catch {
                continuation.finish(throwing: error)
            }
        }
        return stream
    }

    /// Stops the running loop, if any, and waits for its thread to end.
    func stop() {
        let session = current.withLock { session -> Session? in
            defer { session = nil }
            return session
        }
        guard let session else { return }
        session.stop.fire()
        wake()
        session.thread.join()
    }
}
