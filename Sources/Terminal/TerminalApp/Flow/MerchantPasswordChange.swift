import DeviceKit
import PaymentCrypto
import TerminalUI

// Merchant menu → 修改密码 / Change password (docs/merchant-operations.md, "Changing the password"): the password in
// force, checked by the driver (a failure counts toward the lockout like any other), then the new one twice, which
// the driver saves. A sub-state of the merchant menu (MerchantFlow.swift).

extension TerminalFlow {
    /// Where a password change stands.
    ///
    /// Typed digits live only in ``SecretBytes``: each key builds a new secret and the one it replaces is wiped when
    /// released, so leaving a step (ENTER, CANCEL, the time-out) wipes what was typed. The screen learns only how many
    /// digits there are.
    struct PasswordChange: Sendable, Equatable {
        enum Step: Sendable, Equatable {
            /// The password in force.
            case current
            /// The new password.
            case new
            /// The new password again; `first` is what was typed at ``new``.
            case confirm(first: SecretBytes)
            /// The driver checks the password in force (``Action/verifyCurrentMerchantPassword(_:)``).
            case checkingCurrent
            /// The driver saves the new password (``Action/changeMerchantPassword(_:)``).
            case saving
        }

        var step: Step = .current
        /// The ASCII digits typed at this step.
        var digits = SecretBytes(zeros: 0)
        /// Why the step is asked again (wrong password, a rule, the two entries differ).
        var notice: Screen.Text?

        /// Waiting for the driver's answer: no deadline.
        var awaitsDriver: Bool { step == .checkingCurrent || step == .saving }
    }

    /// The change password entry's index in the merchant menu (CANCEL goes back to it).
    static var changePasswordIndex: Int { merchantItems.firstIndex(of: .merchantChangePassword) ?? 0 }

    func passwordChangeScreen(_ change: PasswordChange) -> Screen {
        let prompt: UIString
        switch change.step {
        case .checkingCurrent, .saving: return .processing(.init())
        case .current: prompt = .merchantPasswordCurrent
        case .new: prompt = .merchantPasswordNew
        case .confirm: prompt = .merchantPasswordAgain
        }
        return .info(.init(
            title: .ui(.merchantChangePassword),
            lines: [.ui(prompt), .raw(String(repeating: "*", count: change.digits.count)), change.notice ?? .ui(.merchantPasswordHint)]))
    }

    /// A key while a password is typed. CLEAR takes back the last digit, CANCEL goes back to the merchant menu.
    mutating func passwordChangeKey(_ key: Key, _ change: PasswordChange) -> [Action] {
        if change.awaitsDriver { return [] }
        var change = change
        switch key {
        case .cancel:
            go(.merchant(.menu(selected: Self.changePasswordIndex)))
        case .clear:
            if !change.digits.isEmpty { change.digits = change.digits.slice(0..<(change.digits.count - 1)) }
            go(.merchant(.changePassword(change)))
        case .enter:
            return passwordChangeEntered(change)
        default:
            guard let digit = key.digit, change.digits.count < Self.merchantPasswordLength else { return [] }
            change.digits = Self.appending(change.digits, digit: UInt8(0x30 + digit))
            go(.merchant(.changePassword(change)))
        }
        return []
    }

    /// ENTER: the password in force goes to the driver; a new one is checked against the rules
    /// (``MerchantPassword/weakness(of:)``) before it is asked again; the second entry must match the first.
    private mutating func passwordChangeEntered(_ change: PasswordChange) -> [Action] {
        let typed = change.digits
        guard !typed.isEmpty else { return [] }
        switch change.step {
        case .current:
            go(.merchant(.changePassword(PasswordChange(step: .checkingCurrent))))
            return [.verifyCurrentMerchantPassword(typed)]
        case .new:
            if let weakness = MerchantPassword.weakness(of: typed) {
                go(.merchant(.changePassword(PasswordChange(step: .new, notice: .ui(Self.notice(weakness))))))
            } else {
                go(.merchant(.changePassword(PasswordChange(step: .confirm(first: typed)))))
            }
        case .confirm(let first):
            guard typed == first else {
                go(.merchant(.changePassword(PasswordChange(step: .new, notice: .ui(.merchantPasswordMismatch)))))
                return []
            }
            go(.merchant(.changePassword(PasswordChange(step: .saving))))
            return [.changeMerchantPassword(first)]
        case .checkingCurrent, .saving:
            break
        }
        return []
    }

    /// The driver's answers: the verdict on the password in force, then how the save went.
    mutating func passwordChangeInput(_ input: Input, _ change: PasswordChange) -> [Action] {
        switch (input, change.step) {
        case (.merchantVerdict(let verdict), .checkingCurrent):
            switch verdict {
            case .accepted:
                go(.merchant(.changePassword(PasswordChange(step: .new))))
            case .rejected(let left):
                go(.merchant(.changePassword(PasswordChange(step: .current, notice: .ui(.merchantPasswordWrong(left))))))
            case .lockedOut(let seconds):
                // Locked like a failed login: out of the merchant menu.
                go(.info(.init(title: .ui(.merchantTitle), lines: [.ui(.merchantLocked(Int(seconds)))])), timeout: configuration.resultTimeout)
            case .notSet:
                go(.info(.init(title: .ui(.merchantTitle), lines: [.ui(.merchantNoPassword)])), timeout: configuration.resultTimeout)
            }
        case (.merchantPasswordChanged(let outcome), .saving):
            switch outcome {
            case .changed:
                go(.merchant(.result(.init(title: .ui(.merchantChangePassword), lines: [.ui(.merchantPasswordChanged)]))), timeout: configuration.resultTimeout)
            case .refused(let weakness):
                go(.merchant(.changePassword(PasswordChange(step: .new, notice: .ui(Self.notice(weakness))))))
            case .failed:
                go(.merchant(.result(.init(title: .ui(.merchantChangePassword), lines: [.ui(.merchantPasswordNotChanged)]))), timeout: configuration.resultTimeout)
            }
        default:
            break
        }
        return []
    }

    static func notice(_ weakness: MerchantPassword.Weakness) -> UIString {
        switch weakness {
        case .format: .merchantPasswordFormat
        case .sequence: .merchantPasswordSequence
        case .repeated: .merchantPasswordRepeated
        case .unchanged: .merchantPasswordUnchanged
        }
    }

    /// `digits` without its last digit (CLEAR), as a new secret.
    static func droppingLast(_ digits: SecretBytes) -> SecretBytes {
        digits.isEmpty ? digits : digits.slice(0..<(digits.count - 1))
    }

    /// `digits` and one more, built straight into a new secret (no array holds the digits on the way).
    static func appending(_ digits: SecretBytes, digit: UInt8) -> SecretBytes {
        SecretBytes(count: digits.count + 1) { out in
            digits.withUnsafeBytes { out.copyMemory(from: $0) }
            out[digits.count] = digit
        }
    }
}
