/// The wallet or scheme behind a QR payment.
public enum QRWallet: String, Sendable, Equatable, CaseIterable {
    /// WeChat Pay (微信支付): payment codes of 18 digits starting 10–15.
    case weChatPay = "wechat"
    /// Alipay (支付宝): payment codes of 16–24 digits starting 25–30.
    case alipay
    /// UnionPay QR (云闪付): payment codes of 19 digits starting 62.
    case unionPay = "unionpay"
    /// An EMVCo consumer-presented code (a bank app's CPM QR), or a merchant-presented code paid by any EMVCo wallet.
    case emvco
}

/// What a customer showed the scanner, once classified: a wallet's payment code (an "auth code", a one-time bearer
/// credential handled like a PAN: sealed in the store, never logged) or an EMVCo consumer-presented payload.
public enum CustomerPresentedCode: Sendable, Equatable {
    /// A wallet payment code; `authCode` is its digits.
    case walletCode(wallet: QRWallet, authCode: String)
    /// An EMVCo consumer-presented code; `text` is the Base64 as scanned.
    case consumerPresented(ConsumerPresentedPayload, text: String)

    /// The wallet.
    public var wallet: QRWallet {
        switch self {
        case .walletCode(let wallet, _): wallet
        case .consumerPresented: .emvco
        }
    }

    /// The credential the host needs: the auth code digits, or the CPM Base64 text.
    public var credential: String {
        switch self {
        case .walletCode(_, let code): code
        case .consumerPresented(_, let text): text
        }
    }

    /// Why a scanned code is no payment code.
    public enum Refusal: Sendable, Equatable {
        /// Nothing was scanned.
        case empty
        /// Digits with a wallet's prefix but the wrong count.
        case wrongLength(QRWallet, digits: Int)
        /// A merchant-presented code ("000201…"): the customer must scan it, not show it.
        case merchantPresented
        /// Base64 text that starts like a CPM code but does not parse.
        case malformedConsumerPresented(QRCodecError.Code)
        /// Anything else (a product barcode, a URL, unknown digits).
        case notAPaymentCode
    }

    /// How classification ended.
    public enum Classification: Sendable, Equatable {
        case payment(CustomerPresentedCode)
        case refused(Refusal)
    }

    /// Classifies a scanned code (surrounding blanks and line ends removed):
    ///
    /// | code | wallet |
    /// |---|---|
    /// | 18 digits, first two 10–15 | WeChat Pay |
    /// | 16–24 digits, first two 25–30 | Alipay |
    /// | 19 digits starting 62 | UnionPay QR |
    /// | Base64 of BER-TLV starting '85' 05 "CPV01" | EMVCo CPM |
    ///
    /// Anything else is refused with the reason.
    public static func classify(_ scanned: String) -> Classification {
        let trimmed = String(
            String.UnicodeScalarView(
                scanned.unicodeScalars.drop(while: isBlank).reversed().drop(while: isBlank).reversed()))
        guard !trimmed.isEmpty else { return .refused(.empty) }
        let scalars = trimmed.unicodeScalars
        if scalars.allSatisfy({ ("0"..."9").contains($0) }) {
            let digits = scalars.count
            guard digits >= 2, let prefix = Int(String(trimmed.prefix(2))) else { return .refused(.notAPaymentCode) }
            switch prefix {
            case 10...15:
                return digits == 18 ? .payment(.walletCode(wallet: .weChatPay, authCode: trimmed)) : .refused(.wrongLength(.weChatPay, digits: digits))
            case 25...30:
                return (16...24).contains(digits) ? .payment(.walletCode(wallet: .alipay, authCode: trimmed)) : .refused(.wrongLength(.alipay, digits: digits))
            case 62:
                return digits == 19 ? .payment(.walletCode(wallet: .unionPay, authCode: trimmed)) : .refused(.wrongLength(.unionPay, digits: digits))
            default:
                return trimmed.hasPrefix("000201") ? .refused(.merchantPresented) : .refused(.notAPaymentCode)
            }
        }
        if trimmed.hasPrefix("000201") { return .refused(.merchantPresented) }
        // '85' 05 "CPV01" encodes as "hQVDUFYwMQ" / "hQVDUFYwMW…" in Base64.
        if trimmed.hasPrefix("hQVDUFYwM") {
            do {
                return .payment(.consumerPresented(try ConsumerPresentedPayload(base64: trimmed), text: trimmed))
            } catch let error as QRCodecError {
                return .refused(.malformedConsumerPresented(error.code))
            } catch {
                return .refused(.notAPaymentCode)
            }
        }
        return .refused(.notAPaymentCode)
    }

    private static func isBlank(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\n"
    }

    /// `text` masked for receipts and logs: the first 6 and last 4 characters kept, the rest `*` (a code of 10
    /// characters or fewer: the last 4 kept).
    public static func masked(_ text: String) -> String {
        let chars = Array(text)
        guard chars.count > 10 else {
            return String(repeating: "*", count: max(0, chars.count - 4)) + String(chars.suffix(4))
        }
        return String(chars.prefix(6)) + String(repeating: "*", count: chars.count - 10) + String(chars.suffix(4))
    }
}
