#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import CPCSCLite

/// One PC/SC resource manager context (`SCARDCONTEXT`): established in `init`, released in `deinit`.
///
/// `Sendable`: the handle never changes, and libpcsclite locks each context for its calls; ``cancel()``
/// (`SCardCancel`) is meant to be called from another thread than the one blocked in `SCardGetStatusChange`.
final class PCSCContext: Sendable {
    let handle: SCARDCONTEXT

    /// `SCardEstablishContext(SCARD_SCOPE_SYSTEM)`.
    /// - Throws: ``PCSCError`` (``PCSCError/Code/serviceUnavailable`` when pcscd does not run).
    init() throws {
        var context: SCARDCONTEXT = 0
        let rc = SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &context)
        guard PCSCContext.succeeded(rc) else { throw PCSCError.result(rc, function: "SCardEstablishContext") }
        handle = context
    }

    deinit { _ = SCardReleaseContext(handle) }

    /// Wakes a `SCardGetStatusChange` blocked on this context with `SCARD_E_CANCELLED` (`SCardCancel`).
    func cancel() { _ = SCardCancel(handle) }

    /// The names of the readers pcscd knows (`SCardListReaders`, a NUL-separated multi-string), in its order; empty
    /// when there are none.
    func readerNames() throws -> [String] {
        // The list can grow between the size query and the read (a reader plugged in): retry a few times.
        for _ in 0..<4 {
            var size: DWORD = 0
            var rc = SCardListReaders(handle, nil, nil, &size)
            if PCSCContext.is(rc, PCSCError.eNoReadersAvailable) { return [] }
            guard PCSCContext.succeeded(rc) else { throw PCSCError.result(rc, function: "SCardListReaders") }
            var buffer = [CChar](repeating: 0, count: Int(size) + 1)
            rc = SCardListReaders(handle, nil, &buffer, &size)
            if PCSCContext.is(rc, PCSCError.eNoReadersAvailable) { return [] }
            if PCSCContext.is(rc, PCSCError.eInsufficientBuffer) { continue }
            guard PCSCContext.succeeded(rc) else { throw PCSCError.result(rc, function: "SCardListReaders") }
            return buffer.prefix(Int(size)).split(separator: 0).map {
                String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
        throw PCSCError(.serviceFailure, function: "SCardListReaders", reason: "the reader list kept changing")
    }

    /// One `SCardGetStatusChange` over `names` with their `current` states (`SCARD_STATE_UNAWARE` to learn them);
    /// returns the result and each reader's event state and ATR. Blocks up to `timeout` milliseconds
    /// (`INFINITE` = 0xFFFFFFFF is never used here) or until ``cancel()``.
    func statusChange(
        names: [String], current: [DWORD], timeout: DWORD
    ) -> (result: LONG, readers: [(state: DWORD, atr: [UInt8])]) {
        // The reader names must outlive the call: duplicated into C strings, freed after it.
        let cNames = names.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        var states = [SCARD_READERSTATE](repeating: SCARD_READERSTATE(), count: names.count)
        for index in states.indices {
            states[index].szReader = UnsafePointer(cNames[index])
            states[index].dwCurrentState = current[index]
        }
        let rc = SCardGetStatusChange(handle, timeout, &states, DWORD(states.count))
        let readers = states.map { state -> (state: DWORD, atr: [UInt8]) in
            var state = state
            let count = min(Int(state.cbAtr), Int(MAX_ATR_SIZE))
            let atr = withUnsafeBytes(of: &state.rgbAtr) { Array($0.prefix(count)) }
            return (state.dwEventState, atr)
        }
        return (rc, readers)
    }

    static func succeeded(_ rc: LONG) -> Bool { UInt32(truncatingIfNeeded: rc) == PCSCError.success }

    static func `is`(_ rc: LONG, _ code: UInt32) -> Bool { UInt32(truncatingIfNeeded: rc) == code }
}
