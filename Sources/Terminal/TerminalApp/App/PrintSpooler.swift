#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import DeviceKit
import LinuxDevices
import SystemPackage

/// Prints documents on a thread of its own, one after the other, so a slow or stalled printer never holds up the
/// main loop. Each job's completion reports whether it printed.
public final class PrintSpooler: Sendable {
    private struct Job: Sendable {
        var document: PrintDocument
        var completion: @Sendable (TerminalFlow.PrintResult) -> Void
    }

    private let jobs = Locked<[Job]>([])
    private let wake: StopSignalPair
    private let thread: DeviceThread?
    public let hasPrinter: Bool

    /// Takes ownership of `printer` (none: every job completes with `.noPrinter`).
    public init(printer: sending (any ReceiptPrinterDevice)?) throws {
        let wake = try StopSignalPair()
        self.wake = wake
        hasPrinter = printer != nil
        guard let printer else {
            thread = nil
            return
        }
        let device = Locked<any ReceiptPrinterDevice>(printer)
        let jobs = self.jobs
        thread = try DeviceThread.start(name: "print-spooler") {
            while wake.waitForJob() {
                while let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                    let result: TerminalFlow.PrintResult = device.withLock { printer in
                        do {
                            try printer.print(job.document)
                            return .printed
                        } catch {
                            return .failed
                        }
                    }
                    job.completion(result)
                }
            }
        }
    }

    /// Queues a document.
    public func print(_ document: PrintDocument, completion: @escaping @Sendable (TerminalFlow.PrintResult) -> Void) {
        guard hasPrinter else {
            completion(.noPrinter)
            return
        }
        jobs.withLock { $0.append(Job(document: document, completion: completion)) }
        wake.signalJob()
    }

    /// Finishes the jobs queued so far, then stops the thread.
    public func shutdown() {
        wake.stop()
        thread?.join()
    }
}

/// Two eventfds: "a job is queued" and "stop". The thread sleeps in `poll` on both, so an idle spooler costs nothing.
private final class StopSignalPair: Sendable {
    private let job: StopSignal
    private let stopSignal: StopSignal

    init() throws {
        job = try StopSignal()
        stopSignal = try StopSignal()
    }

    func signalJob() {
        var one: UInt64 = 1
        _ = write(job.descriptor.rawValue, &one, 8)
    }

    func stop() { stopSignal.fire() }

    /// Waits for a job; `false` once stop was asked (after the caller drained the queue).
    func waitForJob() -> Bool {
        while true {
            if stopSignal.isFired { return false }
            switch try? pollReadable(job.descriptor, stop: stopSignal, timeoutMilliseconds: -1) {
            case .readable?:
                var count: UInt64 = 0
                _ = read(job.descriptor.rawValue, &count, 8)
                return true
            case .stopped?, nil:
                return false
            case .timedOut?:
                continue
            }
        }
    }
}
