/// Every text the screens show, in each language. The switch is exhaustive, so a string cannot be added in one
/// language only. Keep texts short: the smallest supported display is 20x4 (English only).
public enum UIString: Sendable, Equatable {
    case welcome
    case idleHint
    case online, offline
    case onlineViaWifi, onlineViaCellularMetered
    case wifi, cellular, host
    case unsent(Int)
    case menuTitle, menuSale, menuSettings
    case settingsTitle, settingsLanguage, settingsNetwork, settingsAbout
    case languageName(Language)
    case amountTitle
    case amountLimit
    case methodTitle
    case method(PaymentMethod)
    case presentAny
    case present(PaymentMethod)
    case pinTitle, pinHint
    case processing
    case approved, declined
    case removeCard
    case cancelled, timedOut
    case notAvailable
    case errorTitle
    case pressEnter
    case linkUp, linkDown, linkAbsent
    case version, board
    case deviceFault
    case shuttingDown
    case navigateHint
    case amountLabel
    case cancelHint
    case printerTest, printing, printed, printerFault, noPrinter
    // Chip payments
    case selectApplication
    case incorrectPIN(triesLeft: Int)
    case lastPINTry
    case pinBlocked
    case pinOK
    case cardError
    case cardNotAccepted
    case tryAgain
    case approvedOffline
    case declinedByCard
    case hostUnavailable
    case signatureRequired
    case responseCode(String)
    case authCode(String)
    case cardRemoved
    case storeUnavailable
    /// Why a sale may not be approved offline (the journal's offline caps): over the floor limit (the amount as
    /// shown), the unsent amount or count cap, the oldest unsent sale too old, not allowed for this rail or kind, or
    /// the store's integrity alarm.
    case offlineOverLimit(String)
    case offlineAmountCap
    case offlineCountCap(Int)
    case offlineTooOld
    case offlineNotAllowed
    case storeIntegrityAlarm
    // Contactless (cards and phones)
    case seePhone
    case presentOneCard
    case insertCardInstead
    case presentCardAgain
    // QR payments
    /// A wallet's name; the argument is `Codecs.QRWallet`'s raw value ("wechat", "alipay", "unionpay", "emvco").
    case qrWallet(String)
    case qrScanToPay
    case qrWaitingForCustomer
    case qrCancelling
    case qrCancelledTimeout
    case qrNotAPaymentCode
    case qrWrongLength
    // Prepaid cards (docs/prepaid.md §7)
    case prepaidTitle, prepaidIssue, prepaidTopUp, prepaidTopUpByCard, prepaidBalance, prepaidRefund, prepaidDepositTitle, prepaidTopUpTitle
    case qrMerchantCode
    case qrMalformed
    case qrOrder(String)
    case qrReversalPending
    case qrShowCodeHint
    // Refunds and voids (merchant menu)
    case menuRefund
    case refundTitle
    case refundNoSales
    case refundVoid, refundRefund
    case refundAmountTitle
    /// What is left to refund, the amount already formatted.
    case refundLeft(String)
    case qrVoidSameDayOnly
    // Card refund by original reference (merchant menu → 退货, docs/merchant-operations.md)
    case refundReferenceTitle, refundReferenceHint, refundOriginalNotFound, refundNothingLeft, refundNeedsHost
    case refundOverLimit, refundOriginalVoided, refundCardMismatch, refundNoAnswer
    // Merchant menu, settlement and reports (docs/merchant-operations.md)
    case menuMerchant, merchantTitle, merchantPasswordTitle, merchantPasswordHint, merchantNoPassword
    /// Wrong merchant password; how many tries are left before the lockout.
    case merchantPasswordWrong(Int)
    /// The merchant menu is locked for this many more seconds.
    case merchantLocked(Int)
    case merchantVoid, merchantRefund, merchantReprint, merchantXReport, merchantSettle
    case settleTitle, settleBalanced, settleNotBalanced, settleFailed, reprintNone, reportPrinted
    /// Settlement uploaded this many transactions (0320) after a mismatch.
    case settleUploaded(Int)
    /// The batch closed and the one opened.
    case settleBatch(closed: Int, next: Int)
    /// Settlement refused: reversals unsent.
    case settleReversalsUnsent(Int)
    /// Settlement refused: offline transactions unsent.
    case settleAdvicesUnsent(Int)
    // Merchant menu → change password (docs/merchant-operations.md, "Changing the password")
    case merchantChangePassword, merchantPasswordCurrent, merchantPasswordNew, merchantPasswordAgain
    /// A new password refused: not 6 to 12 digits, a run (123456, 111111), a repeated block (121212), the same as now.
    case merchantPasswordFormat, merchantPasswordSequence, merchantPasswordRepeated, merchantPasswordUnchanged
    case merchantPasswordMismatch, merchantPasswordChanged, merchantPasswordNotChanged
    // Settings → Parameters and merchant menu → Update (docs/terminal-management.md "On the terminal")
    case settingsParameters, merchantUpdate
    /// The parameter set in force: its signed version, or the board's own files.
    case parametersVersion(Int)
    case parametersDefaults
    case parametersMerchant(String)
    /// The offline floor limit (the amount as shown).
    case parametersFloorLimit(String)
    /// The caps on unsent offline sales: amount (as shown) and count.
    case parametersUnsentCaps(String, Int)
    case parametersMetered(Bool)
    /// When the set came into force (local time).
    case parametersApplied(String)
    /// The last terminal management round (local time), or never.
    case managementLastCheck(String)
    case managementNeverChecked
    /// The last round's result (ASCII, from the management service).
    case managementResult(String)
    case managementOff
    case managementCheckHint, managementChecking
    /// The firmware running now.
    case updateRunning(String)
    /// The committed version in the update root.
    case updateCommitted(String)
    /// An update in flight: its version and the updater's phase.
    case updatePending(String, String)
    case updateNotAvailable
    case updateInstallHint, updateInstalling
    /// Installed and switched: the version, and whether the terminal restarts now.
    case updateInstalled(String, restarting: Bool)
    /// Refused: the installer's reason (ASCII).
    case updateRejected(String)
    /// No package at the configured path.
    case updateNoPackage(String)

    /// The text in `language`.
    public func text(_ language: Language) -> String {
        switch language {
        case .zhCN: chinese
        case .en: english
        }
    }

    private var chinese: String {
        switch self {
        case .welcome: "欢迎光临"
        case .idleHint: "输入金额或按确认键收款"
        case .online: "联机"
        case .offline: "脱机"
        case .onlineViaWifi: "联机(无线)"
        case .onlineViaCellularMetered: "联机(移动 计流量)"
        case .wifi: "无线"
        case .cellular: "移动"
        case .host: "主机"
        case .unsent(let n): "待上送\(n)笔"
        case .menuTitle: "主菜单"
        case .menuSale: "消费"
        case .menuSettings: "设置"
        case .settingsTitle: "设置"
        case .settingsLanguage: "语言"
        case .settingsNetwork: "网络状态"
        case .settingsAbout: "版本信息"
        case .languageName(let l): l == .zhCN ? "中文" : "English"
        case .amountTitle: "请输入金额"
        case .amountLimit: "金额超过上限"
        case .methodTitle: "请选择支付方式"
        case .method(.card): "银行卡/手机支付"
        case .method(.qr): "扫码支付"
        case .method(.prepaid): "预付卡"
        case .presentAny: "请插卡、挥卡或扫码"
        case .present(.card): "请插卡或挥卡"
        case .present(.qr): "请出示付款码"
        case .present(.prepaid): "请插入预付卡"
        case .pinTitle: "请输入密码"
        case .pinHint: "确认键确定 取消键退出"
        case .processing: "处理中，请稍候"
        case .approved: "交易成功"
        case .declined: "交易失败"
        case .removeCard: "请取卡"
        case .cancelled: "交易已取消"
        case .timedOut: "操作超时"
        case .notAvailable: "暂不支持此支付方式"
        case .errorTitle: "错误"
        case .pressEnter: "按确认键继续"
        case .linkUp: "已连接"
        case .linkDown: "未连接"
        case .linkAbsent: "无"
        case .version: "版本"
        case .board: "型号"
        case .deviceFault: "设备故障"
        case .shuttingDown: "正在关闭"
        case .navigateHint: "上下键选择 确认键进入"
        case .amountLabel: "金额"
        case .cancelHint: "取消键退出"
        case .printerTest: "打印测试"
        case .printing: "正在打印"
        case .printed: "打印完成"
        case .printerFault: "打印机故障"
        case .noPrinter: "未配置打印机"
        case .selectApplication: "请选择应用"
        case .incorrectPIN(let n): "密码错误，还剩\(n)次"
        case .lastPINTry: "最后一次输入密码"
        case .pinBlocked: "密码已锁定"
        case .pinOK: "密码正确"
        case .cardError: "卡片错误"
        case .cardNotAccepted: "不支持此卡"
        case .tryAgain: "请重试"
        case .approvedOffline: "脱机批准"
        case .declinedByCard: "卡片拒绝，交易已冲正"
        case .hostUnavailable: "主机无响应"
        case .signatureRequired: "请持卡人签名"
        case .responseCode(let code): "应答码 \(code)"
        case .authCode(let code): "授权码 \(code)"
        case .cardRemoved: "卡片已拔出"
        case .storeUnavailable: "存储故障，暂停交易"
        case .offlineOverLimit(let limit): "超出脱机限额 \(limit)"
        case .offlineAmountCap: "脱机金额已达上限"
        case .offlineCountCap(let count): "\(count)笔脱机交易未上送"
        case .offlineTooOld: "脱机交易过久，请先上送"
        case .offlineNotAllowed: "不允许脱机交易"
        case .storeIntegrityAlarm: "存储完整性告警"
        case .seePhone: "请查看手机"
        case .presentOneCard: "请只出示一张卡"
        case .insertCardInstead: "请插卡"
        case .presentCardAgain: "请再次挥卡"
        case .qrWallet(let wallet):
            switch wallet {
            case "wechat": "微信支付"
            case "alipay": "支付宝"
            case "unionpay": "云闪付"
            default: "EMV二维码"
            }
        case .qrScanToPay: "请扫码支付"
        case .qrWaitingForCustomer: "等待顾客输入密码"
        case .qrCancelling: "正在撤销订单"
        case .qrCancelledTimeout: "支付超时，订单已撤销"
        case .qrNotAPaymentCode: "不是付款码"
        case .qrWrongLength: "付款码位数不对"
        case .prepaidTitle: "预付卡"
        case .prepaidIssue: "发卡"
        case .prepaidTopUp: "充值(现金)"
        case .prepaidTopUpByCard: "充值(银行卡)"
        case .prepaidRefund: "退款(退回卡内)"
        case .prepaidBalance: "查询余额"
        case .prepaidDepositTitle: "请输入开卡存入金额"
        case .prepaidTopUpTitle: "请输入充值金额"
        case .qrMerchantCode: "这是收款码，请出示付款码"
        case .qrMalformed: "付款码无法识别"
        case .qrOrder(let id): "订单 \(id)"
        case .qrReversalPending: "撤销未完成，将自动重试"
        case .qrShowCodeHint: "按确认键显示收款码"
        case .menuRefund: "退款/撤销"
        case .refundTitle: "扫码退款/撤销"
        case .refundNoSales: "没有可退款的扫码交易"
        case .refundVoid: "撤销(当日全额)"
        case .refundRefund: "退款"
        case .refundAmountTitle: "请输入退款金额"
        case .refundLeft(let amount): "可退 \(amount)"
        case .qrVoidSameDayOnly: "仅限当日撤销"
        case .refundReferenceTitle: "退货 请输入原参考号"
        case .refundReferenceHint: "直接按确认键列出交易"
        case .refundOriginalNotFound: "原交易不存在"
        case .refundNothingLeft: "原交易已全额退货"
        case .refundNeedsHost: "退货需联机，请稍后重试"
        case .refundOverLimit: "退货金额超过可退金额"
        case .refundOriginalVoided: "原交易已撤销或冲正"
        case .refundCardMismatch: "卡号与原交易不符"
        case .refundNoAnswer: "主机无应答，退货将冲正"
        case .menuMerchant: "商户管理"
        case .merchantTitle: "商户管理"
        case .merchantPasswordTitle: "请输入商户密码"
        case .merchantPasswordHint: "确认键确定 取消键退出"
        case .merchantNoPassword: "未设置商户密码"
        case .merchantPasswordWrong(let n): "密码错误，还可试\(n)次"
        case .merchantLocked(let s): "已锁定，\(s)秒后再试"
        case .merchantVoid: "撤销"
        case .merchantRefund: "退货"
        case .merchantReprint: "重打印"
        case .merchantXReport: "结算前报表"
        case .merchantSettle: "结算"
        case .settleTitle: "结算"
        case .settleBalanced: "对账平"
        case .settleNotBalanced: "对账不平，已提交后台处理"
        case .settleFailed: "结算失败，请稍后重试"
        case .reprintNone: "没有可重打印的交易"
        case .reportPrinted: "报表已打印"
        case .settleUploaded(let n): "批上送\(n)笔"
        case .settleBatch(let closed, let next): "批次\(closed)已结，新批次\(next)"
        case .settleReversalsUnsent(let n): "有\(n)笔冲正未上送，不能结算"
        case .settleAdvicesUnsent(let n): "有\(n)笔交易未上送，不能结算"
        case .merchantChangePassword: "修改密码"
        case .merchantPasswordCurrent: "请输入原密码"
        case .merchantPasswordNew: "请输入新密码(6-12位数字)"
        case .merchantPasswordAgain: "请再次输入新密码"
        case .merchantPasswordFormat: "新密码须为6-12位数字"
        case .merchantPasswordSequence: "不能用连续或相同的数字"
        case .merchantPasswordRepeated: "不能用重复的数字组合"
        case .merchantPasswordUnchanged: "新密码不能与原密码相同"
        case .merchantPasswordMismatch: "两次输入不一致，请重输"
        case .merchantPasswordChanged: "密码已修改"
        case .merchantPasswordNotChanged: "保存失败，密码未修改"
        case .settingsParameters: "参数"
        case .merchantUpdate: "更新"
        case .parametersVersion(let n): "参数版本 v\(n)"
        case .parametersDefaults: "参数: 默认(未下载)"
        case .parametersMerchant(let name): "商户名: \(name)"
        case .parametersFloorLimit(let amount): "脱机限额 \(amount)"
        case .parametersUnsentCaps(let amount, let n): "未上送上限 \(amount) \(n)笔"
        case .parametersMetered(let allowed): allowed ? "移动网络下载: 允许" : "移动网络下载: 禁止"
        case .parametersApplied(let time): "生效于 \(time)"
        case .managementLastCheck(let time): "上次检查 \(time)"
        case .managementNeverChecked: "尚未检查下载"
        case .managementResult(let result): "结果: \(result)"
        case .managementOff: "未启用终端管理"
        case .managementCheckHint: "确认键: 立即检查下载"
        case .managementChecking: "正在检查下载"
        case .updateRunning(let version): "当前版本 \(version)"
        case .updateCommitted(let version): "已确认版本 \(version)"
        case .updatePending(let version, let phase): "待确认 \(version) (\(phase))"
        case .updateNotAvailable: "本机不支持更新"
        case .updateInstallHint: "确认键: 从U盘安装"
        case .updateInstalling: "正在安装更新"
        case .updateInstalled(let version, let restarting): restarting ? "已安装 \(version)，正在重启" : "已安装 \(version)，重启后生效"
        case .updateRejected(let reason): "已拒绝: \(reason)"
        case .updateNoPackage(let path): "未找到更新包 \(path)"
        }
    }

    private var english: String {
        switch self {
        case .welcome: "Welcome"
        case .idleHint: "Key amount or ENTER"
        case .online: "Online"
        case .offline: "Offline"
        case .onlineViaWifi: "Online via Wi-Fi"
        case .onlineViaCellularMetered: "Online via cellular (metered)"
        case .wifi: "WiFi"
        case .cellular: "Cell"
        case .host: "Host"
        case .unsent(let n): "\(n) unsent"
        case .menuTitle: "Menu"
        case .menuSale: "Sale"
        case .menuSettings: "Settings"
        case .settingsTitle: "Settings"
        case .settingsLanguage: "Language"
        case .settingsNetwork: "Network status"
        case .settingsAbout: "About"
        case .languageName(let l): l == .zhCN ? "中文" : "English"
        case .amountTitle: "Enter amount"
        case .amountLimit: "Amount over limit"
        case .methodTitle: "Payment method"
        case .method(.card): "Card / phone"
        case .method(.qr): "QR code"
        case .method(.prepaid): "Prepaid card"
        case .presentAny: "Insert, tap or scan"
        case .present(.card): "Insert or tap card"
        case .present(.qr): "Show payment code"
        case .present(.prepaid): "Insert prepaid card"
        case .pinTitle: "Enter PIN"
        case .pinHint: "ENTER=OK CANCEL=quit"
        case .processing: "Processing..."
        case .approved: "APPROVED"
        case .declined: "DECLINED"
        case .removeCard: "Remove card"
        case .cancelled: "Cancelled"
        case .timedOut: "Timed out"
        case .notAvailable: "Not available"
        case .errorTitle: "Error"
        case .pressEnter: "Press ENTER"
        case .linkUp: "up"
        case .linkDown: "down"
        case .linkAbsent: "none"
        case .version: "Version"
        case .board: "Board"
        case .deviceFault: "Device fault"
        case .shuttingDown: "Shutting down"
        case .navigateHint: "UP/DOWN, ENTER"
        case .amountLabel: "Amount"
        case .cancelHint: "CANCEL to quit"
        case .printerTest: "Printer test"
        case .printing: "Printing..."
        case .printed: "Printed"
        case .printerFault: "Printer fault"
        case .noPrinter: "No printer"
        case .selectApplication: "Select application"
        case .incorrectPIN(let n): "Wrong PIN, \(n) left"
        case .lastPINTry: "Last PIN try"
        case .pinBlocked: "PIN blocked"
        case .pinOK: "PIN OK"
        case .cardError: "Card error"
        case .cardNotAccepted: "Card not accepted"
        case .tryAgain: "Try again"
        case .approvedOffline: "Approved offline"
        case .declinedByCard: "Declined by card, reversed"
        case .hostUnavailable: "Host unavailable"
        case .signatureRequired: "Signature required"
        case .responseCode(let code): "Response \(code)"
        case .authCode(let code): "Auth code \(code)"
        case .cardRemoved: "Card removed"
        case .storeUnavailable: "Storage fault: no sales"
        case .offlineOverLimit(let limit): "Offline limit \(limit)"
        case .offlineAmountCap: "Offline amount cap reached"
        case .offlineCountCap(let count): "\(count) offline sales unsent"
        case .offlineTooOld: "Offline sales too old: upload"
        case .offlineNotAllowed: "Offline not allowed"
        case .storeIntegrityAlarm: "Store integrity alarm"
        case .seePhone: "See phone"
        case .presentOneCard: "Present 1 card only"
        case .insertCardInstead: "Please insert card"
        case .presentCardAgain: "Present card again"
        case .qrWallet(let wallet):
            switch wallet {
            case "wechat": "WeChat Pay"
            case "alipay": "Alipay"
            case "unionpay": "UnionPay QR"
            default: "EMV QR"
            }
        case .qrScanToPay: "Scan to pay"
        case .qrWaitingForCustomer: "Customer confirming"
        case .qrCancelling: "Cancelling order"
        case .qrCancelledTimeout: "Timed out, cancelled"
        case .qrNotAPaymentCode: "Not a payment code"
        case .qrWrongLength: "Wrong code length"
        case .prepaidTitle: "Prepaid card"
        case .prepaidIssue: "Issue card"
        case .prepaidTopUp: "Top-up (cash)"
        case .prepaidTopUpByCard: "Top-up (chip card)"
        case .prepaidRefund: "Refund to card"
        case .prepaidBalance: "Balance"
        case .prepaidDepositTitle: "Opening deposit"
        case .prepaidTopUpTitle: "Top-up amount"
        case .qrMerchantCode: "Merchant code: show yours"
        case .qrMalformed: "Unreadable code"
        case .qrOrder(let id): "Order \(id)"
        case .qrReversalPending: "Cancel pending, retrying"
        case .qrShowCodeHint: "ENTER: show our QR"
        case .menuRefund: "Refund/Void"
        case .refundTitle: "QR refund/void"
        case .refundNoSales: "No QR sales to refund"
        case .refundVoid: "Void (same day, full)"
        case .refundRefund: "Refund"
        case .refundAmountTitle: "Refund amount"
        case .refundLeft(let amount): "Left \(amount)"
        case .qrVoidSameDayOnly: "Void: same day only"
        case .refundReferenceTitle: "Refund: original ref."
        case .refundReferenceHint: "ENTER alone lists sales"
        case .refundOriginalNotFound: "Original not found"
        case .refundNothingLeft: "Refunded in full already"
        case .refundNeedsHost: "Refund needs the host"
        case .refundOverLimit: "Over what is left"
        case .refundOriginalVoided: "Original voided/reversed"
        case .refundCardMismatch: "Not the original card"
        case .refundNoAnswer: "No answer: refund reversed"
        case .menuMerchant: "Merchant"
        case .merchantTitle: "Merchant menu"
        case .merchantPasswordTitle: "Merchant password"
        case .merchantPasswordHint: "ENTER to confirm, CANCEL to quit"
        case .merchantNoPassword: "No merchant password set"
        case .merchantPasswordWrong(let n): "Wrong password, \(n) tries left"
        case .merchantLocked(let s): "Locked, try again in \(s) s"
        case .merchantVoid: "Void"
        case .merchantRefund: "Refund"
        case .merchantReprint: "Reprint last"
        case .merchantXReport: "X report"
        case .merchantSettle: "Settlement"
        case .settleTitle: "Settlement"
        case .settleBalanced: "Balanced"
        case .settleNotBalanced: "Not balanced: sent to back office"
        case .settleFailed: "Settlement failed, try later"
        case .reprintNone: "Nothing to reprint"
        case .reportPrinted: "Report printed"
        case .settleUploaded(let n): "\(n) uploaded"
        case .settleBatch(let closed, let next): "Batch \(closed) closed, now \(next)"
        case .settleReversalsUnsent(let n): "\(n) reversals unsent: cannot settle"
        case .settleAdvicesUnsent(let n): "\(n) transactions unsent: cannot settle"
        case .merchantChangePassword: "Change password"
        case .merchantPasswordCurrent: "Current password"
        case .merchantPasswordNew: "New password, 6-12 digits"
        case .merchantPasswordAgain: "New password again"
        case .merchantPasswordFormat: "Use 6 to 12 digits"
        case .merchantPasswordSequence: "No runs like 123456, 111111"
        case .merchantPasswordRepeated: "No repeats like 121212"
        case .merchantPasswordUnchanged: "Same as the current one"
        case .merchantPasswordMismatch: "Entries differ, try again"
        case .merchantPasswordChanged: "Password changed"
        case .merchantPasswordNotChanged: "Not saved: password unchanged"
        case .settingsParameters: "Parameters"
        case .merchantUpdate: "Update"
        case .parametersVersion(let n): "Parameters v\(n)"
        case .parametersDefaults: "Parameters: defaults"
        case .parametersMerchant(let name): "Merchant: \(name)"
        case .parametersFloorLimit(let amount): "Offline limit \(amount)"
        case .parametersUnsentCaps(let amount, let n): "Unsent cap \(amount) / \(n)"
        case .parametersMetered(let allowed): allowed ? "Metered downloads: yes" : "Metered downloads: no"
        case .parametersApplied(let time): "Applied \(time)"
        case .managementLastCheck(let time): "Last check \(time)"
        case .managementNeverChecked: "Not checked yet"
        case .managementResult(let result): "Result: \(result)"
        case .managementOff: "Terminal management off"
        case .managementCheckHint: "ENTER: check downloads now"
        case .managementChecking: "Checking for downloads"
        case .updateRunning(let version): "Running \(version)"
        case .updateCommitted(let version): "Committed \(version)"
        case .updatePending(let version, let phase): "Pending \(version) (\(phase))"
        case .updateNotAvailable: "Not available on this board"
        case .updateInstallHint: "ENTER: install from USB"
        case .updateInstalling: "Installing update"
        case .updateInstalled(let version, let restarting): restarting ? "Installed \(version): restarting" : "Installed \(version): runs after restart"
        case .updateRejected(let reason): "Rejected: \(reason)"
        case .updateNoPackage(let path): "No package at \(path)"
        }
    }
}
