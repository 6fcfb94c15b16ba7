import Testing

@Test func placeholder_TerminalAppTests() {}
