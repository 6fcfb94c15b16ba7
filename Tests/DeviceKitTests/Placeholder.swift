import Testing

@Test func placeholder_DeviceKitTests() {}
