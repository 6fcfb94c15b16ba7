public import DeviceKit
import Synchronization
import SystemPackage

/// A QR / barcode scanner on a serial line (a UART or a USB CDC-ACM / USB-serial adapter), such as the common
/// 2D scan engines set to "serial output, suffix CR" at 9600 or 115200 8N1.
///
/// ``codes()`` opens the port on a ``DeviceThread`` of its own, reads with `poll(2)` (no CPU while idle), splits the
/// stream with a ``LineFramer`` and yields each non-empty code without its suffix. Lines that are too long or not
/// UTF-8 are dropped (counted in ``droppedLineCount``) and reading goes on. The stream ends:
/// - with ``SerialError/Code/vanished`` (or the open error) when the device goes away or cannot be opened: call
///   ``codes()`` again to reopen it once the device is back;
/// - plainly when the consumer stops iterating (the task is cancelled or the stream dropped): a ``StopSignal``
///   wakes the thread, which closes the port and ends at once;
/// - plainly when ``codes()`` is called again (the new stream takes over the port) or ``stop()`` is called.
///
/// Scanned codes never appear in errors (a QR code may carry a payment token).
public final class SerialCodeScanner: CodeScannerDevice {
    /// The device path.
    public let path: String
    /// The line settings.
    public let configuration: SerialConfiguration
    /// What ends a code.
    public let suffix: LineSuffix
    /// The longest code accepted, in bytes.
    public let maxCodeLength: Int

    private let status = Status()
    private let reader = Mutex<Reader?>(nil)

    /// The running reader: its thread and the signal that stops it.
    private struct Reader: Sendable {
        let thread: DeviceThread
        let stop: StopSignal
    }

    /// State shared with the reader thread.
    private final class Status: Sendable {
        let listening = Atomic<Bool>(false)
        let dropped = Atomic<Int>(0)
    }

    /// Creates a scanner driver; nothing is opened until ``codes()`` is called.
    ///
    /// - Parameters:
    ///   - path: the tty, e.g. `/dev/ttyACM0`.
    ///   - configuration: the line settings (the scanner's factory setting is often 9600 8N1).
    ///   - suffix: the suffix programmed into the scanner.
    ///   - maxCodeLength: the frame-size cap; an EMV merchant QR is at most 512 characters.
    public init(
        path: String, configuration: SerialConfiguration = SerialConfiguration(baudRate: .b9600),
        suffix: LineSuffix = .cr, maxCodeLength: Int = 4096
    ) {
        self.path = path
        self.configuration = configuration
        self.suffix = suffix
        self.maxCodeLength = maxCodeLength
    }

    deinit {
        stop()
    }

    /// Whether a reader has the port open and is waiting for codes. Becomes `true` after the port is opened,
    /// configured and flushed, and `false` once the reader thread has closed it.
    public var isListening: Bool { status.listening.load(ordering: .acquiring) }

    /// How many lines were dropped because they were too long or not UTF-8.
    public var droppedLineCount: Int { status.dropped.load(ordering: .relaxed) }

    /// Each scanned code, until the device vanishes or the consumer stops.
    ///
    /// Calling it again ends the previous stream first: the port has one owner at a time. If the consumer falls
    /// behind, the 64 newest codes are kept.
    public func codes() -> AsyncThrowingStream<String, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: String.self, throwing: (any Error).self, bufferingPolicy: .bufferingNewest(64))
        // Under the lock: the previous reader is stopped and joined (its port closed) before the new one opens
        // the tty, and two concurrent calls cannot both start a reader. Joining under the lock is bounded: a
        // fired stop signal ends the reader's poll at once, and the reader never takes this lock.
        reader.withLock { current in
            if let previous = current {
                previous.stop.fire()
                previous.thread.join()
                current = nil
            }
            let signal: StopSignal
            do throws(Errno) {
                signal = try StopSignal()
            } catch {
                continuation.finish(throwing: SerialError(.threadFailed, path: path, errno: error))
                return
            }
            continuation.onTermination = { _ in signal.fire() }
            let loop = ReadLoop(
                path: path, configuration: configuration, suffix: suffix, maxCodeLength: maxCodeLength,
                stop: signal, status: status, continuation: continuation)
            do throws(Errno) {
                current = Reader(thread: try DeviceThread.start(name: "serial-scanner") { loop.run() }, stop: signal)
            } catch {
                continuation.finish(throwing: SerialError(.threadFailed, path: path, errno: error))
            }
        }
        return stream
    }

    /// Stops the current reader, if any, and waits for its thread to end (the port is closed when this returns).
    public func stop() {
        reader.withLock { current in
            guard let previous = current else { return }
            previous.stop.fire()
            previous.thread.join()
            current = nil
        }
    }

    /// The reader thread's work: everything it needs, captured by value (the thread never touches the scanner).
    private struct ReadLoop: Sendable {
        let path: String
        let configuration: SerialConfiguration
        let suffix: LineSuffix
        let maxCodeLength: Int
        let stop: StopSignal
        let status: Status
        let continuation: AsyncThrowingStream<String, any Error>.Continuation

        func run() {
            var port: SerialPort?
            do {
                port = try SerialPort(path: path, configuration: configuration)
            } catch {
                continuation.finish(throwing: error)
                return
            }
            status.listening.store(true, ordering: .releasing)
            defer {
                port = nil  // closes the tty before `listening` turns false
                status.listening.store(false, ordering: .releasing)
            }
            var framer = LineFramer(suffix: suffix, maxLineLength: maxCodeLength)
            while true {
                let outcome: SerialReadOutcome
                do {
                    // Force-unwrap: set above and only cleared by the defer on the way out.
                    outcome = try port!.read(upTo: 512, timeoutMilliseconds: -1, stop: stop)
                } catch {
                    continuation.finish(throwing: error)
                    return
                }
                switch outcome {
                case .stopped:
                    continuation.finish()
                    return
                case .timedOut:
                    continue
                case .data(let bytes):
                    framer.append(bytes)
                    guard deliverLines(from: &framer) else { return }
                }
            }
        }

        /// Yields every complete line; returns `false` once the consumer has gone away.
        private func deliverLines(from framer: inout LineFramer) -> Bool {
            while true {
                let line: String?
                do {
                    line = try framer.nextLine()
                } catch {
                    // Too long or not UTF-8: a misread or line noise. Drop it and resynchronise.
                    status.dropped.add(1, ordering: .relaxed)
                    continue
                }
                guard let line else { return true }
                if line.isEmpty { continue }  // a bare suffix (some scanners send one on power-up) is no code
                if case .terminated = continuation.yield(line) { return false }
            }
        }
    }
}
