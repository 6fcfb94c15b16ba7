public import Logging
import Synchronization

/// Installs ``RedactingLogHandler`` as the process-wide swift-log backend, once, from `main`.
///
/// Modules never construct loggers of their own backend: they take a `Logger` (STYLE B8). This is the only place
/// that calls `LoggingSystem.bootstrap`.
public enum LoggingBootstrap {
    private static let installed = Atomic<Bool>(false)

    /// Installs the handler on stderr (journal format when stderr is the journal stream, see
    /// ``LogSink/standardError(environment:)``). Only the first call has an effect; `LoggingSystem.bootstrap` itself
    /// traps when called twice.
    /// - Parameters:
    ///   - level: the minimum level of every logger.
    ///   - environment: the process environment (``ProcessEnvironment/current()``).
    ///   - metadataProvider: an optional process-wide metadata provider.
    /// - Returns: `true` if this call installed the handler.
    @discardableResult
    public static func bootstrap(
        level: Logger.Level, environment: [String: String], metadataProvider: Logger.MetadataProvider? = nil
    ) -> Bool {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        let sink = LogSink.standardError(environment: environment)
        LoggingSystem.bootstrap(
            { label, provider in
                RedactingLogHandler(label: label, sink: sink, logLevel: level, metadataProvider: provider, ring: LogRing.process)
            },
            metadataProvider: metadataProvider)
        return true
    }
}
