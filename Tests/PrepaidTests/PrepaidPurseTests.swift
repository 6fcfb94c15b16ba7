import PrepaidPurse
import Testing

@Suite struct PrepaidPurseModuleTests {
    @Test func moduleLinks() { _ = PrepaidPurse.self }
}
