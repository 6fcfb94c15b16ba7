import DeviceKit
import TerminalApp
import TerminalUI
import Testing

/// The item sale screen (``ItemSaleFlow``) on its own and inside ``TerminalFlow``: picking items and quantities, the
/// total becoming the sale amount, the basket recorded only when the payment is approved.
@Suite struct ItemSaleFlowTests {
    static let items = [
        SaleItem(code: "A001", nameChinese: "矿泉水", nameEnglish: "Water", price: 250, stock: 10),
        SaleItem(code: "B002", nameChinese: "面包", nameEnglish: "Bread", price: 800, stock: 5),
    ]

    @Test func quantitiesAndTotal() {
        var sale = ItemSaleFlow(items: Self.items, stale: false, maximumAmount: 99_999)
        #expect(sale.handle(.enter) == .choosing, "ENTER on an empty basket adds one of the selected item")
        #expect(sale.total == 250)
        #expect(sale.handle(.down) == .choosing)
        _ = sale.handle(.digit1)
        _ = sale.handle(.digit2)
        #expect(sale.quantities == [1, 12] && sale.total == 250 + 12 * 800)
        _ = sale.handle(.clear)
        _ = sale.handle(.f1)
        _ = sale.handle(.f1)
        #expect(sale.quantities == [1, 2])
        #expect(sale.handle(.enter) == .checkout(amount: 1850, lines: [.init(code: "A001", quantity: 1), .init(code: "B002", quantity: 2)]))
        // Over the maximum amount: the quantity is refused.
        var small = ItemSaleFlow(items: Self.items, stale: true, maximumAmount: 1000)
        _ = small.handle(.digit5)
        #expect(small.quantities == [0, 0] && small.overLimit)
        if case .menu(let menu) = small.screen(currency: Currency(code: "CNY")!, language: .en) {
            #expect(menu.title.resolve(.en).contains("stale"))
        } else {
            Issue.record("the item sale screen is a list")
        }
    }

    @Test func basketIsRecordedOnlyWhenThePaymentIsApproved() {
        var configuration = TerminalFlow.Configuration(
            merchantName: "Shop", currency: Currency(code: "CNY")!, maximumAmount: 99_999, methods: [.card], boardName: "test", version: "0")
        configuration.itemSaleMenu = true
        var flow = TerminalFlow(configuration: configuration, language: .en)
        _ = flow.handle(.tick(now: 0))
        _ = flow.handle(.key(.menu))
        #expect(flow.handle(.key(.digit3)) == [.listCatalogue], "the item sale is the last entry of the main menu")
        _ = flow.handle(.catalogue(Self.items, stale: false))
        _ = flow.handle(.key(.digit3))
        _ = flow.handle(.key(.enter))
        guard case .present(let present) = flow.screen else {
            Issue.record("checkout goes to the card prompt: \(flow.screen)")
            return
        }
        #expect(present.amount == 750)
        #expect(flow.handle(.presentation(.inserted(name: "visa-credit"))) == [.startPayment(amount: 750, method: .card, presentation: .inserted(name: "visa-credit"))])
        #expect(flow.handle(.paymentFinished(.approved(lines: []))) == [.recordItemSale([.init(code: "A001", quantity: 3)])])

        // A declined payment records nothing, and a plain sale afterwards carries no items.
        _ = flow.handle(.key(.cancel))
        _ = flow.handle(.tick(now: 100_000))
        _ = flow.handle(.key(.menu))
        _ = flow.handle(.key(.digit3))
        _ = flow.handle(.catalogue(Self.items, stale: false))
        _ = flow.handle(.key(.enter))
        _ = flow.handle(.key(.enter))
        _ = flow.handle(.presentation(.inserted(name: "visa-credit")))
        #expect(flow.handle(.paymentFinished(.declined(lines: []))) == [])
        _ = flow.handle(.tick(now: 200_000))
        _ = flow.handle(.key(.digit5))
        _ = flow.handle(.key(.enter))
        _ = flow.handle(.presentation(.inserted(name: "visa-credit")))
        #expect(flow.handle(.paymentFinished(.approved(lines: []))) == [])
    }
}
