public import DeviceKit

/// A thermal receipt printer speaking ESC/POS on a serial line (RS-232, or USB CDC-ACM `/dev/ttyACM0`).
///
/// ``print(_:)`` renders the document with ``EscPosRenderer`` and writes it with
/// ``SerialPort/writeAll(_:stallTimeoutMilliseconds:)``.
/// The port is opened on the first print and kept open. When a write fails (printer switched off, cable pulled,
/// flow control held past the stall timeout) the port is closed and the error thrown; the next print opens the
/// device again. A receipt that failed part-way is not resent: the caller decides whether to print a copy.
public final class EscPosPrinter: ReceiptPrinterDevice {
    /// The device path.
    public let path: String
    /// The line settings.
    public let serialConfiguration: SerialConfiguration
    /// How long a write may wait for room (the printer holding CTS low, or its buffer full) before giving up.
    public let stallTimeoutMilliseconds: Int32
    /// The renderer (printer model settings).
    public let renderer: EscPosRenderer

    private var port: SerialPort?

    /// Creates a printer driver; nothing is opened until the first print.
    ///
    /// - Parameters:
    ///   - path: the tty.
    ///   - serialConfiguration: the line settings; RTS/CTS is recommended where the cable carries it, since the
    ///     printer's receive buffer is smaller than a receipt with a QR code.
    ///   - escPos: the model's settings.
    ///   - stallTimeoutMilliseconds: see ``stallTimeoutMilliseconds``.
    public init(
        path: String, serialConfiguration: SerialConfiguration = SerialConfiguration(baudRate: .b9600),
        escPos: EscPosConfiguration = EscPosConfiguration(), stallTimeoutMilliseconds: Int32 = 10_000
    ) {
        self.path = path
        self.serialConfiguration = serialConfiguration
        self.renderer = EscPosRenderer(configuration: escPos)
        self.stallTimeoutMilliseconds = stallTimeoutMilliseconds
    }

    /// Prints `document` and cuts the paper.
    ///
    /// - Throws: ``SerialError``: rendering errors (``SerialError/Code/qrPayloadOutOfRange``,
    ///   ``SerialError/Code/encoderUnavailable``) before anything is sent; open errors; write errors
    ///   (``SerialError/Code/vanished``, ``SerialError/Code/timedOut``, ``SerialError/Code/writeFailed``).
    public func print(_ document: PrintDocument) throws {
        let bytes = try renderer.render(document)
        let port = try openPort()
        do {
            try port.writeAll(bytes, stallTimeoutMilliseconds: stallTimeoutMilliseconds)
        } catch {
            self.port = nil  // closes it; the next print reopens the device
            throw error
        }
    }

    /// Closes the port (the next print reopens it).
    public func close() {
        port = nil
    }

    private func openPort() throws -> SerialPort {
        if let port { return port }
        let opened = try SerialPort(path: path, configuration: serialConfiguration)
        port = opened
        return opened
    }
}

@available(*, unavailable, message: "an EscPosPrinter owns its port and is used from one thread")
extension EscPosPrinter: Sendable {}
