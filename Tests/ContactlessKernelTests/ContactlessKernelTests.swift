import ContactlessKernel
import Testing

@Suite struct ContactlessKernelModuleTests {
    @Test func moduleLinks() { _ = ContactlessKernel.self }
}
