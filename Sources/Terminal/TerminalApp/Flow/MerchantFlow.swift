import DeviceKit
import PaymentCrypto
import TerminalUI

// The merchant menu (docs/merchant-operations.md) as a sub-state machine of ``TerminalFlow``: password entry, the
// menu, and the tasks the driver runs for it (reprint, X report, settlement with its Z report). Void and refund open
// the existing refund list; settings open the existing settings menu.

extension TerminalFlow {
    /// What the merchant menu asks the driver to run; answered with ``Input/merchantFinished(_:)``.
    public enum MerchantTask: Sendable, Equatable {
        /// Print the last transaction's receipt again (merchant copy).
        case reprintLast
        /// Print the X report (the open batch so far).
        case xReport
        /// Settle the batch with the acquirer; print the Z report after success.
        case settle
    }

    /// Where the merchant menu stands.
    enum MerchantState: Sendable, Equatable {
        /// Password entry: the ASCII digits typed so far (never shown, only counted; a secret wiped when the state
        /// moves on, as in ``PasswordChange``) and a notice.
        case password(digits: SecretBytes, notice: Screen.Text?)
        /// The driver checks the password.
        case checking
        case menu(selected: Int)
        /// A task runs (settlement can take a while: no deadline).
        case working(MerchantTask)
        case result(Screen.Info)
        /// Changing the password (MerchantPasswordChange.swift).
        case changePassword(PasswordChange)
    }

    /// The merchant menu's entries, in order (new entries go at the end: their numbers are the keys that choose them).
    static let merchantItems: [UIString] = [
        .merchantVoid, .merchantRefund, .merchantReprint, .merchantXReport, .merchantSettle, .menuSettings, .merchantUpdate,
        .merchantChangePassword,
    ]

    /// The longest merchant password.
    static let merchantPasswordLength = 12

    func merchantScreen(_ state: MerchantState) -> Screen {
        switch state {
        case .password(let digits, let notice):
            return .info(.init(
                title: .ui(.merchantPasswordTitle),
                lines: [.raw(String(repeating: "*", count: digits.count)), notice ?? .ui(.merchantPasswordHint)]))
        case .checking:
            return .processing(.init())
        case .menu(let selected):
            return .menu(.init(title: .ui(.merchantTitle), items: Self.merchantItems.map { .ui($0) }, selected: selected))
        case .working(let task):
            return .processing(.init(message: task == .settle ? .ui(.settleTitle) : .ui(.printing)))
        case .result(let info):
            return .info(info)
        case .changePassword(let change):
            return passwordChangeScreen(change)
        }
    }

    /// A key while the merchant menu is up.
    mutating func merchantKey(_ key: Key, _ state: MerchantState) -> [Action] {
        switch state {
        case .password(let digits, let notice):
            switch key {
            case .cancel:
                go(.idle)
            case .clear:
                go(.merchant(.password(digits: Self.droppingLast(digits), notice: notice)))
            case .enter:
                guard !digits.isEmpty else { return [] }
                go(.merchant(.checking), timeout: nil)
                return [.verifyMerchantPassword(digits)]
            default:
                if let digit = key.digit, digits.count < Self.merchantPasswordLength {
                    go(.merchant(.password(digits: Self.appending(digits, digit: UInt8(0x30 + digit)), notice: notice)))
                }
            }
        case .checking, .working:
            break
        case .menu(let selected):
            let count = Self.merchantItems.count
            switch key {
            case .up: go(.merchant(.menu(selected: (selected + count - 1) % count)))
            case .down: go(.merchant(.menu(selected: (selected + 1) % count)))
            case .cancel: go(.idle)
            case .enter: return chooseMerchantItem(selected)
            default:
                if let digit = key.digit, digit >= 1, digit <= count { return chooseMerchantItem(digit - 1) }
            }
        case .result(var info):
            if let top = scrolled(info.top, lineCount: info.lines.count, key: key) {
                info.top = top
                go(.merchant(.result(info)))
            } else if key == .enter || key == .cancel || key == .clear {
                go(.merchant(.menu(selected: 0)))
            }
        case .changePassword(let change):
            return passwordChangeKey(key, change)
        }
        return []
    }

    private mutating func chooseMerchantItem(_ index: Int) -> [Action] {
        switch Self.merchantItems[index] {
        case .merchantVoid:
            go(.refundLoading, timeout: nil)
            return [.listRefundableSales]
        case .merchantRefund:
            go(.refundReference(digits: ""))
            return []
        case .merchantReprint:
            go(.merchant(.working(.reprintLast)), timeout: nil)
            return [.runMerchantTask(.reprintLast)]
        case .merchantXReport:
            go(.merchant(.working(.xReport)), timeout: nil)
            return [.runMerchantTask(.xReport)]
        case .merchantSettle:
            go(.merchant(.working(.settle)), timeout: nil)
            return [.runMerchantTask(.settle)]
        case .merchantUpdate:
            return openPanel(.update)
        case .merchantChangePassword:
            go(.merchant(.changePassword(PasswordChange())))
            return []
        default:
            go(.menu(.settings, selected: 0))
            return []
        }
    }

    /// The answers to the merchant menu's actions.
    mutating func merchantInput(_ input: Input) -> [Action] {
        switch (input, state) {
        case (.merchantVerdict(let verdict), .merchant(.checking)):
            switch verdict {
            case .accepted:
                go(.merchant(.menu(selected: 0)))
            case .rejected(let left):
                go(.merchant(.password(digits: SecretBytes(zeros: 0), notice: .ui(.merchantPasswordWrong(left)))))
            case .lockedOut(let seconds):
                go(.info(.init(title: .ui(.merchantTitle), lines: [.ui(.merchantLocked(Int(seconds)))])), timeout: configuration.resultTimeout)
            case .notSet:
                go(.info(.init(title: .ui(.merchantTitle), lines: [.ui(.merchantNoPassword)])), timeout: configuration.resultTimeout)
            }
        case (.merchantFinished(let lines), .merchant(.working(let task))):
            let title: UIString = switch task {
            case .reprintLast: .merchantReprint
            case .xReport: .merchantXReport
            case .settle: .settleTitle
            }
            go(.merchant(.result(.init(title: .ui(title), lines: lines))), timeout: configuration.resultTimeout)
        case (.merchantVerdict, .merchant(.changePassword(let change))), (.merchantPasswordChanged, .merchant(.changePassword(let change))):
            return passwordChangeInput(input, change)
        case (.merchantVerdict(let verdict), .prepaid(let menu)):
            // The prepaid operations that move value ask for the merchant password (PrepaidMenu.swift).
            go(.prepaid(menu.answered(verdict)))
        default:
            break
        }
        return []
    }
}
