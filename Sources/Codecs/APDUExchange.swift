/// The transport rules a terminal applies around one command APDU over a card transport: what EMV Book 1 §9.3.1
/// (and Annex A) has the terminal transport layer do for T=0, applied to the whole response a transport returns.
///
/// - `61xx`: more data waits; the terminal sends GET RESPONSE with Le = `xx` (`00` = 256) and concatenates the data,
///   as often as the card says `61xx` again (§9.3.1.3; ISO/IEC 7816-4 §5.1.3).
/// - `6Cxx`: wrong Le; the terminal sends the same command again with Le = `xx` (§9.3.1.1, case 2).
/// - A case 4 command answered with a warning and no data (`62xx`, `63xx`, or `9XYZ` other than `9000`): the terminal
///   sends GET RESPONSE with Le = `00` and returns its data with the warning's status word (§9.3.1.1, case 4;
///   Annex A). When the card has no data (a T=1 card answers the GET RESPONSE with an error), the warning is returned
///   alone. ``Options/fetchesDataAfterWarning`` turns this off.
///
/// A value type with no I/O: ``receive(_:)`` takes each raw response and returns the next step, so the kernel's state
/// machine can drive it. ``run(_:options:transmit:)`` drives it over a blocking transport (a `CardConnection`, a
/// virtual card). Nothing here assumes PC/SC.
public struct APDUExchange: Sendable {
    /// Limits and switches.
    public struct Options: Sendable, Equatable {
        /// Whether a case 4 command answered with a bare warning gets a GET RESPONSE (see the type's discussion).
        public var fetchesDataAfterWarning: Bool
        /// The most transmissions for one command, the first included: a card that keeps answering `61xx` or
        /// `6Cxx` is cut off here.
        public var maximumExchanges: Int
        /// The most response data gathered for one command.
        public var maximumResponseLength: Int

        /// Creates options.
        public init(
            fetchesDataAfterWarning: Bool = true, maximumExchanges: Int = 32, maximumResponseLength: Int = 65_536
        ) {
            precondition(maximumExchanges >= 1, "APDUExchange needs at least one exchange")
            self.fetchesDataAfterWarning = fetchesDataAfterWarning
            self.maximumExchanges = maximumExchanges
            self.maximumResponseLength = maximumResponseLength
        }

        /// Warnings fetched, 32 exchanges, 64 KiB.
        public static let `default` = Options()
    }

    /// What to do after a response.
    public enum Step: Sendable, Equatable {
        /// Send these bytes to the card and pass its answer to ``receive(_:)``.
        case transmit([UInt8])
        /// The command is done: its complete response.
        case complete(ResponseAPDU)
    }

    /// The command being exchanged.
    public let command: CommandAPDU
    /// The limits in force.
    public let options: Options
    /// How many transmissions were asked for so far (the first included).
    public private(set) var exchangeCount = 1

    private var lastSent: CommandAPDU
    /// Whether the last transmission was the command itself (or its `6Cxx` resend), not a GET RESPONSE.
    private var lastSentIsCommand = true
    private var gathered: [UInt8] = []
    private var warning: StatusWord?
    private var finished = false

    /// Starts an exchange of `command`; send ``firstTransmission`` first.
    public init(command: CommandAPDU, options: Options = .default) {
        self.command = command
        self.options = options
        lastSent = command
    }

    /// The bytes to send first: the command as it is.
    public var firstTransmission: [UInt8] { command.encoded }

    /// Takes the card's answer to the last transmission and says what comes next.
    /// - Throws: ``EMVCodecError``: ``EMVCodecError/Code/responseTooShort`` for an answer without SW1 SW2,
    ///   ``EMVCodecError/Code/tooManyExchanges``, ``EMVCodecError/Code/responseTooLong``.
    public mutating func receive(_ rawResponse: some Collection<UInt8>) throws -> Step {
        precondition(!finished, "APDUExchange.receive called after the exchange completed")
        let response = try ResponseAPDU(apduEncoded: rawResponse)
        let status = response.statusWord
        if status.isWrongExpectedLength {
            // EMV Book 1 §9.3.1.1 case 2 / ISO/IEC 7816-4 §5.1.3: '6C xx' = wrong Le, xx bytes available.
            let resend = try lastSent.withExpectedLength(status.sw2 == 0 ? 256 : Int(status.sw2))
            return try send(resend, isCommand: lastSentIsCommand)
        }
        if status.hasResponseBytesAvailable {
            // EMV Book 1 §9.3.1.3: '61 xx' = xx more bytes for GET RESPONSE; keep what came with this answer.
            try gather(response.data)
            return try send(CommandAPDU.getResponse(length: status.sw2 == 0 ? 256 : Int(status.sw2)), isCommand: false)
        }
        if options.fetchesDataAfterWarning, warning == nil, lastSentIsCommand, command.apduCase == .four,
            response.data.isEmpty, APDUExchange.isCase4Warning(status)
        {
            // EMV Book 1 §9.3.1.1 case 4 / Annex A: a warning to a case 4 command over T=0; the data is fetched with
            // GET RESPONSE Le='00' and returned with the warning's status.
            warning = status
            return try send(CommandAPDU.getResponse(length: 256), isCommand: false)
        }
        finished = true
        if let warning {
            if status.isNormalProcessing { try gather(response.data) }
            return .complete(ResponseAPDU(data: gathered, statusWord: warning))
        }
        try gather(response.data)
        return .complete(ResponseAPDU(data: gathered, statusWord: status))
    }

    /// Exchanges `command` over a blocking transport, applying the rules above.
    /// - Parameters:
    ///   - transmit: Sends one command APDU and returns the card's whole answer (data and SW1 SW2).
    /// - Returns: The complete response.
    /// - Throws: What `transmit` throws, or an ``EMVCodecError`` from ``receive(_:)``.
    public static func run(
        _ command: CommandAPDU, options: Options = .default, transmit: ([UInt8]) throws -> [UInt8]
    ) throws -> ResponseAPDU {
        var exchange = APDUExchange(command: command, options: options)
        var outgoing = exchange.firstTransmission
        while true {
            switch try exchange.receive(try transmit(outgoing)) {
            case .transmit(let next): outgoing = next
            case .complete(let response): return response
            }
        }
    }

    private mutating func send(_ next: CommandAPDU, isCommand: Bool) throws -> Step {
        guard exchangeCount < options.maximumExchanges else {
            finished = true
            throw EMVCodecError(.tooManyExchanges, reason: "card kept asking for GET RESPONSE or a resend")
        }
        exchangeCount += 1
        lastSent = next
        lastSentIsCommand = isCommand
        return .transmit(next.encoded)
    }

    private mutating func gather(_ data: [UInt8]) throws {
        guard gathered.count + data.count <= options.maximumResponseLength else {
            finished = true
            throw EMVCodecError(.responseTooLong, reason: "response data over the limit for one command")
        }
        gathered.append(contentsOf: data)
    }

    /// `62xx`, `63xx`, or `9XYZ` other than `9000` (EMV Book 1 §9.3.1.1, case 4).
    private static func isCase4Warning(_ status: StatusWord) -> Bool {
        status.isWarning || (status.sw1 & 0xF0 == 0x90 && !status.isNormalProcessing)
    }
}
