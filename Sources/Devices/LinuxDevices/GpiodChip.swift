#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CGPIOD
import SystemPackage

/// An open GPIO chip (`cgpiod_chip_open`); closed in `deinit`. The only owner of its C object.
final class GpiodChip {
    let path: String
    private let chip: OpaquePointer

    /// Opens the chip character device at `path`.
    init(path: String) throws(GpiodError) {
        guard let chip = cgpiod_chip_open(path) else {
            let errno = currentErrno()
            throw GpiodError(.openChip, chipPath: path, errno: errno, reason: Self.openFailureReason(errno))
        }
        self.path = path
        self.chip = chip
    }

    deinit { cgpiod_chip_close(chip) }

    /// How many lines the chip has (`cgpiod_chip_num_lines`), or `nil` when it cannot tell.
    var lineCount: Int? {
        let count = cgpiod_chip_num_lines(chip)
        return count >= 0 ? Int(count) : nil
    }

    /// Requests `offsets` as outputs starting at `initialValues` (0/1), `cgpiod_request_outputs`.
    func requestOutputs(
        _ offsets: [UInt32], initialValues: [Int32], drive: cgpiod_drive, consumer: String
    ) throws(GpiodError) -> GpiodLineRequest {
        precondition(offsets.count == initialValues.count, "one initial value per output line")
        var failed = CGPIOD_OFFSET_UNKNOWN
        let request = offsets.withUnsafeBufferPointer { offsetsBuffer in
            initialValues.withUnsafeBufferPointer { valuesBuffer in
                cgpiod_request_outputs(
                    chip, consumer, offsetsBuffer.baseAddress, valuesBuffer.baseAddress, offsets.count, drive, &failed)
            }
        }
        guard let request else { throw requestFailure(offsets, failed: failed, direction: "outputs") }
        return GpiodLineRequest(chip: self, request: request, offsets: offsets)
    }

    /// Requests `offsets` as pulled-up inputs with both-edge detection,
    /// `cgpiod_request_inputs_pull_up_both_edges`.
    func requestInputsPulledUpWithEdges(_ offsets: [UInt32], consumer: String) throws(GpiodError) -> GpiodLineRequest {
        var failed = CGPIOD_OFFSET_UNKNOWN
        let request = offsets.withUnsafeBufferPointer { buffer in
            cgpiod_request_inputs_pull_up_both_edges(chip, consumer, buffer.baseAddress, offsets.count, &failed)
        }
        guard let request else {
            throw requestFailure(offsets, failed: failed, direction: "pulled-up inputs with edge detection")
        }
        return GpiodLineRequest(chip: self, request: request, offsets: offsets)
    }

    private func requestFailure(_ offsets: [UInt32], failed: UInt32, direction: String) -> GpiodError {
        let errno = currentErrno()
        let offset = failed == CGPIOD_OFFSET_UNKNOWN ? nil : failed
        let lines = offsets.map(String.init).joined(separator: ", ")
        var reason = "cannot request lines [\(lines)] as \(direction)"
        switch errno {
        case .resourceBusy: reason += offset == nil ? ": a line is in use by another consumer" : ": the line is in use by another consumer"
        case .invalidArgument where offset != nil:
            reason += lineCount.map { ": the offset is listed twice or beyond the chip's \($0) lines" } ?? ": invalid offset"
        default: break
        }
        return GpiodError(.requestLines, chipPath: path, offset: offset, errno: errno, reason: reason)
    }

    private static func openFailureReason(_ errno: Errno) -> String {
        switch errno {
        case .noSuchFileOrDirectory: "cannot open the GPIO chip: no such device node (check the board profile's chip path)"
        case .permissionDenied: "cannot open the GPIO chip: permission denied (the service needs rw access to the chip)"
        case .operationNotSupportedByDevice, .inappropriateIOCTLForDevice: "cannot open the GPIO chip: the path is not a GPIO character device"
        default: "cannot open the GPIO chip"
        }
    }
}

@available(*, unavailable)
extension GpiodChip: Sendable {}

/// Lines requested from a ``GpiodChip`` (`cgpiod_request_*`); released in `deinit`, before the chip it keeps alive.
final class GpiodLineRequest {
    let chip: GpiodChip
    let offsets: [UInt32]
    private let request: OpaquePointer
    private var values: [Int32]

    fileprivate init(chip: GpiodChip, request: OpaquePointer, offsets: [UInt32]) {
        self.chip = chip
        self.request = request
        self.offsets = offsets
        values = Array(repeating: 0, count: offsets.count)
    }

    deinit { cgpiod_request_release(request) }

    /// Sets every line (`cgpiod_request_set_values`); `levels[i]` is the level of `offsets[i]`, `true` = high.
    func set(_ levels: [Bool]) throws(GpiodError) {
        precondition(levels.count == offsets.count, "one level per requested line")
        for index in levels.indices { values[index] = levels[index] ? 1 : 0 }
        let rc = values.withUnsafeBufferPointer { cgpiod_request_set_values(request, $0.baseAddress) }
        guard rc == 0 else {
            throw GpiodError(.setValues, chipPath: chip.path, errno: currentErrno(), reason: "cannot set output lines")
        }
    }

    /// Reads every line (`cgpiod_request_get_values`); `true` = high.
    func get() throws(GpiodError) -> [Bool] {
        let rc = values.withUnsafeMutableBufferPointer { cgpiod_request_get_values(request, $0.baseAddress) }
        guard rc == 0 else {
            throw GpiodError(.getValues, chipPath: chip.path, errno: currentErrno(), reason: "cannot read input lines")
        }
        return values.map { $0 != 0 }
    }

    /// The descriptor that polls readable while edge events are pending (`cgpiod_request_event_fd`); owned by the
    /// request.
    func eventDescriptor() throws(GpiodError) -> FileDescriptor {
        let fd = cgpiod_request_event_fd(request)
        guard fd >= 0 else {
            throw GpiodError(.edgeEvents, chipPath: chip.path, errno: currentErrno(), reason: "the lines have no edge detection")
        }
        return FileDescriptor(rawValue: fd)
    }

    /// Reads every pending edge event without blocking (`cgpiod_request_read_edges` until it returns 0).
    /// - Returns: How many events were discarded.
    @discardableResult
    func drainEdges() throws(GpiodError) -> Int {
        var edges = [cgpiod_edge](repeating: cgpiod_edge(), count: Int(CGPIOD_MAX_LINES))
        var total = 0
        while true {
            let n = edges.withUnsafeMutableBufferPointer { cgpiod_request_read_edges(request, $0.baseAddress, $0.count) }
            if n < 0 {
                let errno = currentErrno()
                if errno == .interrupted { continue }
                throw GpiodError(.edgeEvents, chipPath: chip.path, errno: errno, reason: "cannot read edge events")
            }
            if n == 0 { return total }
            total += Int(n)
        }
    }
}

@available(*, unavailable)
extension GpiodLineRequest: Sendable {}

/// The calling thread's `errno`, read right after the failing call.
private func currentErrno() -> Errno { Errno(rawValue: errno) }
