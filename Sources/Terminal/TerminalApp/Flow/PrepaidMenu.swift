import DeviceKit
import PaymentCrypto
import TerminalUI

extension TerminalFlow {
    /// A prepaid card operation of the merchant menu (docs/prepaid.md §7).
    public enum PrepaidOperation: String, Sendable, Equatable, CaseIterable {
        /// Personalise a blank card, register it with the host, load the opening deposit (0 = none).
        case issue
        /// Load cash onto the card, authorised online.
        case topUp
        /// A chip-card sale of the amount, then the load: the bank card is presented first.
        case topUpByCard
        /// Read the balance from the card (offline).
        case balance
        /// Refund of a purse purchase: a load, authorised online.
        case refund
    }

    /// The prepaid sub-menu ("预付卡"): choose an operation, enter its amount, present the card. A pure value; the
    /// flow forwards keys and presentations to it and starts the operation it asks for.
    ///
    /// Every operation that moves value (issue with a deposit, top-up, top-up by card, refund) asks for the merchant
    /// password first, once per visit of the sub-menu; the balance inquiry stays open.
    struct PrepaidMenu: Sendable, Equatable {
        enum Stage: Sendable, Equatable {
            case choose(selected: Int)
            /// The merchant password for `operation`: the digits typed so far (shown as `*`) and a notice.
            case password(PrepaidOperation, digits: SecretBytes, notice: Screen.Text?)
            /// The driver checks the password (``TerminalFlow/Action/verifyMerchantPassword(_:)``).
            case checking(PrepaidOperation)
            case amount(PrepaidOperation, amount: Int, overLimit: Bool)
            case present(PrepaidOperation, amount: Int)
        }

        var stage: Stage = .choose(selected: 0)
        /// The merchant password was accepted during this visit.
        var unlocked = false

        /// What a key or presentation leads to.
        enum Step: Sendable, Equatable {
            /// Stay in the sub-menu, at this stage.
            case stay(PrepaidMenu)
            /// Back to the main menu.
            case exit
            /// Run the operation with the card presented.
            case start(PrepaidOperation, amount: Int, presentation: Presentation)
            /// Check these password digits (ASCII), staying at `next` (the checking stage) for the verdict.
            case verify(PrepaidMenu, digits: SecretBytes)
        }

        static let operations = PrepaidOperation.allCases

        func screen(_ configuration: Configuration) -> Screen {
            switch stage {
            case .choose(let selected):
                return .menu(.init(
                    title: .ui(.prepaidTitle),
                    items: [.ui(.prepaidIssue), .ui(.prepaidTopUp), .ui(.prepaidTopUpByCard), .ui(.prepaidBalance),
                            .ui(.prepaidRefund)],
                    selected: selected))
            case .amount(let operation, let amount, let overLimit):
                return .amountEntry(.init(
                    title: .ui(operation == .issue ? .prepaidDepositTitle : operation == .refund ? .refundAmountTitle : .prepaidTopUpTitle),
                    amount: amount,
                    currency: configuration.currency, notice: overLimit ? .ui(.amountLimit) : nil))
            case .present(let operation, let amount):
                return .present(.init(amount: amount, currency: configuration.currency,
                                      method: operation == .topUpByCard ? .card : .prepaid))
            case .password(_, let digits, let notice):
                return .info(.init(
                    title: .ui(.merchantPasswordTitle),
                    lines: [.raw(String(repeating: "*", count: digits.count)), notice ?? .ui(.merchantPasswordHint)]))
            case .checking:
                return .processing(.init())
            }
        }

        func handle(_ key: Key, maximumAmount: Int) -> Step {
            switch stage {
            case .password(let operation, let digits, let notice):
                switch key {
                case .cancel:
                    return .stay(with(.choose(selected: Self.operations.firstIndex(of: operation) ?? 0)))
                case .clear:
                    return .stay(with(.password(operation, digits: TerminalFlow.droppingLast(digits), notice: notice)))
                case .enter:
                    guard !digits.isEmpty else { return .stay(self) }
                    return .verify(with(.checking(operation)), digits: digits)
                default:
                    guard let digit = key.digit, digits.count < TerminalFlow.merchantPasswordLength else { return .stay(self) }
                    return .stay(with(.password(operation, digits: TerminalFlow.appending(digits, digit: UInt8(0x30 + digit)), notice: notice)))
                }
            case .checking:
                return .stay(self)
            case .choose(let selected):
                let count = Self.operations.count
                switch key {
                case .up: return .stay(with(.choose(selected: (selected + count - 1) % count)))
                case .down: return .stay(with(.choose(selected: (selected + 1) % count)))
                case .cancel: return .exit
                case .enter: return chosen(Self.operations[selected])
                default:
                    if let digit = key.digit, digit >= 1, digit <= count { return chosen(Self.operations[digit - 1]) }
                    return .stay(self)
                }
            case .amount(let operation, let amount, _):
                func shifted(_ digits: [Int]) -> Int? {
                    var value = amount
                    for d in digits {
                        let (m, o1) = value.multipliedReportingOverflow(by: 10)
                        let (s, o2) = m.addingReportingOverflow(d)
                        guard !o1, !o2, s <= maximumAmount else { return nil }
                        value = s
                    }
                    return value
                }
                switch key {
                case .cancel: return .stay(with(.choose(selected: Self.operations.firstIndex(of: operation) ?? 0)))
                case .clear: return .stay(with(.amount(operation, amount: amount / 10, overLimit: false)))
                case .enter:
                    // An issue may have no opening deposit; a top-up needs an amount.
                    guard amount > 0 || operation == .issue else { return .stay(self) }
                    return .stay(with(.present(operation, amount: amount)))
                case .doubleZero:
                    let next = shifted([0, 0])
                    return .stay(with(.amount(operation, amount: next ?? amount, overLimit: next == nil)))
                default:
                    guard let digit = key.digit else { return .stay(self) }
                    let next = shifted([digit])
                    return .stay(with(.amount(operation, amount: next ?? amount, overLimit: next == nil)))
                }
            case .present(let operation, let amount):
                if key == .cancel {
                    return operation == .balance
                        ? .stay(with(.choose(selected: 3)))
                        : .stay(with(.amount(operation, amount: amount, overLimit: false)))
                }
                return .stay(self)
            }
        }

        /// A card presented: the operation starts when the sub-menu is waiting for one.
        func presented(_ presentation: Presentation) -> Step? {
            guard case .present(let operation, let amount) = stage, case .inserted = presentation else { return nil }
            return .start(operation, amount: amount, presentation: presentation)
        }

        private func chosen(_ operation: PrepaidOperation) -> Step {
            if operation == .balance { return .stay(with(.present(.balance, amount: 0))) }
            guard unlocked else { return .stay(with(.password(operation, digits: SecretBytes(zeros: 0), notice: nil))) }
            return .stay(with(.amount(operation, amount: 0, overLimit: false)))
        }

        /// This menu (with its unlock) at another stage.
        private func with(_ stage: Stage) -> PrepaidMenu {
            var next = self
            next.stage = stage
            return next
        }

        /// The merchant password's verdict while checking: the operation's amount entry, or the password again with
        /// why.
        func answered(_ verdict: MerchantPassword.Verdict) -> PrepaidMenu {
            guard case .checking(let operation) = stage else { return self }
            let notice: UIString
            switch verdict {
            case .accepted:
                var next = with(.amount(operation, amount: 0, overLimit: false))
                next.unlocked = true
                return next
            case .rejected(let left): notice = .merchantPasswordWrong(left)
            case .lockedOut(let seconds): notice = .merchantLocked(Int(seconds))
            case .notSet: notice = .merchantNoPassword
            }
            return with(.password(operation, digits: SecretBytes(zeros: 0), notice: .ui(notice)))
        }
    }
}
