#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CLinux
import SystemPackage

/// One evdev record without its timestamp: `struct input_event`'s type, code and value (linux/input.h).
struct EvdevEvent: Sendable, Equatable {
    var type: UInt16
    var code: UInt16
    var value: Int32

    /// `EV_KEY` (linux/input-event-codes.h).
    static let typeKey = UInt16(EV_KEY)
    /// `EV_SYN`.
    static let typeSync = UInt16(EV_SYN)
    /// `SYN_REPORT`: the end of one batch of changes.
    static let syncReport = UInt16(SYN_REPORT)
    /// `SYN_DROPPED`: the kernel's buffer overran; events up to the next `SYN_REPORT` are incomplete and the device
    /// state must be read again (Documentation/input/event-codes.rst).
    static let syncDropped = UInt16(SYN_DROPPED)

    /// `EV_KEY` value for a release, a press and an autorepeat (Documentation/input/input.rst).
    static let keyReleased: Int32 = 0
    static let keyPressed: Int32 = 1
    static let keyRepeated: Int32 = 2
}

/// An open evdev node (or, in tests, any descriptor that carries `struct input_event` records, such as a pipe):
/// the only owner of the descriptor, closed in `deinit`.
final class EvdevInput {
    let name: String
    let descriptor: FileDescriptor
    /// Whether the descriptor is a real evdev node (it answered `EVIOCGRAB`).
    let isEvdevNode: Bool
    /// Bytes of a record cut short by a read (never on a real evdev node, possible on a pipe).
    private var partial: [UInt8] = []
    private var buffer: [UInt8]
    private let recordSize = Int(clinux_input_event_size)

    /// Opens `path` read-only, close-on-exec and non-blocking, and grabs it.
    convenience init(path: String) throws(EvdevError) {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec, .nonBlocking])
        } catch {
            throw EvdevError(.open, device: path, errno: error as? Errno, reason: "cannot open the input device")
        }
        try self.init(takingOwnershipOf: descriptor, name: path)
    }

    /// Takes over `descriptor` (closing it on failure too) and grabs it when it is an evdev node.
    init(takingOwnershipOf descriptor: FileDescriptor, name: String) throws(EvdevError) {
        do {
            isEvdevNode = try Self.grab(descriptor, name: name)
        } catch {
            try? descriptor.close()
            throw error
        }
        self.name = name
        self.descriptor = descriptor
        buffer = Array(repeating: 0, count: 64 * Int(clinux_input_event_size))
    }

    deinit { try? descriptor.close() }

    /// Takes the device for this descriptor alone (`EVIOCGRAB` 1), so its keys do not also reach the console or
    /// another reader. A descriptor that is not an evdev node (`ENOTTY`: a pipe or file in tests) is left as is.
    /// - Returns: Whether the descriptor is an evdev node.
    private static func grab(_ descriptor: FileDescriptor, name: String) throws(EvdevError) -> Bool {
        if clinux_evdev_grab(descriptor.rawValue, 1) == 0 { return true }
        let error = Errno(rawValue: errno)
        if error == .inappropriateIOCTLForDevice { return false }
        throw EvdevError(
            .grab, device: name, errno: error,
            reason: error == .resourceBusy ? "another process has grabbed the device" : "cannot grab the device")
    }

    /// The codes of the keys that are down now (`EVIOCGKEY`), or `nil` when the descriptor is not an evdev node or
    /// cannot tell.
    func keysDown() -> Set<UInt16>? {
        guard isEvdevNode else { return nil }
        var bits = [UInt8](repeating: 0, count: Int(clinux_evdev_key_state_bytes))
        let rc = bits.withUnsafeMutableBufferPointer { clinux_evdev_get_key_state(descriptor.rawValue, $0.baseAddress, $0.count) }
        guard rc >= 0 else { return nil }
        var down = Set<UInt16>()
        for (byte, value) in bits.enumerated() where value != 0 {
            for bit in 0..<8 where value & (1 << bit) != 0 { down.insert(UInt16(byte * 8 + bit)) }
        }
        return down
    }

    /// Blocks until records arrive or `stop` fires.
    /// - Returns: The complete records read, or `nil` once `stop` fired.
    /// - Throws: ``EvdevError`` with ``EvdevError/Code/deviceVanished`` on end of file, `ENODEV` or `EIO`, and
    ///   ``EvdevError/Code/read`` for other failures.
    func nextEvents(stop: StopSignal) throws(EvdevError) -> [EvdevEvent]? {
        while true {
            let outcome: PollOutcome
            do {
                outcome = try pollReadable(descriptor, stop: stop, timeoutMilliseconds: -1)
            } catch {
                throw EvdevError(.read, device: name, errno: error, reason: "cannot wait for input events")
            }
            if outcome == .stopped { return nil }
            guard outcome == .readable else { continue }

            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try descriptor.read(into: $0) }
            } catch let error as Errno {
                switch error {
                case .resourceTemporarilyUnavailable: continue
                case .operationNotSupportedByDevice, .ioError:
                    throw EvdevError(.deviceVanished, device: name, errno: error, reason: "the input device went away")
                default:
                    throw EvdevError(.read, device: name, errno: error, reason: "cannot read input events")
                }
            } catch {
                throw EvdevError(.read, device: name, reason: "cannot read input events")
            }
            if count == 0 {
                throw EvdevError(.deviceVanished, device: name, reason: "the input device went away (end of file)")
            }
            let events = decode(buffer[..<count])
            if !events.isEmpty { return events }
        }
    }

    /// Splits bytes into records, keeping a trailing part-record for the next read.
    private func decode(_ bytes: ArraySlice<UInt8>) -> [EvdevEvent] {
        var input = bytes
        if !partial.isEmpty {
            partial.append(contentsOf: input)
            input = partial[...]
            partial = []
        }
        var events: [EvdevEvent] = []
        events.reserveCapacity(input.count / recordSize)
        while input.count >= recordSize {
            var record = input_event()
            withUnsafeMutableBytes(of: &record) { $0.copyBytes(from: input.prefix(recordSize)) }
            events.append(EvdevEvent(type: record.type, code: record.code, value: record.value))
            input = input.dropFirst(recordSize)
        }
        partial = Array(input)
        return events
    }
}

@available(*, unavailable)
extension EvdevInput: Sendable {}
